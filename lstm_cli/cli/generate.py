"""``lstm generate``: stream characters from a text model to stdout."""

from __future__ import annotations

from typing import Annotated

import typer

from lstm_cli.cli import options as o


def generate(
    model: o.Model = None,
    seed: Annotated[str, typer.Option("--seed", "-s", help="Text that primes the model, read after a newline (a document's start); - reads it from stdin.")] = "",
    n: Annotated[int, o.num("-n", "--chars", kind=int, lo=0, help="How many characters to generate.")] = 500,
    temperature: Annotated[float, o.num("--temperature", "-t", lo=0, help="Below 1: safer; above 1: wilder; 0: greedy.")] = 0.8,
    top_k: Annotated[int, o.num("--top-k", kind=int, lo=0, help="Sample only among the k likeliest characters (0: off).")] = 0,
    top_p: Annotated[float, o.num("--top-p", lo=0, lo_open=True, hi=1, help="Sample only among the likeliest characters holding this much probability.")] = 1.0,
    oov: Annotated[str, o.pick("--oov", values=("error", "skip", "replace"), help="Seed characters the model does not know: an error, skipped, or replaced by a space.")] = "error",
    echo: Annotated[bool, typer.Option("--echo/--no-echo", help="Print the seed before its continuation.")] = True,
    random_seed: o.RandomSeed = None,
):
    """Continue a seed text, character by character, as it is sampled (default model: obama)."""
    from lstm_cli.core.fileio import read_text, stdout_pipe
    from lstm_cli.tasks import text as task

    if seed == "-":
        seed = read_text("-")
    chars = task.generate(model, seed, n, temperature, top_k, top_p, random_seed, oov)
    with stdout_pipe() as out:
        if echo and seed:
            out.write(seed)
        for ch in chars:
            out.write(ch)
            out.flush()
        if n:
            out.write("\n")

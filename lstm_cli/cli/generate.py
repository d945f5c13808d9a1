"""``lstm generate``: stream characters from a text model to stdout."""

from __future__ import annotations

from typing import Annotated

import typer

from lstm_cli.cli import options as o


def generate(
    model: o.Model = None,
    seed: Annotated[str, typer.Option("--seed", "-s", help="Text that primes the model; - reads it from stdin (default: a newline).")] = "",
    n: Annotated[int, typer.Option("-n", "--chars", help="How many characters to generate.")] = 500,
    temperature: Annotated[float, typer.Option("--temperature", "-t", help="Below 1: safer; above 1: wilder; 0: greedy.")] = 0.8,
    top_k: Annotated[int, typer.Option("--top-k", help="Sample only among the k likeliest characters (0: off).")] = 0,
    top_p: Annotated[float, typer.Option("--top-p", help="Sample only among the likeliest characters holding this much probability.")] = 1.0,
    oov: Annotated[str, typer.Option("--oov", help="Seed characters the model does not know: error, skip or replace.")] = "error",
    echo: Annotated[bool, typer.Option("--echo/--no-echo", help="Print the seed before its continuation.")] = True,
    random_seed: o.RandomSeed = None,
):
    """Continue a seed text, character by character, as it is sampled (default model: obama)."""
    from lstm_cli.core.errors import UsageError
    from lstm_cli.core.fileio import read_text, stdout_pipe
    from lstm_cli.tasks import text as task

    if n < 0:
        raise UsageError(f"-n must be >= 0, got {n}")
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

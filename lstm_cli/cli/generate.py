"""The text task's commands: ``lstm generate`` streams characters from a text model to stdout;
``lstm train text`` and the text options of ``lstm eval`` are declared here too."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o


COMMAND = "generate"
EVAL_STDIN = True  # lstm eval --data - reads the held-out text from stdin

# `lstm eval` options for text models: name -> (annotation, default); see cli/evaluate.py.
EVAL_OPTIONS = {
    "oov": (Annotated[str, o.pick("--oov", values=("error", "skip"), help="Text: characters the model does not know are an error, or skipped (and counted).")], "error"),
    "dynamic_lr": (Annotated[float, o.num("--dynamic-lr", lo=0, help="Text: dynamic evaluation, adapting the model to the text as it reads it with SGD steps of this size, e.g. 0.15 (0: off, the model stays fixed).")], 0.0),
    "dynamic_decay": (Annotated[float, o.num("--dynamic-decay", lo=0, hi=1, help="Text, dynamic: pull the weights back towards the model's by this share per step.")], 0.0),
    "dynamic_segment": (Annotated[int, o.num("--dynamic-segment", kind=int, lo=1, help="Text, dynamic: characters scored between two steps.")], 50),
}


def command(
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


def train(
    data: Annotated[list[str], typer.Option("--data", "-d", help="UTF-8 text file(s) to learn from; - for stdin.")],
    output: o.Output,
    cfg,
    val_data: Annotated[Optional[list[str]], typer.Option("--val-data", help="Held-out text for validation (default: the last --val-fraction of --data).")] = None,
    val_fraction: o.ValFraction = 0.1,
    preset: o.Preset = "medium",
    embed: o.Embed = None,
    hidden: o.Hidden = None,
    layers: o.Layers = None,
    dropout: o.Dropout = 0.25,
    weight_drop: Annotated[float, o.num("--weight-drop", lo=0, hi=1, hi_open=True, help="DropConnect on the recurrent weights W_hh while training.")] = 0.0,
    batch_size: o.BatchSize = 64,
    seq_len: o.SeqLen = 128,
    input_noise: Annotated[float, o.num("--input-noise", lo=0, hi=1, help="Share of input characters replaced by random draws from the corpus while training.")] = 0.0,
    digits: Annotated[Optional[str], o.pick("--digits", values=("highest-first", "lowest-first"), help="How the text writes numbers, recorded in the model for lstm predict: lowest-first (1234 as 4321) makes predict flip the numbers it reads and answers. Default: as the --init model's, else highest-first.")] = None,
    **start,
):
    """``lstm train text``: a character-level language model (char-rnn) on any UTF-8 text."""
    from lstm_cli.tasks import text as task

    model = task.preset(preset, embed=embed, hidden=hidden, layers=layers, dropout=dropout,
                        weight_drop=weight_drop)
    data_cfg = task.TextData(batch_size=batch_size, seq_len=seq_len, val_fraction=val_fraction,
                             input_noise=input_noise, digits=digits)
    typed = o.typed_flags(start, model, vars(data_cfg), preset=preset)
    task.train(data, val_data, output, cfg, data_cfg, model, given=typed, **start)

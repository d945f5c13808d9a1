"""Options shared by several commands, declared once (Typer ``Annotated`` aliases), and the one
validator of option values: every number goes through :func:`number` (finite, within its range)
and every word from a fixed set through :func:`choice`, so a bad value is exit 2 and one line
before any work starts."""

from __future__ import annotations

import math
import os
from typing import Annotated, Optional

import typer


def number(kind: type = float, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
           hi_open: bool = False):
    """A parser for a numeric option: ``kind`` (int or float), finite, in [lo, hi] (an open end
    with ``lo_open``/``hi_open``)."""

    def parse(value):
        if value is None or isinstance(value, kind) and not isinstance(value, bool):
            v = value
        else:
            try:
                v = kind(value)
            except (TypeError, ValueError):
                raise typer.BadParameter(f"'{value}' is not {'an integer' if kind is int else 'a number'}") from None
        if v is None:
            return v
        if not math.isfinite(v):
            raise typer.BadParameter(f"must be a finite number, got {value}")
        if lo is not None and (v < lo or lo_open and v == lo):
            raise typer.BadParameter(f"must be {'>' if lo_open else '>='} {lo}, got {value}")
        if hi is not None and (v > hi or hi_open and v == hi):
            raise typer.BadParameter(f"must be {'<' if hi_open else '<='} {hi}, got {value}")
        return v

    return parse


def choice(*values: str):
    """A parser for an option that takes one of ``values``."""

    def parse(value):
        if value is None or value in values:
            return value
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(values)}")

    return parse


# Upper bounds of the options that do not set their own: far beyond any use, low enough that a
# typo (an extra 0 or three) is refused at once instead of crashing or running for days. Model
# sizes are also checked against the machine's memory once the model is built (core/trainer.py).
CAPS = {
    "--threads": os.cpu_count() or 1, "--batch-size": 65_536, "--batch-tokens": 10_000_000, "--seq-len": 100_000,
    "--hidden": 65_536, "--embed": 65_536, "--enc-hidden": 65_536, "--dec-hidden": 65_536, "--attention": 65_536,
    "--layers": 64, "--enc-layers": 64, "--dec-layers": 64, "--window": 1_000, "--mixture": 1_000,
    "--vocab-size": 1_000_000, "--min-count": 1_000_000_000, "--max-len": 10_000,
    "--lr": 10.0, "--min-lr": 10.0, "--weight-decay": 10.0, "--grad-clip": 1e6, "--encoder-lr-scale": 100.0,
    "--max-steps": 10**9, "--warmup": 10**9, "--eval-every": 10**9, "--sample-every": 10**9,
    "--save-every": 10**9, "--log-every": 10**9,
    "--beam": 256, "--n-best": 256, "--alpha": 10.0, "--temperature": 100.0, "--top-k": 1_000_000,
    "-n": 10**9, "--max-chars": 100_000_000, "--dynamic-lr": 10.0, "--dynamic-segment": 1_000_000,
}


def num(*decls: str, kind: type = float, lo=None, hi=None, lo_open=False, hi_open=False, help: str = ""):
    """``typer.Option`` for a number checked by :func:`number`; ``hi`` defaults to its CAPS entry."""
    if hi is None:
        hi = CAPS[decls[0]]
    show = lambda v: f"{v:,}" if kind is int else f"{v:g}"  # noqa: E731
    span = f"{'>' if lo_open else '>='} {show(lo)}, " if lo is not None else ""
    span += f"{'<' if hi_open else '<='} {show(hi)}"
    return typer.Option(*decls, parser=number(kind, lo, hi, lo_open, hi_open), help=f"{help} [{span}]".lstrip(),
                        metavar="INTEGER" if kind is int else "FLOAT")


def pick(*decls: str, values: tuple[str, ...], help: str = ""):
    """``typer.Option`` for a word checked by :func:`choice`; the choices are shown in the help."""
    return typer.Option(*decls, parser=choice(*values), metavar="|".join(values), help=help)


SEED_MAX = 2**32 - 1  # numpy's and torch's seeds alike

Model = Annotated[Optional[str], typer.Option("--model", "-m", help="A shipped model's name (see `lstm models`) or a checkpoint path.")]
Device = Annotated[str, pick("--device", values=("auto", "cpu", "cuda"), help="Where to compute: auto takes a CUDA GPU when one is usable.")]
RandomSeed = Annotated[Optional[int], num("--random-seed", kind=int, lo=0, hi=SEED_MAX, help="Seed for reproducible output.")]
Threads = Annotated[int, num("--threads", kind=int, lo=0, help="Torch CPU threads (0: torch's default; env LSTM_THREADS).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# Training (core/trainer.py TrainConfig); flags map one-to-one to its fields.
Output = Annotated[str, typer.Option("--output", "-o", help="Best checkpoint path; OUT.last.pt holds the resumable state.")]
MaxSteps = Annotated[Optional[int], num("--max-steps", kind=int, lo=0, help="Stop after this many steps (default: 2000 unless --max-time).")]
MaxTime = Annotated[Optional[str], typer.Option("--max-time", help="Stop after this much wall time: 90, 90s, 30m, 2h.")]
Lr = Annotated[float, num("--lr", lo=0, lo_open=True, help="Peak learning rate (AdamW).")]
MinLr = Annotated[float, num("--min-lr", lo=0, help="Learning rate at the end of the cosine decay.")]
Warmup = Annotated[int, num("--warmup", kind=int, lo=0, help="Linear warm-up steps.")]
WeightDecay = Annotated[float, num("--weight-decay", lo=0, help="AdamW weight decay.")]
GradClip = Annotated[float, num("--grad-clip", lo=0, help="Clip the gradient norm (0: off).")]
Ema = Annotated[float, num("--ema", lo=0, hi=1, hi_open=True, help="Validate and save a moving average of the weights with this decay per step, e.g. 0.998 (0: off).")]
EvalEvery = Annotated[int, num("--eval-every", kind=int, lo=1, help="Validate (and keep the best) every N steps.")]
SampleEvery = Annotated[int, num("--sample-every", kind=int, lo=0, help="Print a sample every N steps (0: never).")]
SaveEvery = Annotated[int, num("--save-every", kind=int, lo=1, help="Write the resumable OUT.last.pt every N steps.")]
LogEvery = Annotated[int, num("--log-every", kind=int, lo=1, help="Log loss and speed every N steps.")]
Bf16 = Annotated[Optional[bool], typer.Option("--bf16/--no-bf16", help="bf16 autocast (default: on where the CPU/GPU supports it).")]
Resume = Annotated[Optional[str], typer.Option("--resume", help="Continue exactly from a training checkpoint (OUT.last.pt).")]
Init = Annotated[Optional[str], typer.Option("--init", help="Start from these weights (fine-tuning); fresh optimizer.")]

# Model and data flags of the tasks built on the char/event LSTM (text, compose).
ValFraction = Annotated[float, num("--val-fraction", lo=0, hi=1, hi_open=True, help="Share of the data held out when no --val-data.")]
Preset = Annotated[str, pick("--preset", values=("tiny", "small", "medium", "large"), help="Model size (embedding, LSTM units x layers, parameters for ~100 characters): tiny 16, 64x1, 0.03M; small 64, 256x2, 0.9M; medium 128, 512x2, 3.5M (the shipped text models); large 128, 768x3, 12M.")]
Embed = Annotated[Optional[int], num("--embed", kind=int, lo=1, help="Embedding size (default: from --preset).")]
Hidden = Annotated[Optional[int], num("--hidden", kind=int, lo=1, help="LSTM units per layer (default: from --preset).")]
Layers = Annotated[Optional[int], num("--layers", kind=int, lo=1, help="LSTM layers (default: from --preset).")]
Dropout = Annotated[float, num("--dropout", lo=0, hi=1, hi_open=True, help="Dropout on embeddings, between layers and before the output.")]
BatchSize = Annotated[int, num("--batch-size", kind=int, lo=1, help="Parallel streams per batch.")]
SeqLen = Annotated[int, num("--seq-len", kind=int, lo=1, help="Tokens per truncated-BPTT segment.")]


def typed_flags(start: dict, *fields: dict, preset: str | None = None) -> dict:
    """Of the model and data ``fields`` (name -> value), those whose flags the user typed: the
    ``given`` names that ``lstm train`` hands on in ``start`` (removed from it), with ``--preset``
    standing for the sizes it sets (``"via"`` says which: name -> "--preset NAME"). The task checks
    them against --init/--resume weights."""
    given = set(start.pop("given", set()))
    via = {}
    if "preset" in given:
        via = {k: f"--preset {preset}" for k in ("embed", "hidden", "layers") if k not in given}
        given |= {"embed", "hidden", "layers"}
    typed = {k: v for d in fields for k, v in d.items() if k in given}
    return {**typed, "via": via} if via else typed


MAX_TIME = 366 * 86400.0  # seconds: a year


def parse_duration(text: Optional[str]) -> Optional[float]:
    """'90' or '90s' -> 90.0, '30m' -> 1800.0, '2h' -> 7200.0."""
    from lstm_cli.core.errors import UsageError

    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    t = text.strip().lower()
    mult = units.get(t[-1:], None)
    try:
        value = float(t[:-1] if mult else t) * (mult or 1)
    except ValueError:
        raise UsageError(f"--max-time: cannot read '{text}'", hint="use e.g. 90, 90s, 30m or 2h") from None
    if not 0 < value <= MAX_TIME:  # (NaN fails this too)
        raise UsageError(f"--max-time must be more than 0 and at most {MAX_TIME // 86400:.0f} days, got '{text}'")
    return value

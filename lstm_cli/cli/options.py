"""Options shared by several commands, declared once (Typer ``Annotated`` aliases)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

Model = Annotated[Optional[str], typer.Option("--model", "-m", help="A shipped model's name (see `lstm models`) or a checkpoint path.")]
Device = Annotated[str, typer.Option("--device", help="auto | cpu | cuda.")]
RandomSeed = Annotated[Optional[int], typer.Option("--random-seed", help="Seed for reproducible output.")]
Threads = Annotated[int, typer.Option("--threads", help="Torch CPU threads (0: torch's default; env LSTM_THREADS).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# Training (core/trainer.py TrainConfig); flags map one-to-one to its fields.
Output = Annotated[str, typer.Option("--output", "-o", help="Best checkpoint path; OUT.last.pt holds the resumable state.")]
MaxSteps = Annotated[Optional[int], typer.Option("--max-steps", help="Stop after this many steps (default: 2000 unless --max-time).")]
MaxTime = Annotated[Optional[str], typer.Option("--max-time", help="Stop after this much wall time: 90, 90s, 30m, 2h.")]
Lr = Annotated[float, typer.Option("--lr", help="Peak learning rate (AdamW).")]
MinLr = Annotated[float, typer.Option("--min-lr", help="Learning rate at the end of the cosine decay.")]
Warmup = Annotated[int, typer.Option("--warmup", help="Linear warm-up steps.")]
WeightDecay = Annotated[float, typer.Option("--weight-decay", help="AdamW weight decay.")]
GradClip = Annotated[float, typer.Option("--grad-clip", help="Clip the gradient norm (0: off).")]
Ema = Annotated[float, typer.Option("--ema", help="Validate and save a moving average of the weights with this decay per step, e.g. 0.998 (0: off).")]
EvalEvery = Annotated[int, typer.Option("--eval-every", help="Validate (and keep the best) every N steps.")]
SampleEvery = Annotated[int, typer.Option("--sample-every", help="Print a sample every N steps (0: never).")]
SaveEvery = Annotated[int, typer.Option("--save-every", help="Write the resumable OUT.last.pt every N steps.")]
LogEvery = Annotated[int, typer.Option("--log-every", help="Log loss and speed every N steps.")]
Bf16 = Annotated[Optional[bool], typer.Option("--bf16/--no-bf16", help="bf16 autocast (default: on where the CPU/GPU supports it).")]
Resume = Annotated[Optional[str], typer.Option("--resume", help="Continue exactly from a training checkpoint (OUT.last.pt).")]
Init = Annotated[Optional[str], typer.Option("--init", help="Start from these weights (fine-tuning); fresh optimizer.")]


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
    if value <= 0:
        raise UsageError(f"--max-time must be positive, got '{text}'")
    return value

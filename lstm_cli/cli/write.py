"""The write task's commands: ``lstm write TEXT -o hand.png`` writes text by hand (pen strokes,
drawn as PNG or SVG); ``lstm train write`` is declared here too."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o

COMMAND = "write"
TRAIN_DEFAULTS = dict(lr=1e-3, eval_every=250, sample_every=500, log_every=25, save_every=100, grad_clip=10.0)


def command(
    text: Annotated[str, typer.Argument(help="The text to write; - reads it from stdin.", show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="The picture: .png or .svg.")],
    model: o.Model = None,
    bias: Annotated[float, o.num("--bias", lo=0, hi=10, help="Neater with more (Graves' sampling bias); 0: as sampled.")] = 0.75,
    style: Annotated[Optional[str], typer.Option("--style", help="Write in this style: a shipped example's number, or a JSON-lines stroke file (its first sample).")] = None,
    width: Annotated[int, o.num("--width", kind=int, lo=50, hi=10000, help="Picture width in pixels.")] = 800,
    strokes_out: Annotated[Optional[str], typer.Option("--strokes", help="Also write the pen strokes as JSON lines here (- for stdout).")] = None,
    random_seed: o.RandomSeed = None,
):
    """Write text by hand, stroke by stroke (default model: hershey)."""
    from lstm_cli.core.fileio import check_output
    from lstm_cli.tasks import write as task

    check_output(output, "--output")
    if not output.lower().endswith((".png", ".svg")):
        from lstm_cli.core.errors import UsageError

        raise UsageError(f"--output must end in .png or .svg, got {output}")
    if strokes_out is not None:
        check_output(strokes_out, "--strokes", dash=True)
    if text == "-":
        from lstm_cli.core.fileio import read_text

        text = read_text("-").strip()
    points = task.write(model, text, output, bias=bias, style=style, width=width, strokes_out=strokes_out,
                        random_seed=random_seed)
    print(f"lstm: {points} pen points -> {output}", file=sys.stderr)


def train(
    data: Annotated[list[str], typer.Option("--data", "-d", help="JSON-lines stroke files, folders of them, or an IAM-OnDB folder (lineStrokes/ and ascii/).")],
    output: o.Output,
    cfg,
    val_data: Annotated[Optional[list[str]], typer.Option("--val-data", help="Held-out samples in the same forms (default: the last --val-fraction).")] = None,
    val_fraction: o.ValFraction = 0.05,
    hidden: Annotated[int, o.num("--hidden", kind=int, lo=1, help="LSTM units per layer.")] = 256,
    layers: Annotated[int, o.num("--layers", kind=int, lo=1, hi=8, help="LSTM layers (the first reads the text through the window).")] = 3,
    window: Annotated[int, o.num("--window", kind=int, lo=1, help="Gaussian components of the attention window (K).")] = 10,
    mixture: Annotated[int, o.num("--mixture", kind=int, lo=1, help="Bivariate Gaussians of the output (M).")] = 20,
    dropout: Annotated[float, o.num("--dropout", lo=0, hi=1, hi_open=True, help="Dropout between the LSTM layers and before the output.")] = 0.0,
    batch_size: Annotated[int, o.num("--batch-size", kind=int, lo=1, help="Samples per step (of similar length).")] = 32,
    **start,
):
    """``lstm train write``: handwriting synthesis on pen strokes with their text."""
    from lstm_cli.tasks import write as task

    model = dict(hidden=hidden, layers=layers, window=window, mixture=mixture, dropout=dropout)
    data_cfg = task.WriteData(batch_size=batch_size, val_fraction=val_fraction)
    typed = o.typed_flags(start, model, vars(data_cfg))
    task.train(data, val_data, output, cfg, data_cfg, model, given=typed, **start)

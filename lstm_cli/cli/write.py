"""The write task's commands: ``lstm write TEXT -o hand.png`` writes text by hand (pen strokes,
drawn as PNG or SVG); ``lstm train write`` is declared here too."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o

COMMAND = "write"
BEST_OF = 8  # drawings a line by default: Tesseract reads the kept print better, fewer lines change hands (docs/models.md)
TRAIN_DEFAULTS = dict(lr=1e-3, eval_every=250, sample_every=500, log_every=25, save_every=100, grad_clip=10.0)


def command(
    text: Annotated[str, typer.Argument(help="The text to write; - reads it from stdin.", show_default=False)],
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="The picture: .png or .svg; - writes PNG to stdout. Optional with --strokes.")] = None,
    model: o.Model = None,
    bias: Annotated[float, o.num("--bias", lo=0, hi=10, help="Neater with more (Graves' sampling bias); 0: as sampled.")] = 0.75,
    style: Annotated[Optional[str], typer.Option("--style", help="Write in this style: a shipped example's number, or a JSON-lines stroke file (its first sample).")] = None,
    hand: Annotated[Optional[str], typer.Option("--hand", help="Write in this hand (print or cursive): without --model, with the shipped writer of that hand alone (hershey-print, hershey-cursive), which cannot drift into the other; every line primed with the model's first kept style in it and, where the model takes a hand as an input, told it.", show_default=False)] = None,
    width: Annotated[int, o.num("--width", kind=int, lo=50, hi=10000, help="Picture width in pixels.")] = 800,
    line_chars: Annotated[int, o.num("--line-chars", kind=int, lo=1, hi=200, help="Wrap the words into lines of at most this many characters.")] = 40,
    strokes_out: Annotated[Optional[str], typer.Option("--strokes", help="Write the pen strokes here: JSON lines, one per line of text (- for stdout), or InkML for a .inkml name (lstm read reads both).")] = None,
    animate: Annotated[Optional[str], typer.Option("--animate", help="Also write the pen writing it as an animated GIF here.")] = None,
    attention: Annotated[Optional[str], typer.Option("--attention", help="Also draw the window over the first line's letters against time (PNG).")] = None,
    best_of: Annotated[int, o.num("--best-of", kind=int, lo=1, hi=64, help="Draw each line this many times at once (one batch) and keep the drawing the reader (--reader) reads likeliest as the text, in the page's hand (judged by the reader's hand head, see lstm export --hands; else by pen lifts); a line with none all in the page's hand is drawn N times more, once (not one of short words and numbers only). 1 draws once and loads no reader. Without the shipped reader, the likeliest under the writer is kept (with a warning).")] = BEST_OF,
    reader: Annotated[Optional[str], typer.Option("--reader", help="The reader that judges --best-of drawings (default: hershey-reader).", show_default=False)] = None,
    oov: Annotated[str, o.pick("--oov", values=("error", "skip"), help="Characters the model cannot write: an error that lists them, or left out.")] = "error",
    random_seed: o.RandomSeed = None,
):
    """Write text by hand, stroke by stroke (default model: hershey; with --hand H, hershey-H). Long
    text is wrapped into lines, all in one hand."""
    from lstm_cli.core.errors import UsageError
    from lstm_cli.core.fileio import check_output
    from lstm_cli.tasks import write as task

    if output is None and strokes_out is None:
        raise UsageError("nothing to write to: give -o PICTURE (.png, .svg, -) or --strokes FILE (or both)")
    if output is not None:
        check_output(output, "--output", dash=True, suffixes=(".png", ".svg"), hint="- writes PNG to stdout")
    outs = [(strokes_out, "--strokes", ()), (animate, "--animate", (".gif",)), (attention, "--attention", (".png",))]
    for path, flag, suffixes in outs:
        if path:
            check_output(path, flag, dash=flag == "--strokes", suffixes=suffixes)
    if [output, strokes_out].count("-") > 1:
        raise UsageError("only one of --output and --strokes can be - (stdout)")
    if hand and style:
        raise UsageError("--hand and --style both choose the hand: give one")
    if text == "-":
        from lstm_cli.core.fileio import read_text

        text = read_text("-")
    lines, points, read = task.write(model, text, output, bias=bias, style=style, width=width, strokes_out=strokes_out,
                                     random_seed=random_seed, oov=oov, animate=animate, attention=attention,
                                     line_chars=line_chars, best_of=best_of, reader=reader, hand=hand)
    where = "stdout" if "-" in (output, strokes_out) else (output or strokes_out)
    print(f"lstm: {lines} line{'s' if lines > 1 else ''}, {points} pen points -> {where}", file=sys.stderr)
    for k, line in enumerate(read or ()):
        print(f"lstm: line {k + 1} reads back as {line!r}" if lines > 1 else f"lstm: it reads back as {line!r}",
              file=sys.stderr)


def train(
    data: Annotated[list[str], typer.Option("--data", "-d", help="JSON-lines or InkML stroke files, folders of them, or an IAM-OnDB folder (lineStrokes/ and ascii/).")],
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

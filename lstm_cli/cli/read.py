"""The read task's commands: ``lstm read INK...`` prints the text of handwriting given as pen
strokes (our JSON lines, IAM-OnDB XML, InkML); ``lstm train read`` and read's ``lstm eval``
options are declared here."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o

COMMAND = "read"
# lr 2e-3 sat on CTC's plateau (every output a blank) for 450+ steps of the hershey data; 1e-2 with the
# gradient clipped at 1 left it by step 500 (docs/models.md#reading-hershey-reader).
TRAIN_DEFAULTS = dict(lr=1e-2, warmup=100, eval_every=250, sample_every=500, log_every=25, save_every=100, grad_clip=1.0)

Beam = Annotated[int, o.num("--beam", "-b", kind=int, lo=1, hi=256, help="Prefix beam search with this many prefixes; 1: best path (fastest).")]
Lm = Annotated[Optional[str], typer.Option("--lm", help="A character model (lstm models: shakespeare, wikipedia, ...) as the language model of the beam search, or none. Default: the one the reader was tuned with, if any.")]
EVAL_OPTIONS = {"beam": (Beam, 1), "lm": (Lm, None)}  # eval's defaults: tasks/read evaluate()'s (no LM)


def command(
    inputs: Annotated[list[str], typer.Argument(help="Stroke files (.jsonl, IAM-OnDB .xml, .inkml); - reads one from stdin.", show_default=False)],
    model: o.Model = None,
    beam: Annotated[Optional[int], o.num("--beam", "-b", kind=int, lo=1, hi=256, help="Prefix beam search with this many prefixes; 1: best path (fastest). Default: 1, or 8 with a language model.")] = None,
    n_best: Annotated[int, o.num("--n-best", kind=int, lo=1, hi=256, help="Print the N likeliest readings per sample as [PATH<TAB>]SCORE<TAB>TEXT (N <= --beam; the beam is at least N when not given).")] = 1,
    lm: Lm = None,
    lm_weight: Annotated[Optional[float], o.num("--lm-weight", lo=0, hi=10, help="The language model's weight (default: as tuned).")] = None,
    bonus: Annotated[Optional[float], o.num("--bonus", lo=-20, hi=20, help="Score added per character read with a language model (default: as tuned).")] = None,
    view: Annotated[str | None, typer.Option("--view", help="Draw the reading of the (first) sample as a PNG: the outputs, the cell states, the ink, the gradient (the article's four rows).")] = None,
    animate: Annotated[str | None, typer.Option("--animate", help="Play the reading of the (first) sample as an animated GIF.")] = None,
    device: o.Device = "auto",
):
    """Read handwriting (default model: hershey-reader): one line of text per sample. Several
    inputs: PATH<TAB>TEXT per sample. A JSON-lines file may hold many samples (lstm write
    --strokes writes one per line of text)."""
    from lstm_cli.core.errors import UsageError
    from lstm_cli.core.fileio import check_output, stdout_pipe
    from lstm_cli.tasks import read as task

    if inputs.count("-") > 1:
        raise UsageError("stdin (-) can be read once")
    if view is not None:
        check_output(view, "--view", suffixes=(".png",))
    if animate is not None:
        check_output(animate, "--animate", suffixes=(".gif",))
    with stdout_pipe() as out:
        task.read(model, inputs, beam=beam, n_best=n_best, device=device, emit=lambda line: out.write(line + "\n"),
                  view=view, animate=animate, lm=lm, lm_weight=lm_weight, bonus=bonus)


def train(
    data: Annotated[list[str], typer.Option("--data", "-d", help="JSON-lines or InkML stroke files with their text, folders of them, or an IAM-OnDB folder (lineStrokes/ and ascii/).")],
    output: o.Output,
    cfg,
    val_data: Annotated[list[str] | None, typer.Option("--val-data", help="Held-out samples in the same forms (default: the last --val-fraction).")] = None,
    val_fraction: o.ValFraction = 0.05,
    hidden: Annotated[int, o.num("--hidden", kind=int, lo=1, hi=4096, help="LSTM units per direction and layer.")] = 128,
    layers: Annotated[int, o.num("--layers", kind=int, lo=1, hi=8, help="Bidirectional LSTM layers.")] = 3,
    dropout: Annotated[float, o.num("--dropout", lo=0, hi=1, hi_open=True, help="Dropout between the LSTM layers and before the output.")] = 0.1,
    step: Annotated[float, o.num("--step", lo=0.01, hi=1, help="Resample the ink every STEP line heights (fewer points: faster, coarser).")] = 0.2,
    batch_size: Annotated[int, o.num("--batch-size", kind=int, lo=1, help="Samples per step (of similar length).")] = 32,
    oov: Annotated[str, o.pick("--oov", values=("error", "skip"), help="Label characters the model does not read (with --init): an error that lists them, or left out.")] = "error",
    **start,
):
    """``lstm train read``: handwriting recognition (BLSTM + CTC) on pen strokes with their text."""
    from lstm_cli.tasks import read as task

    model = dict(hidden=hidden, layers=layers, dropout=dropout, step=step)
    data_cfg = task.ReadData(batch_size=batch_size, val_fraction=val_fraction)
    typed = o.typed_flags(start, model, vars(data_cfg))
    task.train(data, val_data, output, cfg, data_cfg, model, given=typed, oov=oov, **start)

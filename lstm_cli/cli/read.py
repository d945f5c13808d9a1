"""The read task's commands: ``lstm read INK...`` prints the text of handwriting given as pen
strokes (our JSON lines, IAM-OnDB XML, InkML); ``lstm train read`` and read's ``lstm eval``
options are declared here."""

from __future__ import annotations

from typing import Annotated

import typer

from lstm_cli.cli import options as o

COMMAND = "read"
TRAIN_DEFAULTS = dict(lr=2e-3, eval_every=250, sample_every=500, log_every=25, save_every=100, grad_clip=5.0)

Beam = Annotated[int, o.num("--beam", "-b", kind=int, lo=1, hi=256, help="Prefix beam search with this many prefixes; 1: best path (fastest).")]
EVAL_OPTIONS = {"beam": (Beam, 1)}


def command(
    inputs: Annotated[list[str], typer.Argument(help="Stroke files (.jsonl, IAM-OnDB .xml, .inkml); - reads one from stdin.", show_default=False)],
    model: o.Model = None,
    beam: Beam = 1,
    n_best: Annotated[int, o.num("--n-best", kind=int, lo=1, hi=256, help="Print the N likeliest readings per sample as [PATH<TAB>]LOGPROB<TAB>TEXT (N <= --beam, or any with beam 1: then --beam N).")] = 1,
    device: o.Device = "auto",
):
    """Read handwriting (default model: hershey-reader): one line of text per sample. Several
    inputs: PATH<TAB>TEXT per sample. A JSON-lines file may hold many samples (lstm write
    --strokes writes one per line of text)."""
    from lstm_cli.core.errors import UsageError
    from lstm_cli.core.fileio import stdout_pipe
    from lstm_cli.tasks import read as task

    if inputs.count("-") > 1:
        raise UsageError("stdin (-) can be read once")
    if n_best > 1 and beam == 1:
        beam = n_best
    if n_best > beam:
        raise UsageError(f"--n-best must be between 1 and --beam ({beam}), got {n_best}")
    with stdout_pipe() as out:
        task.read(model, inputs, beam=beam, n_best=n_best, device=device, emit=lambda line: out.write(line + "\n"))


def train(
    data: Annotated[list[str], typer.Option("--data", "-d", help="JSON-lines or InkML stroke files with their text, folders of them, or an IAM-OnDB folder (lineStrokes/ and ascii/).")],
    output: o.Output,
    cfg,
    val_data: Annotated[list[str] | None, typer.Option("--val-data", help="Held-out samples in the same forms (default: the last --val-fraction).")] = None,
    val_fraction: o.ValFraction = 0.05,
    hidden: Annotated[int, o.num("--hidden", kind=int, lo=1, hi=4096, help="LSTM units per direction and layer.")] = 128,
    layers: Annotated[int, o.num("--layers", kind=int, lo=1, hi=8, help="Bidirectional LSTM layers.")] = 3,
    dropout: Annotated[float, o.num("--dropout", lo=0, hi=1, hi_open=True, help="Dropout between the LSTM layers and before the output.")] = 0.1,
    step: Annotated[float, o.num("--step", lo=0.01, hi=1, help="Resample the ink every STEP line heights (fewer points: faster, coarser).")] = 0.15,
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

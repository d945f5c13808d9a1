"""``lstm predict``: the next element(s) of a sequence of numbers or letters (tasks/sequences.py)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o

DEFAULT_MODEL = "sequences"
UNSURE = 0.5  # --explain calls an answer a guess below this probability


def predict(
    elements: Annotated[Optional[list[str]], typer.Argument(help="The sequence: whole numbers or letters (6 7 8). None, or -: one sequence per line from stdin, one answer per line.", show_default=False)] = None,
    model: o.Model = None,
    n: Annotated[int, o.num("-n", "--count", kind=int, lo=1, hi=50, help="How many next elements to predict (each read back before the next).")] = 1,
    explain: Annotated[bool, typer.Option("--explain", help="Also show the likeliest alternatives for the next element, with their probabilities, and say when the answer is a guess: below 0.5, or (four elements or more) the last given element below 0.5 from the ones before it.")] = False,
    top: Annotated[int, o.num("--top", kind=int, lo=1, hi=20, help="With --explain: how many alternatives.")] = 5,
    score: Annotated[Optional[str], typer.Option("--score", help="Instead: score the model on a file of sequences, one per line (FAMILY<TAB> before it groups them): how often it predicts each line's last element exactly.")] = None,
    given: Annotated[Optional[int], o.num("--given", kind=int, lo=2, hi=50, help="With --score: predict the element after the first N of each line, not its last (lines too short, and periodic lines whose period N does not show, are left out).")] = None,
    json_out: o.Json = False,
):
    """Predict what comes next: 6 7 8 -> 9, but 2 4 8 -> 16 (default model: sequences).
    The model reads the whole sequence (its last six elements), so the same last element can lead
    to different answers. It writes the numbers one above the other, aligned at their lowest digit,
    and reads them column by column, as a person adds on paper; it reads numbers of up to nine
    digits, negative ones too (lstm predict -3 -1 1), and letters (z y x). A char model (--model of
    task text) reads the line character by character, from several starts."""
    from lstm_cli.core.errors import InputError, UsageError
    from lstm_cli.core.fileio import read_text, stdout_pipe
    from lstm_cli.core.runtime import set_threads
    from lstm_cli.tasks import sequences

    if given is not None and score is None:
        raise UsageError("--given goes with --score FILE", hint="lstm predict --score held.tsv --given 3")

    # one torch thread unless LSTM_THREADS says otherwise: beside one busy process two threads read
    # 7 single sequences/s against 112 with one, and 300 together 305/s against 2,344 (idle, two
    # are 1.3-2x faster; docs/benchmarks.md#predict)
    set_threads(0, default=1)
    predictor = sequences.load_predictor(model or DEFAULT_MODEL)
    if score is not None:
        return _score(predictor, read_text(score), score, json_out, given)
    args = elements or ["-"]
    if args == ["-"]:
        lines = [(i + 1, ln) for i, ln in enumerate(read_text("-").splitlines()) if ln.strip()]
        if not lines:
            raise InputError("stdin holds no sequence: give one per line, e.g. 6 7 8")
        batch = True
    else:
        lines, batch = [(0, " ".join(args))], False
    k = top if explain else 1
    failed = 0
    with stdout_pipe() as out:
        for at in range(0, len(lines), predictor.CHUNK):  # read together, answered in order
            chunk = lines[at: at + predictor.CHUNK]
            parsed, errors = {}, {}
            for j, (number, ln) in enumerate(chunk):
                what = f"line {number}" if batch else "the sequence"
                try:
                    items = sequences.parse([ln], what)
                    predictor.encode(items, what)
                    parsed[j] = items
                except InputError as e:
                    if not batch:
                        raise
                    errors[j] = e.message
            found = dict(zip(parsed, predictor.answer_many(list(parsed.values()), n, k, explain)))
            for j, (number, ln) in enumerate(chunk):
                if j not in errors and found[j] is None:
                    errors[j] = "the model found no next element for this sequence"
                if j in errors:
                    if not batch:
                        raise InputError(errors[j])
                    print(f"lstm: error: {errors[j]}", file=sys.stderr)
                    out.write("\n")
                    failed += 1
                    continue
                nexts, cands, fit = found[j]
                if len(nexts) < n:
                    where = f"line {number}: " if batch else ""
                    print(f"lstm: warning: {where}{len(nexts)} of {n} next elements: {predictor.why_short(nexts)}",
                          file=sys.stderr)
                out.write(" ".join(nexts) + "\n")
                if explain:
                    _explain(parsed[j], cands, fit, out)
            out.flush()
    if failed:
        from lstm_cli.core.errors import ExitCode

        return int(ExitCode.BAD_INPUT)


def _explain(items, cands, fit, out) -> None:
    """The likeliest next elements with their probabilities, and a line when no family the model
    knows fits (tasks/sequences.py guess)."""
    from lstm_cli.tasks.sequences import guess as why

    shown = " ".join(items)
    guess = why(items, cands, fit, UNSURE)
    if out.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"after {shown}", title_justify="left", caption=guess, caption_justify="left")
        table.add_column("next", justify="right")
        table.add_column("probability", justify="right")
        for c, p in cands:
            table.add_row(c, f"{100 * p:.1f}%")
        Console(file=out).print(table)
    else:
        for c, p in cands:
            out.write(f"  {c}\t{p:.4f}\n")
        if guess:
            out.write(f"  ({guess})\n")


def _score(predictor, content: str, path: str, json_out: bool, given: int | None = None):
    import json

    from lstm_cli.core.errors import InputError
    from lstm_cli.tasks import sequences

    rows = sequences.scored_rows(content, path)
    if not rows:
        raise InputError(f"{path} holds no sequence")
    result = sequences.accuracy(predictor, rows, given)
    if not result:
        raise InputError(f"{path}: no line has more than {given} elements" if given else f"{path} holds no sequence to score")
    if json_out:
        print(json.dumps(result, indent=2))
        return
    width = max(map(len, result))
    for fam, r in result.items():
        print(f"{fam:<{width}}  {r['accuracy']:6.2f}%  ({r['correct']} of {r['total']})")


def train(
    data: Annotated[list[str], typer.Option("--data", "-d", help="Text files of sequences, one per line (whole numbers or letters; FAMILY<TAB> before a line is ignored).")],
    output: o.Output,
    cfg,
    val_data: Annotated[Optional[list[str]], typer.Option("--val-data", help="Held-out sequences in the same form (default: the last --val-fraction of the lines).")] = None,
    val_fraction: o.ValFraction = 0.02,
    digits: Annotated[int, o.num("--digits", kind=int, lo=1, hi=15, help="The longest number the model reads, in digits (its answers may have one more).")] = 9,
    terms: Annotated[int, o.num("--terms", kind=int, lo=2, hi=16, help="How many of a sequence's last elements the model reads.")] = 6,
    hidden: Annotated[int, o.num("--hidden", kind=int, lo=1, hi=4096, help="Encoder LSTM units per direction and layer.")] = 192,
    layers: Annotated[int, o.num("--layers", kind=int, lo=1, hi=8, help="Bidirectional encoder layers.")] = 2,
    decoder: Annotated[int, o.num("--decoder", kind=int, lo=1, hi=4096, help="Decoder LSTM units.")] = 256,
    dropout: Annotated[float, o.num("--dropout", lo=0, hi=1, hi_open=True, help="Dropout between the encoder layers and before the decoder.")] = 0.0,
    batch_size: Annotated[int, o.num("--batch-size", kind=int, lo=1, help="Windows (a line, an element, the 2-TERMS before it) per step.")] = 256,
    **start,
):
    """``lstm train sequences``: the model lstm predict reads, on your own sequences."""
    from lstm_cli.tasks import columns as task

    model = dict(digits=digits, terms=terms, hidden=hidden, layers=layers, decoder=decoder, dropout=dropout)
    data_cfg = task.SequencesData(batch_size=batch_size, val_fraction=val_fraction)
    typed = o.typed_flags(start, model, vars(data_cfg))
    task.train(data, val_data, output, cfg, data_cfg, model, given=typed, **start)

"""``lstm translate``: sentences in (argument or stdin, one per line), translations out, in order."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o


def translate(
    text: Annotated[Optional[str], typer.Argument(help="Text to translate (one sentence per line); without it (or with -), stdin is read line by line.")] = None,
    model: o.Model = None,
    beam: Annotated[int, o.num("--beam", "-b", kind=int, lo=1, help="Beam width; 1 is greedy decoding.")] = 5,
    n_best: Annotated[int, o.num("--n-best", kind=int, lo=1, help="Print the N best translations per line as LINE<TAB>SCORE<TAB>TEXT (N <= --beam).")] = 1,
    alpha: Annotated[float, o.num("--alpha", lo=0, help="Length normalisation: scores are divided by ((5 + length) / 6) ** alpha.")] = 0.6,
    attention: Annotated[Optional[str], typer.Option("--attention", help="Draw the first sentence's attention matrix as a PNG heatmap here.")] = None,
    batch_size: Annotated[int, o.num("--batch-size", kind=int, lo=1, help="Input lines decoded together when they arrive together.")] = 16,
    device: o.Device = "auto",
):
    """Translate text (default model: en-fr, English -> French). One output line per input line,
    an empty line for an empty line, so `paste` lines them up."""
    from lstm_cli.core.errors import InputError, UsageError
    from lstm_cli.core.fileio import stdout_pipe
    from lstm_cli.tasks import translate as task

    if n_best > beam:
        raise UsageError(f"--n-best must be between 1 and --beam ({beam}), got {n_best}")
    if attention is not None:
        from lstm_cli.core.fileio import check_output

        check_output(attention, "--attention")
    if text == "-":
        text = None  # stdin, as without TEXT
    if text is not None and "\x00" in text:
        raise InputError("the text contains NUL bytes")
    if text is None and sys.stdin.isatty():
        print("lstm: reading sentences from stdin, one per line (Ctrl-D ends)", file=sys.stderr)
    tr = task.load_translator(model, device)
    batches = [text.splitlines() or [""]] if text is not None else _stdin_batches(batch_size)
    drawn = attention is None
    n_line = 0
    with stdout_pipe() as out:
        for lines in batches:
            want_att = not drawn and any(l.strip() for l in lines)
            results = tr.translate(lines, beam=beam, n_best=n_best, alpha=alpha, attention=want_att)
            for line, hyps in zip(lines, results):
                n_line += 1
                if hyps[0].unreadable:
                    print(f"lstm: warning: line {n_line} has no word the model knows; its output line is empty",
                          file=sys.stderr)
                if n_best == 1:
                    out.write(hyps[0].text + "\n")
                else:
                    for h in hyps:
                        out.write(f"{n_line}\t{h.score:.4f}\t{h.text}\n")
                if not drawn and hyps[0].attention is not None:
                    _draw(tr, line, hyps[0], attention, n_line)
                    drawn = True
            out.flush()
    if not drawn:
        print("lstm: no sentence the model could read, so no attention picture was drawn", file=sys.stderr)


def _stdin_batches(batch_size: int):
    from lstm_cli.core.errors import InputError
    from lstm_cli.core.fileio import line_batches

    sys.stdin.reconfigure(encoding="utf-8", errors="strict")
    try:
        for lines in line_batches(sys.stdin, batch_size):
            if any("\x00" in l for l in lines):
                raise InputError("stdin looks binary (it contains NUL bytes), not UTF-8 text")
            yield lines
    except UnicodeDecodeError as e:
        raise InputError(f"stdin is not UTF-8 text (bad byte {e.object[e.start:e.start + 1]!r})",
                         hint="convert it first, e.g. iconv -t UTF-8") from None


def _draw(tr, line: str, hyp, path: str, n_line: int) -> None:
    from lstm_cli.render.attention import heatmap
    from lstm_cli.tasks import translate as task

    src = tr.tok.pieces(tr.split(line)[0])  # a line of several sentences: its first one
    ids = hyp.ids[: len(hyp.attention)]
    tgt = [p if i != task.EOS else "</s>" for p, i in zip(tr.tok.pieces(ids), ids)]
    heatmap(src, tgt, hyp.attention, path)
    print(f"lstm: attention of line {n_line} drawn to {path}", file=sys.stderr)

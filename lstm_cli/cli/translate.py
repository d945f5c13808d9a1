"""The translate task's commands: ``lstm translate`` (sentences in, from an argument or stdin one
per line; translations out, in order) and ``lstm train translate``."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o

MAX_LINE = 10_000  # characters in one line; a longer one is left out, with a warning (exit 3 at the end)


COMMAND = "translate"
EVAL_STDIN = True  # lstm eval --data - reads the held-out pairs from stdin
TRAIN_DEFAULTS = dict(lr=1e-3, eval_every=250, sample_every=500, log_every=25, save_every=100)


def command(
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

        check_output(attention, "--attention", suffixes=(".png",))
    if text == "-":
        text = None  # stdin, as without TEXT
    if text is not None and "\x00" in text:
        raise InputError("the text contains NUL bytes")
    if text is None and sys.stdin.isatty():
        print("lstm: reading sentences from stdin, one per line (Ctrl-D ends)", file=sys.stderr)
    tr = task.load_translator(model, device)
    batches = [text.splitlines() or [""]] if text is not None else _stdin_batches(batch_size)
    drawn = attention is None
    n_line = too_long = 0
    with stdout_pipe() as out:
        for lines in batches:
            long = {k for k, l in enumerate(lines) if len(l) > MAX_LINE}
            lines = ["" if k in long else l for k, l in enumerate(lines)]
            want_att = not drawn and any(l.strip() for l in lines)
            results = tr.translate(lines, beam=beam, n_best=n_best, alpha=alpha, attention=want_att)
            for k, (line, hyps) in enumerate(zip(lines, results)):
                n_line += 1
                if k in long:
                    too_long += 1
                    print(f"lstm: warning: line {n_line} has more than {MAX_LINE:,} characters, so it was not "
                          "translated; its output line is empty", file=sys.stderr)
                elif hyps[0].unreadable:
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
    if too_long:
        raise InputError(f"{too_long} line(s) too long to translate (their output lines are empty)",
                         hint=f"split lines of more than {MAX_LINE:,} characters")


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

    heatmap(*tr.attended(line, hyp), hyp.attention, path)
    print(f"lstm: attention of line {n_line} drawn to {path}", file=sys.stderr)


def train(
    output: o.Output,
    cfg,
    data: Annotated[Optional[list[str]], typer.Option("--data", "-d", help="TSV file(s), one source<TAB>target pair per line; - for stdin.")] = None,
    src: Annotated[Optional[str], typer.Option("--src", help="Source sentences, one per line (with --tgt, instead of --data).")] = None,
    tgt: Annotated[Optional[str], typer.Option("--tgt", help="Target sentences, line-aligned with --src.")] = None,
    val_data: Annotated[Optional[list[str]], typer.Option("--val-data", help="Held-out TSV for validation (default: --val-fraction of the pairs).")] = None,
    val_fraction: Annotated[float, o.num("--val-fraction", lo=0, hi=1, hi_open=True, help="Share of pairs held out when no --val-data.")] = 0.05,
    vocab_size: Annotated[int, o.num("--vocab-size", kind=int, lo=8, help="sentencepiece pieces, shared by both languages.")] = 8000,
    embed: Annotated[int, o.num("--embed", kind=int, lo=1, help="Embedding size.")] = 256,
    enc_hidden: Annotated[int, o.num("--enc-hidden", kind=int, lo=1, help="Encoder LSTM units per direction.")] = 256,
    enc_layers: Annotated[int, o.num("--enc-layers", kind=int, lo=1, help="Encoder layers (bidirectional).")] = 1,
    dec_hidden: Annotated[int, o.num("--dec-hidden", kind=int, lo=1, help="Decoder LSTM units.")] = 512,
    dec_layers: Annotated[int, o.num("--dec-layers", kind=int, lo=1, help="Decoder layers.")] = 1,
    dropout: Annotated[float, o.num("--dropout", lo=0, hi=1, hi_open=True, help="Dropout on embeddings, encoder output and decoder states.")] = 0.3,
    max_len: Annotated[int, o.num("--max-len", kind=int, lo=1, help="Longest sentence in pieces; longer pairs are dropped.")] = 100,
    batch_tokens: Annotated[int, o.num("--batch-tokens", kind=int, lo=1, help="Pieces per length-bucketed batch.")] = 2500,
    label_smoothing: Annotated[float, o.num("--label-smoothing", lo=0, hi=1, hi_open=True, help="Label smoothing of the training loss.")] = 0.1,
    **start,
):
    """``lstm train translate``: an encoder-decoder with attention on sentence pairs, with its own
    sentencepiece tokenizer."""
    from lstm_cli.tasks import translate as task

    model = dict(embed=embed, enc_hidden=enc_hidden, enc_layers=enc_layers, dec_hidden=dec_hidden,
                 dec_layers=dec_layers, dropout=dropout, max_len=max_len)
    data_cfg = task.TranslateData(vocab_size=vocab_size, batch_tokens=batch_tokens, val_fraction=val_fraction,
                                  label_smoothing=label_smoothing)
    typed = o.typed_flags(start, model, vars(data_cfg))
    task.train(data, src, tgt, val_data, output, cfg, data_cfg, model, given=typed, **start)

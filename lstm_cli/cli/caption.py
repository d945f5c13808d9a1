"""The caption task's commands: ``lstm caption IMAGE...`` (or a list of paths on stdin) prints what
each picture shows; ``lstm train caption`` and caption's ``lstm eval`` options are declared here."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o

COMMAND = "caption"
TRAIN_DEFAULTS = dict(lr=2e-3, eval_every=250, sample_every=500, log_every=25, save_every=100)

EVAL_OPTIONS = {
    "beam": (Annotated[Optional[int], o.num("--beam", "-b", kind=int, lo=1, help="Caption and read: beam width; 1 is greedy decoding, or best path (default: caption 3, read 1).")], None),
}


def command(
    images: Annotated[list[str], typer.Argument(help="Image files; - reads a list of paths from stdin, one per line.", show_default=False)],
    model: o.Model = None,
    beam: Annotated[int, o.num("--beam", "-b", kind=int, lo=1, help="Beam width; 1 is greedy decoding.")] = 3,
    n_best: Annotated[int, o.num("--n-best", kind=int, lo=1, help="Print the N best captions per image as PATH<TAB>SCORE<TAB>CAPTION (N <= --beam); SCORE: log-probability per word.")] = 1,
    attention: Annotated[Optional[str], typer.Option("--attention", help="Draw where the model looked for each word, as a PNG grid; with several images, one picture each: NAME-1.png, NAME-2.png, ...")] = None,
    batch_size: Annotated[int, o.num("--batch-size", kind=int, lo=1, help="Images captioned together when they arrive together.")] = 64,
    device: o.Device = "auto",
):
    """Describe images in words (default model: shapes). One image: its caption. Several, or a
    list on stdin: PATH<TAB>CAPTION per image, in input order; an unreadable image's line says
    why, and the exit code is 3 when any failed. A caption the model is unsure of (its score
    per word below the threshold recorded in the model) gets a warning on stderr saying what the
    model knows; the shipped shapes model answers "nothing i know" to pictures with none of its
    shapes."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    from lstm_cli.core.errors import InputError, UsageError
    from lstm_cli.core.fileio import check_output, stdout_pipe
    from lstm_cli.tasks import caption as task
    from lstm_cli.tasks.caption import data as D

    if n_best > beam:
        raise UsageError(f"--n-best must be between 1 and --beam ({beam}), got {n_best}")
    from_stdin = images == ["-"]
    if "-" in images and not from_stdin:
        raise UsageError("- (a list of paths on stdin) cannot be mixed with image paths")
    if attention is not None:
        check_output(attention, "--attention", suffixes=(".png",))
    single = not from_stdin and len(images) == 1
    cap = task.load_captioner(model, device)
    size, aspect = cap.model.cfg.image_size, cap.model.cfg.max_aspect
    batches = _stdin_batches(batch_size) if from_stdin else (images[k: k + batch_size] for k in range(0, len(images), batch_size))
    failed = total = 0

    def load(p: str):
        notes: list[str] = []
        try:
            return D.load_image(p, size, max_aspect=aspect, notes=notes), notes
        except InputError as e:
            if single:
                raise
            return e, notes

    # Pictures are decoded on other threads (pillow lets go of the GIL) while the model works.
    with stdout_pipe() as out, ThreadPoolExecutor(2) as pool:
        pending = None
        for paths in batches:
            ready, pending = pending, (paths, [pool.submit(load, p) for p in paths])
            if ready:
                failed += _caption_batch(cap, *ready, out, single, beam, n_best, attention, total)
                total += len(ready[0])
        if pending:
            failed += _caption_batch(cap, *pending, out, single, beam, n_best, attention, total)
            total += len(pending[0])
    if failed:
        raise InputError(f"{failed} of {total} images could not be read (their lines say why)")


def _caption_batch(cap, paths, loaded, out, single, beam, n_best, attention, before: int) -> int:
    """Caption one batch of pictures (futures of (picture or its error, notes)) and write their
    lines; -> how many failed."""
    import torch

    loaded = [f.result() for f in loaded]
    good = [im for im, _ in loaded if torch.is_tensor(im)]
    hyps = iter(cap.caption(good, beam=beam, n_best=n_best, attention=attention is not None) if good else [])
    failed = 0
    for k, (p, (im, notes)) in enumerate(zip(paths, loaded)):
        for note in notes:
            print(f"lstm: {note}", file=sys.stderr)
        if not torch.is_tensor(im):
            failed += 1
            print(f"lstm: warning: {im.message}", file=sys.stderr)
            out.write(f"{p}\terror: {im.message}\n")
            continue
        hs = next(hyps)
        if n_best > 1:
            out.writelines(f"{p}\t{cap.per_word(h):.4f}\t{h.text}\n" for h in hs)
        else:
            out.write(hs[0].text + "\n" if single else f"{p}\t{hs[0].text}\n")
        unsure = cap.unsure(hs[0])
        if unsure:
            print(f"lstm: warning: {p}: {unsure}", file=sys.stderr)
        if attention is not None:
            from lstm_cli.render.attention import image_grid

            path = attention if single else _numbered(attention, before + k + 1)
            image_grid(im, hs[0].words, hs[0].attention, path, grid=cap.grid(im))
            print(f"lstm: attention drawn to {path}", file=sys.stderr)
    out.flush()
    return failed


def _numbered(path: str, n: int) -> str:
    """att.png, 3 -> att-3.png"""
    from pathlib import Path

    p = Path(path)
    return str(p.with_name(f"{p.stem}-{n}{p.suffix}"))


def _stdin_batches(batch_size: int):
    from lstm_cli.core.fileio import line_batches

    if sys.stdin.isatty():
        print("lstm: reading image paths from stdin, one per line (Ctrl-D ends)", file=sys.stderr)
    for lines in line_batches(sys.stdin, batch_size):
        paths = [l.strip() for l in lines if l.strip()]
        if paths:
            yield paths


def train(
    data: Annotated[str, typer.Option("--data", "-d", help="A folder of images with captions.tsv (image.jpg#0<TAB>caption) or COCO's captions.json.")],
    output: o.Output,
    cfg,
    val_data: Annotated[Optional[str], typer.Option("--val-data", help="A held-out folder in the same form (default: the last --val-fraction of the images).")] = None,
    val_fraction: o.ValFraction = 0.05,
    image_size: Annotated[int, o.pick("--image-size", values=("32", "64", "128", "256"), help="Pixels on every image's shorter side (with --max-aspect 1: both sides).")] = "64",
    max_aspect: Annotated[float, o.num("--max-aspect", lo=1, hi=8, help="Keep each image's aspect ratio up to this (longer ones are letterboxed); 1 squeezes every image to a square.")] = 3.0,
    norm: Annotated[str, o.pick("--norm", values=("batch", "group"), help="The encoder's normalisation: batch norm (batches hold pictures of one shape: lstm export --calibrate then measures its statistics per shape), or group norm (per picture; composed colours and shapes worse on the shapes data).")] = "batch",
    widths: Annotated[str, typer.Option("--widths", help="Conv channels per encoder block, comma-separated.")] = "32,64,128,128",
    embed: Annotated[int, o.num("--embed", kind=int, lo=1, help="Word embedding size.")] = 128,
    hidden: Annotated[int, o.num("--hidden", kind=int, lo=1, help="Decoder LSTM units.")] = 256,
    attention: Annotated[int, o.num("--attention", kind=int, lo=1, help="Attention layer units.")] = 128,
    dropout: Annotated[float, o.num("--dropout", lo=0, hi=1, hi_open=True, help="Dropout on word embeddings and the decoder's output layer.")] = 0.2,
    max_len: Annotated[int, o.num("--max-len", kind=int, lo=1, help="Longest caption in words; longer ones are cut.")] = 30,
    vocab_size: Annotated[int, o.num("--vocab-size", kind=int, lo=5, help="Words kept (the commonest), specials included.")] = 5000,
    min_count: Annotated[int, o.num("--min-count", kind=int, lo=1, help="Rarer words become <unk>.")] = 1,
    batch_size: Annotated[int, o.num("--batch-size", kind=int, lo=1, help="(image, caption) pairs per step.")] = 64,
    encoder_lr_scale: Annotated[float, o.num("--encoder-lr-scale", lo=0, help="The CNN's learning rate relative to the decoder's (0 freezes it).")] = 1.0,
    **start,
):
    """``lstm train caption``: a CNN encoder and an attending LSTM decoder on captioned images."""
    from lstm_cli.core.errors import UsageError
    from lstm_cli.tasks import caption as task

    try:
        chans = [int(w) for w in widths.split(",")]
        assert chans and all(w > 0 for w in chans)
    except (ValueError, AssertionError):
        raise UsageError(f"--widths must be positive integers separated by commas, got {widths!r}") from None
    model = dict(image_size=int(image_size), max_aspect=max_aspect, norm=norm, widths=chans, embed=embed, hidden=hidden, attention=attention,
                 dropout=dropout, max_len=max_len)
    data_cfg = task.CaptionData(batch_size=batch_size, vocab_size=vocab_size, min_count=min_count,
                                val_fraction=val_fraction, encoder_lr_scale=encoder_lr_scale)
    typed = o.typed_flags(start, model, vars(data_cfg))
    task.train(data, val_data, output, cfg, data_cfg, model, given=typed, **start)

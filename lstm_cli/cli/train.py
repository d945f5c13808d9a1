"""``lstm train TASK``: one sub-command per task; the loop itself is core/trainer.py.

The trainer's flags (length, learning rate, validation, saving, device, ...) are declared once,
in :data:`TRAINER_FLAGS`, and added to every task's sub-command by :func:`task_command`, which
hands the command a ready ``TrainConfig`` as ``cfg``; so are the flags that say where a run starts
(:data:`START_FLAGS`: --init, --resume, --threads), handed on as the command's ``**start``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Annotated, List, Optional

import typer

from lstm_cli.cli import options as o

app = typer.Typer(no_args_is_help=True, help="Train a model on your own data (one sub-command per task).")

# name -> (annotation, default); each is one TrainConfig field except max_steps/max_time.
TRAINER_FLAGS = {
    "max_steps": (o.MaxSteps, None),
    "max_time": (o.MaxTime, None),
    "lr": (o.Lr, 2e-3),
    "min_lr": (o.MinLr, 1e-4),
    "warmup": (o.Warmup, 100),
    "weight_decay": (o.WeightDecay, 0.0),
    "grad_clip": (o.GradClip, 1.0),
    "ema": (o.Ema, 0.0),
    "eval_every": (o.EvalEvery, 500),
    "sample_every": (o.SampleEvery, 1000),
    "save_every": (o.SaveEvery, 500),
    "log_every": (o.LogEvery, 50),
    "bf16": (o.Bf16, None),
    "random_seed": (Annotated[int, o.num("--random-seed", kind=int, lo=0, hi=o.SEED_MAX, help="Seed for initialisation, data order and dropout.")], 1337),
    "device": (o.Device, "auto"),
}


# name -> (annotation, default); passed to the task's train() as keyword arguments.
START_FLAGS = {
    "init": (o.Init, None),
    "resume": (o.Resume, None),
    "threads": (o.Threads, 0),
}


def train_config(max_steps, max_time, resuming: bool, **fields):
    """Flags -> TrainConfig (core/trainer.py). A resumed run keeps its stored length unless
    --max-steps/--max-time say otherwise."""
    from lstm_cli.core.trainer import TrainConfig

    seconds = o.parse_duration(max_time)
    if max_steps is None and seconds is None and not resuming:
        max_steps = TrainConfig.max_steps
    return TrainConfig(max_steps=max_steps, max_time=seconds, **fields)


def task_command(name: str, **defaults):
    """Register ``fn`` as ``lstm train NAME`` with the trainer's and start flags appended to its
    own; ``fn`` receives the first as one ``cfg: TrainConfig`` and the second as ``**start``.
    ``defaults`` overrides a flag's default per task."""

    def register(fn):
        sig = inspect.signature(fn, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name != "cfg" and p.kind != inspect.Parameter.VAR_KEYWORD]
        extra = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, annotation=ann, default=defaults.get(k, d))
                 for k, (ann, d) in {**TRAINER_FLAGS, **START_FLAGS}.items()]

        @functools.wraps(fn)
        def command(**kw):
            from lstm_cli.core.fileio import check_output
            from lstm_cli.core.trainer import last_path

            for path in (kw["output"], last_path(kw["output"])):  # before hours of training, not after
                check_output(path, "--output")
            flags = {k: kw.pop(k) for k in TRAINER_FLAGS}
            cfg = train_config(flags.pop("max_steps"), flags.pop("max_time"), kw.get("resume") is not None, **flags)
            return fn(cfg=cfg, **kw)

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra
        command.__signature__ = sig.replace(parameters=params)
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__
        return app.command(name)(command)

    return register


@task_command("text")
def text(
    data: Annotated[List[str], typer.Option("--data", "-d", help="UTF-8 text file(s) to learn from; - for stdin.")],
    output: o.Output,
    cfg,
    val_data: Annotated[Optional[List[str]], typer.Option("--val-data", help="Held-out text for validation (default: the last --val-fraction of --data).")] = None,
    val_fraction: Annotated[float, o.num("--val-fraction", lo=0, hi=1, hi_open=True, help="Share of --data held out when no --val-data.")] = 0.1,
    preset: Annotated[str, o.pick("--preset", values=("tiny", "small", "medium", "large"), help="Model size (see README).")] = "medium",
    embed: Annotated[Optional[int], o.num("--embed", kind=int, lo=1, help="Embedding size (default: from --preset).")] = None,
    hidden: Annotated[Optional[int], o.num("--hidden", kind=int, lo=1, help="LSTM units per layer (default: from --preset).")] = None,
    layers: Annotated[Optional[int], o.num("--layers", kind=int, lo=1, help="LSTM layers (default: from --preset).")] = None,
    dropout: Annotated[float, o.num("--dropout", lo=0, hi=1, hi_open=True, help="Dropout on embeddings, between layers and before the output.")] = 0.25,
    weight_drop: Annotated[float, o.num("--weight-drop", lo=0, hi=1, hi_open=True, help="DropConnect on the recurrent weights W_hh while training.")] = 0.0,
    batch_size: Annotated[int, o.num("--batch-size", kind=int, lo=1, help="Parallel streams per batch.")] = 64,
    seq_len: Annotated[int, o.num("--seq-len", kind=int, lo=1, help="Characters per truncated-BPTT segment.")] = 128,
    input_noise: Annotated[float, o.num("--input-noise", lo=0, hi=1, help="Share of input characters replaced by random draws from the corpus while training.")] = 0.0,
    **start,
):
    """Character-level language model (char-rnn) on any UTF-8 text."""
    from lstm_cli.tasks import text as task

    model = task.preset(preset, embed=embed, hidden=hidden, layers=layers, dropout=dropout,
                         weight_drop=weight_drop)
    data_cfg = task.TextData(batch_size=batch_size, seq_len=seq_len, val_fraction=val_fraction,
                             input_noise=input_noise)
    task.train(data, val_data, output, cfg, data_cfg, model, **start)


@task_command("translate", lr=1e-3, eval_every=250, sample_every=500, log_every=25, save_every=100)
def translate(
    output: o.Output,
    cfg,
    data: Annotated[Optional[List[str]], typer.Option("--data", "-d", help="TSV file(s), one source<TAB>target pair per line; - for stdin.")] = None,
    src: Annotated[Optional[str], typer.Option("--src", help="Source sentences, one per line (with --tgt, instead of --data).")] = None,
    tgt: Annotated[Optional[str], typer.Option("--tgt", help="Target sentences, line-aligned with --src.")] = None,
    val_data: Annotated[Optional[List[str]], typer.Option("--val-data", help="Held-out TSV for validation (default: --val-fraction of the pairs).")] = None,
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
    """Encoder-decoder with attention on sentence pairs; trains its own sentencepiece tokenizer."""
    from lstm_cli.tasks import translate as task

    model = dict(embed=embed, enc_hidden=enc_hidden, enc_layers=enc_layers, dec_hidden=dec_hidden,
                 dec_layers=dec_layers, dropout=dropout, max_len=max_len)
    data_cfg = task.TranslateData(vocab_size=vocab_size, batch_tokens=batch_tokens, val_fraction=val_fraction,
                                  label_smoothing=label_smoothing)
    task.train(data, src, tgt, val_data, output, cfg, data_cfg, model, **start)

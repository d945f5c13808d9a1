"""``lstm train TASK``: one sub-command per task; the loop itself is core/trainer.py."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from lstm_cli.cli import options as o

app = typer.Typer(no_args_is_help=True, help="Train a model on your own data (one sub-command per task).")


def train_config(max_steps, max_time, resuming: bool, **fields):
    """Flags -> TrainConfig (core/trainer.py); each flag is one field. A resumed run keeps its
    stored length unless --max-steps/--max-time say otherwise."""
    from lstm_cli.core.trainer import TrainConfig

    seconds = o.parse_duration(max_time)
    if max_steps is None and seconds is None and not resuming:
        max_steps = TrainConfig.max_steps
    return TrainConfig(max_steps=max_steps, max_time=seconds, **fields)


@app.command("text")
def text(
    data: Annotated[List[str], typer.Option("--data", "-d", help="UTF-8 text file(s) to learn from; - for stdin.")],
    output: o.Output,
    val_data: Annotated[Optional[List[str]], typer.Option("--val-data", help="Held-out text for validation (default: the last --val-fraction of --data).")] = None,
    val_fraction: Annotated[float, typer.Option("--val-fraction", help="Share of --data held out when no --val-data.")] = 0.1,
    preset: Annotated[str, typer.Option("--preset", help="Model size: tiny, small, medium, large.")] = "medium",
    embed: Annotated[Optional[int], typer.Option("--embed", help="Embedding size (default: from --preset).")] = None,
    hidden: Annotated[Optional[int], typer.Option("--hidden", help="LSTM units per layer (default: from --preset).")] = None,
    layers: Annotated[Optional[int], typer.Option("--layers", help="LSTM layers (default: from --preset).")] = None,
    dropout: Annotated[float, typer.Option("--dropout", help="Dropout on embeddings, between layers and before the output.")] = 0.25,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Parallel streams per batch.")] = 64,
    seq_len: Annotated[int, typer.Option("--seq-len", help="Characters per truncated-BPTT segment.")] = 128,
    init: o.Init = None,
    resume: o.Resume = None,
    max_steps: o.MaxSteps = None,
    max_time: o.MaxTime = None,
    lr: o.Lr = 2e-3,
    min_lr: o.MinLr = 1e-4,
    warmup: o.Warmup = 100,
    weight_decay: o.WeightDecay = 0.0,
    grad_clip: o.GradClip = 1.0,
    eval_every: o.EvalEvery = 500,
    sample_every: o.SampleEvery = 1000,
    save_every: o.SaveEvery = 500,
    log_every: o.LogEvery = 50,
    bf16: o.Bf16 = None,
    random_seed: Annotated[int, typer.Option("--random-seed", help="Seed for initialisation and dropout.")] = 1337,
    device: o.Device = "auto",
    threads: o.Threads = 0,
):
    """Character-level language model (char-rnn) on any UTF-8 text."""
    from lstm_cli.tasks import text as task

    cfg = train_config(max_steps, max_time, resume is not None, lr=lr, min_lr=min_lr, warmup=warmup, weight_decay=weight_decay,
                       grad_clip=grad_clip, eval_every=eval_every, sample_every=sample_every,
                       save_every=save_every, log_every=log_every, bf16=bf16, random_seed=random_seed,
                       device=device)
    model = task.preset(preset, embed=embed, hidden=hidden, layers=layers, dropout=dropout)
    data_cfg = task.TextData(batch_size=batch_size, seq_len=seq_len, val_fraction=val_fraction)
    task.train(data, val_data, output, cfg, data_cfg, model, init=init, resume=resume, threads=threads)

"""``lstm train TASK``: one sub-command per registered task; the loop itself is core/trainer.py.

A task's CLI module (``registry.Task.cli``) declares only the task's own flags, in a function
``train(..., cfg, **start)``, and optionally ``TRAIN_DEFAULTS`` (per-task defaults of the trainer's
flags). :func:`build` finds them through the registry. The trainer's flags (length, learning
rate, validation, saving, device, ...) are declared once, in :data:`TRAINER_FLAGS`, and added to
every task's sub-command by :func:`add_task_command`, which hands the function a ready
``TrainConfig`` as ``cfg``; so are the flags that say where a run starts (:data:`START_FLAGS`:
--init, --resume, --threads), handed on in ``**start`` with ``given``: the names of the flags
typed on the command line, so that a task can refuse a model flag that --init or --resume
fixes (core/task.py, ``check_start_flags``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Annotated

import typer

from lstm_cli.cli import options as o

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


def add_task_command(app: typer.Typer, name: str, fn, help: str = "", **defaults) -> None:
    """Register ``fn`` as ``lstm train NAME`` with the trainer's and start flags appended to its
    own; ``fn`` receives the first as one ``cfg: TrainConfig`` and the second, with ``given``, as
    ``**start``. ``defaults`` overrides a flag's default per task. Every output path is checked
    before anything is read or trained."""
    sig = inspect.signature(fn, eval_str=True)
    own = [p for p in sig.parameters.values() if p.name != "cfg" and p.kind != inspect.Parameter.VAR_KEYWORD]
    extra = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, annotation=ann, default=defaults.get(k, d))
             for k, (ann, d) in {**TRAINER_FLAGS, **START_FLAGS}.items()]
    ctx_param = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)

    @functools.wraps(fn)
    def command(ctx: typer.Context, **kw):
        from lstm_cli.core.fileio import check_output
        from lstm_cli.core.trainer import last_path

        for path in (kw["output"], last_path(kw["output"])):  # before hours of training, not after
            check_output(path, "--output")
        given = {k for k in kw if (src := ctx.get_parameter_source(k)) is not None and src.name in ("COMMANDLINE", "ENVIRONMENT")}
        flags = {k: kw.pop(k) for k in TRAINER_FLAGS}
        cfg = train_config(flags.pop("max_steps"), flags.pop("max_time"), kw.get("resume") is not None, **flags)
        return fn(cfg=cfg, given=given, **kw)

    params = [ctx_param] + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + extra
    command.__signature__ = sig.replace(parameters=params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    del command.__wrapped__
    app.command(name, help=help or None)(command)


def build(tasks: dict) -> typer.Typer:
    """``lstm train``: one sub-command per registered task, from its CLI module's ``train``."""
    app = typer.Typer(no_args_is_help=True, help="Train a model on your own data (one sub-command per task).")
    for name, t in tasks.items():
        cli = importlib.import_module(t.cli)
        add_task_command(app, name, cli.train, help=t.summary, **getattr(cli, "TRAIN_DEFAULTS", {}))
    return app

"""``lstm eval``: a model's metrics on held-out data. The options every task shares are declared
here; a task's own (``EVAL_OPTIONS`` in its CLI module) are added by :func:`build`, and a task's
option given for another task's model is an error, not silently ignored."""

from __future__ import annotations

import importlib
import inspect
from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o


def evaluate(
    ctx: typer.Context,
    data: Annotated[str, typer.Option("--data", "-d", help="Held-out data: a file or folder (- for stdin, for text and translate models).")],
    model: o.Model = None,
    task: Annotated[Optional[str], typer.Option("--task", help="The model's task (default: the model's own; text without --model).")] = None,
    device: o.Device = "auto",
    json_out: o.Json = False,
    **options,
):
    """Print held-out metrics (text: nats/char and bits/char; translate: BLEU and chrF of beam 5
    and greedy decoding on a source<TAB>reference TSV; compose: nats per event and per quarter
    note on a folder of MIDI files; caption: exact match, BLEU-4 and, on generated shapes, accuracy
    per attribute, on a folder of images with captions.tsv or captions.json).

    With --dynamic-lr, a text model learns from the text while it reads it (Krause et al. 2018):
    each segment is scored first, then the model takes one gradient step on it, so every
    character is still predicted before the model has seen it."""
    from lstm_cli.cli.show import show_dict
    from lstm_cli.core import registry
    from lstm_cli.core.errors import UsageError

    task = task or registry.task_of(model)
    own = getattr(registry.cli_module(task), "EVAL_OPTIONS", {})
    for name in options:
        src = ctx.get_parameter_source(name)
        if name not in own and src is not None and src.name == "COMMANDLINE":
            raise UsageError(f"--{name.replace('_', '-')} does not apply to '{task}' models")
    if data == "-" and not getattr(registry.cli_module(task), "EVAL_STDIN", False):
        raise UsageError(f"--data - (stdin) is not available for '{task}' models: give a file or folder")
    # only the options typed: the task's evaluate() has its own defaults (one flag, --beam, serves
    # tasks whose defaults differ)
    mine = {k: v for k, v in options.items() if k in own and (src := ctx.get_parameter_source(k)) is not None
            and src.name in ("COMMANDLINE", "ENVIRONMENT")}
    metrics = registry.task_module(task).evaluate(model, data, device=device, **mine)
    show_dict(metrics, json_out, title="evaluation")


def build(tasks: dict):
    """``evaluate`` with every registered task's ``EVAL_OPTIONS`` added to its signature."""
    import functools

    extra: dict[str, inspect.Parameter] = {}
    for t in tasks.values():
        for name, (ann, default) in getattr(importlib.import_module(t.cli), "EVAL_OPTIONS", {}).items():
            extra.setdefault(name, inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=ann,
                                                     default=default))
    sig = inspect.signature(evaluate, eval_str=True)
    base = [p for p in sig.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]

    @functools.wraps(evaluate)
    def command(**kw):
        return evaluate(**kw)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in base] + list(extra.values())
    command.__signature__ = sig.replace(parameters=params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    del command.__wrapped__
    return command

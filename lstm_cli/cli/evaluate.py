"""``lstm eval``: a model's loss on held-out data."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o


def evaluate(
    data: Annotated[str, typer.Option("--data", "-d", help="Held-out data file; - for stdin.")],
    model: o.Model = None,
    task: Annotated[Optional[str], typer.Option("--task", help="The model's task (default: the model's own; text without --model).")] = None,
    oov: Annotated[str, o.pick("--oov", values=("error", "skip"), help="Text: characters the model does not know are an error, or skipped (and counted).")] = "error",
    dynamic_lr: Annotated[float, o.num("--dynamic-lr", lo=0, help="Text: dynamic evaluation, adapting the model to the text as it reads it with SGD steps of this size, e.g. 0.15 (0: off, the model stays fixed).")] = 0.0,
    dynamic_decay: Annotated[float, o.num("--dynamic-decay", lo=0, hi=1, help="Text, dynamic: pull the weights back towards the model's by this share per step.")] = 0.0,
    dynamic_segment: Annotated[int, o.num("--dynamic-segment", kind=int, lo=1, help="Text, dynamic: characters scored between two steps.")] = 50,
    device: o.Device = "auto",
    json_out: o.Json = False,
):
    """Print held-out metrics (text: nats/char and bits/char; translate: BLEU and chrF of beam 5
    and greedy decoding on a source<TAB>reference TSV).

    With --dynamic-lr, a text model learns from the text while it reads it (Krause et al. 2018):
    each segment is scored first, then the model takes one gradient step on it, so every
    character is still predicted before the model has seen it."""
    from lstm_cli.cli.show import show_dict
    from lstm_cli.core import registry
    from lstm_cli.core.errors import UsageError

    task = task or registry.task_of(model)
    extra = {}
    if dynamic_lr > 0:
        if task != "text":
            raise UsageError("--dynamic-lr applies to text models only")
        extra = dict(dynamic_lr=dynamic_lr, dynamic_decay=dynamic_decay, dynamic_segment=dynamic_segment)
    metrics = registry.task_module(task).evaluate(model, data, oov=oov, device=device, **extra)
    show_dict(metrics, json_out, title="evaluation")

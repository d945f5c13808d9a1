"""``lstm eval``: a model's loss on held-out data."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o


def evaluate(
    data: Annotated[str, typer.Option("--data", "-d", help="Held-out data file; - for stdin.")],
    model: o.Model = None,
    task: Annotated[Optional[str], typer.Option("--task", help="The model's task (default: the model's own; text without --model).")] = None,
    oov: Annotated[str, typer.Option("--oov", help="Characters the model does not know: error or skip (counted).")] = "error",
    device: o.Device = "auto",
    json_out: o.Json = False,
):
    """Print held-out metrics (text: nats/char and bits/char; translate: BLEU and chrF of beam 5
    and greedy decoding on a source<TAB>reference TSV)."""
    from lstm_cli.cli.show import show_dict
    from lstm_cli.core import registry

    task = task or registry.task_of(model)
    metrics = registry.task_module(task).evaluate(model, data, oov=oov, device=device)
    show_dict(metrics, json_out, title="evaluation")

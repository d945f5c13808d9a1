"""``lstm info``: what a checkpoint holds."""

from __future__ import annotations

from typing import Annotated

import typer

from lstm_cli.cli import options as o


def info(
    model: Annotated[str, typer.Argument(help="Checkpoint path or shipped model name.")],
    json_out: o.Json = False,
):
    """Show a checkpoint's task, size, training, metric, data source and config.

    For a shipped model the metric is the one recorded in its manifest (checkpoints/manifest.json).
    """
    from lstm_cli.cli.show import show_dict
    from lstm_cli.core import checkpoint, registry

    path = registry.resolve(model)
    described = checkpoint.describe(checkpoint.load(path), path)
    # A shipped model's manifest may hold a metric measured after export (same weights, e.g. a
    # better reading in predict): that recorded one is the model's held-out metric.
    entry = registry.manifest().get(model, {})
    if entry.get("metric") and entry["metric"] != described.get("metric"):
        described["metric_at_export"] = described.get("metric")
        described["metric"] = entry["metric"]
    show_dict(described, json_out, title=str(path))

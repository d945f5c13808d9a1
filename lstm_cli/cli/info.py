"""``lstm info``: what a checkpoint holds."""

from __future__ import annotations

from typing import Annotated

import typer

from lstm_cli.cli import options as o


def info(
    model: Annotated[str, typer.Argument(help="Checkpoint path or shipped model name.")],
    json_out: o.Json = False,
):
    """Show a checkpoint's task, size, training, metric, data source and config."""
    from lstm_cli.cli.show import show_dict
    from lstm_cli.core import checkpoint, registry

    path = registry.resolve(model)
    show_dict(checkpoint.describe(checkpoint.load(path)), json_out, title=str(path))

"""``lstm export``: strip a trained checkpoint for shipping, measure it, and list it in a manifest."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o


def export(
    checkpoint_path: Annotated[str, typer.Argument(help="A trained checkpoint.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Where to write the shipped checkpoint.")],
    name: Annotated[Optional[str], typer.Option("--name", help="Add/replace this entry in manifest.json beside OUTPUT.")] = None,
    eval_data: Annotated[Optional[str], typer.Option("--eval-data", help="Held-out test data: its metric is recorded.")] = None,
    data_source: Annotated[str, typer.Option("--data-source", help="Where the training data came from.")] = "",
    licence: Annotated[str, typer.Option("--licence", help="The training data's licence.")] = "",
    description: Annotated[str, typer.Option("--description", help="One line about the model.")] = "",
    recipe: Annotated[str, typer.Option("--recipe", help="The command that rebuilds it.")] = "",
    half: Annotated[bool, typer.Option("--half", help="Store the weights as float16 (half the size; computed in float32).")] = False,
    json_out: o.Json = False,
):
    """Write a checkpoint without resume state, with its held-out metric and provenance."""
    from lstm_cli.cli.show import show_dict
    from lstm_cli.core import registry

    entry = registry.export(checkpoint_path, output, name=name, eval_data=eval_data, data_source=data_source,
                            licence=licence, description=description, recipe=recipe, half=half)
    show_dict(entry, json_out, title=f"exported {output}")

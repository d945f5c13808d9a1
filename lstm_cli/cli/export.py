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
    calibrate: Annotated[Optional[str], typer.Option("--calibrate", help="Held-out data to calibrate on: text models fit their softmax temperature (the model as confident as it is right there); read models tune the language model's weight; caption models set the score below which a caption is called unsure.")] = None,
    storage: Annotated[str, o.pick("--storage", values=("float32", "float16", "int8"), help="float32, float16 (half the size) or int8 (a quarter, one scale per row); models compute in float32.")] = "float32",
    details: Annotated[Optional[str], typer.Option("--details", help="A JSON file of further held-out measurements of these weights (e.g. lstm predict --score --json); kept in the metric's details under the file name's last part (sequences.accuracy.json: accuracy).")] = None,
    hands: Annotated[Optional[str], typer.Option("--hands", help="Read models: ink whose lines name their hand (\"hand\" in JSON lines, two or more hands): fit a hand head on the reader's top layer, which lstm write --best-of uses to keep each line in the page's hand. Its held-out accuracy (1 line in 5) is recorded.")] = None,
    styles: Annotated[Optional[str], typer.Option("--styles", help="Write models: keep the first 8 samples of this stroke file as the model's styles (--style N, --hand), in place of its validation data's.")] = None,
    json_out: o.Json = False,
):
    """Write a checkpoint without resume state, with its held-out metric and provenance (and, with
    --calibrate, its softmax temperature fitted on held-out text)."""
    from lstm_cli.cli.show import show_dict
    from lstm_cli.core.export import export as export_checkpoint
    from lstm_cli.core.fileio import check_output

    check_output(output, "--output")
    entry = export_checkpoint(checkpoint_path, output, name=name, eval_data=eval_data, data_source=data_source,
                            licence=licence, description=description, recipe=recipe, storage=storage,
                            calibrate=calibrate, details=details, hands=hands,
                            styles=styles)
    show_dict(entry, json_out, title=f"exported {output}")

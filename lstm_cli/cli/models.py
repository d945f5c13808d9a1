"""``lstm models``: the shipped models."""

from __future__ import annotations

from lstm_cli.cli import options as o


def models(json_out: o.Json = False):
    """List the shipped models with their task, size, held-out metric and data."""
    import json

    from lstm_cli.core import registry

    from lstm_cli.core.fileio import stdout_pipe

    entries = registry.manifest()
    if json_out:
        with stdout_pipe():
            print(json.dumps(entries, indent=2))
        return
    from rich.table import Table

    from lstm_cli.cli.show import stdout_console

    table = Table(title="shipped models (use with --model NAME)")
    for col in ("name", "task", "params", "MB", "held-out", "data", "licence"):
        table.add_column(col)
    for name, e in entries.items():
        m = e.get("metric", {})
        metric = f"{m['value']} {m['name'].replace('_per_', '/')}" if m else "-"
        table.add_row(name, e.get("task", "?"), f"{e.get('parameters', 0) / 1e6:.1f}M",
                      f"{e.get('bytes', 0) / 2**20:.1f}", metric, e.get("data", ""), e.get("licence", ""))
    with stdout_pipe():
        stdout_console().print(table)

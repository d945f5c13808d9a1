"""``lstm models``: the shipped models."""

from __future__ import annotations

from lstm_cli.cli import options as o


def models(json_out: o.Json = False):
    """List the shipped models with their task, size, held-out metric and data."""
    import json
    import sys

    from lstm_cli.core import registry

    entries = registry.manifest()
    if json_out:
        print(json.dumps(entries, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="shipped models (use with --model NAME)")
    for col in ("name", "task", "params", "held-out metric", "data", "licence"):
        table.add_column(col)
    for name, e in entries.items():
        m = e.get("metric", {})
        metric = f"{m.get('value')} {m.get('name', '')}" if m else "-"
        table.add_row(name, e.get("task", "?"), f"{e.get('parameters', 0) / 1e6:.1f}M", metric,
                      e.get("data", ""), e.get("licence", ""))
    Console(file=sys.stdout).print(table)

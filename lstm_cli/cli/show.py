"""Printing a flat or nested dict as a rich table or JSON (stdout)."""

from __future__ import annotations

import json
import sys


def stdout_console():
    """A rich console on stdout; 120 columns when piped, so tables are not squeezed to 80."""
    from rich.console import Console

    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 120)


def show_dict(d: dict, as_json: bool, title: str = "") -> None:
    from lstm_cli.core.fileio import stdout_pipe

    with stdout_pipe():  # `lstm info X --json | head` is a success when head has read enough
        _show(d, as_json, title)


def _show(d: dict, as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(d, indent=2, default=str))
        return
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for k, v in d.items():
        table.add_row(k, json.dumps(v, default=str) if isinstance(v, (dict, list)) else str(v))
    stdout_console().print(table)

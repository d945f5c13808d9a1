"""``lstm inspect``: what single cells of a text model track, and where the model is surprised."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from lstm_cli.cli import options as o


def inspect(
    file: Annotated[str, typer.Argument(help="The text to read (UTF-8); - for stdin.")] = "-",
    model: o.Model = None,
    cell: Annotated[Optional[str], typer.Option("--cell", help="Colour each character by this cell's state, LAYER:CELL (0-based).")] = None,
    find: Annotated[Optional[str], typer.Option("--find", help="Rank the cells that best track quotes, brackets, line-position or a regular expression's matches, and show the best.")] = None,
    surprise: Annotated[bool, typer.Option("--surprise", help="Colour each character by the model's loss there, -log p (the default when neither --cell nor --find).")] = False,
    top: Annotated[int, o.num("--top", kind=int, lo=1, hi=100, help="With --find: how many cells to list.")] = 5,
    html_out: Annotated[Optional[str], typer.Option("--html", help="Also write the coloured text as an HTML page here.")] = None,
    png_out: Annotated[Optional[str], typer.Option("--png", help="Also draw the coloured text as a PNG here.")] = None,
    max_chars: Annotated[int, o.num("--max-chars", kind=int, lo=1, help="Read at most this many characters of the text.")] = 20000,
):
    """Read a text through a char model (default: obama) and show what its cells do: a cell's
    state per character (--cell), the cells that follow a feature (--find), or the surprise.
    On a terminal the text is coloured; in a pipe, each character's value is printed as
    INDEX<TAB>CHAR<TAB>VALUE (--find prints its ranking)."""
    from lstm_cli.core import registry
    from lstm_cli.core.errors import InputError, UsageError
    from lstm_cli.core.fileio import atomic_open, check_output, read_text, stdout_pipe
    from lstm_cli.render import cells as draw
    from lstm_cli.tasks import cells, text

    if sum(x is not None for x in (cell, find)) + surprise > 1:
        raise UsageError("give one of --cell, --find and --surprise")
    for path, flag, suffixes in ((html_out, "--html", (".html", ".htm")), (png_out, "--png", (".png",))):
        if path is not None:
            check_output(path, flag, suffixes=suffixes)
    content = read_text(file)[:max_chars]
    if not content:
        raise InputError(f"{'stdin' if file == '-' else file} is empty: nothing to read")
    net, vocab = text.from_checkpoint(registry.load(model, "text"))
    states, loss = cells.read(net, vocab, content)
    name = model or registry.task("text").default_model
    with stdout_pipe() as out:
        if find is not None:
            ranked = cells.rank(states, cells.feature(content, find), top)
            tty = out.isatty()
            for layer, k, r in ranked:
                out.write(f"{layer}:{k}\t{r:+.3f}\n" if not tty else f"cell {layer}:{k}  correlation {r:+.3f}\n")
            layer, k, r = ranked[0]
            values, signed = states[:, layer, k], True
            title = f"{name}: cell {layer}:{k}, the best at tracking {find} (correlation {r:+.3f})"
        elif cell is not None:
            layer, k = cells.parse_cell(cell, states.shape[1], states.shape[2])
            values, signed = states[:, layer, k], True
            title = f"{name}: cell {layer}:{k} (blue -1, white 0, red +1)"
        else:
            values, signed = loss / max(float(loss.max()), 1e-9), False
            title = f"{name}: surprise, -log p per character (mean {float(loss.mean()):.3f} nats; red = most)"
            print(f"lstm: {float(loss.mean()):.4f} nats/char over {len(content):,} characters", file=sys.stderr)
        if out.isatty():
            from rich.console import Console

            console = Console(file=out, highlight=False)
            console.print(title, style="bold")
            console.print(draw.terminal(content, values, signed))
        elif find is None:
            raw = loss if cell is None else values
            for i, (c, v) in enumerate(zip(content, raw)):
                out.write(f"{i}\t{c.encode('unicode_escape').decode('ascii')}\t{float(v):.4f}\n")
    if html_out is not None:
        with atomic_open(html_out, "wb") as f:
            f.write(draw.html_page(content, values, signed, title).encode())
        print(f"lstm: page written to {html_out}", file=sys.stderr)
    if png_out is not None:
        draw.png(content, values, signed, title, png_out)
        print(f"lstm: picture drawn to {png_out}", file=sys.stderr)

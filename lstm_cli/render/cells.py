"""A text coloured character by character by a value (a cell's state in [-1, 1], or the model's
surprise in nats), as in Karpathy et al. 2015's figures: for a terminal (rich), HTML or PNG."""

from __future__ import annotations

import html

from lstm_cli import render


def colour(v: float, signed: bool) -> tuple[int, int, int]:
    """Signed values: -1 blue, 0 white, +1 red. Unsigned (0..1): white to red."""
    v = max(-1.0, min(1.0, v))
    if not signed or v >= 0:
        return 255, int(255 - 190 * v), int(255 - 190 * v)
    return int(255 + 190 * v), int(255 + 120 * v), 255


def terminal(text: str, values, signed: bool):
    """A rich Text with each character's background coloured."""
    from rich.text import Text

    out = Text()
    for c, v in zip(text, values):
        r, g, b = colour(float(v), signed)
        out.append(c, style=f"black on rgb({r},{g},{b})" if c != "\n" else "")
    return out


def html_page(text: str, values, signed: bool, title: str) -> str:
    spans = []
    for c, v in zip(text, values):
        r, g, b = colour(float(v), signed)
        spans.append("\n" if c == "\n" else f'<span style="background:rgb({r},{g},{b})">{html.escape(c)}</span>')
    return (f"<!doctype html>\n<meta charset=utf-8>\n<title>{html.escape(title)}</title>\n"
            f"<h3 style=\"font-family:sans-serif\">{html.escape(title)}</h3>\n"
            f"<pre style=\"font-size:14px;line-height:1.35\">{''.join(spans)}</pre>\n")


TAB = 8  # columns a tab stop is apart


def png(text: str, values, signed: bool, title: str, path: str, columns: int = 100) -> None:
    """The text wrapped at ``columns``, one coloured box per character (a tab: blank boxes to the
    next multiple of 8, in its colour), the title above."""
    from PIL import Image, ImageDraw

    f = render.font(13, mono=True)
    cw, ch = 8, 17
    rows, cur = [], []
    for c, v in zip(text, values):
        if c == "\n":
            rows.append(cur)
            cur = []
            continue
        for c in (" " * (TAB - len(cur) % TAB) if c == "\t" else c):
            cur.append((c, v))
            if len(cur) == columns:
                rows.append(cur)
                cur = []
    rows.append(cur)
    top = 26
    img = Image.new("RGB", (columns * cw + 20, top + len(rows) * ch + 10), "white")
    d = ImageDraw.Draw(img)
    d.text((10, 5), render.printable(title, render.font(13)), fill="black", font=render.font(13))
    for y, row in enumerate(rows):
        for x, (c, v) in enumerate(row):
            x0, y0 = 10 + x * cw, top + y * ch
            d.rectangle([x0, y0, x0 + cw - 1, y0 + ch - 1], fill=colour(float(v), signed))
            d.text((x0, y0 + 1), render.printable(c, f), fill="black", font=f)
    render.save_png(img, path)

"""Pen strokes as a picture: PNG (pillow, drawn at 3x and reduced for smooth lines), SVG (one
path per stroke) or an animated GIF of the pen writing, fitted to a width; lines stacked into a
page; and the attention window of handwriting synthesis (which letter the network was writing at
each pen point: Graves 2013, fig. 13)."""

from __future__ import annotations

from lstm_cli import render

MARGIN = 20


def stack(lines: list, gap: float = 0.6) -> list:
    """Lines of strokes (each from its own origin) as one page: each line starts at x = 0 and
    sits below the one before, ``gap`` times the median line height apart."""
    spans = []
    for st in lines:
        ys = [p[1] for s in st for p in s] or [0.0]
        spans.append((min(ys), max(ys)))
    heights = sorted(b - a for a, b in spans)
    space = gap * heights[len(heights) // 2] if heights else 0.0
    page, top = [], 0.0
    for st, (y0, y1) in zip(lines, spans):
        xs = [p[0] for s in st for p in s] or [0.0]
        x0 = min(xs)
        page += [[(x - x0, y - y0 + top) for x, y in s] for s in st]
        top += (y1 - y0) + space
    return page


def _fit(strokes, width: int, lines: int = 1):
    """Scale and shift the strokes into ``width`` pixels (a lone letter is not blown up past 4x
    a line's height's share; ``lines``: how many lines the strokes hold). -> (fitted strokes,
    (width, height))."""
    pts = [p for s in strokes for p in s]
    if not pts:
        return [], (width, 2 * MARGIN)
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    inner = width - 2 * MARGIN
    k = min(inner / max(x1 - x0, 1e-6), inner / 4 / max((y1 - y0) / max(lines, 1), 1e-6))
    fitted = [[(MARGIN + (x - x0) * k, MARGIN + (y - y0) * k) for x, y in s] for s in strokes]
    return fitted, (width, int((y1 - y0) * k + 2 * MARGIN))


def picture(strokes, width: int = 800, pen: float = 2.5, lines: int = 1):
    """The strokes in black on white, as a pillow image."""
    fitted, size = _fit(strokes, width, lines)
    return _draw(fitted, size, pen)


def _draw(fitted, size, pen: float):
    from PIL import Image, ImageDraw

    ss = 3
    w, h = size
    img = Image.new("L", (w * ss, h * ss), 255)
    d = ImageDraw.Draw(img)
    r = pen * ss / 2
    for s in fitted:
        pts = [(x * ss, y * ss) for x, y in s]
        if len(pts) > 1:
            d.line(pts, fill=0, width=max(1, round(pen * ss)), joint="curve")
        for x, y in (pts[0], pts[-1]):  # round ends
            d.ellipse([x - r, y - r, x + r, y + r], fill=0)
    return img.resize((w, h), Image.LANCZOS).convert("RGB")


def png_bytes(strokes, width: int = 800, lines: int = 1) -> bytes:
    return render.png_bytes(picture(strokes, width, lines=lines))


def gif_bytes(strokes, width: int = 800, lines: int = 1, frames: int = 60, ms: int = 60) -> bytes:
    """The pen writing the strokes: ``frames`` frames of ``ms`` each, the last held for 2 s."""
    import io

    fitted, size = _fit(strokes, width, lines)
    total = sum(map(len, fitted))
    shots = []
    for f in range(1, frames + 1):
        left, part = round(total * f / frames), []
        for s in fitted:
            if left <= 0:
                break
            part.append(s[:left])
            left -= len(s)
        shots.append(_draw(part, size, 2.5).convert("P", palette=0))
    buf = io.BytesIO()
    shots[0].save(buf, format="GIF", save_all=True, append_images=shots[1:], loop=0,
                  duration=[ms] * (frames - 1) + [2000])
    return buf.getvalue()


def svg_text(strokes, width: int = 800, pen: float = 2.5, lines: int = 1) -> str:
    fitted, (w, h) = _fit(strokes, width, lines)
    paths = []
    for s in fitted:
        s = s if len(s) > 1 else s + s
        paths.append('  <path d="M' + " L".join(f"{x:.1f},{y:.1f}" for x, y in s) + '"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">\n'
            f'  <rect width="100%" height="100%" fill="white"/>\n'
            f'  <g fill="none" stroke="black" stroke-width="{pen}" stroke-linecap="round" stroke-linejoin="round">\n'
            + "\n".join(paths) + "\n  </g>\n</svg>\n")


def window_picture(phi: list[list[float]], text: str, cell: int = 12):
    """The window weights phi (pen points x characters, past-the-end column included) as a
    heatmap: time across, the text's characters down, darker where the network was reading."""
    from PIL import Image, ImageDraw

    font = render.font(11)
    chars = list(text) + ["end"]
    T, U = len(phi), len(chars)
    step = max(1, T // 1000)  # at most ~1000 columns
    cols = list(range(0, T, step))
    left = 36
    img = Image.new("RGB", (left + len(cols) + 10, U * cell + 10), "white")
    d = ImageDraw.Draw(img)
    for j, t in enumerate(cols):
        row = phi[t]
        top = max(max(row), 1e-9)
        for u in range(min(U, len(row))):
            v = int(255 * (1 - min(row[u] / top, 1.0)))
            d.line([left + j, 5 + u * cell, left + j, 5 + (u + 1) * cell - 2], fill=(v, v, 255 - (255 - v) // 3))
    for u, c in enumerate(chars):
        d.text((4, 5 + u * cell - 1), render.printable("␣" if c == " " else c, font), fill="black", font=font)
    return img


def window_png_bytes(phi: list[list[float]], text: str) -> bytes:
    return render.png_bytes(window_picture(phi, text))

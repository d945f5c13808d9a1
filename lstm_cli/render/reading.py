"""The article's picture of an LSTM reading handwriting (after Graves' animation), four rows:

1. the characters as CTC emits them, each at the point where its output peaks, over the output
   probabilities (one curve per emitted character, the blank in grey);
2. the cell states of the forward top layer, the most active units as a heat map
   (red positive, blue negative; "note how they reset when a character is recognised");
3. the ink being read, coloured by time (the colour bar under rows 1-2 is the same time);
4. how much each input point matters to the most active output at one moment: the magnitude of
   its gradient with respect to every point, over the ink (the network forgets what is far).

Rows 1 and 2 share one time axis (the resampled pen points); rows 3 and 4 draw the ink in space.
:func:`picture` draws one moment; :func:`gif_bytes` plays the reading point by point.
"""

from __future__ import annotations

import numpy as np

from lstm_cli import render
from lstm_cli.render.cells import colour

W, LEFT, RIGHT = 1000, 110, 20
ROWS = {"letters": 120, "cells": 100, "ink": 150, "gradient": 150}
UNITS = 32  # cell units shown
PALETTE = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]  # viridis stops
LABELS = {"letters": "outputs", "cells": "cell states", "ink": "ink (time)", "gradient": "gradient"}


def time_colour(u: float) -> tuple[int, int, int]:
    """0..1 -> a viridis-like colour."""
    u = min(max(u, 0.0), 1.0) * (len(PALETTE) - 1)
    i = min(int(u), len(PALETTE) - 2)
    f = u - i
    return tuple(int(a + f * (b - a)) for a, b in zip(PALETTE[i], PALETTE[i + 1]))


def _char_colour(k: int) -> tuple[int, int, int]:
    return [(200, 30, 30), (30, 100, 200), (20, 140, 60), (200, 110, 0), (140, 40, 160), (0, 140, 150)][k % 6]


def _ink_box(points: np.ndarray, box: tuple[int, int, int, int]):
    """Point -> pixel, keeping the aspect, the ink centred in ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    lo, hi = points[:, :2].min(0), points[:, :2].max(0)
    span = np.maximum(hi - lo, 1e-6)
    s = min((x1 - x0) / span[0], (y1 - y0) / span[1])
    off = np.array([x0 + ((x1 - x0) - s * span[0]) / 2, y0 + ((y1 - y0) - s * span[1]) / 2])
    return lambda p: tuple((off + s * (np.asarray(p[:2]) - lo)).tolist())


def picture(trace: dict, moment: int, until: int | None = None, title: str = ""):
    """The four rows for ``trace`` (``Reader.trace``), the gradient of moment number ``moment``
    (an index into ``trace["moments"]``); ``until``: draw time only up to that point (a frame)."""
    from PIL import Image, ImageDraw

    pts, probs, cells = trace["points"], trace["probs"], trace["cells"]
    T = len(pts)
    until = T - 1 if until is None else until
    height = 30 + sum(ROWS.values()) + 10 * len(ROWS)
    img = Image.new("RGB", (W, height), "white")
    d = ImageDraw.Draw(img)
    f, small = render.font(13), render.font(11)
    d.text((10, 6), render.printable(title, f), fill="black", font=f)
    tx = lambda t: LEFT + (W - LEFT - RIGHT) * t / max(T - 1, 1)  # noqa: E731
    at = trace["moments"][moment] if trace["moments"] else None
    top = 30
    tops = {}
    for name, h in ROWS.items():
        tops[name] = top
        d.text((10, top + h / 2 - 7), LABELS[name], fill=(90, 90, 90), font=small)
        top += h + 10

    # 1: letters at their peaks over the probability curves
    y0, h = tops["letters"], ROWS["letters"]
    base, span = y0 + h - 12, h - 40
    shown = sorted({k for k in probs[: until + 1].argmax(-1).tolist() if k})
    d.line([(tx(t), base - span * probs[t, 0]) for t in range(until + 1)] or [(LEFT, base)], fill=(190, 190, 190))
    for n, k in enumerate(shown):
        d.line([(tx(t), base - span * probs[t, k]) for t in range(until + 1)] or [(LEFT, base)], fill=_char_colour(n))
    for t, c in trace["peaks"]:
        if t <= until:
            k = shown.index(int(probs[t].argmax())) if int(probs[t].argmax()) in shown else 0
            d.text((tx(t) - 4, y0 + 2), render.printable(c if c != " " else "␣", f), fill=_char_colour(k), font=f)
    for t in range(0, until + 1):  # the time bar: the same colours as the ink
        d.line([(tx(t), base + 4), (tx(t), base + 9)], fill=time_colour(t / max(T - 1, 1)))

    # 2: the most active cells
    y0, h = tops["cells"], ROWS["cells"]
    order = np.argsort(-cells.std(0))[:UNITS]
    scale = np.abs(cells[:, order]).max(0) + 1e-6
    rh = h / len(order)
    for t in range(until + 1):
        for r, u in enumerate(order):
            d.rectangle([tx(t), y0 + r * rh, tx(t + 1), y0 + (r + 1) * rh], fill=colour(float(cells[t, u] / scale[r]), True))

    # 3: the ink, coloured by time; 4: grey ink, points by gradient magnitude
    for name in ("ink", "gradient"):
        y0, h = tops[name], ROWS[name]
        px = _ink_box(pts, (LEFT, y0 + 4, W - RIGHT, y0 + h - 4))
        grad = trace["grads"][moment] if name == "gradient" and trace["grads"] else None
        g = grad / (grad[: until + 1].max() + 1e-12) if grad is not None else None
        for t in range(1, until + 1):
            if pts[t - 1, 2] > 0.5:  # the pen was lifted: no line
                continue
            fill = time_colour(t / max(T - 1, 1)) if name == "ink" else (200, 200, 200)
            d.line([px(pts[t - 1]), px(pts[t])], fill=fill, width=2)
        if g is not None:
            for t in range(until + 1):
                r = 1 + 4 * float(g[t])
                x, y = px(pts[t])
                d.ellipse([x - r, y - r, x + r, y + r], fill=colour(float(g[t]), False))
            if at is not None and at <= until:
                x, y = px(pts[at])
                d.ellipse([x - 7, y - 7, x + 7, y + 7], outline=(0, 0, 0), width=2)
    if at is not None and at <= until:  # the moment, across the time rows
        d.line([(tx(at), tops["letters"]), (tx(at), tops["cells"] + ROWS["cells"])], fill=(0, 0, 0))
    return img


def png_bytes(trace: dict, moment: int, title: str = "") -> bytes:
    return render.png_bytes(picture(trace, moment, title=title))


def gif_bytes(trace: dict, ms: int = 110, title: str = "") -> bytes:
    """The reading as it happens: frame n draws time up to its point, with the gradient of the
    most active output at that point (``trace["moments"]`` are the frames' points)."""
    import io

    ims = []
    for n, t in enumerate(trace["moments"]):
        ims.append(picture(trace, n, until=t, title=title).convert("P", palette=1, colors=48))  # 1: ADAPTIVE
    ims += [ims[-1]] * 10  # hold the end
    buf = io.BytesIO()
    ims[0].save(buf, format="GIF", save_all=True, append_images=ims[1:], duration=ms, loop=0)
    return buf.getvalue()

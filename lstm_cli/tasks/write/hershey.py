"""Synthetic handwriting from Hershey fonts (for scripts/corpora.py): phrases of a real text written
in a joined cursive (``scripts``) or a print-like hand (``rowmans``), with random slant, scale,
letter spacing, baseline drift, per-point noise and resampling.

Not human handwriting: a model trained on it writes like a plotter with a shaky hand.
"""

from __future__ import annotations

import math
import random

FONTS = {"scripts": 0.6, "rowmans": 0.4}  # font -> share of the samples


def _resample(stroke: list[tuple[float, float]], step: float) -> list[tuple[float, float]]:
    """Points every ``step`` units along the polyline (its ends kept): a pen sampled in time."""
    if len(stroke) < 2:
        return list(stroke)
    out = [stroke[0]]
    carry = 0.0
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
        seg = math.hypot(x1 - x0, y1 - y0)
        d = step - carry
        while d <= seg:
            t = d / seg
            out.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
            d += step
        carry = seg - (d - step)
    if math.dist(out[-1], stroke[-1]) > 0.3 * step:
        out.append(stroke[-1])
    return out


def write(fonts: dict, text: str, rng: random.Random, font: str | None = None,
          clean: bool = False) -> list[list[tuple[float, float]]]:
    """``text`` as pen strokes in font units (about 21 per capital's height), y down, in ``font``
    (else one drawn by :data:`FONTS`); ``clean``: the font's own strokes, undistorted."""
    name = font or rng.choices(list(FONTS), weights=list(FONTS.values()))[0]
    font = fonts[name]
    slant = rng.uniform(-0.35, 0.15)  # x += slant * y (y up is negative): forward-leaning mostly
    sx = rng.uniform(0.85, 1.15)
    spacing = rng.uniform(-1.0, 2.5) if name == "rowmans" else rng.uniform(-0.5, 0.8)
    drift_a, drift_p, drift_phase = rng.uniform(0, 2.5), rng.uniform(150, 400), rng.uniform(0, 2 * math.pi)
    noise = rng.uniform(0.1, 0.45)
    step = rng.uniform(1.6, 2.6)
    if clean:
        sx, spacing = 1.0, 0.0
    strokes, x = [], 0.0
    for glyph in font.glyphs_for_text(text):
        for s in glyph.strokes:
            pts = [(x + (gx - glyph.left_offset) * sx, gy) for gx, gy in s]
            strokes.append(pts)
        x += glyph.char_width * sx + spacing
    # Joined cursive: a stroke that starts where the last one ended keeps the pen down.
    merged: list[list[tuple[float, float]]] = []
    for s in strokes:
        if merged and math.dist(merged[-1][-1], s[0]) < 1.5:
            merged[-1] = merged[-1] + s[1:]
        else:
            merged.append(list(s))
    if clean:
        return merged
    out = []
    for s in merged:
        pts = _resample(s, step)
        out.append([(px + slant * py + rng.gauss(0, noise),
                     py + drift_a * math.sin(2 * math.pi * px / drift_p + drift_phase) + rng.gauss(0, noise))
                    for px, py in pts])
    return out

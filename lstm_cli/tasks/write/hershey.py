"""Synthetic handwriting from Hershey fonts (for scripts/corpora.py): phrases of a real text written
in a joined cursive (``scripts``) or a print-like hand (``rowmans``), with random slant, scale,
letter spacing, baseline drift, per-point noise and resampling (:func:`write`, the writer's data);
and in any of the package's twelve Latin hands with stronger distortion (:func:`hand`, the
reader's data: rotation, aspect, word spacing, point rate, the order and direction of a glyph's
strokes where the hand leaves them free).

Not human handwriting: a model trained on it writes like a plotter with a shaky hand.
"""

from __future__ import annotations

import math
import random

FONTS = {"scripts": 0.6, "rowmans": 0.4}  # font -> share of the samples
HAND_OF = {"scripts": "cursive", "rowmans": "print"}  # the writer's hands, as `lstm write --hand` names them
JOINED = ("cursive", "scripts", "scriptc")  # joined-up hands: a word is one pen movement, in order
# The reader's hands (issue 39): it trains on these ...
READER_FONTS = ("futural", "rowmans", "rowmand", "rowmant", "timesr", "timesrb", "timesi", "cursive", "scripts")
# ... and is also tested on these, which neither it nor the writer saw (a duplex print, a bold
# italic serif, a double-stroked script).
UNSEEN_FONTS = ("futuram", "timesib", "scriptc")


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


def _layout(font, text: str, sx: float, spacing: float, space: float = 1.0, shuffle=None) -> list:
    """The glyphs of ``text`` side by side (x scaled by ``sx``, ``spacing`` units between letters,
    a space ``space`` times its width); ``shuffle(strokes)``, if given, may reorder a glyph's
    strokes. A stroke that starts where the last one ended keeps the pen down (joined cursive)."""
    strokes, x = [], 0.0
    for glyph in font.glyphs_for_text(text):
        gs = [list(s) for s in glyph.strokes]
        if shuffle is not None:
            gs = shuffle(gs)
        for s in gs:
            strokes.append([(x + (gx - glyph.left_offset) * sx, gy) for gx, gy in s])
        x += glyph.char_width * sx * (1.0 if gs else space) + spacing
    merged: list[list[tuple[float, float]]] = []
    for s in strokes:
        if merged and math.dist(merged[-1][-1], s[0]) < 1.5:
            merged[-1] = merged[-1] + s[1:]
        else:
            merged.append(list(s))
    return merged


def _distort(strokes: list, rng: random.Random, step: float, slant: float, noise: float, drift: tuple,
             turn: float = 0.0) -> list:
    """Resampled every ``step`` units, slanted (x += slant * y), turned by ``turn`` radians,
    the baseline wavering (``drift``: amplitude, period, phase) and every point jittered."""
    drift_a, drift_p, drift_phase = drift
    c, s_ = math.cos(turn), math.sin(turn)
    out = []
    for s in strokes:
        pts = []
        for px, py in _resample(s, step):
            x = px + slant * py + rng.gauss(0, noise)
            y = py + drift_a * math.sin(2 * math.pi * px / drift_p + drift_phase) + rng.gauss(0, noise)
            pts.append((c * x - s_ * y, s_ * x + c * y) if turn else (x, y))
        out.append(pts)
    return out


def write(fonts: dict, text: str, rng: random.Random, font: str | None = None,
          clean: bool = False) -> list[list[tuple[float, float]]]:
    """``text`` as pen strokes in font units (about 21 per capital's height), y down, in ``font``
    (else one drawn by :data:`FONTS`); ``clean``: the font's own strokes, undistorted."""
    name = font or rng.choices(list(FONTS), weights=list(FONTS.values()))[0]
    slant, sx, spacing, drift, noise, step = _line(rng, lambda: rng.uniform(*SPACING.get(name, SPACING["scripts"])))
    if clean:
        return _layout(fonts[name], text, 1.0, 0.0)
    return _distort(_layout(fonts[name], text, sx, spacing), rng, step, slant, noise, drift)


SPACING = {"rowmans": (-1.0, 2.5), "scripts": (-0.5, 0.8)}  # font units between letters, drawn per line


def _line(rng: random.Random, spacing):
    """A line's random distortion, drawn in this order: slant (x += slant * y; y up is negative:
    forward-leaning mostly), x scale, ``spacing()``, baseline drift (amplitude, period, phase),
    per-point noise, pen-sampling step."""
    slant = rng.uniform(-0.35, 0.15)
    sx = rng.uniform(0.85, 1.15)
    gap = spacing()
    drift = (rng.uniform(0, 2.5), rng.uniform(150, 400), rng.uniform(0, 2 * math.pi))
    return slant, sx, gap, drift, rng.uniform(0.1, 0.45), rng.uniform(1.6, 2.6)


def write_mixed(fonts: dict, words: list[tuple[str, str]], rng: random.Random) -> tuple[list, list[str]]:
    """Words each in its own font ``[(word, font), ...]``, one line with one slant, scale, drift,
    noise and pen rate, as :func:`write` draws them -> (strokes, each stroke's hand)."""
    slant, sx, gaps, drift, noise, step = _line(rng, lambda: {name: rng.uniform(*r) for name, r in SPACING.items()})
    strokes, hands, x = [], [], 0.0
    for word, name in words:
        font = fonts[name]
        for s in _layout(font, word, sx, gaps[name]):
            strokes.append([(x + px, py) for px, py in s])
            hands.append(HAND_OF[name])
        x += sum(g.char_width * sx + gaps[name] for g in font.glyphs_for_text(word + " "))
    return _distort(strokes, rng, step, slant, noise, drift), hands


def _lifts_and_retraces(strokes: list, rng: random.Random) -> list:
    """Pen habits no Hershey hand has but people do (and ``scriptc``'s and the bold hands' double
    lines resemble): in some lines the pen lifts inside a stroke and goes down again where it
    left off, or a little further on; in some, parts of strokes are drawn a second time beside
    themselves (0.5-1.8 font units away, either way along), as a separate stroke."""
    lift = rng.random() < 0.3
    retrace = rng.random() < 0.35
    share = rng.uniform(0.2, 0.8)
    out = []
    for s in strokes:
        pieces = [s]
        if lift and len(s) >= 6 and rng.random() < 0.5:
            at = rng.randrange(2, len(s) - 2)
            pieces = [s[: at + 1], s[at + rng.randint(0, 1):]]
        out += pieces
        if retrace and len(s) >= 2 and rng.random() < share:
            a = rng.randrange(0, len(s) - 1)
            b = rng.randrange(a + 2, len(s) + 1)
            d, angle = rng.uniform(0.5, 1.8), rng.uniform(0, 2 * math.pi)
            copy = [(x + d * math.cos(angle), y + d * math.sin(angle)) for x, y in s[a:b]]
            out.append(copy[::-1] if rng.random() < 0.5 else copy)
    return out


def hand(fonts: dict, text: str, rng: random.Random, font: str,
         habits: random.Random | None = None) -> list[list[tuple[float, float]]]:
    """``text`` in ``font`` for the reader: :func:`write`'s distortions, wider, plus rotation,
    aspect, word spacing, and (in the hands that are not joined) a glyph's strokes in a random
    order, some drawn backwards. ``habits``: the generator of pen lifts and retraced strokes
    (:func:`_lifts_and_retraces`); None: none."""
    joined = font in JOINED

    def shuffle(gs):
        if rng.random() < 0.3:
            rng.shuffle(gs)
        return [s[::-1] if rng.random() < 0.15 else s for s in gs]

    slant = rng.uniform(-0.45, 0.3)
    sx = rng.uniform(0.7, 1.35)
    spacing = rng.uniform(-0.5, 1.0) if joined else rng.uniform(-1.5, 4.0)
    space = rng.uniform(0.6, 1.8)
    drift = (rng.uniform(0, 3.0), rng.uniform(120, 400), rng.uniform(0, 2 * math.pi))
    noise = rng.uniform(0.05, 0.5)
    step = rng.uniform(1.0, 3.5)
    turn = rng.gauss(0, 0.04)
    strokes = _layout(fonts[font], text, sx, spacing, space, None if joined else shuffle)
    if habits is not None:
        strokes = _lifts_and_retraces(strokes, habits)
    return _distort(strokes, rng, step, slant, noise, drift, turn)

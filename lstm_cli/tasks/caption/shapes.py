"""Generated scenes for the shipped ``shapes`` captioning model: pillow draws one to three objects
on a noisy background and a small grammar writes the one true caption.

    1 object    "a large red circle"
    2 objects   "a small red circle to the left of a large blue triangle"
    3 objects   "a small red circle, a large blue star and a small green square"

The caption is a function of the picture, so an exact match can be asked for:
- two objects: the larger is named first; of two of one size, the left one (side by side) or the
  upper one (one above the other). The pair is placed so that one axis clearly dominates (the
  offset along it is at least twice the other), and the relation names that axis.
- three objects: named from left to right (their centres at least 6 px apart across).
- no two objects in a scene share size, colour and shape.

Held out (``split="unseen"``): six colour-shape pairs (each colour and each shape once) and six
shape-relation-shape triples occur only there; every unseen scene holds at least one of them, and
no training, validation or "seen" scene holds any. The unseen score measures composition, not
memory. ``scene(seed, split)`` is deterministic: the same seed and split give the same picture.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

SIZE = 64  # pixels, square
SCALE = 4  # drawn at 4x, then reduced: anti-aliased edges
SHAPES = ["circle", "square", "triangle", "star", "diamond", "cross"]
COLOURS = {"red": (210, 40, 40), "green": (40, 160, 60), "blue": (50, 90, 225),
           "yellow": (230, 210, 40), "purple": (150, 60, 200), "orange": (245, 140, 30)}
SIZES = {"small": 6.5, "large": 11.5}  # radius in pixels
RELATIONS = ["to the left of", "to the right of", "above", "below"]

# Each colour and each shape once: red diamond, green cross, blue circle, yellow square, ...
HELD_PAIRS = {(c, SHAPES[(i + 4) % 6]) for i, c in enumerate(COLOURS)}
HELD_TRIPLES = {("circle", "above", "square"), ("square", "to the left of", "triangle"),
                ("triangle", "below", "star"), ("star", "to the right of", "diamond"),
                ("diamond", "above", "cross"), ("cross", "to the left of", "circle")}
SPLITS = ("train", "val", "seen", "unseen")


@dataclass
class Thing:
    shape: str
    colour: str
    size: str
    x: float  # centre, pixels from the left
    y: float  # centre, pixels from the top
    angle: float = 0.0  # degrees, a small tilt

    def words(self) -> str:
        return f"a {self.size} {self.colour} {self.shape}"


def relation(a: Thing, b: Thing) -> str | None:
    """Where ``a`` is relative to ``b``, or None when neither axis clearly dominates."""
    dx, dy = a.x - b.x, a.y - b.y
    if abs(dx) >= 2 * abs(dy):
        return "to the left of" if dx < 0 else "to the right of"
    if abs(dy) >= 2 * abs(dx):
        return "above" if dy < 0 else "below"
    return None


def order(things: list[Thing]) -> list[Thing] | None:
    """The objects in the order the caption names them (see the module docstring); None when the
    picture leaves the order or the relation unclear."""
    if len(things) == 1:
        return things
    if len(things) == 3:
        row = sorted(things, key=lambda t: t.x)
        return row if all(b.x - a.x >= 6 for a, b in zip(row, row[1:])) else None
    a, b = things
    rel = relation(a, b)
    if rel is None:
        return None
    if a.size != b.size:
        return [a, b] if a.size == "large" else [b, a]
    return [a, b] if rel in ("to the left of", "above") else [b, a]


def caption(things: list[Thing]) -> str:
    """The caption of objects already in :func:`order`."""
    if len(things) == 1:
        return things[0].words()
    if len(things) == 2:
        return f"{things[0].words()} {relation(*things)} {things[1].words()}"
    return f"{things[0].words()}, {things[1].words()} and {things[2].words()}"


def is_unseen(things: list[Thing]) -> bool:
    """Whether the (ordered) scene holds a held-out colour-shape pair or relation triple."""
    if any((t.colour, t.shape) in HELD_PAIRS for t in things):
        return True
    return len(things) == 2 and (things[0].shape, relation(*things), things[1].shape) in HELD_TRIPLES


def _layout(rng: random.Random, n: int) -> list[Thing] | None:
    things: list[Thing] = []
    for _ in range(n):
        size = rng.choice(list(SIZES))
        r = SIZES[size]
        things.append(Thing(rng.choice(SHAPES), rng.choice(list(COLOURS)), size,
                            rng.uniform(r + 2, SIZE - r - 2), rng.uniform(r + 2, SIZE - r - 2),
                            rng.uniform(-10, 10)))
    keys = {(t.shape, t.colour, t.size) for t in things}
    if len(keys) < n:
        return None
    for i, a in enumerate(things):  # apart: no overlap, a pixel or two of gap
        for b in things[i + 1:]:
            if math.hypot(a.x - b.x, a.y - b.y) < SIZES[a.size] + SIZES[b.size] + 3:
                return None
    return order(things)


def _polygon(shape: str, x: float, y: float, r: float, angle: float) -> list[tuple[float, float]]:
    """The outline of ``shape`` of radius ``r`` around (x, y), tilted by ``angle`` degrees."""
    if shape == "square":
        pts = [(sx * 0.65 * r, sy * 0.65 * r) for sx, sy in [(-1, -1), (1, -1), (1, 1), (-1, 1)]]
    elif shape == "diamond":
        pts = [(0, -1.05 * r), (0.8 * r, 0), (0, 1.05 * r), (-0.8 * r, 0)]
    elif shape == "triangle":  # pointing up
        pts = [(1.1 * r * math.cos(math.radians(a)), 1.1 * r * math.sin(math.radians(a))) for a in (-90, 30, 150)]
    elif shape == "star":  # five points
        pts = [((1.1 if k % 2 == 0 else 0.45) * r * math.cos(math.radians(-90 + 36 * k)),
                (1.1 if k % 2 == 0 else 0.45) * r * math.sin(math.radians(-90 + 36 * k))) for k in range(10)]
    elif shape == "cross":  # a plus sign, arms a third of its width
        w = r / 3
        pts = [(w, -r), (w, -w), (r, -w), (r, w), (w, w), (w, r), (-w, r), (-w, w), (-r, w), (-r, -w), (-w, -w), (-w, -r)]
    else:
        raise ValueError(shape)
    a = math.radians(angle)
    return [(x + px * math.cos(a) - py * math.sin(a), y + px * math.sin(a) + py * math.cos(a)) for px, py in pts]


def draw(things: list[Thing], rng: random.Random):
    """The picture: a tinted grey background (flat or a gradient), the objects (colours and sizes
    jittered), sometimes a slight blur, then Gaussian-like pixel noise."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    def tint():
        g = rng.uniform(35, 225)
        return tuple(int(min(255, max(0, g + rng.uniform(-18, 18)))) for _ in range(3))

    big = SIZE * SCALE
    a = tint()
    img = Image.new("RGB", (big, big), a)
    if rng.random() < 0.5:  # a linear gradient to a second tint, across or down
        ramp = Image.linear_gradient("L").resize((big, big))
        if rng.random() < 0.5:
            ramp = ramp.rotate(90)
        img = Image.composite(Image.new("RGB", (big, big), tint()), img, ramp)
    d = ImageDraw.Draw(img)
    for t in things:
        colour = tuple(int(min(255, max(0, c + rng.uniform(-20, 20)))) for c in COLOURS[t.colour])
        r = SIZES[t.size] * rng.uniform(0.92, 1.08) * SCALE
        x, y = t.x * SCALE, t.y * SCALE
        if t.shape == "circle":
            d.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            d.polygon(_polygon(t.shape, x, y, r, t.angle), fill=colour)
    img = img.resize((SIZE, SIZE), Image.LANCZOS)
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))
    # The mean of three uniform byte images is near-Gaussian around 127.5 (sd 42.5); scaled to sd
    # sigma, then added about 128. From rng's bytes, so the picture is reproducible.
    sigma = rng.uniform(2, 10)
    u = [Image.frombytes("RGB", (SIZE, SIZE), rng.randbytes(SIZE * SIZE * 3)) for _ in range(3)]
    noise = Image.blend(Image.blend(u[0], u[1], 0.5), u[2], 1 / 3)
    noise = noise.point(lambda v: int(round(128 + (v - 127.5) * sigma / 42.5)))
    return ImageChops.add(img, noise, offset=-128)


def scene(seed: int, split: str):
    """-> (picture, objects in caption order, caption) of scene ``seed`` of ``split``."""
    if split not in SPLITS:
        raise ValueError(split)
    rng = random.Random(f"{split}/{seed}")
    n = rng.choice([1, 2, 2, 3])  # object count: half the scenes are pairs, which have a relation
    while True:
        things = _layout(rng, n)
        if things is not None and is_unseen(things) == (split == "unseen"):
            return draw(things, rng), things, caption(things)


def write_split(out: Path, split: str, count: int, start: int = 0) -> None:
    """``count`` scenes as ``out/images/NNNNNN.png`` with ``out/captions.tsv`` (Flickr8k style:
    ``images/NNNNNN.png#0<TAB>caption``) and ``out/scenes.jsonl`` (the objects drawn)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    with open(out / "captions.tsv", "w") as caps, open(out / "scenes.jsonl", "w") as meta:
        for i in range(start, start + count):
            img, things, text = scene(i, split)
            name = f"images/{i:06d}.png"
            img.save(out / name)
            caps.write(f"{name}#0\t{text}\n")
            meta.write(json.dumps({"image": name, "caption": text, "objects": [asdict(t) for t in things]}) + "\n")


# ---------------------------------------------------------------- reading captions back

_OBJECT = r"a (small|large) (\w+) (\w+)"
_FORMS = [(1, re.compile(f"{_OBJECT}")),
          (2, re.compile(f"{_OBJECT} (to the left of|to the right of|above|below) {_OBJECT}")),
          (3, re.compile(f"{_OBJECT} , {_OBJECT} and {_OBJECT}"))]


def parse(text: str) -> tuple[list[tuple[str, str, str]], str | None] | None:
    """A caption of this grammar -> ([(size, colour, shape), ...], relation or None); else None."""
    from lstm_cli.tasks.caption.data import words

    norm = " ".join(words(text))
    for n, form in _FORMS:
        m = form.fullmatch(norm)
        if m is None:
            continue
        g = list(m.groups())
        rel = g.pop(3) if n == 2 else None
        objects = [tuple(g[i: i + 3]) for i in range(0, len(g), 3)]
        if all(s in SIZES and c in COLOURS and sh in SHAPES for s, c, sh in objects):
            return objects, rel
    return None


def attribute_scores(hyps: list[str], refs: list[str]) -> dict:
    """Per-attribute accuracy (%) of generated captions against references of this grammar:
    count (as many objects named), size, colour and shape (of each reference object, against the
    object named in the same place) and relation (of each pair). A caption outside the grammar
    is wrong on every count."""
    right = Counter()
    total = Counter()
    for h, r in zip(hyps, refs):
        ref, hyp = parse(r), parse(h)
        objs, hobjs = ref[0], (hyp[0] if hyp else [])
        total["count"] += 1
        right["count"] += len(hobjs) == len(objs)
        for i, obj in enumerate(objs):
            for k, name in enumerate(("size", "colour", "shape")):
                total[name] += 1
                right[name] += i < len(hobjs) and hobjs[i][k] == obj[k]
        if ref[1] is not None:
            total["relation"] += 1
            right["relation"] += hyp is not None and hyp[1] == ref[1]
    return {f"{k}_accuracy": round(100 * right[k] / total[k], 2) for k in ("count", "size", "colour", "shape", "relation")
            if total[k]}

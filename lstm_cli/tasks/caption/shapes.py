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

Canvases: the scene is laid out in units whose shorter side is 64 (the grammar's sizes are
relative to it), on a canvas of any aspect ratio, then drawn at a pixel size of its own. The
``train``, ``val`` and ``calib`` splits mix square 64 px scenes with random canvases (3:1 to 1:3, a bit
beyond, 48-128 px on the shorter side, some saved as JPEG); ``unseen-any`` is the unseen split on
random canvases of 48-512 px. About one scene in eight of ``train``, ``val`` and ``calib`` (all of the
``nothing`` split) holds none of the grammar's objects (blank, noise, gradients, text, line
art, textures, photograph-like colour fields, plots, shapes outside the grammar) and is
captioned :data:`NOTHING`.

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
SPLITS = ("train", "val", "calib", "seen", "unseen", "unseen-any", "nothing")
NOTHING = "nothing i know"  # the caption of a scene with none of the grammar's objects
NEGATIVE_SHARE = 0.12  # of train and val scenes


@dataclass
class Canvas:
    """Where a scene is drawn: ``width`` x ``height`` in scene units (the shorter side 64),
    ``pixels`` on the shorter side, saved as PNG or as JPEG of quality ``jpeg``."""

    width: float = SIZE
    height: float = SIZE
    pixels: int = SIZE
    jpeg: int = 0  # 0: PNG

    @property
    def size(self) -> tuple[int, int]:
        k = self.pixels / min(self.width, self.height)
        return max(1, round(self.width * k)), max(1, round(self.height * k))


def canvas(split: str, seed: int) -> Canvas:
    """Scene ``seed``'s canvas: square 64 px PNG for ``seen`` and ``unseen``; random for the
    others (see the module docstring). From a generator of its own, so a scene's objects do not
    depend on its canvas."""
    rng = random.Random(f"{split}/{seed}/canvas")
    like_train = split in ("train", "val", "calib")
    if split in ("seen", "unseen") or (like_train and rng.random() < 0.4):
        return Canvas()
    wide = 3.5 if like_train else 3.0
    aspect = math.exp(rng.uniform(-math.log(wide), math.log(wide)))
    big = 128 if like_train else 512
    px = round(math.exp(rng.uniform(math.log(48), math.log(big))))
    jpeg = rng.randint(55, 95) if rng.random() < 0.25 else 0
    return Canvas(SIZE * max(aspect, 1.0), SIZE / min(aspect, 1.0), px, jpeg)


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


def _layout(rng: random.Random, n: int, width: float = SIZE, height: float = SIZE) -> list[Thing] | None:
    things: list[Thing] = []
    for _ in range(n):
        size = rng.choice(list(SIZES))
        r = SIZES[size]
        things.append(Thing(rng.choice(SHAPES), rng.choice(list(COLOURS)), size,
                            rng.uniform(r + 2, width - r - 2), rng.uniform(r + 2, height - r - 2),
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


def _background(rng: random.Random, size: tuple[int, int]):
    """A tinted grey (flat, or a gradient to a second tint, across or down)."""
    from PIL import Image

    def tint():
        g = rng.uniform(35, 225)
        return tuple(int(min(255, max(0, g + rng.uniform(-18, 18)))) for _ in range(3))

    img = Image.new("RGB", size, tint())
    if rng.random() < 0.5:
        ramp = Image.linear_gradient("L")
        ramp = (ramp.rotate(90) if rng.random() < 0.5 else ramp).resize(size)
        img = Image.composite(Image.new("RGB", size, tint()), img, ramp)
    return img


def _finish(img, rng: random.Random, cv: Canvas):
    """Reduced to the canvas's pixels, sometimes slightly blurred, then Gaussian-like pixel noise."""
    from PIL import Image, ImageChops, ImageFilter

    img = img.resize(cv.size, Image.LANCZOS)
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7) * cv.pixels / SIZE))
    # The mean of three uniform byte images is near-Gaussian around 127.5 (sd 42.5); scaled to sd
    # sigma, then added about 128. From rng's bytes, so the picture is reproducible.
    sigma = rng.uniform(2, 10)
    w, h = cv.size
    u = [Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3)) for _ in range(3)]
    noise = Image.blend(Image.blend(u[0], u[1], 0.5), u[2], 1 / 3)
    noise = noise.point(lambda v: int(round(128 + (v - 127.5) * sigma / 42.5)))
    return ImageChops.add(img, noise, offset=-128)


def draw(things: list[Thing], rng: random.Random, cv: Canvas | None = None):
    """The picture: a tinted grey background (flat or a gradient), the objects (colours and sizes
    jittered), sometimes a slight blur, then Gaussian-like pixel noise."""
    from PIL import ImageDraw

    cv = cv or Canvas()
    img = _background(rng, (round(cv.width * SCALE), round(cv.height * SCALE)))
    d = ImageDraw.Draw(img)
    for t in things:
        colour = tuple(int(min(255, max(0, c + rng.uniform(-20, 20)))) for c in COLOURS[t.colour])
        r = SIZES[t.size] * rng.uniform(0.92, 1.08) * SCALE
        x, y = t.x * SCALE, t.y * SCALE
        if t.shape == "circle":
            d.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            d.polygon(_polygon(t.shape, x, y, r, t.angle), fill=colour)
    return _finish(img, rng, cv)


OTHER_SHAPES = ("ring", "crescent", "arrow", "heart", "bar", "ellipse", "ell")
NOTHING_KINDS = ("blank", "noise", "gradient", "text", "lines", "texture", "photo", "plot", "other shapes")
WORDS = ["circle", "square", "triangle", "star", "diamond", "cross", "red", "green", "blue", "yellow",
         "purple", "orange", "small", "large", "lstm", "hello", "shape", "a", "the", "of", "nothing"]


def _colour(rng: random.Random) -> tuple[int, int, int]:
    if rng.random() < 0.5:
        return tuple(int(min(255, max(0, c + rng.uniform(-20, 20)))) for c in rng.choice(list(COLOURS.values())))
    return tuple(rng.randrange(256) for _ in range(3))


def _other_shape(d, rng: random.Random, x: float, y: float, r: float) -> None:
    """One filled shape the grammar has no word for, clearly unlike its six."""
    kind, c, a = rng.choice(OTHER_SHAPES), _colour(rng), math.radians(rng.uniform(0, 360))
    rot = lambda pts: [(x + px * math.cos(a) - py * math.sin(a), y + px * math.sin(a) + py * math.cos(a))  # noqa: E731
                       for px, py in pts]
    if kind == "ring":
        d.ellipse([x - r, y - r, x + r, y + r], outline=c, width=max(1, round(r * 0.3)))
    elif kind == "crescent":
        d.chord([x - r, y - r, x + r, y + r], 20, 340, fill=c)
        d.ellipse([x - 0.3 * r, y - 0.85 * r, x + 1.4 * r, y + 0.85 * r], fill=d.im.getpixel((0, 0)))
    elif kind == "arrow":
        d.polygon(rot([(-r, -0.2 * r), (0.2 * r, -0.2 * r), (0.2 * r, -0.6 * r), (r, 0), (0.2 * r, 0.6 * r),
                       (0.2 * r, 0.2 * r), (-r, 0.2 * r)]), fill=c)
    elif kind == "heart":
        d.ellipse([x - r, y - 0.8 * r, x, y + 0.1 * r], fill=c)
        d.ellipse([x, y - 0.8 * r, x + r, y + 0.1 * r], fill=c)
        d.polygon([(x - 0.97 * r, y - 0.2 * r), (x + 0.97 * r, y - 0.2 * r), (x, y + r)], fill=c)
    elif kind == "bar":
        d.polygon(rot([(-r, -0.25 * r), (r, -0.25 * r), (r, 0.25 * r), (-r, 0.25 * r)]), fill=c)
    elif kind == "ellipse":
        d.ellipse([x - r, y - 0.4 * r, x + r, y + 0.4 * r], fill=c)
    else:  # an L
        d.polygon(rot([(-0.6 * r, -r), (-0.1 * r, -r), (-0.1 * r, 0.5 * r), (0.8 * r, 0.5 * r), (0.8 * r, r),
                       (-0.6 * r, r)]), fill=c)


def draw_nothing(rng: random.Random, cv: Canvas | None = None):
    """A picture with none of the grammar's objects: -> (picture, its kind)."""
    from PIL import Image, ImageDraw, ImageFont

    cv = cv or Canvas()
    W, H = round(cv.width * SCALE), round(cv.height * SCALE)
    kind = rng.choice(NOTHING_KINDS)
    img = _background(rng, (W, H))
    d = ImageDraw.Draw(img)
    if kind == "noise":
        img = Image.frombytes("RGB", (W // 8, H // 8), rng.randbytes((W // 8) * (H // 8) * 3)).resize((W, H), Image.NEAREST)
    elif kind == "gradient":
        ramp = Image.radial_gradient("L") if rng.random() < 0.5 else Image.linear_gradient("L").rotate(rng.uniform(0, 360))
        img = Image.composite(Image.new("RGB", (W, H), _colour(rng)), Image.new("RGB", (W, H), _colour(rng)), ramp.resize((W, H)))
    elif kind == "text":
        for _ in range(rng.randint(1, 4)):
            font = ImageFont.load_default(size=rng.uniform(10, 28) * SCALE)
            d.text((rng.uniform(0, 0.6) * W, rng.uniform(0, 0.8) * H), " ".join(rng.choices(WORDS, k=rng.randint(1, 3))),
                   fill=_colour(rng), font=font)
    elif kind == "lines":
        for _ in range(rng.randint(2, 12)):
            pts = [(rng.uniform(0, W), rng.uniform(0, H)) for _ in range(rng.randint(2, 5))]
            if rng.random() < 0.3:  # an outline of a shape: drawn, not filled
                x, y, r = rng.uniform(0, W), rng.uniform(0, H), rng.uniform(6, 14) * SCALE
                d.ellipse([x - r, y - r, x + r, y + r], outline=_colour(rng), width=SCALE) if rng.random() < 0.5 else \
                    d.rectangle([x - r, y - r, x + r, y + r], outline=_colour(rng), width=SCALE)
            else:
                d.line(pts, fill=_colour(rng), width=rng.randint(1, 3) * SCALE)
    elif kind == "texture":
        step, c1, c2 = rng.uniform(3, 10) * SCALE, _colour(rng), _colour(rng)
        style = rng.choice(("checks", "stripes", "dots"))
        for i in range(int(W / step) + 1):
            for j in range(int(H / step) + 1):
                x, y = i * step, j * step
                if style == "checks" and (i + j) % 2:
                    d.rectangle([x, y, x + step, y + step], fill=c1)
                elif style == "stripes" and i % 2:
                    d.rectangle([x, 0, x + step / 2, H], fill=c2)
                elif style == "dots":
                    d.ellipse([x, y, x + step / 3, y + step / 3], fill=c1)
    elif kind == "photo":  # smooth colour fields, the way a blurred photograph looks
        k = rng.randint(2, 6)
        img = Image.frombytes("RGB", (k, k), rng.randbytes(k * k * 3)).resize((W, H), Image.BICUBIC)
    elif kind == "plot":
        img = Image.new("RGB", (W, H), (255, 255, 255))
        d = ImageDraw.Draw(img)
        d.line([(0.1 * W, 0.05 * H), (0.1 * W, 0.9 * H), (0.95 * W, 0.9 * H)], fill=(0, 0, 0), width=SCALE)
        c, r = _colour(rng), rng.uniform(0.7, 2) * SCALE
        for _ in range(rng.randint(10, 80)):
            x, y = rng.uniform(0.12 * W, 0.95 * W), rng.uniform(0.05 * H, 0.88 * H)
            d.ellipse([x - r, y - r, x + r, y + r], fill=c)
    elif kind == "other shapes":
        for _ in range(rng.randint(1, 3)):
            r = rng.uniform(8, 14) * SCALE
            _other_shape(d, rng, rng.uniform(r, max(r, W - r)), rng.uniform(r, max(r, H - r)), r)
    return _finish(img, rng, cv), kind


def scene(seed: int, split: str):
    """-> (picture, objects in caption order, caption) of scene ``seed`` of ``split``; a scene with
    none of the grammar's objects has no objects and the caption :data:`NOTHING`."""
    if split not in SPLITS:
        raise ValueError(split)
    cv = canvas(split, seed)
    rng = random.Random(f"{split}/{seed}")
    if split == "nothing" or (split in ("train", "val", "calib")
                              and random.Random(f"{split}/{seed}/nothing").random() < NEGATIVE_SHARE):
        return draw_nothing(rng, cv)[0], [], NOTHING
    held = split.startswith("unseen")
    n = rng.choice([1, 2, 2, 3])  # object count: half the scenes are pairs, which have a relation
    while True:
        things = _layout(rng, n, cv.width, cv.height)
        if things is not None and is_unseen(things) == held:
            return draw(things, rng, cv), things, caption(things)


def write_split(out: Path, split: str, count: int, start: int = 0) -> None:
    """``count`` scenes as ``out/images/NNNNNN.png`` (or ``.jpg``) with ``out/captions.tsv``
    (Flickr8k style: ``images/NNNNNN.png#0<TAB>caption``) and ``out/scenes.jsonl`` (the objects
    drawn, the canvas)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    with open(out / "captions.tsv", "w") as caps, open(out / "scenes.jsonl", "w") as meta:
        for i in range(start, start + count):
            img, things, text = scene(i, split)
            cv = canvas(split, i)
            name = f"images/{i:06d}." + ("jpg" if cv.jpeg else "png")
            img.save(out / name, **({"quality": cv.jpeg} if cv.jpeg else {}))
            caps.write(f"{name}#0\t{text}\n")
            meta.write(json.dumps({"image": name, "caption": text, "objects": [asdict(t) for t in things],
                                   "canvas": asdict(cv)}) + "\n")


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

"""Pen strokes: reading them (this project's JSON lines, the IAM On-Line Handwriting Database's
``lineStrokes`` XML, W3C InkML), and turning them into the model's sequence of pen offsets and back.

A sample is ``(text, strokes)``: ``strokes`` is a list of strokes (the pen down, moving, then
lifted), each a list of ``(x, y)`` points, y growing downwards as on a screen. The model reads

    (dx_t, dy_t, up_t)   the move from the previous point, and 1 if the pen lifts after this point

with the first point's move taken from (0, 0) of the line's own frame (its first point), as in
Graves (2013, section 4), and dx, dy divided by their standard deviation over the training set.

Our JSON-lines format, one sample per line::

    {"text": "the magic", "strokes": [[[0, 0], [1.5, -2], ...], [[9, 0], ...]]}
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from lstm_cli.core.errors import InputError

MAX_POINTS = 3000  # a longer sample is skipped with a warning: bounded time and memory
MAX_COORD = 1e6  # pen coordinates beyond this (or not finite) are refused: no tablet reports them


def _checked(strokes: list) -> list:
    """``strokes`` if every coordinate is finite and within MAX_COORD, else ValueError."""
    for s in strokes:
        for x, y in s:
            if not (abs(x) <= MAX_COORD and abs(y) <= MAX_COORD):  # NaN fails both
                raise ValueError(f"coordinate ({x:g}, {y:g}) is not a finite number within {MAX_COORD:g}")
    return strokes


def read_jsonl(path: Path) -> list[tuple[str, list]]:
    """Samples of a JSON-lines file (see the module docstring); a bad line is an InputError."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, strokes = row["text"], _checked([[(float(x), float(y)) for x, y in s] for s in row["strokes"]])
            if not isinstance(text, str):
                raise TypeError("text is not a string")
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(f"{path}:{n}: not a stroke sample ({type(e).__name__}: {e})",
                             hint='one {"text": ..., "strokes": [[[x, y], ...], ...]} per line') from None
        out.append((text, [s for s in strokes if s]))
    return out


def _iam_texts(ascii_file: Path) -> list[str]:
    """The transcription lines of an IAM-OnDB ``ascii/.../NAME.txt`` (its CSR: section)."""
    text = ascii_file.read_text(encoding="latin-1")
    if "CSR:" not in text:
        return []
    return [l.strip() for l in text.split("CSR:", 1)[1].strip().splitlines() if l.strip()]


def read_iam(root: Path, log=print) -> list[tuple[str, list]]:
    """IAM-OnDB: ``lineStrokes/**/NAME-NN.xml`` stroke files, each the NN-th line of
    ``ascii/**/NAME.txt``'s CSR section. A file without its transcription is skipped."""
    texts: dict[str, list[str]] = {}
    for f in sorted((root / "ascii").rglob("*.txt")):
        texts[f.stem] = _iam_texts(f)
    out, missing = [], 0
    for f in sorted((root / "lineStrokes").rglob("*.xml")):
        m = re.fullmatch(r"(.+)-(\d+)", f.stem)
        lines = texts.get(m.group(1), []) if m else []
        k = int(m.group(2)) - 1 if m else -1
        if not 0 <= k < len(lines):
            missing += 1
            continue
        try:
            tree = ET.parse(f)
            strokes = _checked([[(float(p.get("x")), float(p.get("y"))) for p in s.iter("Point")]
                                for s in tree.getroot().iter("Stroke")])
        except ET.ParseError as e:
            log(f"lstm: warning: skipping {f}: not XML ({e})")
            continue
        except (TypeError, ValueError) as e:
            log(f"lstm: warning: skipping {f}: a Point without usable x and y ({e})")
            continue
        out.append((lines[k], [s for s in strokes if s]))
    if missing:
        log(f"lstm: warning: {missing} stroke file(s) without a transcription line skipped")
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # without the namespace


def read_inkml(path: Path, log=print) -> list[tuple[str, list]]:
    """An InkML file (W3C, 2011) as one sample: its ``<trace>`` elements are the strokes (x and y
    from the channels its ``<traceFormat>`` names X and Y, else the first two of each point; time,
    pressure and other channels are left out), its ``<annotation type="truth">`` the text. A file
    that cannot be read this way is skipped with a warning (as CROHME-style sets hold many)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        log(f"lstm: warning: skipping {path}: not XML ({e})")
        return []
    names = [c.get("name", "").upper() for c in root.iter() if _local(c.tag) == "channel"]
    ix, iy = (names.index("X"), names.index("Y")) if "X" in names and "Y" in names else (0, 1)
    text = next((a.text or "" for a in root.iter() if _local(a.tag) == "annotation"
                 and a.get("type") == "truth"), "")
    strokes = []
    try:
        for trace in (e for e in root.iter() if _local(e.tag) == "trace"):
            points = []
            for point in (trace.text or "").split(","):
                values = point.split()
                if not values:
                    continue
                if any(v[0] in "'\"!?*" for v in values):
                    raise ValueError("difference-encoded values ('\"!?*) are not read")
                points.append((float(values[ix]), float(values[iy])))
            strokes.append(points)
        strokes = _checked(strokes)
    except (ValueError, IndexError) as e:
        log(f"lstm: warning: skipping {path}: a trace without usable x and y ({e})")
        return []
    return [(text.strip(), [s for s in strokes if s])]


def _read_file(path: Path, log) -> list[tuple[str, list]]:
    return read_inkml(path, log) if path.suffix.lower() == ".inkml" else read_jsonl(path)


def read_samples(paths: list[str], log=print, what: str = "--data") -> list[tuple[str, list]]:
    """Samples from ``.jsonl`` and ``.inkml`` files, folders of them, or IAM-OnDB folders
    (``lineStrokes/`` and ``ascii/`` inside). Samples without text or points, or over
    MAX_POINTS, are skipped."""
    samples = []
    for p in map(Path, paths):
        if p.is_dir() and (p / "lineStrokes").is_dir():
            samples += read_iam(p, log)
        elif p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix.lower() in (".jsonl", ".inkml"))
            if not files:
                raise InputError(f"{p}: no .jsonl or .inkml files and no IAM-OnDB lineStrokes/ folder")
            for f in files:
                samples += _read_file(f, log)
        elif p.is_file():
            samples += _read_file(p, log)
        else:
            raise InputError(f"no such file or folder: {p}")
    kept = [(t, s) for t, s in samples if t.strip() and s and sum(map(len, s)) <= MAX_POINTS]
    if len(kept) < len(samples):
        log(f"lstm: warning: {len(samples) - len(kept)} sample(s) without text, without points or over "
            f"{MAX_POINTS} points skipped")
    if not kept:
        raise InputError(f"{what}: no usable stroke sample in {', '.join(paths)}")
    log(f"{what}: {len(kept):,} samples, {sum(sum(map(len, s)) for _, s in kept):,} points")
    return kept


def to_offsets(strokes: list) -> list[tuple[float, float, float]]:
    """Strokes -> [(dx, dy, up)], the first move from the first point (so it is (0, 0, ...))."""
    out, px, py = [], None, None
    for s in strokes:
        for i, (x, y) in enumerate(s):
            if px is None:
                px, py = x, y
            out.append((x - px, y - py, 1.0 if i == len(s) - 1 else 0.0))
            px, py = x, y
    return out


def to_strokes(offsets) -> list[list[tuple[float, float]]]:
    """[(dx, dy, up)] -> strokes of absolute points, starting at (0, 0)."""
    strokes, cur, x, y = [], [], 0.0, 0.0
    for dx, dy, up in offsets:
        x, y = x + dx, y + dy
        cur.append((x, y))
        if up > 0.5:
            strokes.append(cur)
            cur = []
    if cur:
        strokes.append(cur)
    return strokes

"""Pen strokes: reading them (this project's JSON lines, the IAM On-Line Handwriting Database's
``lineStrokes`` XML, W3C InkML), and turning them into the model's sequence of pen offsets and back.

A sample is ``(text, strokes)``: ``strokes`` is a list of strokes (the pen down, moving, then
lifted), each a list of ``(x, y)`` points, y growing downwards as on a screen. The model reads

    (dx_t, dy_t, up_t)   the move from the previous point, and 1 if the pen lifts after this point

with the first point's move taken from (0, 0) of the line's own frame (its first point), as in
Graves (2013, section 4), and dx, dy divided by their standard deviation over the training set.

Our JSON-lines format, one sample per line::

    {"text": "the magic", "strokes": [[[0, 0], [1.5, -2], ...], [[9, 0], ...]]}

optionally with the writer's hand: ``"hand": "print"`` for the whole line, or ``"hands": [...]``
naming each stroke's (a line that changes hands, as the writer's training lines sometimes do so
that it learns to follow the hand it is told rather than the one its strokes so far suggest).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from lstm_cli.core.errors import InputError

MAX_POINTS = 3000  # a longer sample is skipped with a warning: bounded time and memory
MAX_READ_POINTS = 100_000  # a sample to read (lstm read): about 40 lines of dense tablet ink
MAX_COORD = 1e6  # pen coordinates beyond this (or not finite) are refused: no tablet reports them


def _checked(strokes: list) -> list:
    """``strokes`` if every coordinate is finite and within MAX_COORD, else ValueError."""
    for s in strokes:
        for x, y in s:
            if not (abs(x) <= MAX_COORD and abs(y) <= MAX_COORD):  # NaN fails both
                raise ValueError(f"coordinate ({x:g}, {y:g}) is not a finite number within {MAX_COORD:g}")
    return strokes


class Sample(tuple):
    """(text, strokes), and the writer's hand if the line names one (``"hand"``: what
    ``lstm write --hand`` asks for), else None; or each stroke's (``"hands"``), else None."""

    hand: str | None = None
    stroke_hands: list | None = None


def iter_jsonl(path: Path, lines=None, need_text: bool = True):
    """The samples of a JSON-lines file (see the module docstring), one at a time (``lines``: its
    lines, if already read); a bad line is an InputError. Without ``need_text`` the text may be
    missing (ink to be read)."""
    try:
        lines = lines if lines is not None else path.open(encoding="utf-8")
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["text"] if need_text else row.get("text", "")
                strokes = _checked([[(float(x), float(y)) for x, y in s] for s in row["strokes"]])
                if not isinstance(text, str):
                    raise TypeError("text is not a string")
                hand = row.get("hand")
                hands = row.get("hands")
                if hands is not None and not (isinstance(hands, list) and len(hands) == len(strokes)
                                              and all(isinstance(h, str) for h in hands)):
                    raise ValueError("hands is not a list of one name per stroke")
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise InputError(f"{path}:{n}: not a stroke sample ({type(e).__name__}: {e})",
                                 hint='one {"text": ..., "strokes": [[[x, y], ...], ...]} per line') from None
            sample = Sample((text, [s for s in strokes if s]))
            sample.hand = hand if isinstance(hand, str) and hand.strip() else None
            sample.stroke_hands = [h for h, s in zip(hands, strokes) if s] if hands is not None else None
            yield sample
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None


def read_jsonl(path: Path) -> list[tuple[str, list]]:
    """The samples of a JSON-lines file (:func:`iter_jsonl`) as a list."""
    return list(iter_jsonl(path))


def _iam_texts(ascii_file: Path) -> list[str]:
    """The transcription lines of an IAM-OnDB ``ascii/.../NAME.txt`` (its CSR: section)."""
    text = ascii_file.read_text(encoding="latin-1")
    if "CSR:" not in text:
        return []
    return [l.strip() for l in text.split("CSR:", 1)[1].strip().splitlines() if l.strip()]


def _iam_strokes(source) -> list:
    """The strokes of one IAM-OnDB ``lineStrokes`` XML file (a path or file object): ET.ParseError,
    or TypeError/ValueError for a Point without usable x and y."""
    root = ET.parse(source).getroot()
    return _checked([[(float(p.get("x")), float(p.get("y"))) for p in s.iter("Point")] for s in root.iter("Stroke")])


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
            strokes = _iam_strokes(f)
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


def _inkml_traces(el) -> list:
    """The strokes of the ``<trace>`` elements under ``el``; ValueError or IndexError if a trace
    has no usable x and y."""
    names = [c.get("name", "").upper() for c in el.iter() if _local(c.tag) == "channel"]
    ix, iy = (names.index("X"), names.index("Y")) if "X" in names and "Y" in names else (0, 1)
    strokes = []
    for trace in (e for e in el.iter() if _local(e.tag) == "trace"):
        points = []
        for point in (trace.text or "").split(","):
            values = point.split()
            if not values:
                continue
            if any(v[0] in "'\"!?*" for v in values):
                raise ValueError("difference-encoded values ('\"!?*) are not read")
            points.append((float(values[ix]), float(values[iy])))
        strokes.append(points)
    return [s for s in _checked(strokes) if s]


def _truth(el) -> str | None:
    return next(((a.text or "").strip() for a in el if _local(a.tag) == "annotation" and a.get("type") == "truth"), None)


def _inkml(root) -> list[tuple[str, list]]:
    """The samples of a parsed InkML document: the whole ink when it carries its own truth
    annotation (CROHME) or has no labelled trace groups; else one per ``<traceGroup>`` under
    ``<ink>`` with a truth annotation (``lstm write --strokes x.inkml``: one per line of text)."""
    groups = [g for g in root if _local(g.tag) == "traceGroup" and _truth(g) is not None]
    if _truth(root) is not None or not groups:
        return [(_truth(root) or "", _inkml_traces(root))]
    channels = [c for c in root.iter() if _local(c.tag) == "traceFormat"][:1]  # the document's format
    for g in groups:
        g.extend(channels)
    return [(_truth(g), _inkml_traces(g)) for g in groups]


def inkml_text(samples: list[tuple[str, list]]) -> str:
    """Samples as one InkML document: a ``<traceGroup>`` per sample with its text as the truth
    annotation, a ``<trace>`` per stroke (X Y, y down)."""
    from xml.sax.saxutils import escape

    groups = []
    for text, strokes in samples:
        traces = "".join("    <trace>" + ", ".join(f"{x:.2f} {y:.2f}" for x, y in s) + "</trace>\n" for s in strokes)
        groups.append(f'  <traceGroup>\n    <annotation type="truth">{escape(text)}</annotation>\n{traces}  </traceGroup>\n')
    return ('<ink xmlns="http://www.w3.org/2003/InkML">\n  <traceFormat><channel name="X" type="decimal"/>'
            '<channel name="Y" type="decimal"/></traceFormat>\n' + "".join(groups) + "</ink>\n")


def read_inkml(path: Path, log=print) -> list[tuple[str, list]]:
    """An InkML file (W3C, 2011) as one sample: its ``<trace>`` elements are the strokes (x and y
    from the channels its ``<traceFormat>`` names X and Y, else the first two of each point; time,
    pressure and other channels are left out), its ``<annotation type="truth">`` the text. A file
    that cannot be read this way is skipped with a warning (as CROHME-style sets hold many)."""
    try:
        return _inkml(ET.parse(path).getroot())
    except ET.ParseError as e:
        log(f"lstm: warning: skipping {path}: not XML ({e})")
    except (ValueError, IndexError) as e:
        log(f"lstm: warning: skipping {path}: a trace without usable x and y ({e})")
    return []


def _read_file(path: Path, log):
    return read_inkml(path, log) if path.suffix.lower() == ".inkml" else iter_jsonl(path)


def _samples_in(paths: list[str], log):
    for p in map(Path, paths):
        if p.is_dir() and (p / "lineStrokes").is_dir():
            yield from read_iam(p, log)
        elif p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix.lower() in (".jsonl", ".inkml"))
            if not files:
                raise InputError(f"{p}: no .jsonl or .inkml files and no IAM-OnDB lineStrokes/ folder")
            for f in files:
                yield from _read_file(f, log)
        elif p.is_file():
            yield from _read_file(p, log)
        else:
            raise InputError(f"no such file or folder: {p}")


def read_samples(paths: list[str], log=print, what: str = "--data", convert=None) -> list:
    """Samples from ``.jsonl`` and ``.inkml`` files, folders of them, or IAM-OnDB folders
    (``lineStrokes/`` and ``ascii/`` inside). Samples without text or points, or over
    MAX_POINTS, are skipped. ``convert(text, strokes)``, if given, is applied to each sample as
    it is read (a big file's points are never all held as Python floats at once)."""
    kept, skipped, points = [], 0, 0
    for sample in _samples_in(paths, log):
        text, st = sample
        n = sum(map(len, st))
        if not text.strip() or not n or n > MAX_POINTS:
            skipped += 1
            continue
        points += n
        kept.append(sample if convert is None else convert(text, st))
    if skipped:
        log(f"lstm: warning: {skipped} sample(s) without text, without points or over {MAX_POINTS} points skipped")
    if not kept:
        raise InputError(f"{what}: no usable stroke sample in {', '.join(paths)}")
    log(f"{what}: {len(kept):,} samples, {points:,} points")
    return kept


def train_and_val(data: list[str], val_data: list[str] | None, val_fraction: float, log, convert=None):
    """``lstm train write|read``'s samples: (training, held-out), the held-out ones from
    ``val_data``, else the last ``val_fraction`` of ``data`` (none from fewer than 20 samples:
    then a warning that nothing is validated). ``convert`` as for :func:`read_samples`."""
    from lstm_cli.core.task import no_validation

    samples = read_samples(data, log, convert=convert)
    if val_data:
        return samples, read_samples(val_data, log, what="--val-data", convert=convert)
    n_val = int(len(samples) * val_fraction) if len(samples) >= 20 else 0
    if not n_val:
        log(no_validation(f"samples ({len(samples)} given, --val-fraction {val_fraction:g}; or give --val-data)"))
    return samples[: len(samples) - n_val], samples[len(samples) - n_val:]


def read_ink(name: str, data: bytes | None = None, log=print) -> list[tuple[str, list]]:
    """Ink to read (``lstm read``): the samples of one file, ``data`` its bytes if already read
    (stdin), text optional. The format by suffix, else by content: InkML (``<ink>``), IAM-OnDB
    ``lineStrokes`` XML (``<WhiteboardCaptureSession>``/``<StrokeSet>``) or our JSON lines. A
    file that is none of them, or holds no points, is an InputError."""
    import io

    path = Path(name)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read {name}: {e.strerror or e}") from None
    head = data.lstrip()[:1]
    if path.suffix.lower() in (".inkml", ".xml") or head == b"<":
        try:
            root = ET.parse(io.BytesIO(data)).getroot()
        except ET.ParseError as e:
            raise InputError(f"{name}: not well-formed XML ({e})") from None
        try:
            if _local(root.tag) == "ink":
                samples = _inkml(root)
            elif any(True for _ in root.iter("Stroke")):
                samples = [("", _iam_strokes(io.BytesIO(data)))]
            else:
                raise InputError(f"{name}: XML, but neither InkML (<ink>) nor IAM-OnDB strokes (<Stroke>)")
        except (TypeError, ValueError, IndexError) as e:
            raise InputError(f"{name}: a point without usable x and y ({e})") from None
    else:
        try:
            lines = data.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            raise InputError(f"{name}: not UTF-8 text") from None
        samples = list(iter_jsonl(path, lines, need_text=False))
    samples = [(t, [s for s in st if s]) for t, st in samples]
    if not samples:
        raise InputError(f"{name}: no pen points to read")
    for k, (_, st) in enumerate(samples, 1):
        n = sum(map(len, st))
        where = f"{name}" + (f", sample {k}" if len(samples) > 1 else "")
        if n < 2:
            raise InputError(f"{where}: {'no pen points' if not n else 'one pen point'}: too little ink to read")
        if n > MAX_READ_POINTS:
            raise InputError(f"{where}: {n:,} pen points; at most {MAX_READ_POINTS:,} are read as one sample",
                             hint="split the ink into lines")
    return samples


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

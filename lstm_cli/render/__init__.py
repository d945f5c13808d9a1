"""Pictures (pillow): attention (``attention.py``), piano rolls (``pianoroll.py``), handwriting
(``strokes.py``); and audio (``audio.py``). This file holds what the pictures share: a font that
can write the labels, PNG bytes, atomic PNG files."""

from __future__ import annotations

import unicodedata

# Unicode TrueType fonts found on common systems; pillow searches the system font folders.
_FONTS = ("DejaVuSans.ttf", "NotoSans-Regular.ttf", "LiberationSans-Regular.ttf", "Arial Unicode.ttf", "arial.ttf")


_MONO = ("DejaVuSansMono.ttf", "NotoSansMono-Regular.ttf", "LiberationMono-Regular.ttf", "Menlo.ttc", "cour.ttf")


def font(size: int = 13, mono: bool = False):
    """A Unicode TrueType font if the system has one (fixed-width with ``mono``), else pillow's
    built-in (ASCII) font."""
    from PIL import ImageFont

    for name in _MONO if mono else _FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def printable(text: str, f) -> str:
    """``text`` as ``f`` can draw it: pillow's built-in font is ASCII-only, so with it accents
    are dropped (É -> E) and other characters become '?', rather than drawn as empty boxes."""
    if isinstance(getattr(f, "path", None), str):  # a TrueType file from the system
        return text
    out = []
    for c in text:
        plain = unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode("ascii")
        out.append(c if ord(c) < 128 else plain or "?")
    return "".join(out)


def png_bytes(img) -> bytes:
    """A pillow image as PNG file bytes (a training sample the trainer writes, say)."""
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def save_png(img, path: str) -> None:
    from lstm_cli.core.fileio import atomic_open

    with atomic_open(path, "wb") as f:
        img.save(f, format="PNG")

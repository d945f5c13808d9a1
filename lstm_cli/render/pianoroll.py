"""A piece as a piano roll: time across, pitch up, one bar per note, darker when louder; the
primer (if any) in grey, bar lines every four beats, a label on every C."""

from __future__ import annotations

from lstm_cli import render

NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def pianoroll(notes, path: str, primer_beats: float = 0.0) -> None:
    """Draw ``notes`` (tasks/compose/events.Note, times in beats) to a PNG at ``path``, atomically."""
    render.save_png(picture(notes, primer_beats), path)


def png_bytes(notes, primer_beats: float = 0.0) -> bytes:
    return render.png_bytes(picture(notes, primer_beats))


def picture(notes, primer_beats: float = 0.0, px_per_beat: int = 24, px_per_pitch: int = 6):
    """The piano roll as a pillow image."""
    from PIL import Image, ImageDraw

    lo = min((n.pitch for n in notes), default=60) - 2
    hi = max((n.pitch for n in notes), default=72) + 2
    end = max((n.end for n in notes), default=4.0)
    left, top = 40, 10
    width = left + int(end * px_per_beat) + 10
    height = top + (hi - lo + 1) * px_per_pitch + 10
    img = Image.new("RGB", (min(width, 20000), height), "white")
    d = ImageDraw.Draw(img)
    f = render.font(10)
    for p in range(lo, hi + 1):  # black keys shaded, a label on every C
        y = top + (hi - p) * px_per_pitch
        if NAMES[p % 12].endswith("#"):
            d.rectangle([left, y, img.width, y + px_per_pitch - 1], fill=(244, 244, 248))
        if p % 12 == 0:
            d.text((4, y - 3), f"C{p // 12 - 1}", fill="black", font=f)
    for b in range(0, int(end) + 1):
        x = left + b * px_per_beat
        d.line([x, top, x, height - 10], fill=(150, 150, 150) if b % 4 == 0 else (225, 225, 225))
    for n in notes:
        x0, x1 = left + n.start * px_per_beat, left + n.end * px_per_beat - 1
        y = top + (hi - n.pitch) * px_per_pitch
        shade = int(200 - 160 * n.velocity / 127)
        colour = (shade, shade, shade) if n.start < primer_beats else (shade // 3, shade // 2, 255 - shade // 2)
        d.rectangle([x0, y, max(x1, x0 + 1), y + px_per_pitch - 2], fill=colour)
    return img

"""A piece as a piano roll: time across, pitch up, one bar per note, darker when louder, coloured
by voice (soprano, alto, tenor, bass: each note's rank among the notes sounding when it starts,
tasks/compose/voices.py), so the voice leading can be followed; the primer (if any) in grey, bar
lines every four beats, a label on every C."""

from __future__ import annotations

from lstm_cli import render

NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
VOICE_COLOURS = ((214, 39, 40), (255, 127, 14), (44, 160, 44), (31, 119, 180))  # soprano .. bass


def pianoroll(notes, path: str, primer_beats: float = 0.0) -> None:
    """Draw ``notes`` (tasks/compose/events.Note, times in beats) to a PNG at ``path``, atomically."""
    render.save_png(picture(notes, primer_beats), path)


def png_bytes(notes, primer_beats: float = 0.0) -> bytes:
    return render.png_bytes(picture(notes, primer_beats))


def picture(notes, primer_beats: float = 0.0, px_per_beat: int = 24, px_per_pitch: int = 6):
    """The piano roll as a pillow image."""
    from PIL import Image, ImageDraw

    from lstm_cli.tasks.compose.voices import NAMES as VOICE_NAMES
    from lstm_cli.tasks.compose.voices import voice_of

    lo = min((n.pitch for n in notes), default=60) - 2
    hi = max((n.pitch for n in notes), default=72) + 2
    end = max((n.end for n in notes), default=4.0)
    left, top = 40, 24
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
    x = left
    for name, colour in zip(VOICE_NAMES, VOICE_COLOURS):  # the key, above the roll
        d.rectangle([x, 7, x + 8, 15], fill=colour)
        d.text((x + 12, 5), name, fill="black", font=f)
        x += 70
    for n, voice in zip(notes, voice_of(notes)):
        x0, x1 = left + n.start * px_per_beat, left + n.end * px_per_beat - 1
        y = top + (hi - n.pitch) * px_per_pitch
        strength = 0.45 + 0.55 * n.velocity / 127  # louder: nearer the full colour, softer: paler
        if n.start < primer_beats:
            colour = (int(200 - 120 * strength),) * 3
        else:
            colour = tuple(int(255 - (255 - c) * strength) for c in VOICE_COLOURS[voice])
        d.rectangle([x0, y, max(x1, x0 + 1), y + px_per_pitch - 2], fill=colour)
    return img

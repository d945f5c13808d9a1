"""Keys: which key a piece is in, and the key a user asks ``lstm compose --key`` for.

A piece's key is found by Krumhansl-Schmuckler: correlate its duration-weighted pitch-class
profile with the Krumhansl-Kessler profiles of the 24 major and minor keys and take the best.
"""

from __future__ import annotations

import re

from lstm_cli.core.errors import UsageError

MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]  # Krumhansl & Kessler
MINOR = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTERS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_KEY = re.compile(r"(?:([a-g])([#b]?)\s*)?(major|minor|maj|min|m)?", re.IGNORECASE)

def key_of(notes) -> tuple[int, bool]:
    """(tonic pitch class, major?) of a list of notes (Krumhansl-Schmuckler)."""
    import numpy as np

    prof = np.zeros(12)
    for n in notes:
        prof[n.pitch % 12] += n.end - n.start
    if not prof.any():
        return 0, True
    best, key = -2.0, (0, True)
    for tonic in range(12):
        for major, ref in ((True, MAJOR), (False, MINOR)):
            r = np.corrcoef(prof, np.roll(ref, tonic))[0, 1]
            if r > best:
                best, key = r, (tonic, major)
    return key


def name(key: tuple) -> str:
    """The words for (tonic pitch class or None, major? or None): 'D minor'; a free part (None) is
    left out ('minor', 'D', 'any key')."""
    tonic, major = key
    words = ([NAMES[tonic]] if tonic is not None else []) + ([] if major is None else ["major" if major else "minor"])
    return " ".join(words) or "any key"


def parse(text: str) -> tuple:
    """``--key`` as (tonic pitch class or None, major? or None): a tonic (D, F#, Bb), a mode (major,
    minor) or both (D minor, Dm, f# min); 'any' leaves both free (None)."""
    t = text.strip()
    if t.lower() in ("any", "any key"):
        return None, None
    m = _KEY.fullmatch(t)
    if not t or m is None:
        raise UsageError(f"--key '{text}' is not a key",
                         hint="give a tonic, a mode or both: D minor, F# major, Bb, minor; or any")
    letter, accidental, mode = m.groups()
    tonic = None
    if letter:
        tonic = (_LETTERS[letter.lower()] + {"#": 1, "b": -1, "": 0}[accidental.lower()]) % 12
    major = None if mode is None else mode.lower() in ("major", "maj")
    return tonic, major


def major_share(pieces) -> float:
    """The share of pieces (lists of notes) in a major key."""
    keyed = [key_of(p)[1] for p in pieces if p]
    return sum(keyed) / len(keyed) if keyed else 0.5


def to_tonic(notes, found: int, tonic: int, lo: int, hi: int):
    """``notes`` moved from tonic ``found`` to ``tonic`` by the smaller shift that keeps every pitch
    in lo..hi (the other way round if that one does not fit), or None if neither fits."""
    from lstm_cli.tasks.compose.events import Note

    up = (tonic - found) % 12
    pitches = [n.pitch for n in notes] or [lo]
    for shift in sorted((up, up - 12), key=abs):
        if lo <= min(pitches) + shift and max(pitches) + shift <= hi:
            return [Note(n.pitch + shift, n.velocity, n.start, n.end) for n in notes]
    return None

"""Keys: which key a piece is in (Krumhansl-Schmuckler), and key names as users write them.

A key is ``(tonic, major)``: the tonic's pitch class (0 = C .. 11 = B) and whether it is major.
``lstm compose --key`` reads names such as ``D minor``, ``Eb``, ``f#m`` or ``Bb major``; a model
trained with key marks (:func:`lstm_cli.tasks.compose.events.KeyMarks`) composes in that key.
"""

from __future__ import annotations

import re

# Krumhansl & Kessler's probe-tone profiles, from the tonic up.
MAJOR_PROFILE = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]
MINOR_PROFILE = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]
MAJOR_SCALE = {0, 2, 4, 5, 7, 9, 11}
MINOR_SCALE = {0, 2, 3, 5, 7, 8, 9, 10, 11}  # natural, harmonic and melodic minor together

NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_LETTERS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_KEY = re.compile(r"^\s*([a-g])\s*([#b♯♭]?)\s*(major|minor|maj|min|m)?\s*$", re.IGNORECASE)


def key_of(notes) -> tuple[int, bool]:
    """(tonic pitch class, major?) of notes (anything with ``pitch``, ``start`` and ``end``): the
    duration-weighted pitch-class profile correlated with the 24 rotated key profiles. C major for
    no notes at all."""
    import numpy as np

    prof = np.zeros(12)
    for n in notes:
        prof[n.pitch % 12] += n.end - n.start
    if not prof.any() or prof.min() == prof.max():
        return 0, True
    best, key = -2.0, (0, True)
    for tonic in range(12):
        for major, ref in ((True, MAJOR_PROFILE), (False, MINOR_PROFILE)):
            r = np.corrcoef(prof, np.roll(ref, tonic))[0, 1]
            if r > best:
                best, key = r, (tonic, major)
    return key


def key_name(key: tuple[int, bool]) -> str:
    tonic, major = key
    return f"{NAMES[tonic]} {'major' if major else 'minor'}"


def parse_key(text: str) -> tuple[int, bool] | None:
    """``D minor``, ``Dm``, ``eb``, ``F# major`` -> (tonic, major); None if it is not a key name.
    A letter alone is major."""
    m = _KEY.match(text)
    if not m:
        return None
    letter, accidental, mode = m.groups()
    tonic = (_LETTERS[letter.lower()] + {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(accidental.lower(), 0)) % 12
    return tonic, not (mode and mode.lower() in ("minor", "min", "m"))


def midi_key(key: tuple[int, bool]) -> str:
    """The key as a MIDI key-signature meta message names it (mido: ``C``, ``Ebm``, ``F#m``...)."""
    tonic, major = key
    return NAMES[tonic] + ("" if major else "m")

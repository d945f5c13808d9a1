"""Voices and voice leading of a piece given as notes without parts (what ``lstm compose`` writes,
and what a MIDI file of a chorale becomes once read).

Voices are found as a listener hears them in a chorale: at every moment a note starts, the notes
sounding then are ranked by pitch, the highest is the soprano and the lowest the bass (with four
sounding, one each; with other counts, ranks are spread over the four). Held notes keep sounding,
so a voice that does not move keeps its pitch.

What is measured (``benchmarks/bench_compose.py`` prints it for composed and real chorales):

- parallel fifths and octaves: between two successive chords with the same number of notes, a
  pair of voices that both move in the same direction and are a fifth (or an octave or unison),
  compounds included, apart before and after; counted per pair of voices that both move;
- the share of the piece's time with 0, 1, 2, ... notes sounding;
- the longest note, in beats;
- whether the piece ends on its tonic: the lowest note sounding at the last onset is the tonic of
  the piece's key (Krumhansl-Schmuckler, :func:`keys.key_of`).
"""

from __future__ import annotations

from dataclasses import dataclass

from lstm_cli.tasks.compose.keys import key_of

VOICES = 4  # soprano, alto, tenor, bass
NAMES = ("soprano", "alto", "tenor", "bass")


def chords(notes) -> list[tuple[float, tuple[int, ...]]]:
    """(onset time, the pitches sounding then, high to low) at every time a note starts."""
    order = sorted(notes, key=lambda n: n.start)
    out, active, i = [], [], 0
    for t in sorted({n.start for n in notes}):
        while i < len(order) and order[i].start <= t:
            active.append(order[i])
            i += 1
        active = [n for n in active if n.end > t]
        out.append((t, tuple(sorted({n.pitch for n in active}, reverse=True))))
    return out


def rank_voice(rank: int, count: int, voices: int = VOICES) -> int:
    """The voice (0 = top) of the ``rank``-th highest of ``count`` notes sounding together."""
    return 0 if count <= 1 else round(rank * (voices - 1) / (count - 1))


def voice_of(notes, voices: int = VOICES) -> list[int]:
    """Each note's voice (0 = top .. voices-1 = bottom), by its pitch's rank among the notes
    sounding when it starts."""
    sounding = dict(chords(notes))
    out = []
    for n in notes:
        pitches = sounding[n.start]
        out.append(rank_voice(pitches.index(n.pitch), len(pitches), voices))
    return out


@dataclass
class Leading:
    """Voice-leading counts of one piece (or of several, added)."""

    fifths: int = 0  # parallel fifths
    octaves: int = 0  # parallel octaves and unisons
    moving_pairs: int = 0  # pairs of voices that both moved, between chords of equal size

    def __add__(self, other: "Leading") -> "Leading":
        return Leading(self.fifths + other.fifths, self.octaves + other.octaves,
                       self.moving_pairs + other.moving_pairs)

    def rate(self, what: str) -> float:
        return getattr(self, what) / self.moving_pairs if self.moving_pairs else 0.0


def motion(a: tuple[int, ...], b: tuple[int, ...]) -> Leading:
    """Parallel fifths and octaves (compounds included) from chord ``a`` to chord ``b`` (pitches
    high to low); none where their sizes differ (a voice entered or left: no voice to follow)."""
    out = Leading()
    if len(a) != len(b) or len(a) < 2:
        return out
    moves = [y - x for x, y in zip(a, b)]
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            if not moves[i] or not moves[j]:
                continue
            out.moving_pairs += 1
            if (moves[i] > 0) != (moves[j] > 0):
                continue  # contrary motion
            before, after = (a[i] - a[j]) % 12, (b[i] - b[j]) % 12
            if before == after == 7:
                out.fifths += 1
            elif before == after == 0:
                out.octaves += 1
    return out


def parallels(notes) -> Leading:
    """Parallel fifths and octaves (compounds included) between successive chords."""
    cs = [c for _, c in chords(notes)]
    return sum((motion(a, b) for a, b in zip(cs, cs[1:])), Leading())


def sounding_time(notes, most: int = 6) -> list[float]:
    """Beats of the piece (first onset to last end) with 0, 1, ..., ``most`` or more notes sounding."""
    edges = sorted([(n.start, 1) for n in notes] + [(n.end, -1) for n in notes])
    out = [0.0] * (most + 1)
    count, last = 0, None
    for t, step in edges:
        if last is not None and t > last:
            out[min(count, most)] += t - last
        count, last = count + step, t
    return out


def longest_note(notes) -> float:
    return max((n.end - n.start for n in notes), default=0.0)


def ends_on_tonic(notes) -> bool:
    """Is the lowest note sounding at the last onset the tonic of the piece's key?"""
    if not notes:
        return False
    last = chords(notes)[-1][1]
    return bool(last) and last[-1] % 12 == key_of(notes)[0]

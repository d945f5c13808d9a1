"""Voice leading measured on notes without parts (tasks/compose/voices.py)."""

from __future__ import annotations

from lstm_cli.tasks.compose import voices as v
from lstm_cli.tasks.compose.events import Note


def chord_seq(*chords, beats=1.0):
    """Notes for successive chords (pitches high to low), each lasting ``beats``."""
    return [Note(p, 80, i * beats, (i + 1) * beats) for i, c in enumerate(chords) for p in c]


I_CHORD, IV_CHORD, V_CHORD = (72, 64, 55, 48), (72, 65, 57, 53), (71, 62, 55, 43)  # C E G; F A C; G B D


def test_a_known_parallel_fifth_is_counted():
    # soprano G4 -> A4 over bass C3 -> D3: a compound fifth both times, both up; the alto steps
    # E4 -> F4 (a third over the bass both times), the tenor holds: 3 pairs of voices move
    notes = chord_seq((67, 64, 60, 48), (69, 65, 60, 50))
    assert v.parallels(notes) == v.Leading(fifths=1, octaves=0, moving_pairs=3)


def test_parallel_octaves_are_counted_and_contrary_fifths_are_not():
    assert v.parallels(chord_seq((72, 60), (74, 62))) == v.Leading(0, 1, 1)
    # G4 -> D5 above C3 -> G2: a fifth both times, but the voices move apart
    assert v.parallels(chord_seq((67, 48), (74, 43))) == v.Leading(0, 0, 1)


def test_a_clean_cadence_has_no_parallels():
    lead = v.parallels(chord_seq(I_CHORD, V_CHORD, I_CHORD))
    assert lead == v.Leading(0, 0, 6) and lead.rate("fifths") == 0.0


def test_a_voice_entering_breaks_the_chain():
    assert v.parallels(chord_seq((67, 48), (69, 60, 50))).moving_pairs == 0


def test_voices_are_ranked_by_pitch_among_the_notes_sounding():
    notes = [Note(48, 80, 0, 4), Note(72, 80, 0, 1), Note(64, 80, 0, 1), Note(55, 80, 0, 1),
             Note(74, 80, 1, 2), Note(67, 80, 1, 2)]  # the bass held under a two-note chord
    assert v.voice_of(notes) == [3, 0, 1, 2, 0, 2]  # at beat 1: 74 67 48 sound -> ranks 0 1 2 of 3
    assert v.rank_voice(0, 1) == 0 and v.rank_voice(3, 4) == 3


def test_sounding_time_longest_note_and_the_tonic_ending():
    notes = [Note(60, 80, 0, 2), Note(64, 80, 1, 3), Note(67, 80, 5, 6)]
    assert v.sounding_time(notes, most=3) == [2.0, 3.0, 1.0, 0.0]
    assert v.longest_note(notes) == 2.0
    cadence = chord_seq(I_CHORD, IV_CHORD, V_CHORD, I_CHORD)  # C major either way
    assert v.ends_on_tonic(cadence) and not v.ends_on_tonic(cadence[:-4])  # ending on C / on G
    assert not v.ends_on_tonic([])


def test_the_piano_roll_colours_each_voice():
    from lstm_cli.render.pianoroll import VOICE_COLOURS, picture

    notes = chord_seq(I_CHORD, V_CHORD)
    img = picture(notes).convert("RGB")
    hi = max(n.pitch for n in notes) + 2
    seen = []
    for n in notes[:4]:  # the first chord, soprano to bass
        r, g, b = img.getpixel((40 + int(n.start * 24) + 5, 24 + (hi - n.pitch) * 6 + 2))
        seen.append(max(range(4), key=lambda k: -sum(abs(c - w) for c, w in zip((r, g, b), VOICE_COLOURS[k]))))
    assert seen == [0, 1, 2, 3]

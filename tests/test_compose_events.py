"""compose's event encoding (tasks/compose/events.py): round trips and bad MIDI files."""

from __future__ import annotations

import random

import pytest

from lstm_cli.core.errors import InputError
from lstm_cli.tasks.compose import events as ev

STEP = 1 / ev.STEPS_PER_BEAT


def random_notes(rng: random.Random, n: int) -> list[ev.Note]:
    """Polyphonic notes on the grid's scale of time, no two overlapping on one pitch (one channel
    cannot hold that), with gaps longer than MAX_SHIFT and chords."""
    notes, busy = [], {}
    t = 0.0
    for _ in range(n):
        t += rng.choice([0, 0, 0.25, 0.5, 1 / 3, 1, 2.5, 7.0]) + rng.uniform(-0.02, 0.02)
        t = max(t, 0.0)
        pitch = rng.randrange(21, 109)
        if busy.get(pitch, -1) > t - STEP:
            continue
        dur = rng.choice([STEP, 0.25, 0.5, 1, 1.5, 4, 9]) + rng.uniform(0, 0.03)
        notes.append(ev.Note(pitch, rng.randrange(1, 128), t, t + dur))
        busy[pitch] = t + dur + STEP
    return notes


@pytest.mark.parametrize("seed", range(30))
def test_round_trip_keeps_every_note_within_one_step(seed):
    rng = random.Random(seed)
    notes = random_notes(rng, rng.randrange(1, 200))
    events = ev.encode(notes)
    assert all(0 <= e < ev.VOCAB_SIZE for e in events)
    back = ev.decode(events)
    assert len(back) == len(notes)
    key = lambda n: (round(n.start * ev.STEPS_PER_BEAT), n.pitch)  # noqa: E731
    for a, b in zip(sorted(notes, key=key), sorted(back, key=key)):
        assert a.pitch == b.pitch
        assert abs(a.start - b.start) <= STEP / 2 + 1e-9
        assert abs((a.end - a.start) - (b.end - b.start)) <= STEP + 1e-9 or (a.end - a.start) < STEP
        assert ev.velocity_bin(a.velocity) == ev.velocity_bin(b.velocity)
    # and through a MIDI file: mido re-reads what we write
    again = ev.read_midi(ev.write_midi(back, tempo_bpm=90), "x.mid")
    assert [(n.pitch, n.start, n.end) for n in again] == [(n.pitch, n.start, n.end) for n in back]


def test_transpose_and_names():
    events = ev.encode([ev.Note(60, 64, 0, 1), ev.Note(64, 64, 0, 1)])
    up = ev.transpose(events, 5)
    assert [n.pitch for n in ev.decode(up)] == [65, 69]
    assert ev.transpose(events, 100) is None
    assert [ev.name(e) for e in events] == ["vel3", "on60", "on64", "shift12", "off60", "off64"]
    assert ev.beats(events) == 1.0


def midi_bytes(*tracks, tpb=96, type_=1):
    import io

    import mido

    mid = mido.MidiFile(type=type_, ticks_per_beat=tpb)
    for msgs in tracks:
        mid.tracks.append(mido.MidiTrack(msgs))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def test_reading_tracks_channels_drums_and_velocity_zero():
    import mido

    m = mido.Message
    piano = [m("note_on", note=60, velocity=80, time=0), m("note_on", note=60, velocity=0, time=96),
             mido.MetaMessage("set_tempo", tempo=300000, time=0), m("note_on", note=62, velocity=80, time=0),
             m("note_off", note=62, velocity=0, time=48)]
    drums = [m("note_on", note=36, velocity=100, channel=9, time=0), m("note_off", note=36, channel=9, time=10)]
    held = [m("note_on", note=70, velocity=50, channel=3, time=24)]  # never released
    data = midi_bytes(piano, drums, held)
    notes = ev.read_midi(data, "a.mid")
    assert [(n.pitch, n.start, n.end) for n in notes] == [(60, 0, 1), (70, 0.25, 1.5), (62, 1, 1.5)]
    assert 36 in [n.pitch for n in ev.read_midi(data, "a.mid", drums=True)]
    assert ev.read_midi(midi_bytes(piano, type_=0), "b.mid")[0].pitch == 60


@pytest.mark.parametrize("data,needle", [
    (b"", "not a MIDI file"),
    (b"hello, this is not midi at all", "not a MIDI file"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x05\x00\x60", "not a readable MIDI file"),  # claims 5 tracks, has none
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x00MTrk\x00\x00\x00\x04\x00\xff\x2f\x00", "ticks_per_beat 0"),
])
def test_bad_midi_is_one_clear_error(data, needle):
    with pytest.raises(InputError, match=needle) as e:
        ev.read_midi(data, "bad.mid")
    assert "bad.mid" in e.value.message


def test_days_of_silence_and_a_million_notes_are_refused():
    import mido

    m = mido.Message
    silence = midi_bytes([m("note_on", note=60, velocity=80, time=0),
                          m("note_off", note=60, time=96 * 200_000)])
    with pytest.raises(InputError, match="beats"):
        ev.read_midi(silence, "long.mid")
    many = midi_bytes([x for _ in range(ev.MAX_NOTES + 2) for x in (m("note_on", note=60, velocity=9, time=1),
                                                                       m("note_off", note=60, time=1))])
    with pytest.raises(InputError, match="more than"):
        ev.read_midi(many, "many.mid")


def test_a_unison_is_one_note_and_a_restrike_is_two():
    """Two voices on one key at once (alto and tenor on E4) are one note, ending with the longer;
    once, they became 'on off on' at one instant and a zero-length ghost note."""
    unison = [ev.Note(64, 80, 0, 1), ev.Note(64, 80, 0, 2), ev.Note(60, 80, 0, 2)]
    events = ev.encode(unison)
    assert [ev.name(e) for e in events if not ev.name(e).startswith("shift")] == ["vel4", "on60", "on64", "off60", "off64"]
    assert ev.beats(events) == 2
    assert [(n.pitch, n.start, n.end) for n in ev.decode(events)] == [(60, 0, 2), (64, 0, 2)]
    restrike = [ev.Note(64, 80, 0, 2), ev.Note(64, 80, 1, 2)]
    assert [(n.pitch, n.start, n.end) for n in ev.decode(ev.encode(restrike))] == [(64, 0, 1), (64, 1, 2)]


def test_longest_rest_counts_silence_between_notes_only():
    """Silence before the first note is not a rest; one between two notes is, however many SHIFTs."""
    notes = [ev.Note(60, 80, 1.0, 2.0), ev.Note(62, 80, 2.0, 3.0), ev.Note(64, 80, 5.5, 6.0), ev.Note(65, 80, 6.5, 7.0)]
    assert ev.longest_rest(ev.encode(notes)) == int(2.5 * ev.STEPS_PER_BEAT)
    assert ev.longest_rest(ev.encode(notes[:2])) == 0

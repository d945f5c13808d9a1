"""MIDI <-> notes <-> events: the vocabulary ``lstm compose`` models, after Magenta's Performance
RNN (Oore et al. 2018), with one change: time is counted in beats, not milliseconds.

A piece is a list of notes (pitch, velocity, onset, end), times in quarter notes. As events::

    NOTE_ON(p)   p in 0..127        a note starts (at the current velocity)
    NOTE_OFF(p)  p in 0..127        a note ends
    SHIFT(k)     k in 1..MAX_SHIFT  time moves on k steps of 1/STEPS_PER_BEAT quarter note
    VELOCITY(b)  b in 0..VEL_BINS-1 later NOTE_ONs get this loudness (emitted only when it changes)
    PHRASE                          a phrase ends here (a fermata in a chorale): after the NOTE_ONs
                                    of the chord the phrase ends on

At one instant: NOTE_OFFs first, then VELOCITY and NOTE_ONs by pitch, so a re-struck pitch is
closed before it opens again; two notes starting together on one pitch (a unison of two voices)
are one note, as a keyboard plays them. Why beats: the shipped corpora are scores (chorales, masses), whose
tempo is a performance choice, and a beat grid keeps the model's clock musical, so a rhythm is the
same tokens at any tempo; `--tempo` then sets the speed. Why 12 steps per beat: 16ths (3 steps)
and 8th-note triplets (4 steps) both land on the grid; MAX_SHIFT = 24 (two beats) keeps the
vocabulary small, a longer rest is several SHIFTs. Why 8 velocity bins: scores carry few dynamics;
8 keep pp..ff apart at little cost. Why PHRASE: a model that knows where phrases end can end a
piece on one (``lstm compose`` stops at the first after ``--length``); in a MIDI file a phrase end
is a marker meta-event named "phrase" or "fermata" (scripts/corpora.py writes them from the
chorales' fermatas). Vocabulary: 128 + 128 + 24 + 8 + 1 = 289 events; models trained before
PHRASE have the first 288.

Reading takes type 0 and 1 files, any tracks and channels, tempo and time-signature changes
(times stay in beats, so tempo changes do not move notes), running status and note-on with
velocity 0 as note-off (both handled by mido), and leaves out drums (channel 10) unless asked.
Bad files are one :class:`InputError` naming the file, in bounded time and memory.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from lstm_cli.core.errors import InputError

STEPS_PER_BEAT = 12
MAX_SHIFT = 24
VEL_BINS = 8
NOTE_ON, NOTE_OFF, SHIFT, VELOCITY = 0, 128, 256, 256 + MAX_SHIFT
PHRASE = VELOCITY + VEL_BINS  # 288
VOCAB_SIZE = PHRASE + 1  # 289
PHRASE_MARKERS = ("phrase", "fermata")  # MIDI marker texts read as phrase ends
DRUM_CHANNEL = 9  # MIDI channel 10
MAX_NOTES = 200_000  # a file claiming more is refused (bounded memory)
MAX_BEATS = 100_000  # ~14 hours at 120 bpm: a file claiming days of silence is refused


@dataclass(frozen=True)
class Note:
    pitch: int
    velocity: int
    start: float  # quarter notes
    end: float


def name(event: int) -> str:
    """A readable name for an event id (for logs and tests)."""
    if event < NOTE_OFF:
        return f"on{event}"
    if event < SHIFT:
        return f"off{event - NOTE_OFF}"
    if event < VELOCITY:
        return f"shift{event - SHIFT + 1}"
    if event == PHRASE:
        return "phrase"
    return f"vel{event - VELOCITY}"


def velocity_bin(v: int) -> int:
    return min(VEL_BINS - 1, max(0, (v - 1) * VEL_BINS // 127))


def bin_velocity(b: int) -> int:
    """The loudness a bin stands for: its middle."""
    return min(127, (2 * b + 1) * 127 // (2 * VEL_BINS) + 1)


# ---------------------------------------------------------------- notes <-> events


def encode(notes: list[Note], phrases=()) -> list[int]:
    """Notes -> events, onsets and ends rounded to the grid; a note keeps at least one step.
    ``phrases``: times (beats) where a phrase ends, each a PHRASE after the onsets there."""
    points = []  # (step, order, pitch, velocity): offs (order 0) before ons (order 1) before PHRASE (2)
    for n in notes:
        s = round(n.start * STEPS_PER_BEAT)
        e = max(round(n.end * STEPS_PER_BEAT), s + 1)
        points.append((s, 1, n.pitch, n.velocity))
        points.append((e, 0, n.pitch, 0))
    last = max((p[0] for p in points), default=0)
    points += [(s, 2, 0, 0) for s in sorted({round(t * STEPS_PER_BEAT) for t in phrases}) if 0 <= s <= last]
    points.sort()
    events, now, vel, sounding, started = [], 0, None, {}, {}
    for step, order, pitch, velocity in points:
        while step > now:
            k = min(step - now, MAX_SHIFT)
            events.append(SHIFT + k - 1)
            now += k
        if order == 2:
            events.append(PHRASE)
        elif order == 0:
            sounding[pitch] = sounding.get(pitch, 0) - 1
            if sounding[pitch] == 0:  # overlapping notes on one pitch end once, when the last ends
                events.append(NOTE_OFF + pitch)
        else:
            if sounding.get(pitch, 0) > 0 and started.get(pitch) == step:  # a unison (two voices, one
                sounding[pitch] += 1  # key): one note; it ends when the longer one does
                continue
            if sounding.get(pitch, 0) > 0:  # re-struck while sounding: close it first
                events.append(NOTE_OFF + pitch)
            sounding[pitch] = sounding.get(pitch, 0) + 1
            started[pitch] = step
            b = velocity_bin(velocity)
            if b != vel:
                events.append(VELOCITY + b)
                vel = b
            events.append(NOTE_ON + pitch)
    return events


def decode(events: list[int]) -> list[Note]:
    """Events -> notes. Every note ends: an unmatched NOTE_ON ends at the last time (at least one
    step after it starts); a NOTE_OFF with no note sounding is ignored, as is a NOTE_ON on a pitch
    already sounding (it closes the first)."""
    notes, now, vel, open_ = [], 0, bin_velocity(VEL_BINS // 2), {}
    for ev in events:
        if ev < NOTE_OFF:
            if ev in open_:
                notes.append(Note(ev, *_closed(open_.pop(ev), now)))
            open_[ev] = (now, vel)
        elif ev < SHIFT:
            p = ev - NOTE_OFF
            if p in open_:
                notes.append(Note(p, *_closed(open_.pop(p), now)))
        elif ev < VELOCITY:
            now += ev - SHIFT + 1
        elif ev < PHRASE:
            vel = bin_velocity(ev - VELOCITY)
    for p, started in open_.items():
        notes.append(Note(p, *_closed(started, now)))
    return sorted(notes, key=lambda n: (n.start, n.pitch))


def _closed(started: tuple[int, int], now: int) -> tuple[int, float, float]:
    start, vel = started
    return vel, start / STEPS_PER_BEAT, max(now, start + 1) / STEPS_PER_BEAT


def transpose(events: list[int], semitones: int) -> list[int] | None:
    """The same events a number of semitones up or down; None if a pitch would leave 0..127."""
    out = []
    for ev in events:
        if ev < SHIFT:
            p = ev % 128 + semitones
            if not 0 <= p < 128:
                return None
            out.append(ev - ev % 128 + p)
        else:
            out.append(ev)
    return out


def beats(events: list[int]) -> float:
    """The length of an event sequence in quarter notes."""
    return sum(ev - SHIFT + 1 for ev in events if SHIFT <= ev < VELOCITY) / STEPS_PER_BEAT


def longest_rest(events: list[int]) -> int:
    """The longest silence between two notes of a piece (nothing sounding), in steps; 0 if none."""
    sounding, silent, longest = set(), None, 0
    for ev in events:
        if ev < NOTE_OFF:
            longest, silent = max(longest, silent or 0), 0
            sounding.add(ev)
        elif ev < SHIFT:
            sounding.discard(ev - NOTE_OFF)
        elif ev < VELOCITY and not sounding and silent is not None:
            silent += ev - SHIFT + 1
    return longest


# ---------------------------------------------------------------- MIDI files


def read_midi(data: bytes, name: str = "MIDI file", drums: bool = False) -> list[Note]:
    """The notes of a standard MIDI file's bytes, times in quarter notes. ``name`` is used in errors."""
    return read_piece(data, name, drums)[0]


def phrase_ends(events: list[int]) -> list[float]:
    """The times (beats) of an event sequence's PHRASE events."""
    now, out = 0, []
    for ev in events:
        if SHIFT <= ev < VELOCITY:
            now += ev - SHIFT + 1
        elif ev == PHRASE:
            out.append(now / STEPS_PER_BEAT)
    return out


def read_piece(data: bytes, name: str = "MIDI file", drums: bool = False) -> tuple[list[Note], list[float]]:
    """:func:`read_midi`'s notes and the times (beats) of the file's phrase-end markers."""
    import mido

    if len(data) < 14 or data[:4] != b"MThd":
        raise InputError(f"{name} is not a MIDI file (no MThd header)")
    try:
        mid = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as e:  # mido raises EOFError, OSError, ValueError, KeyError on damaged files
        raise InputError(f"{name} is not a readable MIDI file ({type(e).__name__}: {e})".rstrip(": )") + ")") from None
    if mid.type == 2:
        raise InputError(f"{name} is a type 2 MIDI file (independent patterns), which is not supported")
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise InputError(f"{name} has ticks_per_beat {tpb}: no time base")
    notes, open_, phrases = [], {}, set()
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if tick / tpb > MAX_BEATS:
                raise InputError(f"{name} runs past {MAX_BEATS:,} beats (~14 hours): refusing it")
            if msg.type == "marker" and msg.text.strip().lower() in PHRASE_MARKERS:
                phrases.add(tick)
            if msg.type not in ("note_on", "note_off") or (msg.channel == DRUM_CHANNEL and not drums):
                continue
            key = (id(track), msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                if key in open_:  # re-struck without a note-off: end the first here
                    notes.append(_note(msg.note, open_.pop(key), tick, tpb))
                open_[key] = (tick, msg.velocity)
            elif key in open_:
                notes.append(_note(msg.note, open_.pop(key), tick, tpb))
            if len(notes) > MAX_NOTES:
                raise InputError(f"{name} holds more than {MAX_NOTES:,} notes: refusing it")
    end = max((n.end * tpb for n in notes), default=0)
    for (_, _, pitch), started in open_.items():  # never released: end with the piece
        notes.append(_note(pitch, started, max(end, started[0] + 1), tpb))
    return sorted(notes, key=lambda n: (n.start, n.pitch)), [t / tpb for t in sorted(phrases)]


def _note(pitch: int, started: tuple[int, int], tick: int, tpb: int) -> Note:
    start, vel = started
    return Note(pitch, vel, start / tpb, tick / tpb)


def write_midi(notes: list[Note], tempo_bpm: float = 100.0, program: int = 0, texts: tuple[str, ...] = (),
               ticks_per_beat: int = 480, phrases=()) -> bytes:
    """A type 1 MIDI file: a tempo track (tempo, 4/4, the ``texts`` as text meta-events, a
    "phrase" marker at each of ``phrases``, in beats) and one track of the notes on channel 1 with
    ``program`` (General MIDI, 0 = piano)."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    for t in texts:
        meta.append(mido.MetaMessage("text", text=t, time=0))
    now = 0
    for tick in sorted({round(t * ticks_per_beat) for t in phrases}):
        meta.append(mido.MetaMessage("marker", text="phrase", time=tick - now))
        now = tick
    mid.tracks.append(meta)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="lstm compose", time=0))
    track.append(mido.Message("program_change", program=program, channel=0, time=0))
    points = []
    for n in notes:
        s = round(n.start * ticks_per_beat)
        e = max(round(n.end * ticks_per_beat), s + 1)
        points.append((s, 1, n.pitch, n.velocity))
        points.append((e, 0, n.pitch, 0))
    points.sort()  # at one tick, note-offs first
    now = 0
    for tick, order, pitch, vel in points:
        kind = "note_on" if order else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=vel if order else 0, channel=0, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()

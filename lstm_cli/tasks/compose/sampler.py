"""Composing, event by event: the grammar of events as a mask over the model's logits, the
voice-leading search, and how a piece ends (issue 43). :func:`play` samples a piece under a
:class:`Grammar` with a :class:`Player`; :func:`finish` turns its events into notes with a held
final chord. The model is anything with ``LSTMStream``'s ``step``/``save``/``restore``."""

from __future__ import annotations

from dataclasses import dataclass

from lstm_cli.tasks.compose import events as ev
from lstm_cli.tasks.compose import keys, voices


class Grammar:
    """The grammar of events, as a mask the sampler adds to the logits (it reads it at every step):
    NOTE_ON only for a pitch in the model's range that is not sounding, NOTE_OFF only for one that
    is. So the file never holds two note-ons on one pitch or a stray note-off. Time may move only
    once a note has sounded, and with ``rest`` (in steps) silence lasts at most that long; with
    ``hold`` (steps), a note that has sounded that long must end before anything else happens
    (:meth:`allowed`). A
    model of ``size`` events that knows ``phrases`` may end a phrase only right after a note
    starts, as in its training music (the chord the phrase ends on has begun)."""

    def __init__(self, lo: int, hi: int, rest: int | None = None, size: int = ev.VOCAB_SIZE, phrases: bool = True,
                 hold: int | None = None):
        import numpy as np

        self.lo, self.hi, self.rest, self.hold = lo, hi, rest, hold
        self.sounding, self.silent, self.now, self.onset, self.overdue = set(), 0, 0, {}, set()
        self.mask = np.zeros(size, np.float32)
        self.mask[ev.NOTE_OFF: ev.VELOCITY] = -np.inf
        self.mask[ev.NOTE_ON: ev.NOTE_ON + lo] = self.mask[ev.NOTE_ON + hi + 1: ev.NOTE_OFF] = -np.inf
        self.mask[ev.PHRASE:] = -np.inf
        self.phrases = phrases and size > ev.PHRASE

    def save(self) -> tuple:
        return self.mask.copy(), set(self.sounding), self.silent, self.now, dict(self.onset), set(self.overdue)

    def restore(self, saved: tuple) -> None:
        mask, sounding, self.silent, self.now, onset, overdue = saved
        self.mask[:] = mask
        self.sounding, self.onset, self.overdue = set(sounding), dict(onset), set(overdue)

    def allowed(self):
        """The mask to sample under now: :attr:`mask`, or while notes are overdue, only their ends."""
        import numpy as np

        if not self.overdue:
            return self.mask
        forced = np.full_like(self.mask, -np.inf)
        forced[[ev.NOTE_OFF + p for p in self.overdue]] = 0.0
        return forced

    def track(self, e: int) -> None:
        m = self.mask
        if self.phrases:
            m[ev.PHRASE] = 0.0 if e < ev.NOTE_OFF else -float("inf")
        if e < ev.NOTE_OFF:
            self.sounding.add(e)
            self.onset[e] = self.now
            m[ev.NOTE_ON + e], m[ev.NOTE_OFF + e] = -float("inf"), 0.0
            self.silent = 0
        elif e < ev.SHIFT and e - ev.NOTE_OFF in self.sounding:
            p = e - ev.NOTE_OFF
            self.sounding.discard(p)
            self.overdue.discard(p)
            m[ev.NOTE_OFF + p] = -float("inf")
            m[ev.NOTE_ON + p] = 0.0 if self.lo <= p <= self.hi else -float("inf")
        elif ev.SHIFT <= e < ev.VELOCITY:
            self.now += e - ev.SHIFT + 1
            if not self.sounding:
                self.silent += e - ev.SHIFT + 1
        else:
            return
        m[ev.SHIFT: ev.VELOCITY] = 0.0
        if self.rest is not None and not self.sounding:
            m[ev.SHIFT + max(self.rest - self.silent, 0): ev.VELOCITY] = -float("inf")
        if self.hold is not None and self.sounding:
            ages = {p: self.now - self.onset[p] for p in self.sounding}
            self.overdue = {p for p, age in ages.items() if age >= self.hold}
            m[ev.SHIFT + max(self.hold - max(ages.values()), 1): ev.VELOCITY] = -float("inf")


# How a composed piece ends (issue 43): past --length it plays on to the first phrase end whose
# lowest note is the tonic of the piece so far (or to where the model falls silent on the tonic),
# trying that stretch up to ENDINGS times; else to the first try's first phrase end, within
# OVERSHOOT beats; a model that ends none there (or knows no phrases) stops at the first barline
# (every 4 beats from the piece's start) after --length. The last chord is held FINAL_HOLD beats.
OVERSHOOT = 8.0
FINAL_HOLD = 3.0
BAR = 4.0
# Voice leading (issue 43), at sampling time: a chord with parallel fifths or octaves, or with a
# voice dropped, is sampled again up to SEARCH times; no note is held longer than MAX_HOLD beats.
SEARCH = 8
MAX_HOLD = 8.0
ENDINGS = 8  # tries at the stretch past --length, for an ending on the tonic
STUCK = 48  # events at one instant: a model that strikes and ends notes without moving on is stuck


@dataclass
class Ending:
    """Where :func:`play` stopped: the number of events kept, the time (beats, from the start of
    the events played), and how: "phrase" (on the tonic), "phrase-other" (another phrase end),
    "rest" (the model fell silent on the tonic: in training, pieces end so; "rest-other" on
    another note), "barline" or "cut" (``--cut``: exactly at the length)."""

    events: int
    beats: float
    how: str


class Player:
    """Samples events under a grammar, with the voice-leading search (``search`` tries a chord;
    :func:`clashes`), keeping the time (:attr:`now`, beats) and the chords it has passed."""

    def __init__(self, stream, grammar: Grammar, temperature, top_k, top_p, rng, search: int = 0):
        self.stream, self.grammar, self.search = stream, grammar, search
        self.sampling = temperature, top_k, top_p, rng
        self.chord = tuple(sorted(grammar.sounding, reverse=True))  # as the last instant left it ...
        self.struck = self.chord  # ... and the last instant where a note started
        self.now = 0.0

    def save(self) -> tuple:
        return self.stream.save(), self.grammar.save(), self.chord, self.struck, self.now

    def restore(self, saved: tuple) -> None:
        state, gstate, self.chord, self.struck, self.now = saved
        self.stream.restore(state)
        self.grammar.restore(gstate)

    def run(self, logits, stop: float, limit: int, beats: float | None = None, before: list[int] = (),
            bar: float | None = None) -> tuple[list[int], object, Ending | None]:
        """Events until :attr:`now` reaches ``stop`` (or ``limit`` events); returns them, the
        logits after them and, with ``beats`` (the length asked for), the ending found past it:
        the first phrase end on the tonic (or the model falling silent), else the first other
        phrase end, else the barline ``bar`` (``before``: the events before these, for the key)."""
        from lstm_cli.core.sampling import pick

        grammar, events, others, barline = self.grammar, [], [], None
        snapshot, tries, began, onset = None, 0, 0, False  # onset: a note started at this instant
        past = beats is not None and self.now >= beats
        while len(events) < limit:
            if self.search and snapshot is None:  # where this instant began: a rejected chord goes back here
                snapshot = len(events), self.save(), logits.copy()
            e = pick(logits + grammar.allowed(), *self.sampling)
            if self.search and (ev.SHIFT <= e < ev.VELOCITY or e == ev.PHRASE) and tries < self.search:
                new = tuple(sorted(grammar.sounding, reverse=True))
                if clashes(self.chord, new, self.struck if onset else None):
                    n, saved, logits = snapshot[0], snapshot[1], snapshot[2].copy()
                    del events[n:]
                    others = [p for p in others if p.events <= n]
                    self.restore(saved)
                    tries, onset = tries + 1, False
                    continue
            if past and ev.SHIFT <= e < ev.VELOCITY and not grammar.sounding and self.chord:
                # the model falls silent: it ends its piece, as in training
                tonic = self.chord[-1] % 12 == keys.key_of(ev.decode(list(before) + events))[0]
                return events, logits, Ending(len(events), self.now, "rest" if tonic else "rest-other")
            if past and len(events) - began > STUCK:  # notes struck and ended at one instant, again and again
                ending = (others or [None])[0] or barline or Ending(began, self.now, "barline")
                return events, logits, ending
            events.append(e)
            grammar.track(e)
            onset = onset or e < ev.NOTE_OFF
            if ev.SHIFT <= e < ev.VELOCITY:
                new = tuple(sorted(grammar.sounding, reverse=True))
                if onset:
                    self.struck = new
                self.chord, snapshot, tries, began, onset = new, None, 0, len(events), False
                self.now += (e - ev.SHIFT + 1) / ev.STEPS_PER_BEAT
                past = beats is not None and self.now >= beats
                if bar is not None and barline is None and self.now >= bar:
                    barline = Ending(len(events), bar, "barline")
            elif e == ev.PHRASE and past:
                if _on_tonic(list(before) + events):
                    return events, logits, Ending(len(events), self.now, "phrase")
                others.append(Ending(len(events), self.now, "phrase-other"))
            logits = self.stream.step(e)
            if self.now >= stop:
                break
        ending = None if beats is None else (others or [None])[0] or barline or Ending(len(events), self.now, "barline")
        return events, logits, ending


def play(stream, logits, grammar: Grammar, beats: float, temperature, top_k, top_p, rng,
          end: bool = False, before: list[int] = (), search: int = 0, endings: int = 1) -> tuple[list[int], Ending]:
    """Events sampled from ``logits`` on under ``grammar`` until ``beats`` have passed (or, from a
    stuck model, eight events a step); with ``end``, on to an ending as above, from up to
    ``endings`` tries at the last stretch (:data:`ENDINGS`: the first on the tonic is kept, else the
    first try's). ``before``: the primer, for the key and the barlines. ``search``: a chord that
    makes parallel fifths or octaves with the one before, or where a voice of four falls silent,
    is sampled again, at most this many times (:data:`SEARCH`)."""
    player = Player(stream, grammar, temperature, top_k, top_p, rng, search)
    body, logits, _ = player.run(logits, beats, int(beats * ev.STEPS_PER_BEAT * 8) + 64)
    if not end:
        return body, Ending(len(body), min(player.now, beats), "cut")
    offset = ev.beats(list(before))
    bar = -(-(offset + beats) // BAR) * BAR - offset  # the first barline at or after the length
    start, saved, first = list(before) + body, (player.save(), logits.copy()), None
    for k in range(max(endings, 1)):
        if k:
            player.restore(saved[0])
        tail, _, ending = player.run(saved[1].copy(), beats + OVERSHOOT, int(OVERSHOOT * ev.STEPS_PER_BEAT * 8) + 64,
                                     beats, start, bar)
        if ending.how in ("phrase", "rest"):
            break
        first = first or (tail, ending)
    else:
        tail, ending = first
    return body + tail[: ending.events], Ending(len(body) + ending.events, ending.beats, ending.how)


def clashes(before: tuple[int, ...], chord: tuple[int, ...], struck: tuple[int, ...] | None = None) -> bool:
    """Does ``chord`` (pitches high to low) drop a voice of the four or more sounding ``before``
    it while others sound, or, if notes started in it, make parallel fifths or octaves with
    ``struck``, the last chord where notes started (``before`` if not given)?"""
    if len(before) >= 4 and 0 < len(chord) < 4:
        return True
    lead = voices.motion(before if struck is None else struck, chord)
    return bool(lead.fifths or lead.octaves)


def _sounding(events: list[int]) -> set[int]:
    """The pitches still sounding at the end of ``events``."""
    sounding = set()
    for e in events:
        if e < ev.NOTE_OFF:
            sounding.add(e)
        elif e < ev.SHIFT:
            sounding.discard(e - ev.NOTE_OFF)
    return sounding


def _on_tonic(events: list[int]) -> bool:
    """Is the lowest note sounding at the end of ``events`` the tonic of their key?"""
    sounding = _sounding(events)
    return bool(sounding) and min(sounding) % 12 == keys.key_of(ev.decode(events))[0]


def finish(events: list[int], at: float, hold: float) -> list:
    """The notes of ``events`` up to ``at`` beats, and a final chord: the notes sounding there
    (begun at ``at`` too), or if none, those that ended there, held ``hold`` more, but none past
    :data:`MAX_HOLD` beats in all; with ``hold`` 0, cut at ``at``."""
    sounding = _sounding(events)
    notes = [n for n in ev.decode(events) if n.start < at or (hold and n.pitch in sounding and n.start <= at)]
    final = {id(n) for n in notes if n.pitch in sounding and n.end >= at} if hold else set()
    if hold and not final:
        final = {id(n) for n in notes if n.end == at}
    out = []
    for n in notes:
        if id(n) in final:
            end = max(min(at + hold, n.start + MAX_HOLD), at)
            out.append(ev.Note(n.pitch, n.velocity, n.start, end))
        else:
            out.append(ev.Note(n.pitch, n.velocity, n.start, min(n.end, at)))
    return out

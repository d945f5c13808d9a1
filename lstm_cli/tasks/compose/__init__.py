"""Music, event by event: an LSTM language model over MIDI events (Performance RNN's encoding,
counted in beats: see :mod:`.events`).

A piece is its event ids; pieces are joined by two bars' worth of silence (the document start the
sampler primes with, as text joins documents with a newline) and cut into parallel streams for
truncated BPTT exactly as text is: the model and the job are the text task's (an embedding, a
stack of fused ``nn.LSTM`` layers, a head over the 289 events), so training, validation, exact
resume and the fast batch-1 sampler (``core.sampling.LSTMStream``) are shared, not copied. What
is special here: reading MIDI folders (bad files skipped with a warning, phrase markers kept),
transposition augmentation, scores per event and per quarter note, the sample as a MIDI file,
and composing: priming with a piece, sampling under a grammar with a voice-leading search
(:class:`_Player`) to the length in beats and on to an ending, writing a valid MIDI file.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from lstm_cli.core import checkpoint
from lstm_cli.core.errors import InputError
from lstm_cli.core.task import SampleFile, no_validation
from lstm_cli.tasks.compose import events as ev
from lstm_cli.tasks.compose import keys, voices
from lstm_cli.tasks.text import CharLSTM, TextConfig, TextData, TextJob, build_model, fit_batch, loss_on

__all__ = ["build_model", "train", "evaluate", "compose"]

TEMPERATURE = 1.0  # lstm compose's default (benchmarks/bench_compose.py measures at it)
SEPARATOR = [ev.SHIFT + ev.MAX_SHIFT - 1] * 4  # 8 beats of silence between pieces
MIDI_SUFFIXES = (".mid", ".midi")


def vocab_record(pitch_range: tuple[int, int], max_rest: int, major_share: float, phrase_ends: int = 0) -> dict:
    """What a compose checkpoint stores as its vocabulary: the encoding, the pitches it knows, the
    longest rest it may write inside a piece (:func:`rest_cap`), the share of its training pieces
    in major (:func:`compose_bytes` asks for major that often) and how many phrase ends its
    training music marked (none: it cannot end a phrase, and a piece ends at a barline)."""
    return {"encoding": "performance-beats", "steps_per_beat": ev.STEPS_PER_BEAT, "max_shift": ev.MAX_SHIFT,
            "velocity_bins": ev.VEL_BINS, "pitch_range": list(pitch_range), "max_rest": max_rest,
            "major_share": round(major_share, 4), "phrase_ends": phrase_ends}


def knows_phrases(net, vocab: dict) -> bool:
    """Was this model trained on music that marks phrase ends (so it may end a phrase)?"""
    return net.head.out_features > ev.PHRASE and vocab.get("phrase_ends", 0) > 0


def rest_cap(pieces: list[list[int]]) -> int:
    """The longest silence a composed piece may hold, in steps: the longest rest that at least one
    training piece in 100 holds, and at least a beat. Training pieces are joined by the 8 silent
    beats of SEPARATOR, so a model that falls silent for longer is ending its piece: asked for more
    music, it has to go on (the 282 training chorales: 55 hold a rest of one beat, one of two)."""
    longest = sorted(ev.longest_rest(p) for p in pieces)
    one_in_100 = -(-len(longest) // 100)
    return max(ev.STEPS_PER_BEAT, longest[-one_in_100])


# ---------------------------------------------------------------- data


def midi_files(paths: list[str]) -> list[Path]:
    """The .mid/.midi files among ``paths`` and, recursively, in the folders among them."""
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in MIDI_SUFFIXES and f.is_file())
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"no such file or folder: {p}")
    return files


def read_pieces(paths: list[str], drums: bool = False, log=print, what: str = "--data") -> list[list[int]]:
    """Each readable MIDI file's events; a bad file is skipped with one warning line. Says how many
    files and notes it used; no usable file at all is an :class:`InputError`."""
    pieces, notes, bad = [], 0, 0
    files = midi_files(paths)
    for f in files:
        try:
            ns, phrases = ev.read_piece(f.read_bytes(), str(f), drums=drums)
        except InputError as e:
            log(f"lstm: warning: skipping {e.message}")
            bad += 1
            continue
        if ns:
            pieces.append(ev.encode(ns, phrases))
            notes += len(ns)
    if not pieces:
        raise InputError(f"{what}: no usable MIDI file in {', '.join(paths)} ({len(files)} file(s) found, {bad} unreadable)",
                         hint="give .mid/.midi files or folders holding them")
    log(f"{what}: {len(pieces):,} pieces, {notes:,} notes" + (f" ({bad} file(s) skipped)" if bad else ""))
    return pieces


def without_phrases(pieces: list[list[int]]) -> list[list[int]]:
    """``pieces`` without their PHRASE events: for a model that predates them (288 events)."""
    return [[e for e in p if e != ev.PHRASE] for p in pieces]


def join(pieces: list[list[int]]) -> torch.Tensor:
    return torch.tensor([e for p in pieces for e in SEPARATOR + p], dtype=torch.long)


def augment(pieces: list[list[int]]) -> list[list[int]]:
    """Every piece in each of the 12 transpositions (-6..+5 semitones) that keep it within MIDI."""
    out = []
    for p in pieces:
        for k in range(-6, 6):
            t = ev.transpose(p, k)
            if t is not None:
                out.append(t)
    return out


def pitch_range(pieces: list[list[int]]) -> tuple[int, int]:
    ons = [e for p in pieces for e in p if e < ev.NOTE_OFF]
    return min(ons), max(ons)


class ComposeJob(TextJob):
    """The text job over event ids, with MIDI files as its samples."""

    task = "compose"

    def sample(self, model, random_seed: int) -> SampleFile:
        from lstm_cli.render.pianoroll import png_bytes

        midi, notes, _ = compose_bytes(model, self.vocab, seconds=12, random_seed=random_seed,
                                    texts=(f"training sample, seed {random_seed}",))
        return SampleFile(".mid", midi, caption=f"{len(notes)} notes, 12 s", extra={".png": png_bytes(notes)})


# Model flags that may change when fine-tuning from --init weights.
TUNABLE = ("dropout", "weight_drop")


def train(data: list[str], val_data: list[str] | None, out: str, cfg, data_cfg: TextData, model_cfg: dict,
          transpose: bool = True, drums: bool = False, given: dict | None = None, init: str | None = None,
          resume: str | None = None, threads: int = 0) -> dict:
    """``lstm train compose``: MIDI files in (folders searched recursively), the shared trainer."""
    from lstm_cli.core.task import train_task

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    pieces = read_pieces(data, drums, log)
    if val_data:
        val = read_pieces(val_data, drums, log, what="--val-data")
    else:  # the last pieces, whole: a piece is never split between training and validation
        n_val = int(len(pieces) * data_cfg.val_fraction) if len(pieces) >= 5 else 0
        pieces, val = pieces[: len(pieces) - n_val], pieces[len(pieces) - n_val:]
        if not val:
            log(no_validation(f"pieces ({len(pieces)} piece(s) given, --val-fraction {data_cfg.val_fraction:g}; "
                              "or give --val-data)"))
    train_pieces = augment(pieces) if transpose else pieces
    # In a fixed random order: the trainer carries the state from piece to piece, and with a
    # piece's transpositions one after another the model learnt to lean on the piece before,
    # which held-out music does not have (bach: 0.745 nats/event on held-out chorales, 0.683 so).
    random.Random(0).shuffle(train_pieces)
    log(f"training on {len(train_pieces):,} pieces" + (" (with transpositions)" if transpose else "")
        + f", {sum(map(len, train_pieces)):,} events; validating on {len(val):,} pieces")

    def make(start: dict | None, data_cfg: TextData, cfg) -> ComposeJob:
        nonlocal pieces, train_pieces, val
        lo, hi = pitch_range(train_pieces)
        if start is not None:  # fine-tuned on other music, the model may play the pitches of both
            model = build_model(start["config"])
            checkpoint.weights_into(model, start)
            start_lo, start_hi = start["vocab"]["pitch_range"]
            lo, hi = min(lo, start_lo), max(hi, start_hi)
            if model.head.out_features <= ev.PHRASE and any(ev.PHRASE in p for p in pieces):
                log("lstm: warning: the --init model predates phrase ends: the data's phrase markers are left out")
                pieces, train_pieces, val = map(without_phrases, (pieces, train_pieces, val))
        else:
            model = CharLSTM(TextConfig(vocab_size=ev.VOCAB_SIZE, **model_cfg))
        phrase_ends = sum(e == ev.PHRASE for p in pieces for e in p)
        if start is not None:
            phrase_ends += start["vocab"].get("phrase_ends", 0)
        vocab = vocab_record((lo, hi), rest_cap(pieces), keys.major_share(map(ev.decode, pieces)), phrase_ends)
        ids = join(train_pieces)
        fit_batch(data_cfg, ids.numel(), log, unit="events", what="music")
        return ComposeJob(model, vocab, ids, join(val) if val else None, data_cfg, ", ".join(data))

    return train_task("compose", out, cfg, make, data_cfg, given, TUNABLE, init=init, resume=resume,
                      threads=threads)


# ---------------------------------------------------------------- evaluation


def evaluate(model: str | None, data: str, device: str = "auto", drums: bool = False) -> dict:
    """``lstm eval``: negative log-likelihood of held-out MIDI, per event and per quarter note (the
    second compares across encodings)."""
    from lstm_cli.core import registry
    from lstm_cli.core.runtime import pick_device, set_threads

    set_threads(0)
    ckpt = registry.load(model, "compose")
    net = build_model(ckpt["config"])
    checkpoint.weights_into(net, ckpt)
    pieces = read_pieces([data], drums, log=lambda m: print(m, file=sys.stderr), what="--data")
    if net.head.out_features <= ev.PHRASE:  # a model from before phrase ends: scored on the notes alone
        pieces = without_phrases(pieces)
    ids = join(pieces)
    nats = loss_on(net.eval().to(pick_device(device)), ids, streams=min(16, len(pieces)))
    quarters = sum(ev.beats(p) for p in pieces)
    return {"metric": "nats_per_event", "nats_per_event": round(nats, 4),
            "nats_per_quarter_note": round(nats * ids.numel() / max(quarters, 1e-9), 3),
            "pieces": len(pieces), "events": int(ids.numel()), "quarter_notes": round(quarters, 1),
            "model": model or registry.task("compose").default_model}


# ---------------------------------------------------------------- composing


# In training, every piece follows another (the trainer carries the state across), so a piece
# begun from nothing starts where the model has never been: the shipped bach model's pieces came out
# 80% in major from there, against 56% of the training chorales. So without a primer the model
# first plays this many beats and throws them away; the piece it then begins follows one of its own.
WARM_UP = 90.0
# Pieces composed in a row to find one in the key asked for (or, by default, a major or minor one as
# often as in training: the bach model writes 71% of its pieces in major, its training chorales 56%).
# A minor piece comes about one time in three, so 20 tries miss it about one time in a thousand.
TRIES = 20
TEMPO = 90.0  # quarter notes per minute, `lstm compose --tempo`'s default


class _Grammar:
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
    """Where :func:`_play` stopped: the number of events kept, the time (beats, from the start of
    the events played), and how: "phrase" (on the tonic), "phrase-other" (another phrase end),
    "rest" (the model fell silent on the tonic: in training, pieces end so; "rest-other" on
    another note), "barline" or "cut" (``--cut``: exactly at the length)."""

    events: int
    beats: float
    how: str


class _Player:
    """Samples events under a grammar, with the voice-leading search (``search`` tries a chord;
    :func:`_clashes`), keeping the time (:attr:`now`, beats) and the chords it has passed."""

    def __init__(self, stream, grammar: _Grammar, temperature, top_k, top_p, rng, search: int = 0):
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
        snapshot, tries, began = None, 0, 0
        past = beats is not None and self.now >= beats
        while len(events) < limit:
            if self.search and snapshot is None:  # where this instant began: a rejected chord goes back here
                snapshot = len(events), self.save(), logits.copy()
            e = pick(logits + grammar.allowed(), *self.sampling)
            if self.search and (ev.SHIFT <= e < ev.VELOCITY or e == ev.PHRASE) and tries < self.search:
                new = tuple(sorted(grammar.sounding, reverse=True))
                onset = any(x < ev.NOTE_OFF for x in events[began:])
                if _clashes(self.chord, new, self.struck if onset else None):
                    n, saved, logits = snapshot[0], snapshot[1], snapshot[2].copy()
                    del events[n:]
                    others = [p for p in others if p.events <= n]
                    self.restore(saved)
                    tries += 1
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
            if ev.SHIFT <= e < ev.VELOCITY:
                new = tuple(sorted(grammar.sounding, reverse=True))
                if any(x < ev.NOTE_OFF for x in events[began:]):
                    self.struck = new
                self.chord, snapshot, tries, began = new, None, 0, len(events)
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


def _play(stream, logits, grammar: _Grammar, beats: float, temperature, top_k, top_p, rng,
          end: bool = False, before: list[int] = (), search: int = 0, endings: int = 1) -> tuple[list[int], Ending]:
    """Events sampled from ``logits`` on under ``grammar`` until ``beats`` have passed (or, from a
    stuck model, eight events a step); with ``end``, on to an ending as above, from up to
    ``endings`` tries at the last stretch (:data:`ENDINGS`: the first on the tonic is kept, else the
    first try's). ``before``: the primer, for the key and the barlines. ``search``: a chord that
    makes parallel fifths or octaves with the one before, or where a voice of four falls silent,
    is sampled again, at most this many times (:data:`SEARCH`)."""
    player = _Player(stream, grammar, temperature, top_k, top_p, rng, search)
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


def _clashes(before: tuple[int, ...], chord: tuple[int, ...], struck: tuple[int, ...] | None = None) -> bool:
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


def _finish(events: list[int], at: float, hold: float) -> list:
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


def compose_bytes(net: CharLSTM, vocab: dict, seconds: float = 30.0, primer: list[ev.Note] | None = None,
                  temperature: float = TEMPERATURE, top_k: int = 0, top_p: float = 1.0, tempo: float = TEMPO,
                  program: int = 0, random_seed: int | None = None, texts: tuple[str, ...] = (),
                  key: tuple | None = None, cut: bool = False, search: int = SEARCH) -> tuple[bytes, list, Ending]:
    """A MIDI file of ``primer`` (if any) continued by the model for ``seconds`` at ``tempo``
    quarter notes per minute, then on to an ending (see :data:`OVERSHOOT`; ``cut``: exactly
    ``seconds``); returns its bytes, its notes and how it ended. Pitches outside the model's range
    are never sampled, no rest outlasts the checkpoint's ``max_rest`` (:func:`rest_cap`), and every
    note ends by the end. Without a primer, the piece follows one the model plays first and throws
    away (:data:`WARM_UP`), and it is in ``key`` (tonic pitch class or None, major? or None; see
    :mod:`.keys`): the model plays pieces one after another, as in training, until one is in that
    mode (at most :data:`TRIES`; the last one otherwise), which is then moved to that tonic. The
    default (None) asks for major as often as the training pieces are (``major_share``)."""
    import numpy as np

    from lstm_cli.core.sampling import LSTMStream

    stream = LSTMStream(net.embed.weight, net.lstm, net.head)
    size, phrased = net.head.out_features, knows_phrases(net, vocab)
    lo, hi = vocab["pitch_range"]
    rng = np.random.default_rng(random_seed)
    start = ev.encode(primer) if primer else []
    if start or (key is None and "major_share" not in vocab):
        key = None, None
    elif key is None:  # its own generator, so the pieces are those of a model without a share
        key = None, random.Random(random_seed).random() < vocab["major_share"]
    logits = stream.feed(SEPARATOR + start)
    if not start:  # the model first plays a piece of its own and throws it away (WARM_UP)
        warm = _Grammar(lo, hi, size=size, phrases=phrased)
        _play(stream, logits, warm, WARM_UP, temperature, top_k, top_p, rng)
        logits = stream.feed([ev.NOTE_OFF + p for p in sorted(warm.sounding)] + SEPARATOR)
    beats = seconds * tempo / 60.0
    for _ in range(TRIES):
        grammar = _Grammar(lo, hi, vocab.get("max_rest"), size=size, phrases=phrased,
                           hold=round(MAX_HOLD * ev.STEPS_PER_BEAT))
        for e in start:
            grammar.track(e)
        events, ending = _play(stream, logits, grammar, beats, temperature, top_k, top_p, rng, end=not cut,
                               before=start, search=search, endings=ENDINGS)
        notes = _finish(start + events, ev.beats(start) + ending.beats, 0.0 if cut else FINAL_HOLD)
        if key == (None, None):
            break
        tonic, major = keys.key_of(notes)
        if key[1] in (None, major):
            moved = notes if key[0] is None else keys.to_tonic(notes, tonic, key[0], lo, hi)
            if moved is not None:
                notes = moved
                break
        # the next piece follows this one, as pieces follow each other in training
        logits = stream.feed([ev.NOTE_OFF + p for p in sorted(grammar.sounding)] + SEPARATOR)
    phrases = ev.phrase_ends(start + events)
    return ev.write_midi(notes, tempo_bpm=tempo, program=program, texts=texts, phrases=phrases), notes, ending


def compose(model: str | None, seconds: float, primer: bytes | None = None, primer_name: str = "primer",
            temperature: float = TEMPERATURE, top_k: int = 0, top_p: float = 1.0, tempo: float = TEMPO,
            program: int = 0, random_seed: int | None = None, command: str = "",
            key: tuple | None = None, cut: bool = False, search: int = SEARCH) -> tuple[bytes, list, float, Ending, bool]:
    """``lstm compose``: the MIDI bytes of a new piece (or of ``primer`` continued), its notes,
    where the primer ends (in beats; 0 without one), how it ended and whether the model knows
    phrase ends. ``key``, ``cut``, ``search``: see :func:`compose_bytes`."""
    from lstm_cli.core import registry

    ckpt = registry.load(model, "compose")
    net = build_model(ckpt["config"])
    checkpoint.weights_into(net, ckpt)
    notes = None
    if primer is not None:
        notes = ev.read_midi(primer, primer_name)
        if not notes:
            raise InputError(f"{primer_name} has no notes to continue (drums are left out)")
    name = model or registry.task("compose").default_model
    texts = (f"lstm compose --model {name} --random-seed {random_seed}", command) if command else ()
    midi, piece, ending = compose_bytes(net.eval(), ckpt["vocab"], seconds, notes, temperature, top_k, top_p, tempo,
                                        program, random_seed, texts, key, cut, search)
    return midi, piece, ev.beats(ev.encode(notes)) if notes else 0.0, ending, knows_phrases(net, ckpt["vocab"])


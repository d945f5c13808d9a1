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
(:class:`Player`) to the length in beats and on to an ending, writing a valid MIDI file.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import torch

from lstm_cli.core import checkpoint
from lstm_cli.core.errors import InputError
from lstm_cli.core.task import SampleFile, no_validation
from lstm_cli.tasks.compose import events as ev
from lstm_cli.tasks.compose import keys
from lstm_cli.tasks.compose.sampler import ENDINGS, FINAL_HOLD, MAX_HOLD, SEARCH, Ending, Grammar, finish, play
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


def compose_bytes(net: CharLSTM, vocab: dict, seconds: float = 30.0, primer: list[ev.Note] | None = None,
                  temperature: float = TEMPERATURE, top_k: int = 0, top_p: float = 1.0, tempo: float = TEMPO,
                  program: int = 0, random_seed: int | None = None, texts: tuple[str, ...] = (),
                  key: tuple | None = None, cut: bool = False, search: int = SEARCH) -> tuple[bytes, list, Ending]:
    """A MIDI file of ``primer`` (if any) continued by the model for ``seconds`` at ``tempo``
    quarter notes per minute, then on to an ending (see :data:`.sampler.OVERSHOOT`; ``cut``: exactly
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
        warm = Grammar(lo, hi, size=size, phrases=phrased)
        play(stream, logits, warm, WARM_UP, temperature, top_k, top_p, rng)
        logits = stream.feed([ev.NOTE_OFF + p for p in sorted(warm.sounding)] + SEPARATOR)
    beats = seconds * tempo / 60.0
    for _ in range(TRIES):
        grammar = Grammar(lo, hi, vocab.get("max_rest"), size=size, phrases=phrased,
                           hold=round(MAX_HOLD * ev.STEPS_PER_BEAT))
        for e in start:
            grammar.track(e)
        events, ending = play(stream, logits, grammar, beats, temperature, top_k, top_p, rng, end=not cut,
                               before=start, search=search, endings=ENDINGS)
        notes = finish(start + events, ev.beats(start) + ending.beats, 0.0 if cut else FINAL_HOLD)
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


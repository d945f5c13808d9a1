"""lstm compose: a tiny model learns a scale, then composes; the output is valid MIDI; the primer,
stdout, the random seed, and bad input."""

from __future__ import annotations

import pytest

from conftest import run_lstm, shared, train_in_process
from lstm_cli.core.errors import ExitCode
from lstm_cli.tasks.compose import events as ev

SCALE = [0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2]  # up and down, over and over


def scale_notes(key: int, rounds: int = 12) -> list[ev.Note]:
    notes, t = [], 0.0
    for _ in range(rounds):
        for step in SCALE:
            notes.append(ev.Note(60 + key + step, 80, t, t + 0.5))
            t += 0.5
    return notes


@pytest.fixture(scope="session")
def scales(tmp_path_factory):
    def build(d):
        for key in range(4):
            (d / f"scale{key}.mid").write_bytes(ev.write_midi(scale_notes(key)))
        (d / "notes.txt").write_text("not MIDI, and not named .mid: ignored")

    return shared(tmp_path_factory, "scales", build)


@pytest.fixture(scope="session")
def scale_model(scales, tmp_path_factory):
    def build(d):
        train_in_process(["train", "compose", "--data", scales, "-o", d / "scale.pt", "--preset", "tiny", "--batch-size", 8,
                          "--seq-len", 32, "--max-steps", 300, "--lr", "1e-2", "--warmup", 10, "--eval-every", 100,
                          "--sample-every", 150, "--log-every", 100, "--random-seed", 0, "--no-transpose",
                          "--val-fraction", 0])

    return shared(tmp_path_factory, "scale-model", build) / "scale.pt"


def notes_of(midi: bytes) -> list[ev.Note]:
    return ev.read_midi(midi, "out.mid")


def test_the_tiny_model_continues_a_scale(scale_model, tmp_path):
    """Primed with two rounds of the C scale, greedy decoding goes on up and down the scale."""
    primer = tmp_path / "primer.mid"
    primer.write_bytes(ev.write_midi(scale_notes(0, rounds=2)))
    out = tmp_path / "out.mid"
    r = run_lstm("compose", "-m", scale_model, "--primer", primer, "-o", out, "--length", 10, "--temperature", 0,
                 "--tempo", 120)
    assert r.returncode == 0, r.stderr
    notes = notes_of(out.read_bytes())
    head, tail = notes[:28], notes[28:]
    assert [(n.pitch, n.start) for n in head] == [(n.pitch, n.start) for n in scale_notes(0, rounds=2)]  # primer kept
    assert len(tail) >= 15
    in_scale = sum((n.pitch - 60) in SCALE for n in tail) / len(tail)
    steps = [abs(b.pitch - a.pitch) for a, b in zip(tail, tail[1:])]
    assert in_scale >= 0.9 and sum(s in (1, 2) for s in steps) / len(steps) >= 0.8, [n.pitch for n in tail]


def test_output_is_valid_midi_of_the_asked_length(scale_model, tmp_path):
    import mido

    out = tmp_path / "o.mid"
    r = run_lstm("compose", "-m", scale_model, "-o", out, "--length", 20, "--tempo", 90, "--program", 19,
                 "--random-seed", 3, "--cut")
    assert r.returncode == 0, r.stderr
    mid = mido.MidiFile(out)
    msgs = [m for t in mid.tracks for m in t]
    assert any(m.type == "set_tempo" and round(mido.tempo2bpm(m.tempo)) == 90 for m in msgs)
    assert any(m.type == "program_change" and m.program == 19 for m in msgs)
    texts = [m.text for m in msgs if m.type == "text"]
    assert any("--random-seed 3" in t for t in texts) and any(t.startswith("lstm compose") for t in texts)
    sounding, ons = set(), 0
    for t in mid.tracks:
        for m in t:
            if m.type == "note_on" and m.velocity > 0:
                assert m.note not in sounding  # no second note-on on a sounding pitch
                sounding.add(m.note)
                ons += 1
            elif m.type in ("note_off", "note_on"):
                sounding.discard(m.note)
    assert not sounding and ons > 5  # every note-on has its note-off
    notes = notes_of(out.read_bytes())
    lo, hi = 60, 75  # the range the model was trained on
    assert all(lo <= n.pitch <= hi for n in notes)
    beats = 20 * 90 / 60
    assert max(n.end for n in notes) <= beats + 1e-6 and max(n.end for n in notes) > beats - 4  # within a bar


def test_stdout_stdin_and_the_seed(scale_model, tmp_path):
    a = run_lstm("compose", "-m", scale_model, "-o", "-", "--length", 5, "--random-seed", 7, input=b"")
    b = run_lstm("compose", "-m", scale_model, "-o", "-", "--length", 5, "--random-seed", 7, input=b"")
    assert a.returncode == 0 and a.stdout[:4] == b"MThd"
    assert [(n.pitch, n.start, n.end) for n in notes_of(a.stdout)] == [(n.pitch, n.start, n.end) for n in notes_of(b.stdout)]
    primer = ev.write_midi(scale_notes(1, rounds=1))
    c = run_lstm("compose", "-m", scale_model, "--primer", "-", "-o", "-", "--length", 3, input=primer)
    assert c.returncode == 0, c.stderr
    assert [n.pitch for n in notes_of(c.stdout)][:14] == [61 + s for s in SCALE]


def test_training_writes_midi_samples(scale_model):
    samples = sorted((scale_model.parent / "scale.samples").iterdir())
    assert [p.name for p in samples] == ["step-000150.mid", "step-000150.png", "step-000300.mid", "step-000300.png"]
    assert notes_of(samples[-2].read_bytes())
    from PIL import Image

    assert Image.open(samples[-1]).width > 100  # its piano roll


def test_eval_per_event_and_per_quarter_note(scale_model, scales):
    import json

    r = run_lstm("eval", "-m", scale_model, "--data", scales, "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["metric"] == "nats_per_event" and m["nats_per_event"] < 1.0  # a scale is easy
    assert m["pieces"] == 4 and m["quarter_notes"] == pytest.approx(4 * 12 * 14 * 0.5)
    assert m["nats_per_quarter_note"] == pytest.approx(m["nats_per_event"] * m["events"] / m["quarter_notes"], rel=1e-3)


@pytest.mark.parametrize("content,needle", [
    (b"", "not a MIDI file"),
    (b"RIFF....WAVEfmt ", "not a MIDI file"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x09\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00", "not a readable MIDI file"),
])
def test_bad_primer(scale_model, tmp_path, content, needle):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(content)
    r = run_lstm("compose", "-m", scale_model, "--primer", bad, "-o", tmp_path / "o.mid")
    assert r.returncode == ExitCode.BAD_INPUT and needle in r.stderr and "bad.mid" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o.mid").exists()


def test_drums_only_primer_and_bad_folders(scale_model, tmp_path):
    import mido

    drums = tmp_path / "drums.mid"
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=36, velocity=90, channel=9, time=0),
                                      mido.Message("note_off", note=36, channel=9, time=100)]))
    mid.save(drums)
    r = run_lstm("compose", "-m", scale_model, "--primer", drums, "-o", tmp_path / "o.mid")
    assert r.returncode == ExitCode.BAD_INPUT and "no notes" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no music here")
    r = run_lstm("train", "compose", "--data", empty, "-o", tmp_path / "m.pt")
    assert r.returncode == ExitCode.BAD_INPUT and "no usable MIDI file" in r.stderr


def test_training_skips_bad_files_with_a_warning(scales, tmp_path):
    import shutil

    d = tmp_path / "mixed"
    shutil.copytree(scales, d)
    (d / "broken.mid").write_bytes(b"MThd garbage")
    r = run_lstm("train", "compose", "--data", d, "-o", tmp_path / "m.pt", "--preset", "tiny", "--max-steps", 2,
                 "--batch-size", 4, "--seq-len", 16, "--sample-every", 0)
    assert r.returncode == 0, r.stderr
    assert "warning: skipping" in r.stderr and "broken.mid" in r.stderr and "4 pieces" in r.stderr


def test_too_few_pieces_to_validate_on_is_said(scales, tmp_path):
    r = run_lstm("train", "compose", "--data", scales, "-o", tmp_path / "m.pt", "--preset", "tiny", "--max-steps", 2,
                 "--batch-size", 4, "--seq-len", 16, "--sample-every", 0)
    assert r.returncode == 0 and "warning: no validation pieces (4 piece(s) given" in r.stderr, r.stderr


def test_fine_tuning_on_higher_music_widens_the_pitch_range(scale_model, tmp_path):
    """A model pretrained on one corpus and tuned on another may play the pitches of both."""
    import torch

    high = tmp_path / "high"
    high.mkdir()
    (high / "high.mid").write_bytes(ev.write_midi([ev.Note(n.pitch + 24, 80, n.start, n.end) for n in scale_notes(0)]))
    out = tmp_path / "tuned.pt"
    r = run_lstm("train", "compose", "--data", high, "-o", out, "--init", scale_model, "--max-steps", 2,
                 "--batch-size", 4, "--seq-len", 16, "--sample-every", 0, "--no-transpose", "--val-fraction", 0)
    assert r.returncode == 0, r.stderr
    before = torch.load(scale_model, map_location="cpu", weights_only=False)["vocab"]["pitch_range"]
    after = torch.load(out, map_location="cpu", weights_only=False)["vocab"]["pitch_range"]
    assert (before, after) == ([60, 75], [60, 96])


def test_a_text_model_is_not_a_compose_model(tiny_model, tmp_path):
    r = run_lstm("compose", "-m", tiny_model, "-o", tmp_path / "o.mid")
    assert r.returncode == ExitCode.BAD_CHECKPOINT


def test_pianoroll_picture(scale_model, tmp_path):
    from PIL import Image

    png = tmp_path / "roll.png"
    r = run_lstm("compose", "-m", scale_model, "-o", tmp_path / "o.mid", "--pianoroll", png, "--length", 8)
    assert r.returncode == 0, r.stderr
    img = Image.open(png).convert("RGB")
    assert img.width > 200 and len(img.getcolors(1 << 16)) > 3  # bars drawn, not a blank canvas
    blocked = tmp_path / "f"
    blocked.write_text("x")
    r = run_lstm("compose", "-m", scale_model, "-o", tmp_path / "o2.mid", "--pianoroll", blocked / "r.png")
    assert r.returncode == ExitCode.USAGE and not (tmp_path / "o2.mid").exists()


def _has_synth() -> bool:
    from lstm_cli.core.errors import MissingToolError
    from lstm_cli.render import audio

    try:
        audio.synthesizer()
        return True
    except MissingToolError:
        return False


@pytest.mark.skipif(not _has_synth(), reason="no fluidsynth and GM soundfont here (make audio-tools installs them)")
def test_wav_audio(scale_model, tmp_path):
    import wave

    out = tmp_path / "o.wav"
    r = run_lstm("compose", "-m", scale_model, "-o", tmp_path / "o.mid", "--wav", out, "--length", 4, "--tempo", 120)
    assert r.returncode == 0, r.stderr
    with wave.open(str(out)) as w:
        seconds = w.getnframes() / w.getframerate()
        frames = w.readframes(w.getnframes())
    assert 4 <= seconds <= 4 + 4  # the piece, then the synthesizer's release tail
    assert any(frames[i] for i in range(0, len(frames), 97))  # sound, not silence


def test_wav_without_a_synthesizer_is_one_line_before_any_work(scale_model, tmp_path):
    r = run_lstm("compose", "-m", scale_model, "-o", tmp_path / "o.mid", "--wav", tmp_path / "o.wav",
                 env={"LSTM_SOUNDFONT": str(tmp_path / "missing.sf2")})
    assert r.returncode == ExitCode.DEVICE
    assert r.stderr.startswith("lstm: error: LSTM_SOUNDFONT=") and "apt-get install fluidsynth" in r.stderr
    assert "Traceback" not in r.stderr and not list(tmp_path.iterdir())
    r = run_lstm("compose", "-m", scale_model, "-o", tmp_path / "o.mid", "--wav", tmp_path / "o.wav",
                 env={"PATH": str(tmp_path)})
    assert r.returncode == ExitCode.DEVICE and "fluidsynth program" in r.stderr and not list(tmp_path.iterdir())


def test_cli_defaults_are_the_benchmarked_ones():
    import inspect

    from lstm_cli.cli import compose as cli
    from lstm_cli.tasks import compose as task

    params = inspect.signature(cli.command).parameters
    assert params["temperature"].default == task.TEMPERATURE
    assert params["tempo"].default == task.TEMPO


def test_the_rest_cap_is_what_one_training_piece_in_100_holds():
    from lstm_cli.tasks.compose import rest_cap

    beat = ev.STEPS_PER_BEAT
    silent = ev.encode([ev.Note(60, 80, 0.0, 1.0), ev.Note(60, 80, 4.0, 5.0)])  # a rest of three beats
    plain = ev.encode(scale_notes(0, rounds=1))
    assert rest_cap([plain] * 199 + [silent]) == beat  # one piece in 200: not enough; at least a beat
    assert rest_cap([plain] * 197 + [silent] * 3) == 3 * beat


def test_the_grammar_ends_a_rest_at_the_cap():
    """Past the cap, time may not move until a note sounds; below it, only as far as the cap."""
    import numpy as np

    from lstm_cli.tasks.compose.sampler import Grammar

    g = Grammar(60, 72, rest=12)
    shifts = lambda: np.isfinite(g.mask[ev.SHIFT: ev.VELOCITY])  # noqa: E731
    assert not shifts().any()  # nothing has sounded yet
    g.track(ev.NOTE_ON + 64)
    assert shifts().all()  # a note sounds: any shift
    g.track(ev.NOTE_OFF + 64)
    assert shifts().sum() == 12  # silent: at most the cap
    g.track(ev.SHIFT + 7)  # eight steps of silence
    assert shifts().sum() == 4 and np.isfinite(g.mask[ev.NOTE_ON + 64])
    g.track(ev.SHIFT + 3)
    assert not shifts().any()  # at the cap: a note must come next
    g.track(ev.NOTE_ON + 60)
    assert shifts().all()


@pytest.mark.parametrize("text, key", [("D minor", (2, False)), ("Dm", (2, False)), ("f# min", (6, False)),
                                       ("Bb", (10, None)), ("minor", (None, False)), ("Eb major", (3, True)),
                                       ("any", (None, None))])
def test_key_names(text, key):
    from lstm_cli.tasks.compose import keys

    assert keys.parse(text) == key
    assert keys.parse(keys.name(key)) == key


def test_the_key_of_a_piece_and_moving_it():
    from lstm_cli.tasks.compose import keys

    assert [keys.key_of(scale_notes(k)) for k in (0, 3)] == [(0, True), (3, True)]
    a_minor = [ev.Note(57 + s, 80, i, i + 1) for i, s in enumerate([0, 2, 3, 5, 7, 8, 11, 12, 7, 3, 0, 0])]
    assert keys.key_of(a_minor) == (9, False)
    moved = keys.to_tonic(scale_notes(0), 0, 7, 40, 80)  # C -> G: down a fourth (up would pass 80)
    assert keys.key_of(moved) == (7, True) and min(n.pitch for n in moved) == 55
    assert keys.to_tonic(scale_notes(0), 0, 6, 58, 74) is None  # neither way fits the range


def test_compose_in_a_key(scale_model, tmp_path, monkeypatch):
    """The piece is moved to the tonic asked for; in the mode asked for, or one line says it is not
    (here a key finder that only ever hears C major: all 20 tries fail)."""
    from typer.testing import CliRunner

    from lstm_cli.cli.app import app
    from lstm_cli.tasks.compose import keys

    out = tmp_path / "g.mid"
    r = run_lstm("compose", "-m", scale_model, "-o", out, "--length", 8, "--key", "G", "--random-seed", 1)
    assert r.returncode == 0, r.stderr
    assert keys.key_of(notes_of(out.read_bytes()))[0] == 7 and "in G " in r.stderr
    r = run_lstm("compose", "-m", scale_model, "-o", out, "--length", 8, "--key", "minor", "--random-seed", 1)
    minor = not keys.key_of(notes_of(out.read_bytes()))[1]
    assert r.returncode == 0 and minor == ("no piece in minor" not in r.stderr), r.stderr
    monkeypatch.setattr(keys, "key_of", lambda notes: (0, True))
    r = CliRunner().invoke(app, ["compose", "-m", str(scale_model), "-o", str(out), "--length", "4", "--key", "D minor"])
    assert r.exit_code == 0 and "no piece in D minor came in 20 tries; this one is in C major" in r.output, r.output


@pytest.mark.parametrize("args, needle", [(["--key", "H minor"], "--key 'H minor' is not a key"),
                                          (["--key", "D", "--primer", "x.mid"], "the primer sets the key")])
def test_bad_key(scale_model, tmp_path, args, needle):
    r = run_lstm("compose", "-m", scale_model, "-o", tmp_path / "o.mid", *args)
    assert r.returncode == ExitCode.USAGE and needle in r.stderr and len(r.stderr.strip().splitlines()) <= 2, r.stderr
    assert not (tmp_path / "o.mid").exists()


# ---------------------------------------------------------------- endings (issue 43)


class Script:
    """A stream whose logits pick the given events one after another (a tuple: one of them, at
    random): the ending rules alone."""

    def __init__(self, events):
        self.events, self.k = events, 0

    def logits(self):
        import numpy as np

        out = np.full(ev.VOCAB_SIZE, -1e9, np.float32)
        out[list(self.choices())] = 0.0
        return out

    def choices(self):
        """The events the script allows now: one, or a tuple of equally likely ones."""
        e = self.events[min(self.k, len(self.events) - 1)]
        return e if isinstance(e, tuple) else (e,)

    def step(self, e):
        self.k += 1
        return self.logits()

    def save(self):
        return self.k

    def restore(self, k):
        self.k = k


def scale_events(rounds: int, phrase_after=(60,), at_round_start=True) -> list[int]:
    """C major up and down in half beats (7 beats a round); PHRASE after the note-on of each
    pitch in ``phrase_after`` where it starts a round (``at_round_start``) or anywhere."""
    out = []
    for r in range(rounds):
        for k, step in enumerate(SCALE):
            p = 60 + step
            out.append(ev.NOTE_ON + p)
            if p in phrase_after and (k == 0 or not at_round_start) and r > 0:
                out.append(ev.PHRASE)
            out += [ev.SHIFT + 5, ev.NOTE_OFF + p]
    return out


def play(events, beats, end=True, endings=1, seed=0):
    import numpy as np

    from lstm_cli.tasks import compose as task

    script = Script(events)
    return task.sampler.play(script, script.logits(), task.sampler.Grammar(0, 127), beats, 1.0, 0, 1.0,
                      np.random.default_rng(seed), end=end, endings=endings)


def test_a_piece_ends_on_the_first_tonic_phrase_end_after_the_length():
    from lstm_cli.tasks import compose as task

    events, ending = play(scale_events(5), 10.0)
    assert (ending.how, ending.beats) == ("phrase", 14.0)  # rounds start at 0, 7, 14: 7 is before the length
    notes = task.sampler.finish(events, ending.beats, task.FINAL_HOLD)
    last = max(notes, key=lambda n: n.start)
    assert (last.pitch, last.start, last.end) == (60, 14.0, 14.0 + task.FINAL_HOLD)  # the tonic, held
    assert max(n.end for n in notes) == last.end


def test_the_tonic_is_preferred_to_an_earlier_phrase_end_and_taken_if_none_comes():
    # phrase ends on every G (67) and on the round-starting C: past 10 beats the first is the G at
    # 12, the first on the tonic the C at 14
    events, ending = play(scale_events(5, phrase_after=(60, 67), at_round_start=False), 10.0)
    assert (ending.how, ending.beats) == ("phrase", 14.0)
    # only G ends phrases: the first after the length is kept
    events, ending = play(scale_events(5, phrase_after=(67,), at_round_start=False), 10.0)
    assert ending.how == "phrase-other" and 10.0 <= ending.beats <= 10.0 + 8
    assert ev.PHRASE == events[-1] and ev.beats(events) == ending.beats


def test_the_stretch_past_the_length_is_tried_again_for_a_tonic_ending():
    # two rounds of the scale (14 beats), then C or G at random, the phrase ends there, and the
    # note is held from then on
    body = scale_events(2, phrase_after=())
    events = body[:-1] + [ev.NOTE_OFF + 62, (ev.NOTE_ON + 60, ev.NOTE_ON + 67), ev.PHRASE, ev.SHIFT + ev.MAX_SHIFT - 1]
    once = [play(events, 14.0, seed=s)[1].how for s in range(20)]
    tried = [play(events, 14.0, endings=8, seed=s)[1].how for s in range(20)]
    assert 4 <= once.count("phrase") <= 16 and "phrase-other" in once
    assert tried.count("phrase") >= 19


def test_without_a_phrase_end_the_piece_stops_at_the_next_barline_with_a_held_chord():
    from lstm_cli.tasks import compose as task

    events, ending = play(scale_events(5, phrase_after=()), 10.0)
    assert (ending.how, ending.beats) == ("barline", 12.0)  # the first multiple of 4 beats after 10
    notes = task.sampler.finish(events, ending.beats, task.FINAL_HOLD)
    held = [n for n in notes if n.end > 12.0]
    assert len(held) == 1 and held[0].end == 15.0 and max(n.start for n in notes) < 12.0
    events, ending = play(scale_events(5, phrase_after=()), 10.0, end=False)  # --cut
    assert ending.how == "cut" and max(n.end for n in task.sampler.finish(events, ending.beats, 0.0)) == 10.0


def test_the_grammar_allows_a_phrase_end_only_right_after_a_note_starts():
    import numpy as np

    from lstm_cli.tasks import compose as task

    g = task.sampler.Grammar(0, 127)
    assert g.mask[ev.PHRASE] == -np.inf
    g.track(ev.NOTE_ON + 60)
    assert g.mask[ev.PHRASE] == 0.0
    g.track(ev.PHRASE)
    assert g.mask[ev.PHRASE] == -np.inf  # not twice
    g.track(ev.SHIFT + 3)
    assert g.mask[ev.PHRASE] == -np.inf
    assert task.sampler.Grammar(0, 127, phrases=False).mask[ev.PHRASE] == -np.inf
    g = task.sampler.Grammar(0, 127, phrases=False)
    g.track(ev.NOTE_ON + 60)
    assert g.mask[ev.PHRASE] == -np.inf  # a model whose music marked none never ends a phrase


def test_phrase_markers_are_read_encoded_and_written():
    notes = [ev.Note(60, 80, 0, 1), ev.Note(64, 80, 1, 2), ev.Note(67, 80, 2, 4)]
    midi = ev.write_midi(notes, phrases=[2.0])
    back, phrases = ev.read_piece(midi)
    assert phrases == [2.0] and [n.pitch for n in back] == [60, 64, 67]
    events = ev.encode(back, phrases)
    assert events[events.index(ev.NOTE_ON + 67) + 1] == ev.PHRASE  # after the chord's note-ons
    assert ev.decode(events) == ev.decode(ev.encode(back)) and ev.phrase_ends(events) == [2.0]
    assert ev.name(ev.PHRASE) == "phrase" and ev.VOCAB_SIZE == ev.PHRASE + 1


def test_a_model_that_knows_no_phrases_ends_at_a_barline_and_says_so(scale_model, tmp_path):
    out = tmp_path / "o.mid"
    r = run_lstm("compose", "-m", scale_model, "-o", out, "--length", 20, "--tempo", 90, "--random-seed", 3)
    assert r.returncode == 0 and "knows no phrase ends" in r.stderr and "barline" in r.stderr
    ends = [n.end for n in notes_of(out.read_bytes())]
    assert 28.0 < max(ends) <= 32.0 + 3.0  # 30 beats asked: the barline at 32, the last chord held 3


class Uniform:
    """A stream with the same logits for a few pitches' note-ons and note-offs and a beat's shift:
    what the grammar allows of them comes at random."""

    PITCHES = (43, 48, 50, 55, 57, 60, 62, 64, 67, 69, 72)

    def logits(self):
        import numpy as np

        out = np.full(ev.VOCAB_SIZE, -1e9, np.float32)
        for p in self.PITCHES:
            out[ev.NOTE_ON + p] = out[ev.NOTE_OFF + p] = 0.0
        out[ev.SHIFT + ev.STEPS_PER_BEAT - 1] = 0.5
        return out

    def step(self, e):
        return self.logits()

    def save(self):
        return None

    def restore(self, saved):
        pass


def test_the_search_takes_back_chords_with_parallels_or_a_dropped_voice():
    import numpy as np

    from lstm_cli.tasks import compose as task
    from lstm_cli.tasks.compose import voices

    def clashes(search):
        g = task.sampler.Grammar(0, 127)
        events, _ = task.sampler.play(Uniform(), Uniform().logits(), g, 200.0, 1.0, 0, 1.0, np.random.default_rng(1),
                               search=search)
        # notes begun and ended at one instant (decoded a step long) were never part of a chord
        notes = [n for n in ev.decode(events) if n.end - n.start > 1.5 / ev.STEPS_PER_BEAT]
        cs = [c for _, c in voices.chords(notes)]
        return sum(task.sampler.clashes(a, b) for a, b in zip(cs, cs[1:])), len(cs)

    without, n = clashes(0)
    with_search, m = clashes(task.SEARCH)
    assert n > 100 and m > 100 and without > 10  # 19 of 144 here
    assert with_search <= without / 4


def test_clashes_and_the_longest_hold():
    import numpy as np

    from lstm_cli.tasks import compose as task

    assert task.sampler.clashes((67, 48), (69, 50))  # a parallel fifth
    assert task.sampler.clashes((72, 64, 55, 48), (72, 64, 48))  # the tenor drops out
    assert not task.sampler.clashes((72, 64, 55, 48), (71, 62, 55, 43))  # I -> V, clean
    assert not task.sampler.clashes((72, 64, 55, 48), ())  # everyone rests together
    g = task.sampler.Grammar(0, 127, hold=8 * ev.STEPS_PER_BEAT)
    g.track(ev.NOTE_ON + 48)
    for _ in range(7):
        g.track(ev.SHIFT + ev.STEPS_PER_BEAT - 1)
    assert g.mask[ev.SHIFT + ev.STEPS_PER_BEAT - 1] == 0.0 and g.mask[ev.SHIFT + ev.STEPS_PER_BEAT] == -np.inf
    g.track(ev.SHIFT + ev.STEPS_PER_BEAT - 1)  # 8 beats: the note must end before anything else
    assert np.flatnonzero(g.allowed() == 0.0).tolist() == [ev.NOTE_OFF + 48]
    g.track(ev.NOTE_OFF + 48)
    assert g.allowed() is g.mask and g.mask[ev.SHIFT] == 0.0


def test_a_model_from_before_phrase_ends_scores_and_tunes_on_marked_music(scale_model, tmp_path):
    """A 288-event checkpoint (before PHRASE) meets MIDI with phrase markers: eval leaves the
    markers out (it used to crash on the unknown event), and so does a fine-tune from it."""
    import json

    from lstm_cli.core import checkpoint

    old = checkpoint.load(scale_model)
    sd = dict(old["state_dict"])
    for k in ("embed.weight", "head.weight", "head.bias"):
        sd[k] = sd[k][: ev.PHRASE].clone()
    old = {**old, "state_dict": sd, "config": {**old["config"], "vocab_size": ev.PHRASE},
           "vocab": {k: v for k, v in old["vocab"].items() if k != "phrase_ends"}}
    checkpoint.save(old, tmp_path / "old.pt")
    music = tmp_path / "music"
    music.mkdir()
    for key in range(3):
        (music / f"s{key}.mid").write_bytes(ev.write_midi(scale_notes(key, rounds=4), phrases=[7.0, 14.0, 21.0]))
    r = run_lstm("eval", "-m", tmp_path / "old.pt", "--data", music, "--json")
    assert r.returncode == 0, r.stderr
    from lstm_cli.tasks import compose as task

    plain = sum(len(task.SEPARATOR) + len(ev.encode(scale_notes(key, rounds=4))) for key in range(3))
    assert json.loads(r.stdout)["events"] == plain  # the notes' events, no PHRASE
    r = run_lstm("train", "compose", "--data", music, "-o", tmp_path / "tuned.pt", "--init", tmp_path / "old.pt",
                 "--max-steps", 2, "--batch-size", 2, "--seq-len", 16, "--val-fraction", 0, "--eval-every", 1)
    assert r.returncode == 0 and "predates phrase ends" in r.stderr, r.stderr

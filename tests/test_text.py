"""Character-level text: the model, the fast sampler, generation on the command line, eval."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT, corpus, run_lstm
from lstm_cli.core import checkpoint, sampling
from lstm_cli.core.errors import ExitCode, InputError
from lstm_cli.tasks import text as task


def test_sampler_matches_nn_lstm():
    """The step-by-step numpy recurrence computes exactly what nn.LSTM does."""
    torch.manual_seed(0)
    model = task.CharLSTM(task.TextConfig(vocab_size=30, embed=8, hidden=16, layers=3)).eval()
    vocab = task.Vocab("".join(chr(97 + i) for i in range(30)))
    x = torch.randint(0, 30, (1, 40))
    ref = model(x)[0][0].detach().numpy()
    s = task.Sampler(model, vocab)
    got = np.stack([s.step(i).copy() for i in x[0].tolist()])
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_weight_drop_only_while_training():
    """DropConnect on W_hh: the same kernel as nn.LSTM, a fresh mask per forward while training,
    no mask at all in eval mode, and the stored weights untouched."""
    torch.manual_seed(0)
    model = task.CharLSTM(task.TextConfig(vocab_size=30, embed=8, hidden=16, layers=2, dropout=0.0,
                                          weight_drop=0.5))
    x = torch.randint(0, 30, (2, 12))
    before = model.lstm.weight_hh_l1.detach().clone()
    model.eval()
    ref = model(x)[0]
    e = model.embed(x)
    model.cfg.weight_drop = 0.0  # the explicit kernel call, without a mask, is nn.LSTM exactly
    assert torch.allclose(model._weight_dropped(e, None)[0], model.lstm(e)[0], atol=1e-6)
    model.cfg.weight_drop = 0.5
    model.train()
    a, b = model(x)[0], model(x)[0]
    assert not torch.allclose(a, ref) and not torch.allclose(a, b)
    a.sum().backward()
    assert model.lstm.weight_hh_l0.grad is not None and model.lstm.weight_hh_l0.grad.abs().sum() > 0
    assert torch.equal(model.lstm.weight_hh_l1, before)
    assert torch.equal(model.eval()(x)[0], ref)


def test_pick_options():
    logits = np.array([0.0, 5.0, 4.9, -3.0], dtype=np.float32)
    rng = np.random.default_rng(0)
    assert sampling.pick(logits, temperature=0) == 1
    assert {sampling.pick(logits, 1.0, top_k=1, rng=rng) for _ in range(50)} == {1}
    assert {sampling.pick(logits, 1.0, top_k=2, rng=rng) for _ in range(200)} == {1, 2}
    assert {sampling.pick(logits, 1.0, top_p=0.3, rng=rng) for _ in range(50)} == {1}
    assert {sampling.pick(logits, 100.0, rng=rng) for _ in range(400)} == {0, 1, 2, 3}


def test_tiny_model_learns(tiny_model, tmp_path):
    """Held-out text in the corpus' shape scores far below a uniform guess."""
    held = tmp_path / "held.txt"
    held.write_text(corpus(n_lines=60, seed=99))
    r = run_lstm("eval", "--model", tiny_model, "--data", held, "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    vocab_size = len(checkpoint.load(tiny_model)["vocab"])
    assert m["nats_per_char"] < 0.7 * np.log(vocab_size)
    assert m["bits_per_char"] == pytest.approx(m["nats_per_char"] / np.log(2), abs=1e-3)


def test_dynamic_evaluation_scores_each_character_before_learning_from_it():
    """Two texts that differ from character 70 on: every loss up to the one that predicts
    character 70 is identical, so no gradient step has used a character before scoring it,
    not even inside the segment (16 characters, so 70 falls mid-segment)."""
    torch.manual_seed(0)
    model = task.CharLSTM(task.TextConfig(vocab_size=12, embed=8, hidden=16, layers=2))
    a = torch.randint(0, 12, (200,))
    b = a.clone()
    b[70:] = (a[70:] + 1) % 12
    la = task.dynamic_losses(model, a, lr=0.5, segment=16)
    lb = task.dynamic_losses(model, b, lr=0.5, segment=16)
    assert la.shape == (199,)
    assert torch.equal(la[:69], lb[:69])
    assert not torch.allclose(la[80:], lb[80:])


def test_dynamic_evaluation_adapts_and_leaves_the_model_alone():
    """On a text that repeats, the adapting model ends up far better than the fixed one; with a
    learning rate near 0 it scores what the fixed model does; the model itself is untouched."""
    torch.manual_seed(0)
    model = task.CharLSTM(task.TextConfig(vocab_size=10, embed=8, hidden=32, layers=1, dropout=0.5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ids = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6] * 100)
    fixed = task.loss_on(model, ids, streams=1)
    assert task.dynamic_losses(model, ids, lr=1e-9).mean().item() == pytest.approx(fixed, abs=1e-4)
    adapted = task.dynamic_losses(model.train(), ids, lr=0.5, segment=20)
    assert adapted[-100:].mean().item() < 0.5 * fixed
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert model.training  # its mode too


def test_eval_dynamic_on_the_command_line(tiny_model, tmp_path):
    held = tmp_path / "held.txt"
    held.write_text(corpus(n_lines=60, seed=99))
    r = run_lstm("eval", "-m", tiny_model, "--data", held, "--dynamic-lr", "0.05", "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["evaluation"].startswith("dynamic (lr 0.05")
    assert 0 < m["nats_per_char"] < np.log(len(checkpoint.load(tiny_model)["vocab"]))
    r = run_lstm("eval", "-m", tiny_model, "--data", held, "--dynamic-lr", "-1")
    assert r.returncode == ExitCode.USAGE and "--dynamic-lr" in r.stderr and "Traceback" not in r.stderr


def test_generate_is_deterministic_with_seed(tiny_model):
    a = run_lstm("generate", "-m", tiny_model, "--seed", "ALICE:", "-n", "80", "--random-seed", "5")
    b = run_lstm("generate", "-m", tiny_model, "--seed", "ALICE:", "-n", "80", "--random-seed", "5")
    c = run_lstm("generate", "-m", tiny_model, "--seed", "ALICE:", "-n", "80", "--random-seed", "6")
    assert a.returncode == 0 and a.stdout == b.stdout != c.stdout
    assert a.stdout.startswith("ALICE:") and len(a.stdout) == len("ALICE:") + 80 + 1
    assert a.stderr == ""  # payload only on stdout, nothing else said


def test_no_echo_and_no_seed(tiny_model):
    r = run_lstm("generate", "-m", tiny_model, "-n", "30", "--no-echo", "--random-seed", "1")
    assert r.returncode == 0 and len(r.stdout) == 31


def test_seed_from_stdin(tiny_model):
    r = run_lstm("generate", "-m", tiny_model, "--seed", "-", "-n", "20", "--random-seed", "1", input="BOB:\n")
    assert r.returncode == 0 and r.stdout.startswith("BOB:\n")


def test_oov_seed(tiny_model):
    r = run_lstm("generate", "-m", tiny_model, "--seed", "Zürich ☃", "-n", "5")
    assert r.returncode == ExitCode.BAD_INPUT
    assert "'Z'" in r.stderr and "'ü'" in r.stderr and "'☃'" in r.stderr and "--oov" in r.stderr
    assert r.stdout == ""  # refused before anything is printed
    skip = run_lstm("generate", "-m", tiny_model, "--seed", "Zürich", "-n", "5", "--oov", "skip", "--no-echo")
    assert skip.returncode == 0 and len(skip.stdout) == 6
    rep = run_lstm("generate", "-m", tiny_model, "--seed", "Zürich", "-n", "5", "--oov", "replace")
    assert rep.returncode == 0


def test_input_noise_replaces_inputs_not_targets():
    """--input-noise swaps about that share of the input characters for corpus characters; the
    targets are the clean next characters, and the same RNG state gives the same batch."""
    seen = []

    class Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, state=None):
            seen.append(x)
            return torch.zeros(*x.shape, 30) + self.w, (torch.zeros(1),)

    data = task.TextData(batch_size=8, seq_len=64, input_noise=0.25)
    job = task.make_job([corpus()], None, data, task.preset("tiny"))
    clean, y = job._batch(0, 3)
    torch.manual_seed(0)
    job.loss(Probe(), 3, None)
    torch.manual_seed(0)
    job.loss(Probe(), 3, None)
    assert torch.equal(seen[0], seen[1])
    changed = (seen[0] != clean).float().mean().item()
    assert 0.1 < changed < 0.3  # draws may repeat the clean character
    assert torch.equal(y[:, :-1], clean[:, 1:])


def test_vocab_encode_modes():
    v = task.Vocab("ab ")
    assert v.encode("a?b", oov="skip").tolist() == [0, 1]
    assert v.encode("a?b", oov="replace").tolist() == [0, 2, 1]
    with pytest.raises(InputError, match="'\\?'"):
        v.encode("a?b")


def test_generation_streams(tiny_model):
    """The first characters arrive while the model is still generating."""
    proc = subprocess.Popen([sys.executable, "-m", "lstm_cli", "generate", "-m", str(tiny_model),
                             "-n", "10000000", "--no-echo"], stdout=subprocess.PIPE, cwd=ROOT)
    first = proc.stdout.read(20)
    still_running = proc.poll() is None
    proc.kill()
    proc.wait()
    assert len(first) == 20 and still_running


def test_pipeline_closes_quietly(tiny_model):
    cmd = f"{sys.executable} -m lstm_cli generate -m {tiny_model} -n 100000 | head -c 100"
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, cwd=ROOT)
    assert len(r.stdout) == 100 and r.stderr == b""
    assert r.returncode == 0


def test_train_on_stdin(tmp_path):
    out = tmp_path / "s.pt"
    r = run_lstm("train", "text", "--data", "-", "-o", out, "--preset", "tiny", "--max-steps", "5",
                 "--sample-every", "0", input=corpus(100))
    assert r.returncode == 0, r.stderr
    ckpt = checkpoint.load(out, task="text")
    assert ckpt["meta"]["steps"] == 5 and ckpt["meta"]["data"] == "stdin"


def test_small_corpus_shrinks_batches_and_empty_is_refused(tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("hello world, hello lstm. " * 8)
    r = run_lstm("train", "text", "--data", small, "-o", tmp_path / "m.pt", "--preset", "tiny",
                 "--max-steps", "3", "--val-fraction", "0")
    assert r.returncode == 0, r.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    r = run_lstm("train", "text", "--data", empty, "-o", tmp_path / "m.pt")
    assert r.returncode == ExitCode.BAD_INPUT and "too small" in r.stderr


def test_info_and_export(tiny_model, tmp_path, text_file):
    r = run_lstm("export", tiny_model, "-o", tmp_path / "ship" / "t.pt", "--name", "t", "--eval-data", text_file,
                 "--data-source", "generated", "--licence", "CC0", "--json")
    assert r.returncode == 0, r.stderr
    shipped = checkpoint.load(tmp_path / "ship" / "t.pt")
    assert "train_state" not in shipped and shipped["meta"]["metric"]["value"] > 0
    manifest = json.loads((tmp_path / "ship" / "manifest.json").read_text())
    assert manifest["t"]["sha256"] and manifest["t"]["licence"] == "CC0"
    info = run_lstm("info", tmp_path / "ship" / "t.pt", "--json")
    assert json.loads(info.stdout)["task"] == "text"
    # --storage float16 / int8: smaller files, the same model up to rounding (measured on the file)
    for storage, ratio in (("float16", 0.6), ("int8", 0.4)):
        small = tmp_path / f"{storage}.pt"
        r = run_lstm("export", tiny_model, "-o", small, "--storage", storage, "--eval-data", text_file)
        assert r.returncode == 0, r.stderr
        assert small.stat().st_size < ratio * (tmp_path / "ship" / "t.pt").stat().st_size
        loaded = checkpoint.load(small)
        assert loaded["meta"]["stored_as"] == storage
        assert all(v.dtype == torch.float32 for v in loaded["state_dict"].values())
        assert loaded["meta"]["metric"]["value"] == pytest.approx(shipped["meta"]["metric"]["value"], abs=0.02)
    g = run_lstm("generate", "--model", small, "-n", "50", "--random-seed", "0")
    assert g.returncode == 0 and len(g.stdout) > 50


def test_fit_temperature_recovers_the_temperature_of_the_data():
    """Targets drawn from softmax(z / 2.5) are likeliest at T = 2.5, whatever z."""
    g = torch.Generator().manual_seed(0)
    z = 3 * torch.randn(20000, 30, generator=g)
    y = torch.multinomial(torch.softmax(z / 2.5, -1), 1, generator=g).squeeze(1)
    t = sampling.fit_temperature(z, y)
    assert t == pytest.approx(2.5, rel=0.03)
    assert sampling.fit_temperature(z * 4, y) == pytest.approx(4 * t, rel=1e-4)


def test_export_calibrate_folds_the_temperature_into_the_model(tiny_model, tmp_path, text_file):
    """A model made 3x over-confident is tempered by about 3x the temperature of the original;
    the file it writes scores what the calibration record says, and no worse than before."""
    ckpt = checkpoint.load(tiny_model)
    loud = tmp_path / "loud.pt"
    sd = dict(ckpt["state_dict"], **{k: 3 * ckpt["state_dict"][k] for k in ("head.weight", "head.bias")})
    checkpoint.save(dict(ckpt, state_dict=sd), loud)
    temps = {}
    for name, src in (("plain", tiny_model), ("loud", loud)):
        out = tmp_path / f"{name}.cal.pt"
        r = run_lstm("export", src, "-o", out, "--calibrate", text_file)
        assert r.returncode == 0, r.stderr
        cal = checkpoint.load(out)["meta"]["calibration"]
        assert cal["nats_per_char_after"] <= cal["nats_per_char_before"]
        ev = run_lstm("eval", "-m", out, "-d", text_file, "--json")
        assert json.loads(ev.stdout)["nats_per_char"] == pytest.approx(cal["nats_per_char_after"], abs=2e-4)
        temps[name] = cal["temperature"]
    assert temps["loud"] == pytest.approx(3 * temps["plain"], rel=0.01)
    assert cal["nats_per_char_before"] > cal["nats_per_char_after"] + 0.1
    g = run_lstm("generate", "--model", out, "-n", "40", "--random-seed", "0")
    assert g.returncode == 0 and len(g.stdout) >= 40
    foreign = tmp_path / "foreign.pt"
    checkpoint.save(dict(ckpt, task="translate"), foreign)
    r = run_lstm("export", foreign, "-o", tmp_path / "x.pt", "--calibrate", text_file)
    assert r.returncode == ExitCode.USAGE and "--calibrate" in r.stderr and "Traceback" not in r.stderr
    r = run_lstm("export", tiny_model, "-o", tmp_path / "x.pt", "--calibrate", tmp_path / "missing.txt")
    assert r.returncode == ExitCode.BAD_INPUT and "Traceback" not in r.stderr


def test_no_seed_without_newline_in_vocab():
    """A model whose corpus had no newline starts from its first character instead of failing."""
    torch.manual_seed(0)
    model = task.CharLSTM(task.TextConfig(vocab_size=3, embed=4, hidden=8, layers=1)).eval()
    s = task.Sampler(model, task.Vocab("abc"))
    assert len("".join(s.stream(s.prime(""), 10, random_seed=0))) == 10


def test_model_flags_with_init_and_resume(tmp_path, tiny_model, text_file):
    """A size fixed by the --init weights is an error that names the stored value; dropout applies
    to the fine-tuning run; --resume continues the run as it was started, so any typed model or
    data flag that differs is an error (once, all of them were silently ignored)."""
    from conftest import run_lstm, train_args

    from lstm_cli.core import checkpoint
    from lstm_cli.core.errors import ExitCode

    base = ["train", "text", "--data", text_file, "--init", tiny_model, "--max-steps", 2, "--sample-every", 0]
    r = run_lstm(*base, "-o", tmp_path / "a.pt", "--hidden", 32)
    assert r.returncode == ExitCode.USAGE and "--hidden 32 cannot apply" in r.stderr and "--hidden 64" in r.stderr
    r = run_lstm(*base, "-o", tmp_path / "a.pt", "--preset", "small")
    assert r.returncode == ExitCode.USAGE and "the --init weights fix it" in r.stderr
    r = run_lstm(*base, "-o", tmp_path / "b.pt", "--dropout", 0.5, "--hidden", 64, "--batch-size", 4)
    assert r.returncode == 0, r.stderr
    assert checkpoint.load(tmp_path / "b.pt")["config"]["dropout"] == 0.5
    run_lstm(*train_args(text_file, tmp_path / "c.pt", steps=4))
    resume = [*train_args(text_file, tmp_path / "c.pt", steps=6), "--resume", tmp_path / "c.last.pt"]
    for flag, value in (("--batch-size", 4), ("--dropout", 0.5), ("--layers", 2)):
        r = run_lstm(*resume, flag, value)
        assert r.returncode == ExitCode.USAGE and "--resume continues the run" in r.stderr, (flag, r.stderr)
    assert run_lstm(*resume, "--batch-size", 8).returncode == 0  # the stored value itself is fine


def test_a_long_evaluation_says_how_far_it_has_come(capsys, monkeypatch):
    """Once a 5 MB text was scored for minutes in silence. The ticker speaks every so often on
    long work, and never on work below its least amount (so the README's short examples stay
    as shown on a slow machine)."""
    import time as clock

    from lstm_cli.core.progress import Ticker

    now = [0.0]
    monkeypatch.setattr(clock, "perf_counter", lambda: now[0])
    long, short = Ticker("scored", 1000, "characters", least=500, every=10), Ticker("scored", 100, "characters", least=500)
    for done in range(0, 1001, 50):
        now[0] += 3.0
        long(done)
        short(min(done, 100))
    lines = capsys.readouterr().err.splitlines()
    assert 5 <= len(lines) <= 6 and all(l.startswith("lstm: scored: ") and "of 1,000 characters" in l for l in lines)
    torch.manual_seed(0)
    model = task.CharLSTM(task.TextConfig(vocab_size=10, embed=8, hidden=16, layers=1)).eval()
    seen = []
    task.loss_on(model, torch.randint(0, 10, (5000,)), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 5000 - 4  # 4 streams (5000 // 1024): each first is no target

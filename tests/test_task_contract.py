"""The task contract (core/task.py), kept honest by a task unlike text (tests/stub_task.py): a
negative, falling loss; a nested carried state with the batch on dim 0; two parameter groups; file
samples; a binary payload. It registers itself from the tests, and the shared machinery (trainer,
exact resume, SIGINT, NaN and explosion stops, DDP, --ema, checkpoints, export, info, eval, the
CLI) must work with it unchanged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, run_lstm
from lstm_cli.core import checkpoint, registry
from lstm_cli.core.errors import DivergedError, ExitCode, Interrupted
from lstm_cli.core.trainer import TrainConfig, last_path

TESTS = ROOT / "tests"
PLUGIN_ENV = {"LSTM_CLI_PLUGINS": "stub_task", "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
              "LSTM_THREADS": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture
def stub():
    import stub_task

    registry.register("stub", stub_task.TASK)
    yield stub_task
    registry.TASKS.pop("stub", None)


@pytest.fixture
def waves_file(tmp_path):
    import stub_task

    path = tmp_path / "waves.txt"
    rows = stub_task.waves(8, 200, seed=1)
    path.write_text("".join(" ".join(f"{v:.5f}" for v in row.tolist()) + "\n" for row in rows))
    return path


def lstm(*args, **kw):
    return subprocess.run([sys.executable, "-m", "lstm_cli", *map(str, args)], capture_output=True, cwd=ROOT,
                          env={**os.environ, **PLUGIN_ENV}, timeout=300, **kw)


def cfg(steps=40, **kw):
    return TrainConfig(**{**dict(max_steps=steps, warmup=4, eval_every=10, sample_every=20, save_every=100,
                                 log_every=100, lr=1e-2, random_seed=5, ema=0.9), **kw})


def run(stub, waves_file, out, config, **start):
    return stub.train(str(waves_file), str(out), config, hidden=16, dropout=0.0, seq_len=16, given=set(), **start)


def test_negative_falling_loss_trains_and_samples_files(stub, waves_file, tmp_path):
    out = tmp_path / "m.pt"
    run(stub, waves_file, out, cfg(steps=120, ema=0.0))
    best = checkpoint.load(out, task="stub")
    assert best["meta"]["val_loss"] < -0.5  # a log-likelihood above 0.5 nats: well below zero, not stopped
    watch = checkpoint.load(last_path(out))["train_state"]["watch"]
    assert watch["first"] > watch["best"] and watch["best"] < 0
    samples = sorted((tmp_path / "m.samples").iterdir())
    assert [p.name for p in samples] == [f"step-{s:06d}.f32" for s in range(20, 121, 20)]
    assert len(samples[-1].read_bytes()) == 4 * 63  # one float32 per predicted value


def test_parameter_groups_follow_one_schedule(stub, waves_file, tmp_path):
    out = tmp_path / "m.pt"
    run(stub, waves_file, out, cfg(steps=10, warmup=100))  # still warming up: lr = 1e-2 * 10 / 100
    groups = checkpoint.load(last_path(out))["train_state"]["optimizer"]["param_groups"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-4, 1e-3])


def test_resume_is_exact_with_a_nested_carry(stub, waves_file, tmp_path, monkeypatch):
    run(stub, waves_file, tmp_path / "a.pt", cfg())
    orig = stub.StubJob.loss

    def interrupted(self, model, step, carry):
        if step == 17:
            os.kill(os.getpid(), signal.SIGINT)
        return orig(self, model, step, carry)

    monkeypatch.setattr(stub.StubJob, "loss", interrupted)
    with pytest.raises(Interrupted):
        run(stub, waves_file, tmp_path / "b.pt", cfg())
    monkeypatch.setattr(stub.StubJob, "loss", orig)
    half = checkpoint.load(last_path(tmp_path / "b.pt"))
    assert half["train_state"]["step"] == 18
    carry = half["train_state"]["carry"]
    assert isinstance(carry, dict) and carry["hc"][0].shape == (8, 1, 16)  # batch on dim 0
    run(stub, waves_file, tmp_path / "b.pt", cfg(), resume=str(last_path(tmp_path / "b.pt")))
    a, b = (checkpoint.load(last_path(tmp_path / n)) for n in ("a.pt", "b.pt"))
    assert a["train_state"]["step"] == b["train_state"]["step"] == 40
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    assert all(torch.equal(x, y) for x, y in zip(a["train_state"]["ema"], b["train_state"]["ema"]))
    assert a["train_state"]["watch"] == b["train_state"]["watch"]


def test_nan_and_explosion_stop_and_keep_the_last_good_state(stub, waves_file, tmp_path, monkeypatch):
    orig = stub.StubJob.loss

    def nan_later(self, model, step, carry):
        loss, n, carry = orig(self, model, step, carry)
        return (loss * float("nan") if step == 13 else loss), n, carry

    monkeypatch.setattr(stub.StubJob, "loss", nan_later)
    with pytest.raises(DivergedError, match="NaN at step 13"):
        run(stub, waves_file, tmp_path / "n.pt", cfg(save_every=5))
    assert checkpoint.load(last_path(tmp_path / "n.pt"))["train_state"]["step"] == 10

    def exploding(self, model, step, carry):
        loss, n, carry = orig(self, model, step, carry)
        return (loss + 50.0 if step >= 30 else loss), n, carry

    monkeypatch.setattr(stub.StubJob, "loss", exploding)
    with pytest.raises(DivergedError, match="exploding") as e:
        run(stub, waves_file, tmp_path / "x.pt", cfg(steps=100, save_every=5))
    assert e.value.code == ExitCode.DIVERGED and "at step 30" in e.value.message


def test_a_converged_loss_with_rare_bad_batches_is_not_an_explosion():
    """Losses near zero with a rare batch at 0.16 (a converged captioner fine-tuned from its own
    weights stopped so once): noise; a jump of 5 nats: an explosion."""
    from lstm_cli.core.trainer import _DivergenceWatch

    watch = _DivergenceWatch(3.0)
    for k in range(400):
        assert watch.check(0.16 if k % 97 == 50 else 0.0005 + 0.0004 * (k % 3)) == "", k
    assert watch.check(5.0).startswith("exploding")


def test_fine_tuning_from_a_good_model_is_not_stopped(stub, waves_file, tmp_path):
    """--init from a trained model: the loss starts near its best, so noise alone must not count
    as an explosion (the old rule, loss > 3 x first loss, inverted for negative losses)."""
    run(stub, waves_file, tmp_path / "m.pt", cfg(steps=100, ema=0.0))
    summary = run(stub, waves_file, tmp_path / "ft.pt", cfg(steps=60, ema=0.0), init=str(tmp_path / "m.pt"))
    assert summary["steps"] == 60


def test_stub_through_the_command_line(stub, waves_file, tmp_path, monkeypatch):
    """lstm train stub, info, eval (with the stub's own option), export, and its binary command
    (in this process, with the command line rebuilt from the registry that now holds the stub;
    the tests below start processes that load it as a plugin, from LSTM_CLI_PLUGINS)."""
    from lstm_cli.cli import app as cli_app

    monkeypatch.setattr(cli_app, "app", cli_app.build_app())

    def lstm(*args):
        return run_lstm(*args, input=b"", env=PLUGIN_ENV)

    out = tmp_path / "m.pt"
    r = lstm("train", "stub", "--data", waves_file, "-o", out, "--max-steps", 30, "--eval-every", 10,
             "--sample-every", 0, "--log-every", 10, "--ema", 0.9)
    assert r.returncode == 0, r.stderr.decode()
    info = json.loads(lstm("info", out, "--json").stdout)
    assert info["task"] == "stub" and info["steps"] == 30
    r = lstm("eval", "--model", out, "--data", waves_file, "--window", 50, "--json")
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(r.stdout)["metric"] == "nll"
    r = lstm("eval", "--model", out, "--data", waves_file, "--dynamic-lr", "0.1")
    assert r.returncode == ExitCode.USAGE and b"does not apply to 'stub' models" in r.stderr
    r = lstm("export", out, "-o", tmp_path / "ship" / "stub.pt", "--name", "stub", "--eval-data", waves_file, "--json")
    assert r.returncode == 0, r.stderr.decode()
    entry = json.loads(r.stdout)
    assert entry["metric"]["name"] == "nll" and entry["task"] == "stub"
    assert json.loads((tmp_path / "ship" / "manifest.json").read_text())["stub"]["sha256"] == entry["sha256"]
    shipped = checkpoint.load(tmp_path / "ship" / "stub.pt", task="stub")
    assert "train_state" not in shipped and shipped["meta"]["metric"]["value"] == entry["metric"]["value"]
    r = lstm("stub-predict", "-m", out, "-o", "-")
    assert r.returncode == 0 and len(r.stdout) == 4 * 32  # raw float32 bytes on a pipe
    r = lstm("train", "stub", "--data", waves_file, "-o", tmp_path / "ft.pt", "--init", out, "--hidden", 32)
    assert r.returncode == ExitCode.USAGE and b"--hidden 32 cannot apply" in r.stderr and b"--hidden 16" in r.stderr


def test_binary_payload_refuses_a_terminal(stub, tmp_path):
    import pty

    ckpt = tmp_path / "m.pt"
    model = stub.build_model({})
    checkpoint.save(checkpoint.make("stub", {"hidden": 16}, None, model.state_dict()), ckpt)
    leader, follower = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "lstm_cli", "stub-predict", "-m", str(ckpt), "-o", "-"],
                           stdout=follower, stderr=subprocess.PIPE, cwd=ROOT, env={**os.environ, **PLUGIN_ENV},
                           timeout=120)
    finally:
        os.close(follower)
        os.close(leader)
    assert p.returncode == ExitCode.USAGE and b"refusing to write float32 bytes to a terminal" in p.stderr


@pytest.mark.slow
def test_ddp_two_processes_with_a_nested_carry(waves_file, tmp_path):
    out = tmp_path / "ddp.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "lstm_cli",
           "train", "stub", "--data", str(waves_file), "-o", str(out), "--max-steps", "20", "--eval-every", "10",
           "--sample-every", "0", "--log-every", "10", "--save-every", "10"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, env={**os.environ, **PLUGIN_ENV})
    assert r.returncode == 0, r.stderr[-3000:]
    last = checkpoint.load(last_path(out))
    assert last["train_state"]["step"] == 20
    assert last["train_state"]["carry"]["hc"][0].shape == (8, 1, 16)  # both ranks' 4 streams, on dim 0
    assert len(last["train_state"]["rng"]) == 2


def test_the_stub_needs_no_shared_file():
    """Registering a task is the registry line (here, from the test); no shared file names it."""
    shared = [p for p in (ROOT / "lstm_cli").rglob("*.py")] + [ROOT / "README.md"]
    assert not [p for p in shared if "stub_task" in p.read_text() or "stub-predict" in p.read_text()]

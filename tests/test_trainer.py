"""The one training loop: exact resume, signals, divergence, the schedule, DDP."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, train_args
from lstm_cli.core import checkpoint
from lstm_cli.core.errors import DivergedError, ExitCode, Interrupted
from lstm_cli.core.trainer import TrainConfig, last_path, lr_at
from lstm_cli.tasks import text as task

STEPS = 24


def train(text_file, out, resume=None, steps=STEPS):
    cfg = TrainConfig(max_steps=steps, warmup=4, eval_every=8, sample_every=5, save_every=100,
                      log_every=100, lr=1e-2, random_seed=3, ema=0.9)
    data = task.TextData(batch_size=4, seq_len=16)
    return task.train([str(text_file)], None, str(out), cfg, data, task.preset("tiny", weight_drop=0.3),
                      resume=str(resume) if resume else None)


def test_resume_is_exact(tmp_path, text_file, monkeypatch):
    """N steps straight == N/2 steps, SIGINT, resume, N/2 steps: identical weights and optimizer."""
    train(text_file, tmp_path / "a.pt")
    orig = task.TextJob.loss

    def interrupted_loss(self, model, step, carry):
        if step == STEPS // 2 - 1:
            os.kill(os.getpid(), signal.SIGINT)  # the handler only sets a flag; the step finishes
        return orig(self, model, step, carry)

    monkeypatch.setattr(task.TextJob, "loss", interrupted_loss)
    with pytest.raises(Interrupted) as e:
        train(text_file, tmp_path / "b.pt")
    assert e.value.code == ExitCode.INTERRUPTED
    monkeypatch.setattr(task.TextJob, "loss", orig)
    half = checkpoint.load(last_path(tmp_path / "b.pt"))
    assert half["train_state"]["step"] == STEPS // 2
    assert half["train_state"]["carry"] is not None  # the hidden state travels with the checkpoint
    train(text_file, tmp_path / "b.pt", resume=last_path(tmp_path / "b.pt"))
    a = checkpoint.load(last_path(tmp_path / "a.pt"))
    b = checkpoint.load(last_path(tmp_path / "b.pt"))
    assert a["train_state"]["step"] == b["train_state"]["step"] == STEPS
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    sa, sb = a["train_state"]["optimizer"]["state"], b["train_state"]["optimizer"]["state"]
    assert all(torch.equal(sa[i]["exp_avg"], sb[i]["exp_avg"]) for i in sa)
    assert all(torch.equal(x, y) for x, y in zip(a["train_state"]["ema"], b["train_state"]["ema"]))


def test_resume_refuses_other_data(tmp_path, text_file):
    train(text_file, tmp_path / "a.pt", steps=4)
    other = tmp_path / "other.txt"
    other.write_text(text_file.read_text()[::-1])
    with pytest.raises(Exception, match="differs"):
        train(other, tmp_path / "a.pt", resume=last_path(tmp_path / "a.pt"))


def test_nan_stops_and_keeps_last_good(tmp_path, text_file, monkeypatch):
    orig = task.TextJob.loss

    def nan_later(self, model, step, carry):
        loss, n, carry = orig(self, model, step, carry)
        return (loss * math.nan if step == 10 else loss), n, carry

    monkeypatch.setattr(task.TextJob, "loss", nan_later)
    cfg = TrainConfig(max_steps=50, warmup=2, eval_every=100, sample_every=0, save_every=4, log_every=100)
    with pytest.raises(DivergedError, match="NaN at step 10") as e:
        task.train([str(text_file)], None, str(tmp_path / "m.pt"), cfg, task.TextData(batch_size=4, seq_len=16),
                   task.preset("tiny"))
    assert e.value.code == ExitCode.DIVERGED
    good = checkpoint.load(last_path(tmp_path / "m.pt"))
    assert good["train_state"]["step"] == 8
    assert all(torch.isfinite(t).all() for t in good["state_dict"].values())


def test_ema_weights_are_validated_and_saved(tmp_path, text_file):
    """With --ema the best checkpoint holds the average (also kept for resuming), scored as
    recorded; the raw weights go on in OUT.last.pt."""
    cfg = TrainConfig(max_steps=12, warmup=2, eval_every=12, sample_every=0, save_every=100,
                      log_every=100, lr=1e-2, random_seed=3, ema=0.8)
    data = task.TextData(batch_size=4, seq_len=16)
    task.train([str(text_file)], None, str(tmp_path / "m.pt"), cfg, data, task.preset("tiny"))
    best, last = checkpoint.load(tmp_path / "m.pt"), checkpoint.load(last_path(tmp_path / "m.pt"))
    names = [k for k, _ in task.build_model(best["config"]).named_parameters()]
    for k, avg in zip(names, last["train_state"]["ema"]):
        assert torch.equal(best["state_dict"][k], avg), k
    assert not torch.equal(best["state_dict"]["head.weight"], last["state_dict"]["head.weight"])
    model, vocab = task.from_checkpoint(best)
    text = text_file.read_text()
    val = vocab.encode(text[int(len(text) * 0.9):])  # the default --val-fraction's share
    assert task.loss_on(model, val) == pytest.approx(best["meta"]["val_loss"], abs=2e-2)  # bf16 or not


def test_lr_schedule_is_a_function_of_progress():
    cfg = TrainConfig(lr=1e-3, min_lr=1e-4, warmup=10)
    assert lr_at(cfg, 0, 0.0) == pytest.approx(1e-4)
    assert lr_at(cfg, 9, 0.0) == pytest.approx(1e-3)
    assert lr_at(cfg, 50, 1.0) == pytest.approx(1e-4)
    assert lr_at(cfg, 50, 0.5) == pytest.approx(5.5e-4)


@pytest.mark.slow
def test_sigterm_saves_and_exits_143(tmp_path, text_file):
    out = tmp_path / "m.pt"
    args = [sys.executable, "-m", "lstm_cli", *map(str, train_args(text_file, out, steps=100000))]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "LSTM_THREADS": "1"})
    for line in proc.stderr:
        if line.startswith("step 10"):
            break
    proc.send_signal(signal.SIGTERM)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == ExitCode.TERMINATED
    assert "resume with --resume" in err and "Traceback" not in err
    assert checkpoint.load(last_path(out))["train_state"]["step"] >= 10


@pytest.mark.slow
def test_ddp_two_processes(tmp_path, text_file):
    """torchrun --nproc_per_node=2: gloo on CPU, both ranks train, rank 0 writes one checkpoint."""
    out = tmp_path / "ddp.pt"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "lstm_cli", *map(str, train_args(text_file, out, steps=40))]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={**os.environ, "LSTM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp.last.pt", "ddp.pt"]
    last = checkpoint.load(last_path(out))
    assert last["train_state"]["step"] == 40
    assert last["train_state"]["carry"][0].shape[1] == 8  # both ranks' streams were gathered
    assert len(last["train_state"]["rng"]) == 2
    assert last["meta"]["val_loss"] < 2.5  # it learned (a uniform guess is ln(28) = 3.3)


def test_cli_resume_keeps_the_stored_length(tmp_path, text_file, monkeypatch):
    """`lstm train text --resume X` with no length flags runs to the length it was started with."""
    from typer.testing import CliRunner

    from conftest import train_args
    from lstm_cli.cli.app import app

    orig = task.TextJob.loss

    def interrupted_loss(self, model, step, carry):
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return orig(self, model, step, carry)

    monkeypatch.setattr(task.TextJob, "loss", interrupted_loss)
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(app, [str(a) for a in train_args(text_file, out, steps=12)])
    assert isinstance(r.exception, Interrupted)
    monkeypatch.setattr(task.TextJob, "loss", orig)
    args = [str(a) for a in train_args(text_file, out, steps=12)]
    i = args.index("--max-steps")
    del args[i: i + 2]
    r = CliRunner().invoke(app, args + ["--resume", str(last_path(out))])
    assert r.exit_code == 0, r.output
    assert checkpoint.load(last_path(out))["train_state"]["step"] == 12


def test_a_resumed_runs_eta_counts_only_its_own_time():
    """After a resume the rate is steps since the resume over time since the resume: an hour spent
    before it once turned a 2-hour estimate into 61 hours."""
    import io

    from rich.console import Console

    from lstm_cli.core.progress import TrainProgress

    out = io.StringIO()
    ui = TrainProgress(Console(file=out, width=200), total_steps=16000, start_step=4400, start_elapsed=3600.0)
    ui.update(4500, 0.1, 1e-3, 1000, 3660.0)  # 100 steps in the 60 s since the resume
    assert "eta 1h55m" in out.getvalue()

"""Fixtures built in code: a small generated corpus and a tiny text model trained on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("LSTM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent


def corpus(n_lines: int = 400, seed: int = 0) -> str:
    """Dialogue in a fixed shape (speaker line, then a sentence), so a tiny model can learn it."""
    import random

    rng = random.Random(seed)
    names = ["ALICE", "BOB", "CAROL"]
    words = "the cat sat on a mat and the dog ran to the big red ball".split()
    lines = []
    for _ in range(n_lines):
        lines.append(rng.choice(names) + ":")
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 8))) + ".")
        lines.append("")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def text_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("data") / "corpus.txt"
    p.write_text(corpus())
    return p


def run_lstm(*args, input: str | bytes | None = None, timeout: float = 120, env: dict | None = None):
    """Run ``python -m lstm_cli ARGS`` in a subprocess; returns CompletedProcess (text mode)."""
    e = {**os.environ, "LSTM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "lstm_cli", *map(str, args)], input=input,
                          capture_output=True, text=isinstance(input, str) or input is None,
                          timeout=timeout, env=e, cwd=ROOT)


def train_args(data, out, steps=60, **extra):
    args = ["train", "text", "--data", data, "-o", out, "--preset", "tiny", "--batch-size", "8",
            "--seq-len", "32", "--max-steps", steps, "--warmup", "5", "--eval-every", "20",
            "--sample-every", "0", "--log-every", "10", "--lr", "1e-2", "--random-seed", "0"]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", v]
    return args


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, text_file) -> Path:
    """A tiny char model trained in-process for a few seconds (shared by many tests)."""
    from typer.testing import CliRunner

    from lstm_cli.cli.app import app

    out = tmp_path_factory.mktemp("model") / "tiny.pt"
    r = CliRunner().invoke(app, [str(a) for a in train_args(text_file, out, steps=150)])
    assert r.exit_code == 0, r.output
    return out

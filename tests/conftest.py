"""Fixtures built in code (a small generated corpus, a tiny text model trained on it), and the two
ways the tests run ``lstm``: in this process (``run_lstm``, through the same ``main()`` as the
installed command, with its own stdin, stdout, stderr, environment and working folder) or as a
real process (``spawn_lstm``) where only a process shows the behaviour (start-up, signals, pipes).

Tiny models that several tests read are trained once per test run, whatever the number of
pytest-xdist workers (``shared``). Torch and the BLAS under numpy run one thread per worker:
``make test`` runs a worker per core, and two threads per worker fight over the cores (on 2 cores,
93 s against 129 s for the suite)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("LSTM_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # read when numpy loads: not yet
    os.environ.setdefault(_var, "1")
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    import torch

    torch.set_num_threads(int(os.environ["LSTM_THREADS"]))  # what each `lstm` run here sets too


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


# ---------------------------------------------------------------- running lstm


class Result(subprocess.CompletedProcess):
    """What ``subprocess.run`` returns: ``returncode``, ``stdout``, ``stderr`` (str, or bytes
    when the input was bytes); and ``chunks``, the bytes as they reached stdout (1) and stderr (2)
    in the order a reader of both (``2>&1``) would see them: [(1 or 2, bytes)]."""

    chunks: list


class _Sink(io.RawIOBase):
    """A raw byte stream that appends (fd, bytes) to a list that stdout and stderr share."""

    def __init__(self, into: list, fd: int):
        self.into, self.fd = into, fd

    def writable(self):
        return True

    def write(self, b):
        self.into.append((self.fd, bytes(b)))
        return len(b)


def _streams(stdin: bytes, chunks: list, line_buffered: bool):
    """stdin, stdout, stderr as a process started with pipes has them: UTF-8 text over binary
    buffers, stdout block-buffered (line-buffered if asked, as on a terminal) and stderr
    line-buffered, so that their bytes reach ``chunks`` in the order they would leave a process."""
    sin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(stdin)), encoding="utf-8")
    sout = io.TextIOWrapper(io.BufferedWriter(_Sink(chunks, 1)), encoding="utf-8", line_buffering=line_buffered)
    serr = io.TextIOWrapper(io.BufferedWriter(_Sink(chunks, 2)), encoding="utf-8", errors="backslashreplace",
                            line_buffering=True)
    for s, name in ((sin, "<stdin>"), (sout, "<stdout>"), (serr, "<stderr>")):
        s.mode = "r" if s is sin else "w"
        with contextlib.suppress(AttributeError):
            s.name = name
    return sin, sout, serr


@contextlib.contextmanager
def _fd_output(into: list):
    """Whatever C code writes to file descriptors 1 and 2 meanwhile (a process's stdout and stderr
    would hold it too) lands in ``into`` as (stdout bytes, stderr bytes)."""
    import tempfile

    saved, files = [], []
    for fd in (1, 2):
        f = tempfile.TemporaryFile()
        saved.append(os.dup(fd))
        files.append(f)
        os.dup2(f.fileno(), fd)
    try:
        yield
    finally:
        for fd, old, f in zip((1, 2), saved, files):
            os.dup2(old, fd)
            os.close(old)
            f.seek(0)
            into.append(f.read())
            f.close()


def _show_on_stderr(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_lstm(*args, input: str | bytes | None = None, env: dict | None = None, cwd: Path | None = None,
             line_buffered: bool = False, timeout: float | None = None) -> Result:
    """``lstm ARGS`` run in this process through the installed entry point ``main()``: its exit
    code (SystemExit's), stdout and stderr, with ``input`` on stdin (empty when None), ``env`` on
    top of the environment (LSTM_THREADS=1), ``cwd`` (the repository by default) as the working
    folder, and Python's warnings shown on stderr as a process shows them. ``line_buffered``: stdout
    as on a terminal (for ``Result.chunks``' order). ``timeout`` is accepted for ``spawn_lstm``'s
    sake and not used."""
    from lstm_cli.cli import app as cli_app

    text = isinstance(input, str) or input is None
    stdin = input.encode() if isinstance(input, str) else (input or b"")
    chunks: list = []
    sin, sout, serr = _streams(stdin, chunks, line_buffered)
    patch = {"LSTM_THREADS": "1", **(env or {})}
    old_env = {k: os.environ.get(k) for k in patch}
    old = sys.stdin, sys.stdout, sys.stderr, sys.argv, os.getcwd()
    fd_out: list = []
    code = 0
    try:
        os.environ.update({k: str(v) for k, v in patch.items()})
        os.chdir(cwd or ROOT)
        sys.stdin, sys.stdout, sys.stderr = sin, sout, serr
        sys.argv = ["lstm", *map(str, args)]
        with _fd_output(fd_out), warnings.catch_warnings():
            warnings.resetwarnings()  # the interpreter's own filters, not pytest's
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.simplefilter("ignore", category)
            warnings.showwarning = _show_on_stderr  # as a process shows them (not to pytest's record)
            try:
                cli_app.main()
            except SystemExit as e:
                if e.code is None or isinstance(e.code, int):
                    code = e.code or 0
                else:
                    print(e.code, file=serr)
                    code = 1
            except BaseException:  # what the interpreter does with an uncaught exception
                traceback.print_exc(file=serr)
                code = 1
            for s in (sout, serr):
                with contextlib.suppress(ValueError):
                    s.flush()
    finally:
        sys.stdin, sys.stdout, sys.stderr, sys.argv = old[:4]
        os.chdir(old[4])
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    chunks += [(fd, b) for fd, b in zip((1, 2), fd_out) if b]
    out_b, err_b = (b"".join(b for f, b in chunks if f == fd) for fd in (1, 2))
    if text:
        r = Result(list(args), code, out_b.decode("utf-8", "replace"), err_b.decode("utf-8", "replace"))
    else:
        r = Result(list(args), code, out_b, err_b)
    r.chunks = chunks
    return r


def spawn_lstm(*args, input: str | bytes | None = None, timeout: float = 120, env: dict | None = None):
    """Run ``python -m lstm_cli ARGS`` as a real process; returns CompletedProcess (text mode
    unless ``input`` is bytes). For what only a process shows; everything else uses ``run_lstm``."""
    e = {**os.environ, "LSTM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "lstm_cli", *map(str, args)], input=input,
                          capture_output=True, text=isinstance(input, str) or input is None,
                          timeout=timeout, env=e, cwd=ROOT)


# ---------------------------------------------------------------- trained once per run


def shared(tmp_path_factory, name: str, build) -> Path:
    """A folder ``name`` that ``build(folder)`` fills once per test run: with pytest-xdist the
    workers share it (the first to ask builds it, under a lock; the others wait and read it)."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the workers' folders sit side by side in the run's own
    folder, locks = base / "shared" / name, base / "shared-locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (locks / f"{name}.done").exists():
            if folder.exists():
                import shutil

                shutil.rmtree(folder)  # a build that failed half-way
            folder.mkdir(parents=True)
            build(folder)
            (locks / f"{name}.done").touch()
    return folder


def train_in_process(args) -> None:
    """``lstm ARGS`` (a training run) in this process; fails the test with its output if it fails."""
    r = run_lstm(*args)
    assert r.returncode == 0, r.stderr


def train_args(data, out, steps=60, **extra):
    args = ["train", "text", "--data", data, "-o", out, "--preset", "tiny", "--batch-size", "8",
            "--seq-len", "32", "--max-steps", steps, "--warmup", "5", "--eval-every", "20",
            "--sample-every", "0", "--log-every", "10", "--lr", "1e-2", "--random-seed", "0"]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", v]
    return args


@pytest.fixture(scope="session")
def text_file(tmp_path_factory) -> Path:
    return shared(tmp_path_factory, "data", lambda d: (d / "corpus.txt").write_text(corpus())) / "corpus.txt"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, text_file) -> Path:
    """A tiny char model trained in-process for a few seconds (shared by many tests)."""
    d = shared(tmp_path_factory, "tiny", lambda d: train_in_process(train_args(text_file, d / "tiny.pt", steps=150)))
    return d / "tiny.pt"


@pytest.fixture
def lockable(tmp_path):
    """(folder, lock): an empty folder, and a function that makes it read-only for real, for this
    process too: with chmod for a user, with a read-only bind mount of the folder onto itself for
    root (whom permissions do not stop); lock is None where root may not mount."""
    folder = tmp_path / "box"
    folder.mkdir()
    if os.geteuid() != 0:
        yield folder, lambda: folder.chmod(0o555)
        folder.chmod(0o755)
        return
    if subprocess.run(["mount", "--bind", folder, folder], capture_output=True).returncode != 0:
        yield folder, None
        return
    try:
        yield folder, lambda: subprocess.run(["mount", "-o", "remount,bind,ro", folder], check=True,
                                             capture_output=True)
    finally:
        subprocess.run(["umount", folder], capture_output=True)

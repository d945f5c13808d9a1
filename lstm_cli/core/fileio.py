"""Atomic writes and ``-`` for stdin/stdout: how every command reads its input and writes its output.

An interrupted write never leaves a half file behind: data goes to a temporary file in the same
folder, is flushed and fsynced, and is renamed over the target (rename is atomic on POSIX).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterator

from lstm_cli.core.errors import InputError, OutputError, UsageError


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open ``path`` for writing; the file appears (replacing any old one) only on clean exit.
    A write that fails (a full disk, a folder made read-only meanwhile) is an :class:`OutputError`
    naming the path, and leaves no temporary file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; the result should look like any new file
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, BrokenPipeError):
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
        raise
    # Make the rename itself durable.
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def check_output(path: str | os.PathLike, flag: str, dash: bool = False, suffixes: tuple[str, ...] = (),
                 hint: str | None = None) -> None:
    """Fail at once, before any work, when ``path`` (the value of ``flag``) cannot be written:
    it is a folder, a file stands where a folder would have to be, or its folder is not writable;
    or its name does not end in one of ``suffixes`` (when given: the formats the flag writes;
    ``hint`` then says what to use instead).
    Missing folders are fine: :func:`atomic_open` creates them. ``-`` (stdout) is accepted when
    ``dash`` says the command can write its payload there."""
    if str(path) == "-":
        if dash:
            return
        raise UsageError(f"{flag} -: this output cannot go to stdout", hint=f"give {flag} a file name")
    if suffixes and not str(path).lower().endswith(suffixes):
        raise UsageError(f"{flag} must end in {' or '.join(suffixes)}, got {path}", hint=hint)
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{flag} {path} is a folder, not a file name")
    folder = p.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: {folder} is a file, so it cannot hold {p.name}")
    try:  # a file made and removed proves it (os.access says yes to /proc, read-only mounts, ...)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write in {folder} ({e.strerror or e})") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def stdout_pipe() -> Iterator[IO]:
    """Yield stdout for a streamed payload; when the reader goes away (``lstm generate | head``),
    stop quietly with exit status 0, as ``cat`` would, instead of an error."""
    try:
        yield sys.stdout
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None


def write_payload(path: str, data: bytes, what: str = "binary data") -> None:
    """Write a binary payload (a MIDI file, a PNG) to ``path`` atomically, or to stdout for ``-``.
    Binary bytes on a terminal are garbage that can upset it, so stdout is refused when it is
    one (as curl does); redirect it or give a file."""
    if path == "-":
        if sys.stdout.isatty():
            raise UsageError(f"refusing to write {what} to a terminal",
                             hint="redirect stdout (> out.file, | other-program) or give -o FILE")
        with stdout_pipe():
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        return
    with atomic_open(path, "wb") as f:
        f.write(data)


def read_text(path: str) -> str:
    """Read a UTF-8 text file, or stdin for ``-``; bad input is one clear :class:`InputError`."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a text file") from None
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    name = "stdin" if path == "-" else path
    if b"\x00" in raw:
        raise InputError(f"{name} looks binary (it contains NUL bytes), not UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{name} is not UTF-8 text (bad byte at offset {e.start})",
                         hint="convert it first, e.g. iconv -t UTF-8") from None


def line_batches(stream: IO, max_batch: int) -> Iterator[list[str]]:
    """Lines of a text stream (newlines stripped), grouped for batched work: a group is yielded
    when it holds ``max_batch`` lines or when no further input is ready yet, so interactive or
    slow input is answered line by line while a file or a fast pipe is read in full batches."""
    import select

    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None

    def more_ready() -> bool:
        if fd is None:
            return True
        try:
            return bool(select.select([fd], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    batch: list[str] = []
    for line in iter(stream.readline, ""):
        batch.append(line.rstrip("\r\n"))
        if len(batch) >= max_batch or not more_ready():
            yield batch
            batch = []
    if batch:
        yield batch

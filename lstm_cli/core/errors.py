"""One error hierarchy and the exit-code table.

Every error a user can cause is a subclass of :class:`LstmError`; the CLI prints it as one line
(``error: <message>`` and, where there is one, ``hint: <hint>``) and exits with its code.
Tracebacks appear only with ``lstm --debug``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes of every ``lstm`` command (documented in the README)."""

    OK = 0
    INTERNAL = 1  # a bug: please report it (rerun with --debug for the traceback)
    USAGE = 2  # bad flag or option value (Typer/Click use 2 as well)
    BAD_INPUT = 3  # input data unusable: missing/empty/binary file, unknown characters, ...
    BAD_CHECKPOINT = 4  # checkpoint unreadable, unsafe, foreign, of another task, newer format, sha256 mismatch
    UNKNOWN_MODEL = 5  # no shipped model of that name and no such file
    DIVERGED = 6  # training stopped on NaN or exploding loss (last good checkpoint kept)
    DEVICE = 7  # the machine lacks what was asked: --device cuda without a GPU, --wav without fluidsynth
    INTERRUPTED = 130  # SIGINT (Ctrl-C): training saved its state first
    TERMINATED = 143  # SIGTERM: training saved its state first


def excerpt(text: str, n: int = 40) -> str:
    """``text`` quoted for a message: whole when short, else its start and its length."""
    return repr(text) if len(text) <= n else f"{text[:n]!r}... ({len(text):,} characters)"


class LstmError(Exception):
    """An error the user can cause and fix. ``hint`` says how. ``quiet``: exit with the code but
    print nothing (another process, such as training's first rank, says it)."""

    code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None, quiet: bool = False):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.quiet = quiet


class UsageError(LstmError):
    code = ExitCode.USAGE


class OutputError(UsageError):
    """An output that could not be written after all (a full disk, a folder made read-only since
    the start): exit 2, as for an output path refused before any work."""


class InputError(LstmError):
    code = ExitCode.BAD_INPUT


class CheckpointError(LstmError):
    code = ExitCode.BAD_CHECKPOINT


class UnknownModelError(LstmError):
    code = ExitCode.UNKNOWN_MODEL


class DivergedError(LstmError):
    code = ExitCode.DIVERGED


class DeviceError(LstmError):
    code = ExitCode.DEVICE


class MissingToolError(LstmError):
    """An optional program the user asked for (fluidsynth for ``--wav``) is not installed."""

    code = ExitCode.DEVICE


class Interrupted(LstmError):
    """Raised after training saved its state on SIGINT/SIGTERM."""

    def __init__(self, signum: int, message: str, quiet: bool = False):
        super().__init__(message, quiet=quiet)
        self.code = ExitCode.INTERRUPTED if signum == 2 else ExitCode.TERMINATED

"""The ``lstm`` entry point: builds the command line from the registry (each task's command, its
``lstm train`` sub-command and its ``lstm eval`` options, from its CLI module) beside the shared
commands, and turns every error, ours and the option parser's, into one line on stderr (and a
hint) and a documented exit code (core/errors.py)."""

from __future__ import annotations

import os
import re
import sys
from typing import Annotated, Optional

import typer

from lstm_cli.cli import evaluate, export, info, inspect, models, predict, serve, train

# numpy's OpenBLAS, which the batch-1 sampling loops use (core.sampling.LSTMStream, the writer's
# pen), pinned to one thread before anything loads it (nothing above does): beside one busy
# process its default two threads took 7-15 ms per pen step against 0.3-0.6 ms with one; idle,
# one thread is a quarter slower (docs/benchmarks.md#write).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        print(version_line())
        raise typer.Exit()


def version_line() -> str:
    """``lstm-cli X (torch Y, python Z)``, read from the installed packages' metadata: no import of torch."""
    from importlib import metadata

    from lstm_cli import __version__

    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    return f"lstm-cli {__version__} (torch {torch_version}, python {sys.version.split()[0]})"


def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version (and torch's) and exit.")] = None,
):
    _state["debug"] = debug


def build_app() -> typer.Typer:
    """The whole command line, from the tasks registered now (plugins included)."""
    import importlib

    from lstm_cli.core import registry

    registry.load_plugins()
    app = typer.Typer(name="lstm", no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False,
                      rich_markup_mode=None,
                      help="Small LSTM tools: generate text, translate, compose music, caption images, write and read handwriting, "
                           "predict what comes next, look inside a model, and train any of them on your own data.")
    app.callback()(_root)
    for t in registry.TASKS.values():
        cli = importlib.import_module(t.cli)
        if hasattr(cli, "COMMAND"):
            app.command(cli.COMMAND)(cli.command)
    app.command("eval")(evaluate.build(registry.TASKS))
    app.command("info")(info.info)
    app.command("models")(models.models)
    app.command("inspect")(inspect.inspect)
    # Negative numbers (-3 -2 -1) are elements, not options: unknown "options" join the arguments.
    app.command("predict", context_settings={"ignore_unknown_options": True})(predict.predict)
    app.command("export")(export.export)
    app.command("serve")(serve.serve)
    app.add_typer(train.build(registry.TASKS), name="train")
    return app


app = build_app()


def main() -> None:
    from lstm_cli.core.errors import ExitCode, LstmError

    args = sys.argv[1:]
    _state["debug"] = False  # until --debug says otherwise: a second call in one process starts afresh
    try:
        code = app(args=args, prog_name="lstm", standalone_mode=False)
        _flush_or_quiet()
        sys.exit(code if isinstance(code, int) else 0)
    except LstmError as e:
        if _state["debug"]:
            raise
        if e.quiet:
            _flush_or_quiet()
            sys.exit(int(e.code))
        _fail(e.message, _usable_hint(e.hint, args), int(e.code))
    except KeyboardInterrupt:
        print("lstm: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as e:
        if _is_parser_error(e):  # bad flag or value, found by the option parser
            if type(e).__name__ == "NoArgsIsHelpError":  # `lstm` or `lstm train` alone: the help
                print(e.format_message(), file=sys.stderr)
                sys.exit(int(ExitCode.USAGE))
            path = e.ctx.command_path if getattr(e, "ctx", None) is not None else "lstm"
            _fail(e.format_message().replace("\n", " "), f"see '{path} --help'", int(ExitCode.USAGE))
        if _state["debug"]:  # a bug: one line, unless --debug
            raise
        _fail(f"internal error: {type(e).__name__}: {e}", "rerun as lstm --debug COMMAND ... for the traceback, and please report it",
              int(ExitCode.INTERNAL), prefix="lstm: ")


def _flush_or_quiet() -> None:
    """Flush stdout now; if its reader has gone (``lstm info --json | head -n 1``), that is
    success, as for ``cat``: point stdout at /dev/null so the exit flush cannot fail again."""
    import os

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _fail(message: str, hint: str | None, code: int, prefix: str = "lstm: error: ") -> None:
    _flush_or_quiet()  # the payload streamed so far, before the error line
    print(f"{prefix}{message}", file=sys.stderr)
    if hint:
        print(f"lstm: hint: {hint}", file=sys.stderr)
    sys.exit(code)


def _is_parser_error(e: Exception) -> bool:
    """Typer's (click's) UsageError and its kin: they carry an exit code and format their message."""
    return hasattr(e, "format_message") and getattr(e, "exit_code", None) == 2


OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def command_options(args: list[str]) -> set[str]:
    """Every option name (``--beam``, ``-b``, ``--no-echo``) of the command that ``args`` runs,
    ``--help`` included; the root's for ``lstm`` alone."""
    cmd = typer.main.get_command(app)
    for a in args:
        sub = getattr(cmd, "commands", {}).get(a)
        if sub is not None:
            cmd = sub
        elif not a.startswith("-"):
            break
    names = {"--help"}
    for p in cmd.params:
        names.update(getattr(p, "opts", []) or [])
        names.update(getattr(p, "secondary_opts", []) or [])
    return names


def _usable_hint(hint: str | None, args: list[str]) -> str | None:
    """A hint only when every option it names is one the running command has: a hint that sends
    the user to a flag the command lacks is worse than none. (A test checks the hints we give.)"""
    if hint and any(opt not in command_options(args) for opt in OPTION.findall(hint)):
        return None
    return hint


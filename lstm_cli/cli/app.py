"""The ``lstm`` entry point: registers one thin module per command and turns our errors into
one line on stderr and a documented exit code (core/errors.py)."""

from __future__ import annotations

import sys

import typer

from lstm_cli.cli import evaluate, export, generate, info, models, train, translate

app = typer.Typer(name="lstm", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Small LSTM tools: generate text, translate, train on your own data, inspect models.")
_state = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors.")):
    _state["debug"] = debug


app.add_typer(train.app, name="train")
app.command("generate")(generate.generate)
app.command("translate")(translate.translate)
app.command("eval")(evaluate.evaluate)
app.command("info")(info.info)
app.command("models")(models.models)
app.command("export")(export.export)


def main() -> None:
    from lstm_cli.core.errors import ExitCode, LstmError

    try:
        app()
    except LstmError as e:
        if _state["debug"]:
            raise
        _quiet_stdout_flush()
        print(f"lstm: error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"lstm: hint: {e.hint}", file=sys.stderr)
        sys.exit(int(e.code))
    except KeyboardInterrupt:
        print("lstm: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as e:  # a bug: one line, unless --debug
        if _state["debug"]:
            raise
        print(f"lstm: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        print("lstm: hint: rerun with --debug for the traceback, and please report it", file=sys.stderr)
        sys.exit(int(ExitCode.INTERNAL))


def _quiet_stdout_flush() -> None:
    """Flush the payload streamed so far before the error line goes to stderr."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass

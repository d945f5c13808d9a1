"""The command line: lazy imports, --help everywhere, one-line errors with documented exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, run_lstm
from lstm_cli.core.errors import ExitCode

COMMANDS = [[], ["train"], ["train", "text"], ["train", "translate"], ["train", "compose"], ["train", "sequences"], ["generate"], ["translate"],
            ["compose"], ["eval"],
            ["info"], ["models"], ["export"], ["serve"]]


@pytest.fixture(scope="module")
def helps():
    """Every command's --help, one after another in one fresh process: for each, its exit code,
    whether it printed a usage, and the heavy modules imported by then (torch, numpy, and the
    server's FastAPI and uvicorn)."""
    import json

    code = ("import contextlib, io, json, sys\n"
            "from lstm_cli.cli.app import main\n"
            "seen = {}\n"
            "for cmd in %r:\n"
            "    sys.argv = ['lstm', *cmd, '--help']\n"
            "    out = io.StringIO()\n"
            "    with contextlib.redirect_stdout(out):\n"
            "        try:\n            main()\n            status = 0\n"
            "        except SystemExit as e:\n            status = e.code or 0\n"
            "    seen[' '.join(cmd)] = [status, 'Usage' in out.getvalue(),\n"
            "                           [m for m in ('torch', 'numpy', 'fastapi', 'uvicorn') if m in sys.modules]]\n"
            "print(json.dumps(seen))\n") % (COMMANDS,)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "lstm")
def test_help_does_not_import_torch(cmd, helps):
    status, usage, heavy = helps[" ".join(cmd)]
    assert status == 0 and usage and not heavy, (status, usage, heavy)


def test_the_entry_point_pins_openblas_to_one_thread_before_numpy_loads():
    """Batch-1 sampling in numpy ran 10-40x slower beside a busy process with OpenBLAS's default
    threads; the pin only works if it is set before numpy is first imported. A user's own
    OPENBLAS_NUM_THREADS is kept."""
    import os

    code = ("import os, sys\nimport lstm_cli.cli.app\n"
            "print(os.environ.get('OPENBLAS_NUM_THREADS'), 'numpy' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.stdout.split() == ["1", "False"], r.stderr
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**env, "OPENBLAS_NUM_THREADS": "2"})
    assert r.stdout.split() == ["2", "False"], r.stderr


def test_unknown_model_suggests_close_names(monkeypatch, tmp_path):
    r = run_lstm("generate", "--model", "shakespear", "-n", "5")
    assert r.returncode == ExitCode.UNKNOWN_MODEL
    assert r.stderr.count("\n") <= 2 and "Traceback" not in r.stderr
    assert "shakespeare" in r.stderr


def test_missing_data_file_is_one_line(tmp_path):
    r = run_lstm("train", "text", "--data", tmp_path / "nope.txt", "-o", tmp_path / "m.pt")
    assert r.returncode == ExitCode.BAD_INPUT
    assert "no such file" in r.stderr and "Traceback" not in r.stderr


def test_binary_data_is_refused(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 10)
    r = run_lstm("train", "text", "--data", junk, "-o", tmp_path / "m.pt")
    assert r.returncode == ExitCode.BAD_INPUT and "binary" in r.stderr


def test_bad_option_value_is_usage_error(tiny_model):
    r = run_lstm("generate", "--model", tiny_model, "--top-p", "0")
    assert r.returncode == ExitCode.USAGE and "--top-p" in r.stderr


def test_corrupt_checkpoint_exit_code(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_text("hello, not a model")
    r = run_lstm("generate", "--model", bad, "-n", "3")
    assert r.returncode == ExitCode.BAD_CHECKPOINT
    assert "not a checkpoint" in r.stderr and "Traceback" not in r.stderr


def test_debug_shows_traceback(tmp_path):
    r = run_lstm("--debug", "info", tmp_path / "missing.pt")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_a_quiet_error_exits_with_its_code_and_says_nothing(monkeypatch, capsys):
    """Training's other ranks stop with the first rank's exit code; only the first says why."""
    from lstm_cli.cli import app as cli_app
    from lstm_cli.core.errors import Interrupted

    def stopped(**kwargs):
        raise Interrupted(15, "interrupted at step 3", quiet=quiet)

    monkeypatch.setattr(cli_app, "app", stopped)
    monkeypatch.setattr(sys, "argv", ["lstm", "train"])
    for quiet, says in ((True, ""), (False, "lstm: error: interrupted at step 3\n")):
        with pytest.raises(SystemExit) as e:
            cli_app.main()
        assert e.value.code == ExitCode.TERMINATED
        assert capsys.readouterr().err == says


def test_models_lists_shipped(tmp_path):
    r = run_lstm("models", "--json")
    assert r.returncode == 0
    import json

    entries = json.loads(r.stdout)
    for name in ("shakespeare", "obama"):
        assert entries[name]["task"] == "text"
        assert entries[name]["metric"]["name"] == "nats_per_char"


def test_info_shows_the_metric_recorded_in_the_manifest():
    """`sequences` was re-measured after export (a better reading, same weights): `lstm info`
    shows the manifest's metric, and the one stored at export beside it."""
    import json

    from lstm_cli.core import registry

    recorded = registry.manifest()["sequences"]["metric"]
    r = run_lstm("info", "sequences", "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["metric"] == recorded
    assert shown.get("metric_at_export", recorded)["name"] == recorded["name"]

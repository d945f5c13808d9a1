"""What a new user hits first: bad option values, bad output paths, hints, tiny data, odd files,
the exit-code table, --version and completion. Each case once got a traceback, a wrong hint, a
wrong code or a lost training run."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT, run_lstm
from lstm_cli.core.errors import ExitCode


def one_line_error(r, code: int) -> str:
    """The run failed with ``code``, on stderr only lines of ours, no traceback; returns stderr."""
    err = r.stderr if isinstance(r.stderr, str) else r.stderr.decode()
    assert r.returncode == code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2 and all(l.startswith("lstm: ") for l in lines), err
    return err


def hint_options_exist(args: list[str], stderr: str) -> None:
    """Every --option a hint names is one the command has."""
    from lstm_cli.cli.app import OPTION, command_options

    have = command_options([str(a) for a in args])
    for line in stderr.splitlines():
        if line.startswith("lstm: hint:"):
            missing = [o for o in OPTION.findall(line) if o not in have]
            assert not missing, (args, line)


# ---------------------------------------------------------------- option values (item 6)

BAD_VALUES = [
    ["generate", "--random-seed", "-1"],
    ["generate", "--random-seed", "99999999999999"],
    ["generate", "--oov", "bogus"],
    ["generate", "--temperature", "nan"],
    ["generate", "--temperature", "inf"],
    ["generate", "--temperature", "-1"],
    ["generate", "--top-p", "1.5"],
    ["generate", "-n", "-3"],
    ["translate", "--beam", "0", "x"],
    ["translate", "--alpha", "nan", "x"],
    ["eval", "--data", "x", "--oov", "replace"],
    ["eval", "--data", "x", "--dynamic-lr", "inf"],
    ["export", "x.pt", "-o", "y.pt", "--storage", "int4"],
    ["train", "text", "--data", "x", "-o", "y.pt", "--lr", "nan"],
    ["train", "text", "--data", "x", "-o", "y.pt", "--dropout", "1"],
    ["train", "text", "--data", "x", "-o", "y.pt", "--random-seed", "-5"],
    ["train", "text", "--data", "x", "-o", "y.pt", "--preset", "huge"],
    ["train", "translate", "--data", "x", "-o", "y.pt", "--device", "tpu"],
    ["generate", "--top-k", "abc"],
    ["generate", "--no-such-flag"],
]


@pytest.mark.parametrize("args", BAD_VALUES, ids=lambda a: " ".join(a))
def test_bad_option_value_is_exit_2_and_one_line(args):
    err = one_line_error(run_lstm(*args), ExitCode.USAGE)
    flag = [a for a in args if re.match(r"^--?[a-z]", a)][-1]  # the last flag is the bad one
    assert flag in err or "No such option" in err
    hint_options_exist(args, err)


def test_random_seed_zero_and_large_work():
    for seed in ("0", str(2**32 - 1)):
        r = run_lstm("generate", "-n", "20", "--random-seed", seed)
        assert r.returncode == 0 and len(r.stdout) > 20, r.stderr


# ---------------------------------------------------------------- output paths (item 5)


def test_bad_output_path_fails_before_training(tmp_path, text_file):
    blocker = tmp_path / "my.txt"
    blocker.write_text("a file, not a folder")
    r = run_lstm("train", "text", "--data", text_file, "-o", blocker / "x.pt", "--preset", "tiny",
                 "--max-steps", "100000")
    err = one_line_error(r, ExitCode.USAGE)
    assert "my.txt is a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my.txt"]  # nothing trained, nothing written
    r = run_lstm("train", "text", "--data", text_file, "-o", tmp_path, "--preset", "tiny")
    assert "is a folder" in one_line_error(r, ExitCode.USAGE)


def test_missing_output_folders_are_created(tmp_path, text_file):
    from conftest import train_args

    out = tmp_path / "new" / "deeper" / "m.pt"
    r = run_lstm(*train_args(text_file, out, steps=3))
    assert r.returncode == 0, r.stderr
    assert out.is_file() and (out.parent / "m.last.pt").is_file()


@pytest.mark.parametrize("args", [
    ("translate", "--attention", "{tmp}/att.jpg", "Jesus wept."),
    ("caption", "docs/examples/shapes/unseen-0.png", "--attention", "{tmp}/att.jpg"),
    ("write", "hi", "-o", "{tmp}/hand.png", "--animate", "{tmp}/pen.png"),
    ("write", "hi", "-o", "{tmp}/hand.png", "--attention", "{tmp}/window.gif"),
    ("inspect", "README.md", "--png", "{tmp}/page.jpg"),
    ("inspect", "README.md", "--html", "{tmp}/page.txt"),
    ("compose", "-o", "{tmp}/o.wav"),
    ("compose", "-o", "{tmp}/o.txt"),
    ("compose", "-o", "{tmp}/o.mid", "--pianoroll", "{tmp}/roll.jpg"),
    ("compose", "-o", "{tmp}/o.mid", "--wav", "{tmp}/o.mid"),
])
def test_output_names_must_match_what_is_written(tmp_path, args):
    """These flags always write one format (PNG, GIF, HTML, MIDI, WAV); a name promising another
    (MIDI in o.wav) is refused before any work, in one line, and nothing is written."""
    r = run_lstm(*(a.format(tmp=tmp_path) for a in args))
    assert "must end in" in one_line_error(r, ExitCode.USAGE) and r.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_bad_attention_and_export_paths(tmp_path, tiny_model):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    r = run_lstm("translate", "--attention", blocker / "att.png", "Jesus wept.")
    assert "--attention" in one_line_error(r, ExitCode.USAGE) and r.stdout == ""
    r = run_lstm("export", tiny_model, "-o", tmp_path)
    assert "is a folder" in one_line_error(r, ExitCode.USAGE)
    r = run_lstm("export", tiny_model, "-o", blocker / "m.pt")
    assert "is a file" in one_line_error(r, ExitCode.USAGE)


# ---------------------------------------------------------------- hints (item 4)


def test_hints_name_only_options_the_command_has(tmp_path, tiny_model, text_file):
    odd = tmp_path / "odd.txt"
    odd.write_text("the cat sat on the mat, said Zoë: «ça va?» " * 20)
    cases = [
        (["export", tiny_model, "-o", tmp_path / "c.pt", "--calibrate", odd], ExitCode.BAD_INPUT, "remove"),
        (["eval", "--model", tiny_model, "--data", odd], ExitCode.BAD_INPUT, "--oov skip"),
        (["generate", "--model", tiny_model, "--seed", "Zoë"], ExitCode.BAD_INPUT, "--oov"),
        (["train", "text", "--data", odd, "--init", tiny_model, "-o", tmp_path / "m.pt"], ExitCode.BAD_INPUT, "alphabet"),
        (["eval", "--model", "en-fr", "--data", text_file], ExitCode.BAD_INPUT, "source<TAB>reference"),
        (["translate", "--model", "obama", "x"], ExitCode.BAD_CHECKPOINT, "lstm models"),
    ]
    errs = []
    for args, code, needle in cases:
        err = one_line_error(run_lstm(*args), code)
        hint_options_exist(args, err)
        assert needle in err, (args, err)
        errs.append(err)
    assert "--oov" not in errs[0] and "--oov" not in errs[3] and "--src" not in errs[4]  # once they did


def test_a_hint_naming_a_missing_option_is_dropped():
    from lstm_cli.cli.app import _usable_hint, command_options

    assert "--oov" in command_options(["generate"]) and "--oov" not in command_options(["export", "x"])
    assert "--dropout" in command_options(["train", "text"]) and "--beam" in command_options(["translate", "x"])
    assert _usable_hint("use --oov skip", ["generate", "-n", "3"]) == "use --oov skip"
    assert _usable_hint("use --oov skip", ["export", "a.pt", "-o", "b.pt"]) is None
    assert _usable_hint("see: lstm models", ["export"]) == "see: lstm models"


# ---------------------------------------------------------------- data and files (items 9, 10)


def test_plain_pickle_gives_only_our_line(tmp_path):
    import pickle

    bad = tmp_path / "old.pt"
    bad.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))
    err = one_line_error(run_lstm("generate", "--model", bad, "-n", "5"), ExitCode.BAD_CHECKPOINT)
    assert "plain pickle" in err and "Warning" not in err


def test_tiny_training_text_warns(tmp_path):
    from conftest import corpus, train_args

    small = tmp_path / "small.txt"
    small.write_text(corpus()[:225])
    r = run_lstm(*train_args(small, tmp_path / "m.pt", steps=2))
    assert r.returncode == 0, r.stderr
    assert "warning: the training text" in r.stderr and "cannot fill one batch of 8 x 32" in r.stderr
    big = tmp_path / "big.txt"
    big.write_text(corpus())
    r = run_lstm(*train_args(big, tmp_path / "m2.pt", steps=2))
    assert r.returncode == 0 and "warning" not in r.stderr


# ---------------------------------------------------------------- exit codes (item 8)


def test_exit_code_table_matches_the_code():
    """The README's table lists exactly the codes of ExitCode; each error class's code is in it."""
    from lstm_cli.core import errors

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Exit codes"):]
    table = table[: table.index("\n\n", table.index("| code |"))]
    codes = set()
    for row in re.findall(r"^\| ([0-9 /]+) \|", table, flags=re.M):
        codes.update(int(c) for c in row.split("/"))
    assert codes == {int(c) for c in ExitCode}
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.LstmError)]
    assert {int(c.code) for c in classes if c is not errors.Interrupted} <= codes
    assert "other task" in table.split("| 4 |")[1].split("\n")[0]


def test_other_task_is_exit_4_by_name_and_by_file(tiny_model):
    one_line_error(run_lstm("translate", "--model", "obama", "Jesus wept."), ExitCode.BAD_CHECKPOINT)
    one_line_error(run_lstm("generate", "--model", "en-fr", "-n", "3"), ExitCode.BAD_CHECKPOINT)
    one_line_error(run_lstm("translate", "--model", tiny_model, "Jesus wept."), ExitCode.BAD_CHECKPOINT)


# ---------------------------------------------------------------- --version, completion (item 11)


def test_version_without_torch():
    code = ("import sys; sys.argv = ['lstm', '--version']\n"
            "from lstm_cli.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
            "assert 'torch' not in sys.modules\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    import torch

    from lstm_cli import __version__

    assert r.stdout.startswith(f"lstm-cli {__version__} (torch {torch.__version__}")


def test_shell_completion():
    r = run_lstm("--help")
    assert "--install-completion" in r.stdout and "--show-completion" in r.stdout
    env = {"_LSTM_COMPLETE": "complete_bash", "COMP_WORDS": "lstm generate --te", "COMP_CWORD": "2"}
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "lstm") if (ROOT / ".venv" / "bin" / "lstm").exists()
                        else "lstm"], capture_output=True, text=True, env={**__import__("os").environ, **env})
    assert r.returncode == 0 and "--temperature" in r.stdout.split()


def test_a_reader_that_stops_early_is_success():
    """`lstm info X --json | head -n 1` and `lstm models | head -n 1` exit 0 (once: 1, now and then)."""
    import os

    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    for cmd in ["lstm info shakespeare --json | head -n 1", "lstm models | head -n 1"] * 4:
        r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=env, cwd=ROOT)
        assert r.returncode == 0 and r.stderr == "", (cmd, r.stderr)

"""What a new user hits first: bad option values, bad output paths, hints, tiny data, odd files,
the exit-code table, --version and completion. Each case once got a traceback, a wrong hint, a
wrong code or a lost training run."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

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
    # no upper bound, once: a segfault, 160 GB asked for, an OverflowError, 4e31 nats/char
    ["train", "text", "--data", "x", "-o", "y.pt", "--threads", "100000"],
    ["train", "text", "--data", "x", "-o", "y.pt", "--hidden", "100000"],
    ["translate", "--alpha", "1e300", "x"],
    ["eval", "--data", "x", "--dynamic-lr", "1e30"],
    ["train", "translate", "--data", "x", "-o", "y.pt", "--batch-tokens", "99999999999"],
    ["train", "write", "--data", "x", "-o", "y.pt", "--mixture", "100000"],
    ["train", "text", "--data", "x", "-o", "y.pt", "--max-time", "nan"],  # once: internal error
    ["train", "text", "--data", "x", "-o", "y.pt", "--max-time", "1e400"],
]


@pytest.mark.parametrize("args", BAD_VALUES, ids=lambda a: " ".join(a))
def test_bad_option_value_is_exit_2_and_one_line(args):
    err = one_line_error(run_lstm(*args), ExitCode.USAGE)
    flag = [a for a in args if re.match(r"^--?[a-z]", a)][-1]  # the last flag is the bad one
    assert flag in err or "No such option" in err
    hint_options_exist(args, err)


def test_every_numeric_option_has_a_range_shown_in_its_help():
    """Each number option of each command says its bounds in --help (and num() refuses beyond them)."""
    import typer

    from lstm_cli.cli.app import app

    def walk(cmd, path=()):
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))

    seen = 0
    for path, cmd in walk(typer.main.get_command(app)):
        for p in cmd.params:
            if getattr(p, "metavar", None) in ("INTEGER", "FLOAT"):
                seen += 1
                assert re.search(r"\[(?:>=? -?[\d,.e+]+, )?<=? [\d,.e+]+\]", p.help or ""), (path, p.opts, p.help)
    assert seen > 50


def test_thread_counts_beyond_the_cpus_are_refused_or_capped(text_file, tmp_path):
    """--threads 100000 once crashed torch (a segmentation fault): it is exit 2 (the option's
    range); LSTM_THREADS, often set by a recipe made on a bigger machine, is capped with a warning."""
    import os

    import torch

    cores = os.cpu_count()
    for env in ("two", "-1"):
        r = run_lstm("train", "text", "--data", text_file, "-o", tmp_path / "m.pt", "--max-steps", 1,
                     env={"LSTM_THREADS": env})
        assert "LSTM_THREADS" in one_line_error(r, ExitCode.USAGE)
    assert not list(tmp_path.iterdir())
    try:
        r = run_lstm("train", "text", "--data", text_file, "-o", tmp_path / "m.pt", "--max-steps", 1, "--preset", "tiny",
                     "--sample-every", 0, env={"LSTM_THREADS": "100000"})
        assert r.returncode == 0 and f"LSTM_THREADS=100000, but this machine has {cores} CPUs" in r.stderr
        assert torch.get_num_threads() == cores
    finally:
        torch.set_num_threads(int(os.environ["LSTM_THREADS"]))


def test_a_model_whose_training_would_not_fit_is_refused_before_the_first_step(text_file, tmp_path, monkeypatch):
    """Its weights fit, but not its gradients and AdamW's moments (here: a machine with 1 KB free)."""
    from conftest import train_args
    from lstm_cli.core import trainer

    monkeypatch.setattr(trainer, "available_memory", lambda device: 1024)
    r = run_lstm(*train_args(text_file, tmp_path / "m.pt", steps=5))
    err = one_line_error(r, ExitCode.USAGE)
    assert re.search(r"a model of [\d,]+ parameters needs about [\d.]+ [MG]B more to train", err), err
    assert not list(tmp_path.iterdir())


def test_huge_text_inputs_are_refused_at_once_and_quoted_short(tiny_model):
    """Once: a 5 MB seed read for 11 minutes with no output, a 5 MB line to translate gave nothing
    in 120 s, predict printed a 5 MB line back in its error. Now each has a cap, and a message
    quotes an excerpt at most."""
    r = run_lstm("generate", "-m", tiny_model, "--seed", "-", "-n", 5, input="the cat sat. " * 2000)
    assert "at most 20,000" in one_line_error(r, ExitCode.BAD_INPUT) and r.stdout == ""
    r = run_lstm("translate", input="one two three. " * 1000 + "\nJesus wept.\n")
    assert r.returncode == ExitCode.BAD_INPUT and r.stdout == "\nJésus pleura.\n", r.stderr
    assert "line 1 has more than 10,000 characters" in r.stderr and len(r.stderr) < 400
    for line, says in (("1 " * 6000, "at most 10,000"), ("1 2 " + "7" * 5000, "more than 30 digits"),
                       ("1 2 x" + "7" * 5000, "not a whole number")):
        r = run_lstm("predict", input=line + "\n")
        assert says in one_line_error(r, ExitCode.BAD_INPUT) and len(r.stderr) < 300, r.stderr[:300]


def test_resuming_a_finished_run_says_there_is_nothing_to_do(tmp_path, text_file):
    """Once it exited 0 in silence (and validated and saved again)."""
    from conftest import train_args

    out = tmp_path / "m.pt"
    assert run_lstm(*train_args(text_file, out, steps=3)).returncode == 0
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    r = run_lstm(*train_args(text_file, out, steps=3), "--resume", tmp_path / "m.last.pt")
    assert r.returncode == 0 and "nothing to do" in r.stderr and "--max-steps 3" in r.stderr, r.stderr
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_no_validation_is_said_and_an_empty_val_data_refused(tmp_path, text_file):
    """Once both trained in silence with no validation (and so no best checkpoint along the way)."""
    from conftest import train_args

    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    r = run_lstm(*train_args(text_file, tmp_path / "m.pt", steps=2), "--val-data", empty)
    assert "--val-data" in one_line_error(r, ExitCode.BAD_INPUT)
    r = run_lstm(*train_args(text_file, tmp_path / "m.pt", steps=2), "--val-fraction", 0)
    assert r.returncode == 0 and "warning: no validation text" in r.stderr, r.stderr
    r = run_lstm(*train_args(text_file, tmp_path / "m.pt", steps=2))
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


def test_weights_that_do_not_fit_their_config_are_exit_4_in_one_line(tiny_model, tmp_path):
    """Once: exit 1 and a page of torch's size mismatches."""
    from lstm_cli.core import checkpoint, registry

    ck = checkpoint.load(tiny_model)
    checkpoint.save(dict(ck, config={**ck["config"], "hidden": 2 * ck["config"]["hidden"]}), tmp_path / "odd.pt")
    for args in (["generate", "-n", 3], ["eval", "--data", "README.md"], ["inspect", "README.md"]):
        err = one_line_error(run_lstm(args[0], "-m", tmp_path / "odd.pt", *args[1:]), ExitCode.BAD_CHECKPOINT)
        assert "do not fit the model its config describes" in err, err
    # lstm write reads its writer and its reader as numpy arrays (no torch): the same check, the same line
    for name in ("hershey-print", "hershey-reader"):
        ck = checkpoint.load(registry.resolve(name))
        checkpoint.save(dict(ck, config={**ck["config"], "hidden": 2 * ck["config"]["hidden"]}), tmp_path / f"{name}.pt")
    for args in (["-m", tmp_path / "hershey-print.pt"], ["--reader", tmp_path / "hershey-reader.pt", "--best-of", 2]):
        err = one_line_error(run_lstm("write", "lo", "-o", tmp_path / "lo.png", *args), ExitCode.BAD_CHECKPOINT)
        assert "do not fit the model its config describes" in err, err


def test_another_preset_on_resume_is_named_as_the_preset(tmp_path, text_file):
    """Once the error blamed --embed, which was never typed."""
    from conftest import train_args

    out = tmp_path / "m.pt"
    assert run_lstm(*train_args(text_file, out, steps=2)).returncode == 0
    r = run_lstm(*train_args(text_file, out, steps=4), "--preset", "small", "--resume", tmp_path / "m.last.pt")
    err = one_line_error(r, ExitCode.USAGE)
    assert err.startswith("lstm: error: --preset small cannot apply") and "--preset small sets --embed 64" in err, err
    assert "leave out --preset" in err


def test_messages_that_once_misled(tmp_path, tiny_model, monkeypatch):
    """Each of these once said something wrong or nothing useful (the comment says what)."""
    r = run_lstm("train", "translate", "-o", tmp_path / "m.pt")  # "no sentence pairs in " (read stdin)
    assert "give --data PAIRS.tsv (- for stdin), or both --src and --tgt" in one_line_error(r, ExitCode.USAGE)
    r = run_lstm("eval", "-m", "bach", "--data", "-")  # "no such file or folder: -", while --help offered -
    assert "not available for 'compose' models" in one_line_error(r, ExitCode.USAGE)
    r = run_lstm("predict", "α", "β", "γ")  # "not a single letter"
    assert "a single Latin letter" in one_line_error(r, ExitCode.BAD_INPUT)
    import json

    info = json.loads(run_lstm("info", tiny_model, "--json").stdout)  # "no (shipped/stripped)"
    assert info["training_state"].endswith(f"its training state is in {tiny_model.with_name('tiny.last.pt')}")
    from lstm_cli.cli import app as cli_app

    monkeypatch.setattr(cli_app, "app", lambda **kw: 1 / 0)  # a bug: "rerun with --debug" (where?)
    assert "lstm: hint: rerun as lstm --debug COMMAND" in one_line_error(run_lstm("models"), ExitCode.INTERNAL)


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


UNWRITABLE = [  # every output flag, into {out}: a folder that refuses new files
    ("train", "text", "--data", "{data}", "-o", "{out}/m.pt", "--preset", "tiny", "--max-steps", "100000"),
    ("compose", "-o", "{out}/o.mid"),
    ("compose", "-o", "{tmp}/o.mid", "--pianoroll", "{out}/roll.png"),
    ("compose", "-o", "{tmp}/o.mid", "--wav", "{out}/o.wav"),
    ("write", "hi", "-o", "{out}/hand.png"),
    ("write", "hi", "-o", "{tmp}/hand.png", "--strokes", "{out}/s.jsonl"),
    ("write", "hi", "-o", "{tmp}/hand.png", "--animate", "{out}/pen.gif"),
    ("write", "hi", "-o", "{tmp}/hand.png", "--attention", "{out}/window.png"),
    ("translate", "--attention", "{out}/att.png", "Jesus wept."),
    ("caption", "docs/examples/shapes/unseen-0.png", "--attention", "{out}/att.png"),
    ("inspect", "README.md", "--png", "{out}/page.png"),
    ("inspect", "README.md", "--html", "{out}/page.html"),
    ("export", "{model}", "-o", "{out}/m.pt"),
    ("export", "{model}", "-o", "{out}/new/folder/m.pt"),
]


@pytest.mark.parametrize("args", UNWRITABLE, ids=lambda a: " ".join(  # the command and the flag that writes in {out}
    [a[0], *[f"{f} {v.split('{out}/')[1]}" for f, v in zip(a, a[1:]) if v.startswith("{out}")]]))
def test_an_output_that_cannot_be_written_is_refused_before_any_work(args, tmp_path, lockable, tiny_model, text_file):
    """Once, only os.access was asked, which says yes for /proc or a read-only mount: training ran
    to the end and lost everything, other commands printed their results, then "internal error".
    Now a file made and removed beside the output proves it first: exit 2, one line, nothing done.
    The folders: a real read-only one (chmod for a user, a read-only bind mount for root) and /proc."""
    folder, lock = lockable
    if lock:
        lock()
    for out in ([folder] if lock else []) + ["/proc"]:
        fill = dict(out=out, tmp=tmp_path, data=text_file, model=tiny_model)
        r = run_lstm(*(a.format(**fill) for a in args), env={"LSTM_SOUNDFONT": str(text_file)})
        err = one_line_error(r, ExitCode.USAGE)
        assert "cannot write in" in err and r.stdout == "", err
        assert [p.name for p in tmp_path.iterdir()] == ["box"] and not list(folder.iterdir())


def test_a_folder_made_read_only_during_training_keeps_the_weights(tmp_path, lockable, text_file, monkeypatch):
    """The save at the end fails (the folder became read-only at step 3): the run stops with exit 2
    and an error that names the path and the folder where the run went instead, whose training
    state resumes."""
    from conftest import train_args
    from lstm_cli.core import checkpoint
    from lstm_cli.tasks import text as task

    folder, lock = lockable
    if lock is None:
        pytest.skip("root here may not mount, so no folder can be made read-only")
    orig = task.TextJob.loss

    def locking_loss(self, model, step, carry):
        if step == 3:
            lock()
        return orig(self, model, step, carry)

    monkeypatch.setattr(task.TextJob, "loss", locking_loss)
    r = run_lstm(*train_args(text_file, folder / "m.pt", steps=6))
    assert r.returncode == ExitCode.USAGE and "Traceback" not in r.stderr, r.stderr
    error, hint = r.stderr.strip().splitlines()[-2:]
    assert error.startswith(f"lstm: error: cannot write {folder / 'm.pt'}: ") and hint.startswith("lstm: hint: "), error
    rescue = Path(re.search(r"the run was saved in (\S+) instead", error).group(1))
    try:
        assert sorted(p.name for p in rescue.iterdir()) == ["m.last.pt", "m.pt"]
        assert checkpoint.load(rescue / "m.last.pt")["train_state"]["step"] == 6
        assert f"--resume {rescue / 'm.last.pt'}" in hint
    finally:
        shutil.rmtree(rescue)
    assert not list(folder.iterdir())


def test_export_with_unusable_eval_data_leaves_no_output(tmp_path, tiny_model):
    """Once, the file was written before its held-out data was read, and stayed when that failed."""
    bad = tmp_path / "bad.txt"
    bad.write_bytes(bytes(range(256)))
    r = run_lstm("export", tiny_model, "-o", tmp_path / "ship" / "m.pt", "--name", "m", "--eval-data", bad)
    assert one_line_error(r, ExitCode.BAD_INPUT)
    assert not (tmp_path / "ship").exists() or not list((tmp_path / "ship").iterdir())


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

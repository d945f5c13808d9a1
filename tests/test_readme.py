"""The README's examples are real: every ``$`` command in its ``console`` blocks is run, in a fresh
folder holding the README and docs/, and its output (stdout and stderr, in order) must match the
lines shown. ``...`` in a shown line matches any text; a line that is only ``...`` matches any
number of lines; a number shown with 3 or more decimals matches one that differs by at most 1 in
its last decimal (CPUs round the last bits of a float differently). The commands of one block run
in order, in one folder.

bash expands each stage of a pipeline (quotes, globs) as a user's shell would; the ``lstm`` stages
then run in this process (``conftest.run_lstm``), and ``head -n N`` keeps the first N lines of
what reaches it. A command with anything else (redirections, ``;``, ``&&``, substitutions) runs
in bash as a whole. Real pipes and processes are tested in test_rough_edges.py and test_text.py.
The output shown is what a terminal shows: stdout line by line (PYTHONUNBUFFERED for bash)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_lstm

README = (ROOT / "README.md").read_text()
USAGE = (ROOT / "docs" / "usage.md").read_text()  # the README's longer examples, run the same way


def console_blocks(text: str) -> list[list[tuple[str, list[str]]]]:
    """Each ```console block as [(command, expected output lines)]."""
    blocks = []
    for body in re.findall(r"^```console\n(.*?)^```$", text, flags=re.M | re.S):
        cmds: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                cmds.append((line[2:], []))
            else:
                assert cmds, f"output before any command: {line!r}"
                cmds[-1][1].append(line)
        blocks.append(cmds)
    return blocks


NUMBER = re.compile(r"-?\d+\.\d{3,}")


def _line(text: str) -> str:
    """``text`` escaped, each number of 3+ decimals a group of the same shape."""
    out, pos = [], 0
    for m in NUMBER.finditer(text):
        out += [re.escape(text[pos:m.start()]), rf"(-?\d+\.\d{{{len(m.group().split('.')[1])}}})"]
        pos = m.end()
    out.append(re.escape(text[pos:]))
    return "".join(out).replace(r"\ ", " ")


def pattern(expected: list[str]) -> re.Pattern:
    parts = []
    for line in expected:
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(map(_line, line.split("..."))) + r"\n")
    return re.compile("".join(parts))


def matches(expected: list[str], got: str) -> bool:
    m = pattern(expected).fullmatch(got)
    if not m:
        return False
    shown = [n for line in expected if line != "..." for n in NUMBER.findall(line)]
    return all(abs(float(a) - float(b)) <= 1.01 * 10 ** -len(b.split(".")[1]) for a, b in zip(m.groups(), shown))


BLOCKS = console_blocks(README)
ALL_BLOCKS = BLOCKS + console_blocks(USAGE)


def test_the_readme_has_examples_of_every_command():
    shown = {cmd for block in BLOCKS for cmd, _ in block}
    for command in ("generate", "translate", "compose", "caption", "write", "predict", "inspect", "eval", "train text", "export", "models", "info", "--version"):
        assert any(f"lstm {command}" in c for c in shown), command


def test_the_clone_points_nowhere_outside_itself():
    """Once, the README, docs, scripts and Makefile sent readers to a folder beside the project."""
    outside = "../" + "shared"  # (spelt so that this file passes too)
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for name in tracked:
        path = ROOT / name
        if path.suffix in (".md", ".py", ".txt", ".toml", "") and path.is_file() and path.stat().st_size < 2_000_000:
            assert outside not in path.read_text(errors="replace"), name
    for link in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]*)?\)", README):
        assert (ROOT / link).is_file(), link


def test_pattern_matching():
    assert pattern(["a ... c", "...", "end"]).fullmatch("a b c\nx\ny\nend\n")
    assert pattern(["a ... c", "...", "end"]).fullmatch("a b c\nend\n")
    assert not pattern(["a ... c"]).fullmatch("a b d\n")
    assert not pattern(["one"]).fullmatch("one\ntwo\n")
    assert matches(["1\t-2.3934\tIl"], "1\t-2.3933\tIl\n") and matches(["x 0.500"], "x 0.501\n")
    assert not matches(["1\t-2.3934\tIl"], "1\t-2.3932\tIl\n") and not matches(["x 0.500"], "x 0.50\n")


def pipeline(cmd: str) -> list[str] | None:
    """The stages of ``cmd`` split at its unquoted ``|``; None when it holds other shell syntax."""
    stages, cur, quote, i = [], "", None, 0
    while i < len(cmd):
        c = cmd[i]
        if quote:
            if c == quote:
                quote = None
            elif quote == '"' and c in "$`":
                return None
            elif c == "\\" and quote == '"':
                cur, i = cur + c, i + 1
                c = cmd[i]
        elif c in "'\"":
            quote = c
        elif c == "\\":
            cur, i = cur + c, i + 1
            c = cmd[i]
        elif c == "|":
            stages.append(cur.strip())
            cur, i = "", i + 1
            continue
        elif c in ";&<>`$(){}":
            return None
        cur += c
        i += 1
    return stages + [cur.strip()]


def shell_words(stage: str, cwd: Path, env: dict) -> list[str]:
    """The argument vector bash makes of ``stage`` in ``cwd``: quotes removed, globs expanded."""
    r = subprocess.run(["bash", "-c", f"printf '%s\\0' {stage}"], cwd=cwd, env=env, capture_output=True, check=True)
    return r.stdout.decode().split("\0")[:-1]


def run_shown(cmd: str, cwd: Path, env: dict) -> tuple[int, str]:
    """``(cmd) 2>&1`` under ``set -o pipefail``: (exit status, the combined output)."""
    stages = pipeline(cmd)
    if stages is None or not stages[-1].startswith("lstm "):
        r = subprocess.run(["bash", "-o", "pipefail", "-c", f"({cmd}) 2>&1"], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=300)
        return r.returncode, r.stdout
    shown, data, status = [], b"", 0
    words = [shell_words(s, cwd, env) for s in stages]
    for k, argv in enumerate(words):
        nxt = words[k + 1] if k + 1 < len(words) else None
        if argv[0] == "lstm":
            r = run_lstm(*argv[1:], input=data, cwd=cwd, env={k: env[k] for k in ("COLUMNS", "LSTM_THREADS")},
                         line_buffered=True)
            status = status or r.returncode
            keep = int(nxt[2]) if nxt and nxt[:2] == ["head", "-n"] else None
            data, lines = b"", 0
            for fd, b in r.chunks:
                if fd == 2:
                    shown.append(b)
                elif nxt is None or keep is not None:  # to the screen, or through head
                    if keep is not None:
                        b = b"".join(b.splitlines(keepends=True)[: max(0, keep - lines)])
                        lines += b.count(b"\n")
                    shown.append(b)
                else:
                    data += b  # to the next stage
        elif argv[:2] == ["head", "-n"]:
            assert k > 0 and words[k - 1][0] == "lstm", cmd  # done with the stage before
        else:
            assert k == 0, cmd
            r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=60)
            status, data = status or r.returncode, r.stdout
            shown.append(r.stderr)
    return status, b"".join(shown).decode()


def test_pipeline():
    assert pipeline("lstm a 'x|y' | head -n 2") == ["lstm a 'x|y'", "head -n 2"]
    assert pipeline("printf 'a\\nb' | lstm predict") == ["printf 'a\\nb'", "lstm predict"]
    assert pipeline("lstm a > out.txt") is None and pipeline("lstm a; lstm b") is None
    assert pipeline('lstm a "$(date)"') is None and pipeline("lstm a '$(date)'") == ["lstm a '$(date)'"]


@pytest.mark.slow
@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda b: b[0][0][:40])
def test_readme_example(block, tmp_path):
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "LSTM_THREADS": "1", "COLUMNS": "120", "PYTHONUNBUFFERED": "1"}
    for cmd, expected in block:
        status, got = run_shown(cmd, tmp_path, env)
        assert status == 0, (cmd, got)
        want = "\n".join(expected) + "\n" if expected else ""
        assert matches(expected, got), f"$ {cmd}\n--- shown:\n{want}--- got:\n{got}"

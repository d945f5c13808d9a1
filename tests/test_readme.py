"""The README's examples are real: every ``$`` command in its ``console`` blocks is run, in a fresh
folder holding the README and docs/, and its output (stdout and stderr, in order) must match the
lines shown. ``...`` in a shown line matches any text; a line that is only ``...`` matches any
number of lines; a number shown with 3 or more decimals matches one that differs by at most 1 in
its last decimal (CPUs round the last bits of a float differently). The commands of one block run
in order, in one folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

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


def test_pattern_matching():
    assert pattern(["a ... c", "...", "end"]).fullmatch("a b c\nx\ny\nend\n")
    assert pattern(["a ... c", "...", "end"]).fullmatch("a b c\nend\n")
    assert not pattern(["a ... c"]).fullmatch("a b d\n")
    assert not pattern(["one"]).fullmatch("one\ntwo\n")
    assert matches(["1\t-2.3934\tIl"], "1\t-2.3933\tIl\n") and matches(["x 0.500"], "x 0.501\n")
    assert not matches(["1\t-2.3934\tIl"], "1\t-2.3932\tIl\n") and not matches(["x 0.500"], "x 0.50\n")


@pytest.mark.slow
@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda b: b[0][0][:40])
def test_readme_example(block, tmp_path):
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "LSTM_THREADS": "1", "COLUMNS": "120"}
    for cmd, expected in block:
        r = subprocess.run(["bash", "-o", "pipefail", "-c", f"({cmd}) 2>&1"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, (cmd, r.stdout)
        want = "\n".join(expected) + "\n" if expected else ""
        assert matches(expected, r.stdout), f"$ {cmd}\n--- shown:\n{want}--- got:\n{r.stdout}"

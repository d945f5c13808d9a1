"""lstm inspect: the cells that track a feature, a cell's states, the surprise, and bad input."""

from __future__ import annotations

import random

import numpy as np
import pytest

from conftest import run_lstm, shared, train_args, train_in_process
from lstm_cli.core.errors import ExitCode
from lstm_cli.tasks import cells


def paren_text(n: int, seed: int) -> str:
    """Lower-case words, and upper-case ones inside parentheses: only a cell that knows whether it
    is inside can tell which case comes next."""
    rng = random.Random(seed)
    words = []
    for _ in range(n):
        if rng.random() < 0.3:
            inner = " ".join("".join(rng.choice("ABCDE") for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 4)))
            words.append(f"({inner})")
        else:
            words.append("".join(rng.choice("abcde") for _ in range(rng.randint(1, 4))))
        if rng.random() < 0.1:
            words.append("\n")
    return " ".join(words).replace(" \n ", "\n")


@pytest.fixture(scope="session")
def paren_model(tmp_path_factory):
    def build(d):
        (d / "train.txt").write_text(paren_text(6000, 0))
        (d / "sample.txt").write_text(paren_text(300, 1))
        train_in_process(train_args(d / "train.txt", d / "paren.pt", steps=200))

    d = shared(tmp_path_factory, "paren", build)
    return d / "paren.pt", d / "sample.txt"


def test_features():
    t = 'a "b" (c [d]) e\nfg'
    assert cells.feature(t, "quotes").tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert cells.feature(t, "brackets").tolist()[6:13] == [1, 1, 1, 2, 2, 2, 1]
    assert cells.feature(t, "line-position").tolist()[-3:] == [15, 0, 1]
    assert cells.feature(t, r"\[.*?\]").tolist()[9:12] == [1, 1, 1]
    states = np.zeros((5, 1, 3), np.float32)
    states[:, 0, 2] = [0, 1, 0, 1, 1]
    states[:, 0, 1] = [1, 0, 0, 1, 0]
    assert cells.rank(states, np.array([0, 1, 0, 1, 1], np.float32), 1) == [(0, 2, pytest.approx(1.0))]


def test_find_brackets_finds_the_inside_cell(paren_model):
    model, sample = paren_model
    r = run_lstm("inspect", sample, "-m", model, "--find", "brackets", "--top", 3)
    assert r.returncode == 0, r.stderr
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    assert len(rows) == 3 and all(":" in c for c, _ in rows)
    best = abs(float(rows[0][1]))
    control = run_lstm("inspect", sample, "-m", model, "--find", "[bd]", "--top", 1)  # a feature nothing needs
    assert best >= 0.6 and best > 1.5 * abs(float(control.stdout.split("\t")[1]))


def test_cell_surprise_and_pictures(paren_model, tmp_path):
    model, sample = paren_model
    text = sample.read_text()
    r = run_lstm("inspect", sample, "-m", model, "--cell", "0:3", "--html", tmp_path / "c.html",
                 "--png", tmp_path / "c.png")
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert len(rows) == len(text) and all(-1 <= float(l.split("\t")[2]) <= 1 for l in rows)
    assert (tmp_path / "c.html").read_text().count("<span") == len(text) - text.count("\n")
    from PIL import Image

    assert Image.open(tmp_path / "c.png").height > 100
    r = run_lstm("inspect", "-", "-m", model, input=text)
    assert r.returncode == 0 and "nats/char" in r.stderr
    assert all(float(l.split("\t")[2]) >= 0 for l in r.stdout.splitlines())


def test_inspect_bad_input(paren_model, tmp_path):
    model, sample = paren_model
    for args, code in [(["--cell", "9:0"], ExitCode.USAGE), (["--cell", "x"], ExitCode.USAGE),
                       (["--find", "(unclosed"], ExitCode.USAGE), (["--cell", "0:1", "--surprise"], ExitCode.USAGE),
                       (["--find", "nothing_matches_xyz"], ExitCode.USAGE), (["--find", ""], ExitCode.USAGE),
                       (["--find", "(?s).*"], ExitCode.USAGE)]:  # once: exit 0, every cell at +0.000
        r = run_lstm("inspect", sample, "-m", model, *args)
        assert r.returncode == code and "Traceback" not in r.stderr, (args, r.stderr)
    (tmp_path / "e.txt").write_text("")
    (tmp_path / "z.txt").write_text("xyz unknown to it")
    for f, needle in [(tmp_path / "e.txt", "empty"), (tmp_path / "z.txt", "x"), (tmp_path / "none.txt", "no such file")]:
        r = run_lstm("inspect", f, "-m", model)
        assert r.returncode == ExitCode.BAD_INPUT and needle in r.stderr, r.stderr


def test_a_tab_in_the_picture_is_blank_to_the_next_tab_stop(tmp_path):
    """Once each tab was drawn as a box glyph (docs/inspect-linux.png showed them)."""
    from PIL import Image, ImageChops

    from lstm_cli.render import cells as draw

    for tabbed, spaced in (("\tx", " " * 8 + "x"), ("ab\tx\n", "ab" + " " * 6 + "x\n")):
        for name, text in (("t", tabbed), ("s", spaced)):  # every value the same: the tab's boxes too
            draw.png(text, np.full(len(text), 0.5, np.float32), False, "tabs", str(tmp_path / f"{name}.png"))
        a, b = (Image.open(tmp_path / f"{n}.png").convert("RGB") for n in "ts")
        assert ImageChops.difference(a, b).getbbox() is None, repr(tabbed)

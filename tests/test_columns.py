"""The column model that ``lstm predict`` reads (tasks/columns.py): numbers as aligned digit
columns in ten's complement, windows drawn from lines, the beam over columns, and
``lstm train sequences`` from the command line. Properties of any network, not of a trained one."""

import json
import os
import signal

import numpy as np
import pytest
import torch
from conftest import run_lstm

from lstm_cli.core.errors import ExitCode, InputError
from lstm_cli.tasks import columns as C

CFG = C.SequencesConfig(digits=9, terms=6, hidden=8, layers=1, decoder=8)


def test_numbers_round_trip_through_complement_digits():
    for v in (0, 7, -1, 400, -99_999, 10**9 - 1, -(10**9 - 1), 10**10 - 1, -(10**10 - 1)):
        d = C.digits_of(CFG, np.array([v]))[0]
        assert C.value_of(CFG, d, False, False) == str(v)
    assert (C.digits_of(CFG, np.array([-1]))[0] == 9).all()  # ten's complement: -1 = 99...9
    assert C.value_of(CFG, C.digits_of(CFG, np.array([10**10]))[0], False, False) is None  # one digit too many
    assert C.value_of(CFG, C.digits_of(CFG, np.array([25]))[0], True, True) == "Z"
    assert C.value_of(CFG, C.digits_of(CFG, np.array([26]))[0], True, False) is None  # past z
    assert C.value_of(CFG, C.digits_of(CFG, np.array([-1]))[0], True, False) is None  # before a


def _slot(x, t, i):
    """The features of slot t at column i."""
    return x[i, t * C.SLOT: (t + 1) * C.SLOT]


def test_columns_align_the_elements_at_their_lowest_digit():
    values = np.array([[0, 0, 0, 3, 40, -5]])
    present = np.array([[False, False, False, True, True, True]])
    x = C.columns_of(CFG, values, present, np.array([False]), np.array([False]))[0]
    assert x.shape == (CFG.columns, CFG.features)
    assert not x[:, : 3 * C.SLOT].any()  # empty slots are zeros
    assert _slot(x, 4, 0)[0] == 1 and _slot(x, 4, 1)[4] == 1  # 40: 0 then 4 (complement digits)
    assert _slot(x, 4, 1)[10 + 4] == 1 and _slot(x, 4, 1)[21] == 1 and _slot(x, 4, 2)[21] == 0  # magnitude; has a digit
    assert _slot(x, 5, 0)[5] == 1 and _slot(x, 5, 1)[9] == 1 and _slot(x, 5, 0)[20] == 1  # -5 = ...995, negative
    assert (x[:, 6 * C.SLOT: 6 * C.SLOT + CFG.columns] == np.eye(CFG.columns)).all()  # the column's place


def _rows(x, letters=False):
    """The present elements of each window, read back from its columns' complement digits."""
    out = []
    for w in x:
        row = []
        for t in range(CFG.terms):
            if _slot(w, t, 0)[22]:
                digits = [int(np.argmax(_slot(w, t, i)[:10])) for i in range(CFG.columns)]
                row.append(C.value_of(CFG, digits, letters, False))
        out.append(row)
    return out


def test_a_window_is_the_elements_just_before_its_target():
    lines = C.Lines([([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], False, False), ([-5, 10, -20, 40], False, False)])
    x, y = lines.draw(CFG, np.random.default_rng(3), 64)
    x2, y2 = lines.draw(CFG, np.random.default_rng(3), 64)
    assert (x == x2).all() and (y == y2).all()  # a pure function of the generator's seed
    for given, target in zip(_rows(x), y):
        want = C.value_of(CFG, target, False, False)
        seq = [int(v) for v in given] + [int(want)]
        assert 2 <= len(given) <= CFG.terms
        assert any(seq == full[i: i + len(seq)] for full in ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [-5, 10, -20, 40])
                   for i in range(len(full))), seq
    x, y = lines.last(CFG)
    assert _rows(x) == [["4", "5", "6", "7", "8", "9"], ["-5", "10", "-20"]] and C.value_of(CFG, y[1], False, False) == "40"


def test_lines_are_read_cut_and_checked(tmp_path):
    f = tmp_path / "lines.txt"
    f.write_text("double\t3 6 12 24\n5, 6\n1 2 3 12345678901 4\na b c d\n\n")
    said = []
    lines = C.read_lines([str(f)], CFG, said.append)
    assert len(lines) == 3 and lines.lens.tolist() == [4, 3, 4] and lines.letters.tolist() == [False, False, True]
    assert any("cut before an element of more than 9 digits" in s for s in said)
    assert any("fewer than 3 elements" in s for s in said)
    f.write_text("1 2 3\n1 2 x3\n")
    with pytest.raises(InputError, match="line 2"):
        C.read_lines([str(f)], CFG, said.append)


@pytest.fixture(scope="module")
def predictor():
    torch.manual_seed(0)
    net = C.ColumnNet(CFG)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(8)  # confident enough that the answers differ
    return C.ColumnPredictor(net)


def test_the_beam_ranks_answers_by_their_exact_probability(predictor):
    batch = [["6", "7", "8"], ["2", "4", "8"], ["-44", "88", "-176"], ["a", "b", "c"]]
    ranked = predictor.ranked_many(batch, 4)
    for items, got in zip(batch, ranked):
        ps = [p for _, p in got]
        assert ps == sorted(ps, reverse=True) and sum(ps) <= 1 + 1e-6
        assert np.allclose(predictor.probability_many([items] * len(got), [a for a, _ in got]), ps, rtol=1e-4)
    assert predictor.probability_many([["a", "b"], ["1", "2"]], ["7", "c"]) == [0.0, 0.0]  # the other kind


def test_a_batch_answers_each_sequence_as_it_would_alone(predictor):
    batch = [["1", "2", "3"], ["100", "200", "300"], ["5", "-17", "5", "-17"], ["z", "y", "x"], ["3", "9"]]
    together = predictor.ranked_many(batch, 3)
    for items, got in zip(batch, together):
        alone = predictor.ranked_many([items], 3)[0]
        assert [a for a, _ in alone] == [a for a, _ in got]
        assert np.allclose([p for _, p in alone], [p for _, p in got], rtol=1e-4)


def test_a_number_longer_than_the_model_reads_is_refused(predictor):
    predictor.encode(["123456789", "1"])
    with pytest.raises(InputError, match="too long for this model"):
        predictor.encode(["1234567890", "1"])


def test_train_predict_eval_and_resume_from_the_command_line(tmp_path, monkeypatch):
    data = tmp_path / "lines.txt"
    data.write_text("".join(f"{a} {a + d} {a + 2 * d} {a + 3 * d} {a + 4 * d}\n" for a in range(1, 40) for d in (1, 2, 5)))
    args = ["train", "sequences", "--data", data, "--hidden", "8", "--layers", "1", "--decoder", "8",
            "--batch-size", "16", "--eval-every", "4", "--sample-every", "4", "--log-every", "2", "--warmup", "2",
            "--random-seed", "0"]
    r = run_lstm(*args, "-o", tmp_path / "straight.pt", "--max-steps", "8")
    assert r.returncode == 0, r.stderr
    assert "held-out lines" in r.stdout + r.stderr
    orig = C.SequencesJob.loss

    def interrupted_loss(self, model, step, carry):
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # the trainer finishes the step, saves and stops
        return orig(self, model, step, carry)

    monkeypatch.setattr(C.SequencesJob, "loss", interrupted_loss)
    r = run_lstm(*args, "-o", tmp_path / "halves.pt", "--max-steps", "8")
    assert r.returncode == ExitCode.INTERRUPTED, r.stderr
    monkeypatch.setattr(C.SequencesJob, "loss", orig)
    r = run_lstm(*args, "-o", tmp_path / "halves.pt", "--resume", tmp_path / "halves.last.pt")
    assert r.returncode == 0, r.stderr
    a = torch.load(tmp_path / "straight.last.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "halves.last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # windows are a pure function of the step

    model = tmp_path / "straight.pt"
    r = run_lstm("predict", "-m", model, "--explain", "6", "7", "8")
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.lstrip("-").isdigit()
    r = run_lstm("predict", "-m", model, "1234567890", "1")
    assert r.returncode == ExitCode.BAD_INPUT and "too long for this model" in r.stderr
    r = run_lstm("eval", "-m", model, "--data", data, "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["metric"] == "accuracy" and got["sequences"] == 117 and 0 <= got["accuracy"] <= 100
    r = run_lstm("train", "sequences", "--data", data, "-o", tmp_path / "x.pt", "--init", model, "--hidden", "16")
    assert r.returncode != 0 and "--hidden 16 cannot apply" in r.stderr

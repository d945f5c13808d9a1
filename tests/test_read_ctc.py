"""CTC decoding for the reader (lstm_cli/tasks/read/ctc.py), against brute force over every path
and against torch's CTC loss."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lstm_cli.tasks.read import ctc


def log_softmax_rows(T: int, V: int, seed: int) -> np.ndarray:
    z = np.random.default_rng(seed).normal(0, 2, (T, V))
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def brute_force(lp: np.ndarray, blank: int = 0) -> dict[tuple[int, ...], float]:
    """log p(labelling) for every labelling: the sum over all V^T paths that read as it."""
    T, V = lp.shape
    out: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(V), repeat=T):
        p = sum(lp[t, k] for t, k in enumerate(path))
        lab = ctc.collapse(path, blank)
        out[lab] = np.logaddexp(out.get(lab, -math.inf), p)
    return out


def test_collapse_and_best_path():
    assert ctc.collapse([0, 1, 1, 0, 1, 2, 2, 0]) == (1, 1, 2)
    assert ctc.collapse([3, 3, 3], blank=3) == ()
    lp = np.log(np.array([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1]]))
    assert ctc.best_path(lp) == (1, 1)


@pytest.mark.parametrize("seed", range(4))
def test_a_wide_prefix_beam_scores_every_labelling_exactly(seed):
    lp = log_softmax_rows(5, 3, seed)
    truth = brute_force(lp)
    found = ctc.prefix_beam(lp, beam=10_000, n_best=10_000)
    assert {lab for lab, _ in found} == set(truth)
    for lab, score in found:
        assert score == pytest.approx(truth[lab], abs=1e-9)
    assert found[0][0] == max(truth, key=truth.get)
    assert ctc.prefix_beam(lp, beam=16)[0][0] == max(truth, key=truth.get)  # a modest beam finds it too


def test_scores_agree_with_torch_ctc_loss():
    lp = log_softmax_rows(7, 4, 9)
    for lab, score in ctc.prefix_beam(lp, beam=10_000, n_best=5):
        if not lab:
            continue
        loss = torch.nn.functional.ctc_loss(torch.tensor(lp)[:, None], torch.tensor([lab]), torch.tensor([7]),
                                            torch.tensor([len(lab)]), blank=0, reduction="sum")
        assert -loss.item() == pytest.approx(score, abs=1e-6)


def test_best_path_is_not_always_the_likeliest_labelling():
    """Two steps: the likeliest single path is blank-blank (0.36), but 'a' has three paths (0.48)."""
    lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    assert ctc.best_path(lp) == ()
    assert ctc.prefix_beam(lp, beam=4)[0][0] == (1,)


def test_a_language_model_changes_the_reading():
    """Label 1 a little likelier than 2 at each step; an LM that prefers 2 tips the reading."""
    lp = np.log(np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.1, 0.5, 0.4]]))
    assert ctc.prefix_beam(lp, beam=8)[0][0] == (1, 1)

    def lm(prefix, label):
        return math.log(0.9 if label == 2 else 0.1)

    assert ctc.prefix_beam(lp, beam=8, lm=lm, lm_weight=1.0)[0][0] == (2, 2)
    plain = dict(ctc.prefix_beam(lp, beam=64, n_best=64))
    bonus = dict(ctc.prefix_beam(lp, beam=64, n_best=64, bonus=0.5))
    for lab in plain:
        assert bonus[lab] == pytest.approx(plain[lab] + 0.5 * len(lab))


def test_the_forward_recursion_agrees_with_torch_ctc_loss():
    """ctc.nll (lstm write's judge, without torch): several inputs of different lengths held to
    one labelling at once, each as torch's CTC loss scores it alone; repeated labels need a blank
    between them, so too few steps give inf; an empty labelling is the all-blank path."""
    import numpy as np

    inputs = [log_softmax_rows(T, 4, T) for T in (1, 2, 3, 6, 9)]
    for labels in ([1, 2, 3], [2, 2], [3], []):
        got = ctc.nll(inputs, labels)
        for lp, g in zip(inputs, got):
            want = torch.nn.functional.ctc_loss(torch.tensor(lp)[:, None], torch.tensor([labels], dtype=torch.long),
                                                torch.tensor([len(lp)]), torch.tensor([len(labels)]), blank=0,
                                                reduction="sum").item()
            assert g == pytest.approx(want, abs=1e-9) if np.isfinite(want) else g == np.inf, (labels, len(lp))
    assert ctc.nll(inputs[:2], [2, 2]).tolist() == [np.inf, np.inf]  # 1 or 2 steps cannot read "2 blank 2"

"""Decoding a CTC output (Graves et al. 2006): per time step, log-probabilities over the labels
and a blank. A labelling is read off a path by merging repeated labels, then dropping blanks;
its probability is the sum over every path that reads as it.

- :func:`nll`: -log p(labelling | input), summed over every path that reads as it (the forward
  algorithm; the CTC loss), for several inputs held to one labelling at once.
- :func:`best_path`: the likeliest path's labelling (fast, not always the likeliest labelling).
- :func:`prefix_beam`: prefix beam search (Graves 2012, section 7.5; Hannun et al. 2014), which
  sums the paths of each prefix, optionally with a language model's log-probability of each next
  label (``lm``, times ``lm_weight``) and a bonus per label (against the LM's bias to short text).

numpy, float64, in log space; ``log_probs`` is (T, V) with the blank at index ``blank``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

NEG = -math.inf


def _add(a: float, b: float) -> float:
    """log(exp(a) + exp(b))."""
    if a == NEG:
        return b
    if b == NEG:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def collapse(path: Sequence[int], blank: int = 0) -> tuple[int, ...]:
    """The labelling a path reads as: repeats merged, then blanks dropped."""
    out, prev = [], None
    for k in path:
        if k != prev and k != blank:
            out.append(int(k))
        prev = k
    return tuple(out)


def nll(log_probs: list[np.ndarray], labels: Sequence[int], blank: int = 0) -> np.ndarray:
    """-log p(``labels`` | each input) for each of ``log_probs`` (T_i, V) (one labelling, many
    inputs: ``lstm write --best-of`` holds its drawings of a line to the line's text): the sum
    over every path that reads as ``labels``, by the forward recursion over the labels with a
    blank between and around them (Graves et al. 2006, eq. 6-8), all inputs stepped together.
    inf where an input has too few steps for the labels."""
    N, L = len(log_probs), len(labels)
    if not N:
        return np.empty(0)
    ext = np.full(2 * L + 1, blank)
    ext[1::2] = labels
    S = len(ext)
    T = np.array([len(lp) for lp in log_probs])
    la = np.full((N, int(T.max()), S), NEG)
    for i, lp in enumerate(log_probs):
        la[i, : T[i]] = np.asarray(lp, np.float64)[:, ext]
    skip = np.zeros(S, bool)  # a label may follow the one before the blank before it, if it differs
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    alpha = np.full((N, S), NEG)
    alpha[:, :2] = la[:, 0, :2]
    with np.errstate(invalid="ignore"):  # -inf - -inf in logaddexp: still -inf where it matters
        for t in range(1, la.shape[1]):
            prev = np.full((N, S), NEG)
            prev[:, 1:] = alpha[:, :-1]
            two = np.full((N, S), NEG)
            two[:, 2:] = np.where(skip[2:], alpha[:, :-2], NEG)
            step = np.logaddexp(np.logaddexp(alpha, prev), two) + la[:, t]
            alpha = np.where((t < T)[:, None], step, alpha)  # an input that has ended keeps its last
    end = np.logaddexp(alpha[:, -1], alpha[:, -2]) if L else alpha[:, -1]
    return -end


def best_path(log_probs: np.ndarray, blank: int = 0) -> tuple[int, ...]:
    """The labelling of the likeliest single path (the argmax at every step)."""
    return collapse(np.asarray(log_probs).argmax(-1).tolist(), blank)


def prefix_beam(log_probs: np.ndarray, beam: int = 8, blank: int = 0, n_best: int = 1,
                lm: Callable[[tuple[int, ...], int], float] | None = None, lm_weight: float = 0.0,
                bonus: float = 0.0, prune: float = NEG) -> list[tuple[tuple[int, ...], float]]:
    """The ``n_best`` likeliest labellings found keeping ``beam`` prefixes per step, each with
    its score: log p(labelling | input) summed over its paths, plus ``lm_weight`` x the LM's
    log-probability of each label given the ones before it (``lm(prefix, label)``) and ``bonus``
    per label. Without an LM and with a beam as wide as the prefixes, the scores are exact.
    ``prune``: at each step, labels with a log-probability below it are not tried (faster;
    ``-inf``: every label)."""
    lp = np.asarray(log_probs, dtype=np.float64)
    T, V = lp.shape
    # prefix -> [log p(paths ending in a blank), log p(paths ending in its last label), LM score]
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG, 0.0]}
    for t in range(T):
        row = lp[t]
        nxt: dict[tuple[int, ...], list[float]] = {}

        def entry(prefix, extra):
            if prefix not in nxt:
                nxt[prefix] = [NEG, NEG, extra]
            return nxt[prefix]

        labels = [k for k in range(V) if k != blank and row[k] >= prune]
        for prefix, (pb, pnb, extra) in beams.items():
            total = _add(pb, pnb)
            e = entry(prefix, extra)  # a blank, or the last label again: the same prefix
            e[0] = _add(e[0], total + row[blank])
            if prefix:
                e[1] = _add(e[1], pnb + row[prefix[-1]])
            for k in labels:
                longer = prefix + (k,)
                # after the same label, only paths with a blank between them make a new label
                p = (pb if prefix and k == prefix[-1] else total) + row[k]
                if p == NEG:
                    continue  # no path reads as it (yet)
                if longer not in nxt:
                    gain = bonus + (lm_weight * lm(prefix, k) if lm is not None else 0.0)
                    entry(longer, extra + gain)
                nxt[longer][1] = _add(nxt[longer][1], p)
        scored = sorted(nxt.items(), key=lambda kv: _add(kv[1][0], kv[1][1]) + kv[1][2], reverse=True)
        beams = dict(scored[:beam])
    ranked = sorted(((p, _add(pb, pnb) + extra) for p, (pb, pnb, extra) in beams.items()),
                    key=lambda x: x[1], reverse=True)
    return ranked[:n_best]

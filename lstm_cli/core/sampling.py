"""Turning a model's next-token scores into choices: temperature, top-k, top-p (nucleus).

    p_i = softmax(z / T)_i                  temperature T (T -> 0 is greedy argmax)
    top-k: keep the k largest p_i; top-p: keep the smallest set whose mass reaches p; renormalise.
"""

from __future__ import annotations

from lstm_cli.core.errors import UsageError


def check_options(temperature: float, top_k: int, top_p: float) -> None:
    if temperature < 0:
        raise UsageError(f"--temperature must be >= 0, got {temperature}")
    if top_k < 0:
        raise UsageError(f"--top-k must be >= 0 (0 = off), got {top_k}")
    if not 0 < top_p <= 1:
        raise UsageError(f"--top-p must be in (0, 1], got {top_p}")


def pick(logits, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, rng=None) -> int:
    """Sample one index from 1-D numpy ``logits`` (V,) with a ``numpy.random.Generator``."""
    import numpy as np

    if temperature == 0:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    if 0 < top_k < z.size:
        kth = np.partition(z, -top_k)[-top_k]
        z[z < kth] = -np.inf
    p = np.exp(z - z.max())
    if top_p < 1.0:
        p /= p.sum()
        order = np.argsort(-p, kind="stable")
        sorted_p = p[order]
        # keep a token while the mass *before* it is below top_p (so the top token always stays)
        p[order[(np.cumsum(sorted_p) - sorted_p) >= top_p]] = 0.0
    cdf = np.cumsum(p)
    rng = rng if rng is not None else np.random.default_rng()
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), p.size - 1))

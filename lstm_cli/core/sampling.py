"""Turning a model's next-token scores into choices.

Sampling, one token at a time (text generation; :class:`LSTMStream` is the fast batch-1 loop)::

    p_i = softmax(z / T)_i                  temperature T (T -> 0 is greedy argmax)
    top-k: keep the k largest p_i; top-p: keep the smallest set whose mass reaches p; renormalise.

Search, for sequence-to-sequence tasks (translation, captions): :func:`greedy` and
:func:`beam_search`, batched over sentences. Both drive a task's ``step(y, state) -> (log_probs
(N, V), state, extra (N, S) or None)``, where ``state`` is a tensor or a (nested) list/tuple of
tensors with one row per hypothesis, and rank finished hypotheses by log p / :func:`length_penalty`.
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


def fused_gate_rows(w, H: int):
    """An LSTM's gate weights (4H, n) or biases (4H,), torch's order [i, f, g, o] (a torch tensor,
    on any device, or a numpy array) -> a float32 numpy array in the order [i, f, o, g] with the
    sigmoid rows halved, so that :func:`fused_step` needs one tanh for all four gates:
    sigmoid(x) = (tanh(x / 2) + 1) / 2."""
    import numpy as np

    if hasattr(w, "detach"):  # a torch tensor (a model training on a GPU, too)
        w = w.detach().float().cpu().numpy()
    w = np.asarray(w, np.float32)
    w = np.concatenate([w[: 2 * H], w[3 * H: 4 * H], w[2 * H: 3 * H]])
    w[: 3 * H] *= 0.5
    return w


def fused_step(g, c, h, tmp, H: int) -> None:
    """One LSTM update in numpy, in place, from pre-activations ``g`` (..., 4H) in
    :func:`fused_gate_rows`' order: c = f * c + i * g; h = o * tanh(c). ``tmp`` (..., H) is
    scratch; ``g`` is overwritten."""
    _update(g, g[..., : 3 * H], (g[..., :H], g[..., H: 2 * H], g[..., 2 * H: 3 * H], g[..., 3 * H:]), c, h, tmp)


def blocked_step(g, c, h, tmp) -> None:
    """:func:`fused_step` for pre-activations in blocks, ``g`` (4k, ..., n): gate j (in
    :func:`fused_gate_rows`' order) is ``g[j*k: (j+1)*k]``; ``c``, ``h``, ``tmp`` (k, ..., n). The
    write pen's products come out so (``tasks/write/pen.py``)."""
    k = len(g) // 4
    _update(g, g[: 3 * k], (g[:k], g[k: 2 * k], g[2 * k: 3 * k], g[3 * k:]), c, h, tmp)


def _update(g, sig, gates, c, h, tmp) -> None:
    """The LSTM update on views of ``g`` (the pre-activations, the sigmoid gates' halved): ``sig``
    the three sigmoid gates together, ``gates`` i, f, o, g each; tanh over all of ``g`` turns
    ``sig`` into sigmoids by (t + 1) / 2."""
    import numpy as np

    np.tanh(g, out=g)
    sig += 1.0
    sig *= 0.5
    i, f, o, gg = gates
    c *= f
    np.multiply(i, gg, out=tmp)
    c += tmp
    np.tanh(c, out=tmp)
    np.multiply(o, tmp, out=h)


class LSTMStream:
    """Incremental generation at batch 1 for any embedding -> ``nn.LSTM`` -> linear head stack over
    token ids (characters, music events, ...), one token per step, without re-feeding the prefix.

    Per step the work is matrix-vector products, which are memory-bound, so they are made as few
    and as small as possible, and run in numpy/OpenBLAS (about twice as fast as ``torch.mv`` on
    this kind of CPU, with less per-call overhead than torch for the small element-wise ops):
    - layer 0's input projection W_ih0 e_x + b is precomputed for every token: a (V, 4H) table;
    - every higher layer does one product with [W_ih | W_hh] (4H, 2H) against [h_below; h];
    - gate rows are reordered to [i, f, o, g] and the sigmoid rows scaled by 1/2, so one tanh
      serves all four gates: sigmoid(x) = (tanh(x / 2) + 1) / 2.
    """

    def __init__(self, embed_weight, lstm, head):
        import numpy as np
        import torch

        H, L = lstm.hidden_size, lstm.num_layers

        def prep(w):  # rows to [i, f, o, g], sigmoid rows halved; float32 numpy
            return np.ascontiguousarray(fused_gate_rows(w, H))

        with torch.no_grad():
            self.table = prep((embed_weight @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0).T).T
            self.table = np.ascontiguousarray(self.table)  # (V, 4H)
            self.w = [prep(lstm.weight_hh_l0)]  # (4H, H)
            self.b = [None]
            for l in range(1, L):
                self.w.append(prep(torch.cat([getattr(lstm, f"weight_ih_l{l}"),
                                              getattr(lstm, f"weight_hh_l{l}")], 1)))  # (4H, 2H)
                self.b.append(prep(getattr(lstm, f"bias_ih_l{l}") + getattr(lstm, f"bias_hh_l{l}")))
            self.w_out = np.ascontiguousarray(head.weight.detach().float().cpu().numpy())  # (V, H)
            self.b_out = head.bias.detach().float().cpu().numpy().copy()
        self.H, self.L = H, L
        # xh[l] = [h_{l-1}; h_l] for l >= 1 and xh[0] = h_0: writing h into these avoids copies.
        self.xh = [np.zeros(H, np.float32)] + [np.zeros(2 * H, np.float32) for _ in range(1, L)]
        self.c = [np.zeros(H, np.float32) for _ in range(L)]
        self.gates = np.empty(4 * H, np.float32)
        self.tmp = np.empty(H, np.float32)
        self.logits = np.empty(self.w_out.shape[0], np.float32)

    def step(self, idx: int):
        """Advance one token; returns the logits (V,) for the next one (a reused buffer)."""
        import numpy as np

        H, g, tmp = self.H, self.gates, self.tmp
        for l in range(self.L):
            np.dot(self.w[l], self.xh[l], out=g)
            g += self.table[idx] if l == 0 else self.b[l]
            h = self.xh[l] if l == 0 else self.xh[l][H:]
            fused_step(g, self.c[l], h, tmp, H)
            if l + 1 < self.L:
                self.xh[l + 1][:H] = h
        np.dot(self.w_out, h, out=self.logits)
        self.logits += self.b_out
        return self.logits

    def rows(self):
        """The current state as one row of a batch for :meth:`step_rows`: (h, c), each a list per
        layer of (1, H) arrays."""
        H = self.H
        h = [self.xh[0]] + [a[H:] for a in self.xh[1:]]
        return [x[None].copy() for x in h], [x[None].copy() for x in self.c]

    def step_rows(self, ids, rows):
        """Advance B states by one token each at once (a search's branches: one matrix product
        per layer instead of B): ``ids`` (B,), ``rows`` (h, c) as from :meth:`rows`, stacked or
        indexed. -> (logits (B, V), the new rows). Leaves the single-stream state alone."""
        import numpy as np

        H = self.H
        h_in, c_in = rows
        h_out, c_out = [], []
        below = None
        for l in range(self.L):
            if l == 0:
                g = h_in[0] @ self.w[0].T
                g += self.table[ids]
            else:
                g = np.concatenate([below, h_in[l]], axis=1) @ self.w[l].T
                g += self.b[l]
            np.tanh(g, out=g)
            s = g[:, : 3 * H]
            s += 1.0
            s *= 0.5
            c = g[:, H: 2 * H] * c_in[l] + g[:, :H] * g[:, 3 * H:]
            below = g[:, 2 * H: 3 * H] * np.tanh(c)
            h_out.append(below)
            c_out.append(c)
        logits = below @ self.w_out.T
        logits += self.b_out
        return logits, (h_out, c_out)

    def save(self) -> list:
        """A copy of the state, for :meth:`restore` (a search that takes tokens back)."""
        return [a.copy() for a in self.xh + self.c]

    def restore(self, saved: list) -> None:
        for a, s in zip(self.xh + self.c, saved):
            a[...] = s

    def reset(self) -> None:
        """Back to the zero state, as before the first token."""
        for a in self.xh + self.c:
            a.fill(0.0)

    def feed(self, ids):
        """Read the tokens ``ids`` (at least one); returns the logits after the last."""
        for idx in ids:
            logits = self.step(int(idx))
        return logits

    def stream_ids(self, logits, n: int, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                   random_seed: int | None = None):
        """Yield ``n`` sampled token ids one by one, continuing from ``logits``."""
        import numpy as np

        rng = np.random.default_rng(random_seed)
        for k in range(n):
            idx = pick(logits, temperature, top_k, top_p, rng)
            yield idx
            if k + 1 < n:
                logits = self.step(idx)


def fit_temperature(logits, targets, lo: float = 0.05, hi: float = 20.0) -> float:
    """The softmax temperature T in [lo, hi] under which ``targets`` (N,) are likeliest given
    ``logits`` (N, V): temperature scaling (Guo et al. 2017), fitted on held-out data. A model that
    fits its training text better than new text is over-confident there, and T > 1 tempers it.
    The mean cross-entropy of softmax(b * z) is convex in b = 1/T, so a golden-section search on b
    finds the minimum."""
    import math

    import torch.nn.functional as F

    logits = logits.double()  # near its minimum the loss is flat: float32 would blur T by ~1e-3

    def loss(b: float) -> float:
        return F.cross_entropy(logits * b, targets).item()

    g = (math.sqrt(5) - 1) / 2
    a, b = 1 / hi, 1 / lo
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = loss(d)
    return 2 / (a + b)


def length_penalty(n: int, alpha: float) -> float:
    """GNMT's ((5 + n) / 6) ** alpha (Wu et al. 2016): a hypothesis of n tokens has its
    log-probability divided by it, so longer ones are not ruled out for being long."""
    return ((5 + n) / 6) ** alpha


def map_state(fn, state):
    """Apply ``fn`` to every tensor of a state nested in tuples, lists and dicts (None stays None)."""
    if state is None:
        return None
    if isinstance(state, (list, tuple)):
        return type(state)(map_state(fn, s) for s in state)
    if isinstance(state, dict):
        return {k: map_state(fn, v) for k, v in state.items()}
    return fn(state)


def greedy(step, state, batch: int, max_steps: int, bos: int, eos: int, pad: int, alpha: float = 0.6,
           keep_extra: bool = False):
    """The likeliest token at every step, until every row has produced ``eos``.
    -> per row a one-element list [(ids incl. eos, normalised score, extra rows or None)]."""
    import torch

    dev = next(iter(_tensors(state))).device
    y = torch.full((batch,), bos, dtype=torch.long, device=dev)
    done = torch.zeros(batch, dtype=torch.bool, device=dev)
    total = torch.zeros(batch, device=dev)
    steps, extras = [], []
    for _ in range(max_steps):
        logp, state, extra = step(y, state)
        best, y = logp.max(-1)
        y = torch.where(done, torch.full_like(y, pad), y)
        total += torch.where(done, torch.zeros_like(best), best)
        steps.append(y)
        if keep_extra:
            extras.append(extra)
        done |= y == eos
        if bool(done.all()):
            break
    ids = torch.stack(steps, 1).tolist()
    ext = torch.stack(extras, 1) if keep_extra else None  # (B, T, S)
    out = []
    for b in range(batch):
        seq = ids[b][: ids[b].index(eos) + 1] if eos in ids[b] else ids[b]
        out.append([(seq, float(total[b]) / length_penalty(len(seq), alpha),
                     ext[b, : len(seq)].tolist() if keep_extra else None)])
    return out


def beam_search(step, state, batch: int, k: int, max_steps: int, bos: int, eos: int, pad: int,
                n_best: int = 1, alpha: float = 0.6, keep_extra: bool = False):
    """Keep the ``k`` likeliest partial hypotheses per row of the batch. ``state`` and everything
    ``step`` closes over must already hold ``batch * k`` rows (each row repeated k times). A
    finished hypothesis (it produced ``eos``) stays in its beam and extends only by ``pad`` at no
    cost. At the end, hypotheses are ranked by log-probability / length_penalty.
    -> per row ``n_best`` [(ids incl. eos, normalised score, extra rows or None)], best first."""
    import torch

    dev = next(iter(_tensors(state))).device
    scores = torch.full((batch, k), float("-inf"), device=dev)
    scores[:, 0] = 0.0  # one live hypothesis per row to start from
    y = torch.full((batch * k,), bos, dtype=torch.long, device=dev)
    finished = torch.zeros(batch * k, dtype=torch.bool, device=dev)
    lengths = torch.zeros(batch * k, dtype=torch.long, device=dev)
    hist = torch.zeros(batch * k, 0, dtype=torch.long, device=dev)
    ext_hist = None
    for _ in range(max_steps):
        logp, state, extra = step(y, state)  # (B*k, V)
        V = logp.shape[-1]
        pad_only = torch.full_like(logp, float("-inf"))
        pad_only[:, pad] = 0.0
        logp = torch.where(finished[:, None], pad_only, logp)
        scores, flat = (scores.view(-1, 1) + logp).view(batch, k * V).topk(k, dim=1)  # (B, k)
        parent = (flat // V + torch.arange(batch, device=dev)[:, None] * k).view(-1)  # (B*k,)
        y = (flat % V).view(-1)
        state = map_state(lambda t: t[parent], state)
        hist = torch.cat([hist[parent], y[:, None]], 1)
        if keep_extra:
            e = extra[parent][:, None]
            ext_hist = e if ext_hist is None else torch.cat([ext_hist[parent], e], 1)
        was_done = finished[parent]
        lengths = lengths[parent] + (~was_done).long()
        finished = was_done | (y == eos)
        if bool(finished.all()):
            break
    lp = torch.tensor([length_penalty(int(n), alpha) for n in lengths], device=dev).view(batch, k)
    norm = scores / lp
    ranked = norm.argsort(dim=1, descending=True)
    out = []
    for b in range(batch):
        hyps = []
        for j in ranked[b, :n_best].tolist():
            r = b * k + j
            ids = hist[r, : int(lengths[r])].tolist()
            hyps.append((ids, float(norm[b, j]), ext_hist[r, : len(ids)].tolist() if keep_extra else None))
        out.append(hyps)
    return out


def _tensors(state):
    if isinstance(state, (list, tuple)):
        for s in state:
            yield from _tensors(s)
    else:
        yield state

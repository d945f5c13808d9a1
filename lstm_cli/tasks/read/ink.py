"""The reader's torch-free side: its config, the ink's preprocessing (:func:`points_of`, the
module docstring of :mod:`.model` says what it does) and the network run forward in numpy
(:class:`InkNet`) from a checkpoint's weights as arrays (``checkpoint.load(arrays=True)``).
``lstm write --best-of N`` judges its drawings with it without importing torch (a second of the
command's two); training, ``lstm read`` and its pictures use the torch network (:mod:`.model`),
which tests/test_read.py holds this one to.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from lstm_cli.core.sampling import fused_gate_rows, fused_step

N_FEATURES = 9


@dataclass
class ReadConfig:
    alphabet: str = ""  # the characters it reads; label i+1 is alphabet[i], 0 is CTC's blank
    hidden: int = 128  # LSTM units per direction and layer (the paper: 100)
    layers: int = 3
    dropout: float = 0.1
    step: float = 0.2  # resampling distance, in line heights: about 13 points a character
    stats: tuple = ()  # (mean, std) of each feature over the training data; () until measured


def _resample(pts: np.ndarray, lens: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Strokes, their points ``pts`` (N, 2) one after another and ``lens`` (S,) their numbers of
    points -> every stroke resampled every ``step`` along its length, both ends kept (a dot keeps
    its one point): (points (M, 2), ends (M,) True on each stroke's last point). All strokes at
    once: they are laid end to end on one axis, each ``gap`` after the last, and interpolated
    together (a Python loop over strokes cost 7 of a sample's 10 ms)."""
    seg = np.hypot(*np.diff(pts, axis=0).T)
    first = np.cumsum(lens) - lens  # each stroke's first point
    seg[first[1:] - 1] = 0.0  # nothing between one stroke's last point and the next one's first
    along = np.concatenate([[0.0], np.cumsum(seg)])
    length = along[first + lens - 1] - along[first]
    n = np.round(length / step).astype(np.int64) + 1  # points per stroke
    gap = 1.0 + along[-1]
    axis = along + np.repeat(np.arange(len(lens)) * gap, lens)  # increasing across strokes
    k = np.repeat(np.arange(len(lens)), n)  # the stroke of each new point
    j = np.arange(len(k)) - np.repeat(np.cumsum(n) - n, n)  # its index within its stroke
    at = axis[first][k] + j / np.maximum(n - 1, 1)[k] * length[k]
    out = np.stack([np.interp(at, axis, pts[:, 0]), np.interp(at, axis, pts[:, 1])], 1)
    ends = np.zeros(len(at), dtype=bool)
    ends[np.cumsum(n) - 1] = True
    return out, ends


def points_of(strokes: list, step: float) -> np.ndarray:
    """Strokes (lists of (x, y), y down) -> (T, 3) float32: x and y normalised to the line's
    height (centred on its median y, x from its leftmost point; measured along the ink's length,
    so that how densely the pen was sampled does not matter) and resampled every ``step``, and
    1 on the last point of each stroke. Zero-length strokes (a dot) keep one point."""
    arrays = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes if len(s)]
    pts = np.concatenate(arrays)
    lens = np.array([len(a) for a in arrays])
    seg = np.hypot(*np.diff(pts, axis=0).T)
    length = float(seg.sum() - seg[np.cumsum(lens)[:-1] - 1].sum())  # the ink's, not the jumps'
    even = _resample(pts, lens, length / 2000)[0] if length > 0 else pts
    lo, cy, hi = np.quantile(even[:, 1], [0.05, 0.5, 0.95])
    h = max(hi - lo, np.ptp(pts[:, 0]) / 50, 1e-6)  # a flat line (a dash) takes its length instead
    out, ends = _resample((pts - (pts[:, 0].min(), cy)) / h, lens, step)
    return np.concatenate([out, ends[:, None]], 1).astype(np.float32)


def config_of(config: dict) -> ReadConfig:
    """A checkpoint's plain-dict config -> :class:`ReadConfig` (keys it does not know ignored)."""
    names = {f.name for f in fields(ReadConfig)}
    return ReadConfig(**{k: v for k, v in config.items() if k in names})


def features(p: np.ndarray) -> np.ndarray:
    """One sample's normalised points (T, 3) -> its raw local features (T, N_FEATURES), as
    ``model.features`` computes them for a batch."""
    xy, up = p[:, :2].astype(np.float32), p[:, 2:].astype(np.float32)
    d = np.diff(xy, axis=0, prepend=xy[:1])  # the first move is 0
    down = np.concatenate([np.ones_like(up[:1]), up[:-1]])  # the point after a lift
    norm = np.sqrt((d * d).sum(1, keepdims=True))
    cs = np.where(norm > 1e-6, d / np.maximum(norm, 1e-6), 0.0).astype(np.float32)  # (cos a, sin a)
    nxt = cs[np.minimum(np.arange(1, len(p) + 1), len(p) - 1)]
    turn = np.stack([(cs * nxt).sum(1), cs[:, 0] * nxt[:, 1] - cs[:, 1] * nxt[:, 0]], 1)
    return np.concatenate([d, up, down, cs, turn, xy[:, 1:]], 1)


def pooled(h: np.ndarray) -> np.ndarray:
    """A sample's top-layer outputs (T, 2H) -> their mean and their maximum over its points (4H,)."""
    return np.concatenate([h.mean(0), h.max(0)])


def shapes(cfg: ReadConfig) -> dict:
    """The shape of each of ``model.ReadNet``'s weights for ``cfg``, by name."""
    H, out = cfg.hidden, {"out.weight": (len(cfg.alphabet) + 1, 2 * cfg.hidden), "out.bias": (len(cfg.alphabet) + 1,)}
    for d in ("forwards", "backwards"):
        for n in range(cfg.layers):
            out.update({f"{d}.{n}.weight_ih_l0": (4 * H, N_FEATURES if n == 0 else 2 * H),
                        f"{d}.{n}.weight_hh_l0": (4 * H, H), f"{d}.{n}.bias_ih_l0": (4 * H,), f"{d}.{n}.bias_hh_l0": (4 * H,)})
    return out


class InkNet:
    """``model.ReadNet`` run forward in numpy, from ``arrays`` (its state dict as numpy arrays):
    per layer the inputs' products for every point at once, then the recurrence point by point,
    both directions and a batch of samples in each step (``core.sampling``'s fused gate update)."""

    def __init__(self, cfg: ReadConfig, arrays: dict):
        self.cfg = cfg
        mean, std = cfg.stats if cfg.stats else ([0.0] * N_FEATURES, [1.0] * N_FEATURES)
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        H = self.H = cfg.hidden

        def layer(n: int) -> tuple:  # the forward direction's weights stacked on the backward one's
            a = lambda d, k: np.asarray(arrays[f"{d}.{n}.{k}_l0"], np.float32)  # noqa: E731
            both = lambda f: np.ascontiguousarray(np.stack([f("forwards"), f("backwards")]))  # noqa: E731  (C order: 6x faster products)
            return (both(lambda d: fused_gate_rows(a(d, "weight_ih"), H).T),  # (2, in, 4H)
                    both(lambda d: fused_gate_rows(a(d, "weight_hh"), H).T),  # (2, H, 4H)
                    both(lambda d: fused_gate_rows(a(d, "bias_ih") + a(d, "bias_hh"), H))[:, None])  # (2, 1, 4H)
        self.layers = [layer(n) for n in range(cfg.layers)]
        self.w_out = np.ascontiguousarray(np.asarray(arrays["out.weight"], np.float32).T)
        self.b_out = np.asarray(arrays["out.bias"], np.float32)

    def _run(self, x: np.ndarray, layer: tuple) -> np.ndarray:
        """One layer, both directions stepped together, over x (T, 2, B, n) (time first; the
        backward direction's inputs already reversed) from zeros -> its outputs (T, 2, B, H)."""
        w_ih, w_hh, b = layer
        T, _, B, n = x.shape
        H = self.H
        pre = np.empty((T, 2, B, 4 * H), np.float32)  # the inputs' share of every gate, all points at once
        for d in range(2):  # two 2-D products: numpy's stacked one does not reach BLAS's speed (22 ms against 10)
            pre[:, d] = (x[:, d].reshape(T * B, n) @ w_ih[d]).reshape(T, B, 4 * H)
        pre += b
        out = np.empty((T, 2, B, H), np.float32)
        h, c = np.zeros((2, B, H), np.float32), np.zeros((2, B, H), np.float32)
        g, tmp = np.empty((2, B, 4 * H), np.float32), np.empty((2, B, H), np.float32)
        for t in range(T):
            np.matmul(h, w_hh, out=g)
            g += pre[t]
            fused_step(g, c, h, tmp, H)
            out[t] = h
        return out

    def outputs(self, points: list[np.ndarray], batch: int = 32) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each sample's points (T_i, 3), batched by length: its log-probabilities (T_i, V+1)
        (float64) and its top layer's outputs pooled over its points (:func:`pooled`)."""
        out: list = [None] * len(points)
        order = sorted(range(len(points)), key=lambda i: len(points[i]))
        for k in range(0, len(order), batch):
            idx = order[k: k + batch]
            lengths = np.array([len(points[i]) for i in idx])
            B, T = len(idx), int(lengths.max())
            x = np.zeros((B, T, N_FEATURES), np.float32)
            for b, i in enumerate(idx):  # padding after a sample's end changes none of its outputs
                x[b, : lengths[b]] = (features(points[i]) - self.mean) / self.std
            at = (lengths[None] - 1 - np.arange(T)[:, None]) % T  # (T, B): t -> len-1-t within each sample
            flip = lambda h: h[at, np.arange(B)]  # noqa: E731  (time first; its own inverse)
            h = x.transpose(1, 0, 2)  # (T, B, F)
            for layer in self.layers:
                both = self._run(np.stack([h, flip(h)], 1), layer)
                h = np.concatenate([both[:, 0], flip(both[:, 1])], -1)  # (T, B, 2H)
            h = h.transpose(1, 0, 2)
            z = h @ self.w_out + self.b_out
            z = z.astype(np.float64)
            lp = z - z.max(-1, keepdims=True)
            lp -= np.log(np.exp(lp).sum(-1, keepdims=True))
            for b, i in enumerate(idx):
                n = lengths[b]
                out[i] = lp[b, :n], pooled(h[b, :n])
        return out

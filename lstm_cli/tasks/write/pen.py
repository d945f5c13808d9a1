"""The writer's pen: :class:`WriteNet` stepped one point at a time for B lines of one text at
once, in numpy, and the sampling loop with Graves' stop rule (:func:`draw`).

Training runs the network over whole sequences (model.py); writing needs one point at a time,
and calling the torch modules per point costs far more than their arithmetic at these sizes
(about 1.3 ms a point). Here each layer is one matrix product per step against [input; h] with
preallocated buffers and the gate update of ``core.sampling`` that ``LSTMStream`` uses for text
(gate rows reordered, one tanh for all four gates). B rows cost little more than one: the products become
(B, n) x (n, 4H).

The random draws come from a ``torch.Generator`` in the same order as the sampler before this
one (a mixture component, two normals, a uniform for the pen lift), so one line (B = 1) drawn
with a seed gives the points it gave before, up to float rounding.
"""

from __future__ import annotations

import numpy as np
import torch

from lstm_cli.core.sampling import fused_gate_rows, fused_step
from lstm_cli.tasks.write.model import KAPPA_SCALE, WriteNet

FINISH_POINTS = 40  # after the window has passed the text, the pen may go on this long to end its stroke


def _gates(w_ih: torch.Tensor, w_hh: torch.Tensor, b: torch.Tensor, H: int) -> tuple[np.ndarray, np.ndarray]:
    """An LSTM's weights -> ([W_ih | W_hh] transposed (n + H, 4H), bias (4H,)) as
    ``core.sampling.fused_gate_rows`` orders and scales them."""
    w = fused_gate_rows(torch.cat([w_ih, w_hh], 1), H)
    return np.ascontiguousarray(w.T.numpy()), fused_gate_rows(b, H).numpy()


class Pen:
    """B lines of one text (``ids``, its character ids, the style's text first when primed),
    from the network's ``state`` after the primer (None: from nothing), stepped by :meth:`step`."""

    def __init__(self, net: WriteNet, ids: list[int], B: int, state=None):
        cfg = net.cfg
        H, K, V, U = cfg.hidden, cfg.window, len(cfg.alphabet) + 1, len(ids)
        self.H, self.K, self.V, self.U, self.B, self.M = H, K, V, U, B, cfg.mixture
        c1 = net.cell1
        self.w = [_gates(c1.weight_ih, c1.weight_hh, c1.bias_ih + c1.bias_hh, H)]
        for lstm in net.upper:
            self.w.append(_gates(lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0, H))
        f32 = lambda t: np.ascontiguousarray(t.detach().float().cpu().numpy())  # noqa: E731
        self.w_win, self.b_win = f32(net.window.weight.T), f32(net.window.bias)
        self.w_out, self.b_out = f32(net.out.weight.T), f32(net.out.bias)
        self.onehot = np.eye(V, dtype=np.float32)[ids]  # (U, V)
        self.u = np.arange(U + 1, dtype=np.float32)
        L = cfg.layers
        # xh[0] = [x, w, h1]; xh[n] = [x, h_n (the layer below's), w, h_{n+1}]: each layer's input and
        # its own last output side by side, written in place.
        self.xh = [np.zeros((B, 3 + V + H), np.float32)] + [np.zeros((B, 3 + 2 * H + V), np.float32)
                                                              for _ in range(1, L)]
        self.c = [np.zeros((B, H), np.float32) for _ in range(L)]
        self.tmp = np.empty((B, H), np.float32)
        self.kappa = np.zeros((B, K), np.float32)
        self.top = np.zeros((B, L * H + V), np.float32)  # [h1, ..., hL, w]: the output layer's input
        if state is not None:
            (h1, c1_, kappa, w), upper = state
            self.xh[0][:, 3: 3 + V] = w.float().numpy()
            self.xh[0][:, 3 + V:] = h1.float().numpy()
            self.c[0][:] = c1_.float().numpy()
            self.kappa[:] = kappa.float().numpy()
            for n, (h, c) in enumerate(upper, 1):
                self.xh[n][:, -H:] = h[0].float().numpy()  # its own last output: the last H columns
                self.c[n][:] = c[0].float().numpy()

    def _lstm(self, n: int) -> np.ndarray:
        """Layer n's step from its buffer xh[n] -> its new h (B, H), also written back into xh[n]."""
        w, b = self.w[n]
        g = self.xh[n] @ w
        g += b
        h = self.xh[n][:, -self.H:]  # its own output, written in place for the next step
        fused_step(g, self.c[n], h, self.tmp, self.H)
        return h

    def step(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The last points x (B, 3), normalised -> raw outputs y (B, 1 + 6M) for the next point,
        and the window phi (B, U + 1) (the last column: just past the text)."""
        H, V = self.H, self.V
        xh0 = self.xh[0]
        xh0[:, :3] = x
        h = self._lstm(0)
        a, b, k = np.split(np.exp(h @ self.w_win + self.b_win), 3, axis=1)  # (B, K) each
        self.kappa += k / KAPPA_SCALE
        phi = (a[:, :, None] * np.exp(-b[:, :, None] * (self.kappa[:, :, None] - self.u) ** 2)).sum(1)
        w = phi[:, : self.U] @ self.onehot  # (B, V)
        xh0[:, 3: 3 + V] = w
        self.top[:, :H] = h
        for n in range(1, len(self.w)):
            xn = self.xh[n]
            xn[:, :3] = x
            xn[:, 3: 3 + H] = h
            xn[:, 3 + H: 3 + H + V] = w
            h = self._lstm(n)
            self.top[:, n * H: (n + 1) * H] = h
        self.top[:, -V:] = w
        return self.top @ self.w_out + self.b_out, phi


def draw(pen, scale: tuple, M: int, bias: float, g: torch.Generator, max_points: int,
         x0: np.ndarray | None = None, skip: int = 0):
    """Sample every row of ``pen`` (:class:`Pen`, or anything with ``B``, ``U`` and ``step``) until
    it stops: when the window has passed the last character (phi just past the text exceeds phi
    on every character: Graves' rule) and the pen has lifted, at most :data:`FINISH_POINTS`
    later (stopping at once cut the last letter short), or after ``max_points``. Rows stop on
    their own; ``x0`` (B, 3): the last point of the primer (None: zeros). Points drawn while the
    window is still on the primer's text (its first ``skip`` characters, the space after it
    included) are left out: a stroke the primer left unfinished, not a mark of this text (a
    stray mark at the start of continuation lines). -> per row, its pen
    offsets [(dx, dy, up)] in the data's units, its window rows without the first ``skip``
    characters (the primer's text), and the log-density of its points as drawn (nats, in the
    normalised units)."""
    B, U = pen.B, pen.U
    x = np.zeros((B, 3), np.float32) if x0 is None else x0.astype(np.float32)
    points = [[] for _ in range(B)]
    phis = [[] for _ in range(B)]
    finishing = [None] * B
    live = list(range(B))
    density, logp = np.zeros(B), [0.0] * B
    started = [skip == 0] * B  # the window has reached the text (a primer's text comes first)
    held, held_phis = [[] for _ in range(B)], [[] for _ in range(B)]
    for _ in range(max_points):
        y, phi = pen.step(x)
        e, pi = y[:, 0], y[:, 1: 1 + M] * (1 + bias)
        mx, my, lsx, lsy, rho = (y[:, 1 + M * k: 1 + M * (k + 1)] for k in range(1, 6))
        p = np.exp(pi - pi.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        j = torch.multinomial(torch.from_numpy(p), 1, generator=g).numpy()[:, 0]  # (B,)
        z = torch.randn(B, 2, generator=g).double().numpy()
        u = torch.rand(B, generator=g).double().numpy()
        rows = np.arange(B)
        sx, sy = np.exp(lsx[rows, j].astype(np.float64) - bias), np.exp(lsy[rows, j].astype(np.float64) - bias)
        r = np.tanh(rho[rows, j].astype(np.float64))
        dx = mx[rows, j] + sx * z[:, 0]
        dy = my[rows, j] + sy * (r * z[:, 0] + np.sqrt(np.maximum(1 - r * r, 0.0)) * z[:, 1])
        up = (u < 1 / (1 + np.exp(-e.astype(np.float64)))).astype(np.float64)
        x = np.stack([dx, dy, up], 1).astype(np.float32)
        density += _log_density(x, p, mx, my, lsx - bias, lsy - bias, rho, e)
        past = phi[:, U] > phi[:, :U].max(1)
        begun = phi.argmax(1) >= skip
        for b in list(live):
            logp[b] = density[b]
            if not started[b] and begun[b]:
                started[b] = True
                held[b] = []  # what the pen drew while the window was still on the primer's text
            (points if started[b] else held)[b].append((float(dx[b]) * scale[0], float(dy[b]) * scale[1], float(up[b])))
            (phis if started[b] else held_phis)[b].append(phi[b, skip: U + 1].tolist())
            if finishing[b] is not None:
                finishing[b] -= 1
                if up[b] or not finishing[b]:
                    live.remove(b)
            elif past[b]:
                if up[b]:
                    live.remove(b)
                else:
                    finishing[b] = FINISH_POINTS  # the window has passed the text: end the stroke being drawn
        if not live:
            break
    for b in range(B):
        if not started[b]:  # the window never left the primer: keep what was drawn
            points[b], phis[b] = held[b], held_phis[b]
    return points, phis, logp


def _log_density(x, p, mx, my, lsx, lsy, rho, e) -> np.ndarray:
    """log p(x) (B,) of the drawn points x (B, 3) under the (biased) mixture they were drawn from:
    weights p (B, M), means, log sigmas and correlations (B, M) each, the lift's logit e (B,)."""
    x = x.astype(np.float64)
    zx = (x[:, :1] - mx) * np.exp(-lsx)
    zy = (x[:, 1:2] - my) * np.exp(-lsy)
    r = np.tanh(rho.astype(np.float64))
    one_m = np.maximum(1 - r * r, 1e-6)
    log_n = -(zx * zx + zy * zy - 2 * r * zx * zy) / (2 * one_m) - np.log(2 * np.pi) - lsx - lsy - 0.5 * np.log(one_m)
    a = np.log(np.maximum(p, 1e-300)) + log_n
    top = a.max(1)
    log_xy = top + np.log(np.exp(a - top[:, None]).sum(1))
    e = e.astype(np.float64)
    log_up = np.where(x[:, 2] > 0.5, -np.logaddexp(0, -e), -np.logaddexp(0, e))
    return log_xy + log_up


def start(net: WriteNet, ids: list[int], B: int, primer=None) -> tuple[Pen, np.ndarray | None]:
    """A :class:`Pen` for B lines of ``ids`` after reading ``primer`` (normalised offsets (T, 3)
    of the style's strokes, whose text ``ids`` begins with) through the torch network, and the
    primer's last point."""
    if primer is None:
        return Pen(net, ids, B), None
    with torch.no_grad():
        t = torch.tensor([ids])
        _, _, state = net(primer[None], t, torch.ones_like(t, dtype=torch.bool))
    (h1, c1, kappa, w), upper = state
    rep = lambda v: v.expand(B, *v.shape[1:]) if v.dim() == 2 else v.expand(v.shape[0], B, v.shape[2])  # noqa: E731
    state = ((rep(h1), rep(c1), rep(kappa), rep(w)), [(rep(h), rep(c)) for h, c in upper])
    x0 = np.repeat(primer[-1:].numpy(), B, 0)
    return Pen(net, ids, B, state), x0

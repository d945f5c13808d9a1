"""The writer's pen: :class:`WriteNet`'s weights stepped one point at a time for B lines of one
text at once, in numpy, and the sampling loop with Graves' stop rule (:func:`draw`).

Training runs the network over whole sequences (model.py); writing needs one point at a time,
and calling the torch modules per point costs far more than their arithmetic at these sizes
(about 1.3 ms a point). Here each layer is one matrix product per step against [input; h] with
preallocated buffers and the gate update of ``core.sampling`` that ``LSTMStream`` uses for text
(gate rows reordered, one tanh for all four gates). B rows cost little more than one. The pen
needs no torch: it steps a checkpoint's weights as numpy arrays (:class:`Weights`, read by
``checkpoint.load(arrays=True)``), so ``lstm write`` does not import torch (a second of its two);
a torch ``WriteNet`` (training's, a benchmark's) is turned into them by :func:`weights`. Each
product is cut into blocks of output columns, one numpy call for all of them, which OpenBLAS
runs about twice as fast for a few rows as the whole (B, n) x (n, 4H) product (docs/benchmarks.md#write).

The random numbers come from a numpy ``Generator``, drawn for many steps at once (torch's
``multinomial`` alone cost more per point than a layer's product); each point is drawn from the
same mixture as the network's (:func:`sample`: the component by inverse CDF, the correlated
Gaussian, the pen lift), which tests/test_write.py checks statistically.
"""

from __future__ import annotations

import numpy as np

from lstm_cli.core.sampling import blocked_step, fused_gate_rows
from lstm_cli.tasks.write.config import KAPPA_SCALE, WriteConfig, config_of

FINISH_POINTS = 40  # after the window has passed the text, the pen may go on this long to end its stroke
BLOCK = 64  # output columns of a layer's product per block, for more than one row (Pen)


class Weights:
    """A writer as the pen steps it: its config and its weights, float32 numpy arrays named as in
    ``WriteNet.state_dict()``, and the products prepared from them (:meth:`prepared`: kept, so
    that each line of a page does not prepare them again)."""

    def __init__(self, cfg: WriteConfig, arrays: dict):
        self.cfg, self.arrays, self._prepared = cfg, arrays, {}

    def prepared(self, cols: int) -> tuple[list, tuple, tuple]:
        """-> each layer's (weights (4k, n, cols), bias (4k, 1, cols)) in blocks of ``cols`` output
        columns (k = H / cols blocks a gate; rows as ``core.sampling.fused_gate_rows`` orders and
        scales them), the window's (weight (H, 3K), bias) and the output layer's."""
        if cols not in self._prepared:
            a, H, k = self.arrays, self.cfg.hidden, self.cfg.hidden // cols
            blocks = lambda w, b: (np.ascontiguousarray(w.T.reshape(-1, 4 * k, cols).transpose(1, 0, 2)),  # noqa: E731
                                   b.reshape(4 * k, 1, cols))
            layers = [blocks(*_gates(a, "cell1.", "", H))] + [blocks(*_gates(a, f"upper.{n}.", "_l0", H))
                                                              for n in range(self.cfg.layers - 1)]
            self._prepared[cols] = (layers, (np.ascontiguousarray(a["window.weight"].T), a["window.bias"]),
                                    (np.ascontiguousarray(a["out.weight"].T), a["out.bias"]))
        return self._prepared[cols]


def weights(net) -> Weights:
    """A torch ``WriteNet`` -> its :class:`Weights` (copied now: a model that trains on changes
    nothing drawn); :class:`Weights` as they are."""
    if isinstance(net, Weights):
        return net
    return Weights(net.cfg, {k: v.detach().float().cpu().numpy().copy() for k, v in net.state_dict().items()})


def weights_of(ckpt: dict) -> Weights:
    """A checkpoint loaded with ``arrays=True`` (``core.checkpoint.load``) -> its :class:`Weights`,
    each array checked against the shape its config gives it (``WriteNet``'s)."""
    from lstm_cli.core.checkpoint import arrays_fit

    cfg = config_of(ckpt["config"])
    H, K, V, L = cfg.hidden, cfg.window, len(cfg.alphabet) + 1, cfg.layers
    X = 3 + len(cfg.hands)
    shapes = {"window.weight": (3 * K, H), "window.bias": (3 * K,),
              "out.weight": (1 + 6 * cfg.mixture, L * H + V), "out.bias": (1 + 6 * cfg.mixture,)}
    for prefix, suffix, n in [("cell1.", "", X + V)] + [(f"upper.{k}.", "_l0", X + H + V) for k in range(L - 1)]:
        shapes.update({f"{prefix}weight_ih{suffix}": (4 * H, n), f"{prefix}weight_hh{suffix}": (4 * H, H),
                       f"{prefix}bias_ih{suffix}": (4 * H,), f"{prefix}bias_hh{suffix}": (4 * H,)})
    return Weights(cfg, arrays_fit(ckpt, shapes))


def _gates(a: dict, prefix: str, suffix: str, H: int) -> tuple[np.ndarray, np.ndarray]:
    """An LSTM's weights in ``a`` (``{prefix}weight_ih{suffix}`` and the others) -> ([W_ih | W_hh]
    (4H, n + H) and the summed biases (4H,) as ``core.sampling.fused_gate_rows`` orders and scales them."""
    w = np.concatenate([a[f"{prefix}weight_ih{suffix}"], a[f"{prefix}weight_hh{suffix}"]], 1)
    return (np.ascontiguousarray(fused_gate_rows(w, H)),
            fused_gate_rows(a[f"{prefix}bias_ih{suffix}"] + a[f"{prefix}bias_hh{suffix}"], H))


class Pen:
    """B lines of one text (``ids``, its character ids, the style's text first when primed) by the
    writer ``net`` (:class:`Weights`, or a torch ``WriteNet``), from ``state`` (:meth:`state` of a
    pen that read a primer, one row per line; None: from nothing), in ``hand`` (an index into the
    model's hands, or one per row; None or -1: none said), stepped by :meth:`step`."""

    def __init__(self, net, ids: list[int], B: int, state=None, hand=None):
        net = weights(net)
        cfg = net.cfg
        H, K, V, U = cfg.hidden, cfg.window, len(cfg.alphabet) + 1, len(ids)
        X = 3 + len(cfg.hands)  # a point and its line's hand
        self.H, self.K, self.V, self.U, self.B, self.M, self.X = H, K, V, U, B, cfg.mixture, X
        # each layer's product in blocks of ``cols`` output columns, one call for all (n_in, cols)
        # blocks: OpenBLAS's small-matrix kernels take 2 or 8 rows in half the time of one (B, n) x
        # (n, 4H) product (8 rows: 185-200 us against 371; 1 row: the same in blocks of a gate)
        cols = BLOCK if B > 1 and H % BLOCK == 0 else H
        k = H // cols  # blocks a gate
        self.w, (self.w_win, self.b_win), (self.w_out, self.b_out) = net.prepared(cols)
        self.onehot = np.eye(V, dtype=np.float32)[ids]  # (U, V)
        self.u = np.arange(U + 1, dtype=np.float32)
        L = cfg.layers
        # xh[0] = [x, hand, w, h1]; xh[n] = [x, hand, h_n (the layer below's), w, h_{n+1}]: each
        # layer's input and its own last output side by side, written in place (the hand, once).
        self.xh = [np.zeros((B, X + V + H), np.float32)] + [np.zeros((B, X + 2 * H + V), np.float32)
                                                              for _ in range(1, L)]
        self.c = [np.zeros((B, H), np.float32) for _ in range(L)]
        self.kappa = np.zeros((B, K), np.float32)
        if state is not None:
            for mine, theirs in zip(self.xh + self.c + [self.kappa], state):
                mine[:] = theirs
        rows = np.broadcast_to(np.asarray(-1 if hand is None else hand), (B,))
        for xh in self.xh:
            xh[:, 3: X] = 0.0
            xh[rows >= 0, 3 + rows[rows >= 0]] = 1.0
        # a layer's gate pre-activations (4k, B, cols), and its h and c seen in those blocks: views of
        # h in xh (the next product's input) and of c, written in place
        self.g, self.tmp = np.empty((4 * k, B, cols), np.float32), np.empty((k, B, cols), np.float32)
        as_blocks = lambda a: a.reshape(B, k, cols).transpose(1, 0, 2)  # noqa: E731
        self.hb = [as_blocks(xh[:, -H:]) for xh in self.xh]
        self.cb = [as_blocks(c) for c in self.c]
        assert all(np.shares_memory(v, a) for v, a in zip(self.hb + self.cb, self.xh + self.c))
        self.abk = np.empty((B, 3 * K), np.float32)  # the window's parameters
        self.top = np.zeros((B, L * H + V), np.float32)  # [h1, ..., hL, w]: the output layer's input

    def state(self, rows) -> list[np.ndarray]:
        """The pen's state for a new :class:`Pen`, its rows taken from ``rows`` (indices into mine)."""
        return [a[rows] for a in self.xh + self.c + [self.kappa]]

    def _lstm(self, n: int) -> np.ndarray:
        """Layer n's step from its buffer xh[n] -> its new h (B, H), also written back into xh[n]."""
        w, b = self.w[n]
        np.matmul(self.xh[n], w, out=self.g)
        self.g += b
        blocked_step(self.g, self.cb[n], self.hb[n], self.tmp)  # h written into xh[n] for the next step
        return self.xh[n][:, -self.H:]

    def _first(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Layer 1 and the window on the last points x (B, 3) -> h1 (B, H), the window w (B, V)
        (also written into xh[0] for the next step) and phi (B, U + 1)."""
        K, X, V = self.K, self.X, self.V
        xh0 = self.xh[0]
        xh0[:, :3] = x
        h = self._lstm(0)
        abk = self.abk
        np.matmul(h, self.w_win, out=abk)
        abk += self.b_win
        np.exp(abk, out=abk)
        self.kappa += abk[:, 2 * K:] * (1 / KAPPA_SCALE)
        d = self.kappa[:, :, None] - self.u  # (B, K, U + 1)
        d *= d
        d *= -abk[:, K: 2 * K, None]
        np.exp(d, out=d)
        d *= abk[:, :K, None]
        phi = d.sum(1)
        w = phi[:, : self.U] @ self.onehot  # (B, V)
        xh0[:, X: X + V] = w
        return h, w, phi

    def step(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The last points x (B, 3), normalised -> raw outputs y (B, 1 + 6M) for the next point,
        and the window phi (B, U + 1) (the last column: just past the text)."""
        H, V, X = self.H, self.V, self.X
        h, w, phi = self._first(x)
        self.top[:, :H] = h
        for n in range(1, len(self.w)):
            xn = self.xh[n]
            xn[:, :3] = x
            xn[:, X: X + H] = h
            xn[:, X + H: X + H + V] = w
            h = self._lstm(n)
            self.top[:, n * H: (n + 1) * H] = h
        self.top[:, -V:] = w
        y = self.top @ self.w_out  # a new array each step: the caller keeps them
        y += self.b_out
        return y, phi

    def read(self, xs: np.ndarray) -> None:
        """Read points xs (T, 3) (normalised; the same for every row), as T :meth:`step` calls
        would, for the state alone (a primer): layer 1 and the window point by point, then each
        layer above over all T at once where it can, its inputs' products for every point in one
        call and only its own h point by point (a primer read 2-3 times as fast)."""
        H, V, X, B = self.H, self.V, self.X, self.B
        T = len(xs)
        inp = np.empty((T, B, X + H + V), np.float32)  # an upper layer's inputs: [x, hand, h below, w]
        inp[:, :, :X] = self.xh[0][None, :, :X]  # the hand
        inp[:, :, :3] = xs[:, None]
        for t in range(T):
            inp[t, :, X: X + H], inp[t, :, X + H:], _ = self._first(xs[t])
        n_in = X + H + V
        for n in range(1, len(self.w)):
            w, b = self.w[n]
            pre = np.matmul(inp.reshape(T * B, n_in), w[:, :n_in])  # (4k, T*B, cols)
            pre = pre.reshape(len(w), T, B, -1)
            pre += b[:, None]
            w_h = np.ascontiguousarray(w[:, n_in:])  # (4k, H, cols): the recurrent part
            h = self.xh[n][:, -H:]
            for t in range(T):
                np.matmul(h, w_h, out=self.g)
                self.g += pre[:, t]
                blocked_step(self.g, self.cb[n], self.hb[n], self.tmp)  # h written into xh[n]
                inp[t, :, X: X + H] = h  # the next layer's input


CHUNK = 256  # random numbers are drawn this many steps at a time


def sample(y: np.ndarray, M: int, bias: float, u: np.ndarray, z: np.ndarray) -> np.ndarray:
    """One point per row from the mixture the raw outputs y (B, 1 + 6M) define, at ``bias``
    (Graves' sampling bias: sharper weights, narrower Gaussians), given uniforms u (B, 2) (the
    component, the pen lift) and standard normals z (B, 2) -> (B, 3): dx, dy (normalised), up."""
    B = y.shape[0]
    pi = y[:, 1: 1 + M] * (1 + bias)
    cum = np.exp(pi - pi.max(1, keepdims=True)).cumsum(1)
    j = np.minimum((cum < u[:, :1] * cum[:, -1:]).sum(1), M - 1)  # inverse CDF: the component
    mx, my, lsx, lsy, rho = y[np.arange(B)[:, None], 1 + M * np.arange(1, 6) + j[:, None]].astype(np.float64).T
    sx, sy, r = np.exp(lsx - bias), np.exp(lsy - bias), np.tanh(rho)
    out = np.empty((B, 3))
    out[:, 0] = mx + sx * z[:, 0]
    out[:, 1] = my + sy * (r * z[:, 0] + np.sqrt(np.maximum(1 - r * r, 0.0)) * z[:, 1])
    out[:, 2] = u[:, 1] < 1 / (1 + np.exp(-y[:, 0].astype(np.float64)))
    return out


def draw(*args, **kwargs):
    """:func:`drawing` run to its end, nothing yielded on the way: -> what it returns."""
    return finish(drawing(*args, **kwargs, stream=False))


def finish(steps):
    """Run a generator to its end, dropping what it yields: -> what it returns."""
    try:
        next(relay(steps, lambda _: None))  # relays nothing: its first next() runs ``steps`` out
    except StopIteration as done:
        return done.value


def relay(steps, fn):
    """A generator that yields ``fn(item)`` for each item ``steps`` yields (none where that is
    None) and returns what ``steps`` returns (use it with ``yield from``)."""
    while True:
        try:
            item = next(steps)
        except StopIteration as done:
            return done.value
        out = fn(item)
        if out is not None:
            yield out


def drawing(pen, scale: tuple, M: int, bias: float, rng: np.random.Generator, max_points: int,
            x0: np.ndarray | None = None, skip: int = 0, stream: bool = True):
    """Sample every row of ``pen`` (:class:`Pen`, or anything with ``B``, ``U`` and ``step``) until
    it stops: when the window has passed the last character (phi just past the text exceeds phi
    on every character: Graves' rule) and the pen has lifted, at most :data:`FINISH_POINTS`
    later (stopping at once cut the last letter short), or after ``max_points``. Rows stop on
    their own; ``x0`` (B, 3): the last point of the primer (None: zeros). Points drawn while the
    window is still on the primer's text (its first ``skip`` characters, the space after it
    included) are left out: a stroke the primer left unfinished, not a mark of this text (a
    stray mark at the start of continuation lines). A generator: with ``stream``, each step it
    yields the points just drawn (B, 3) in the data's units and which rows keep theirs (B,) (a
    row keeps its points from where the window reached its text to where it stopped; one whose
    window never leaves the primer keeps all its points in the end, none of them yielded as
    kept), so a caller can show them as they come (``lstm serve``). It returns, per row, its pen
    offsets [(dx, dy, up)] in the data's units, its window rows without the first ``skip``
    characters (the primer's text), and the log-density of its points as drawn (nats, in the
    normalised units).

    The loop does only what the next step needs (the network, one draw, the stop rule, all
    vectorised over rows); what is kept per row is cut out of the stacked steps afterwards."""
    B, U = pen.B, pen.U
    x = np.zeros((B, 3), np.float32) if x0 is None else x0.astype(np.float32)
    xs, ys, phis = [], [], []
    live = np.ones(B, bool)
    end = np.full(B, max_points - 1)  # the last step each row keeps
    finishing = np.full(B, -1)  # steps left to end the stroke after the window passed the text
    first = np.full(B, -1 if skip else 0)  # the step where the window reached the text (after the primer's)
    finishing_any = False
    scale3 = np.array([scale[0], scale[1], 1.0])
    for t in range(max_points):
        if t % CHUNK == 0:
            us, zs = rng.random((CHUNK, B, 2)), rng.standard_normal((CHUNK, B, 2))
        y, phi = pen.step(x)
        point = sample(y, M, bias, us[t % CHUNK], zs[t % CHUNK])
        xs.append(point)
        ys.append(y)
        phis.append(phi)
        x = point.astype(np.float32)
        if skip:
            first[(first < 0) & (phi.argmax(1) >= skip)] = t
        if stream:
            yield point * scale3, live & (first >= 0)
        past = phi[:, U] > phi[:, :U].max(1)
        if not (finishing_any or past.any()):
            continue  # the common case: every row still on its text
        up = point[:, 2] > 0.5
        fin = finishing >= 0
        finishing[fin] -= 1
        stop = live & np.where(fin, up | (finishing == 0), past & up)
        start = live & ~fin & past & ~up
        finishing[start] = FINISH_POINTS  # the window has passed the text: end the stroke
        finishing_any = finishing_any or bool(start.any())
        end[stop] = t
        live &= ~stop
        if not live.any():
            break
    xs, ys, phis = np.stack(xs), np.stack(ys), np.stack(phis)  # (T, B, ...)
    logp = [float(log_density(xs[: e + 1, b], ys[: e + 1, b], M, bias).sum()) for b, e in enumerate(end)]
    xs[:, :, :2] *= scale
    first[first < 0] = 0  # the window never left the primer: keep what was drawn
    points = [xs[s: e + 1, b].tolist() for b, (s, e) in enumerate(zip(first, end))]
    rows = [phis[s: e + 1, b, skip: U + 1].tolist() for b, (s, e) in enumerate(zip(first, end))]
    return points, rows, logp


def log_density(x: np.ndarray, y: np.ndarray, M: int, bias: float) -> np.ndarray:
    """log p (T,) of points x (T, 3) (normalised) under the mixtures that raw outputs y (T, 1 + 6M)
    define at ``bias``, as :func:`sample` draws from them."""
    e, pi, mx, my, lsx, lsy, rho = np.split(y.astype(np.float64), np.cumsum([1, M, M, M, M, M]), 1)
    pi = pi * (1 + bias)
    p = np.exp(pi - pi.max(1, keepdims=True))
    return _log_density(x, p / p.sum(1, keepdims=True), mx, my, lsx - bias, lsy - bias, rho, e[:, 0])


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


class Guided:
    """B lines stepped as 2B rows of a :class:`Pen`: the first B told the hand, the other B not,
    both fed the same points; the outputs drawn from are the untold ones moved ``scale`` times
    the way the hand moves them, y_u + scale (y_h - y_u) (classifier-free guidance, Ho and
    Salimans 2022, here on the mixture's raw outputs); the window, for the stop rule, the told
    rows'. ``scale`` 1 gives the told rows' outputs."""

    def __init__(self, pen: Pen, scale: float):
        self.pen, self.scale, self.B, self.U = pen, scale, pen.B // 2, pen.U

    def step(self, x: np.ndarray):
        y, phi = self.pen.step(np.concatenate([x, x]))
        told, untold = y[: self.B], y[self.B:]
        return untold + self.scale * (told - untold), phi[: self.B]


def start(net, ids: list[int], B: int, primer: np.ndarray | None = None, hand: int | None = None,
          guidance: float = 1.0) -> tuple[Pen | Guided, np.ndarray | None]:
    """A :class:`Pen` for B lines of ``ids`` by ``net`` (:class:`Weights` or a torch ``WriteNet``)
    in ``hand`` (see :class:`Pen`) after reading ``primer`` (normalised offsets (T, 3) of the
    style's strokes, whose text ``ids`` begins with) in that hand, and the primer's last point.
    ``guidance`` other than 1 with a hand: a :class:`Guided` pen (the primer read both told and
    untold)."""
    net = weights(net)
    told = -1 if hand is None else hand
    guided = guidance != 1.0 and told >= 0
    reads = np.array([told, -1][: 1 + guided])  # the primer read in each row's hand (told; untold too when guided)
    state = None
    if primer is not None:
        reader = Pen(net, ids, len(reads), hand=reads)
        reader.read(np.asarray(primer, np.float32))
        state = reader.state(np.repeat(np.arange(len(reads)), B))  # each read repeated over its B rows
    pen = Pen(net, ids, len(reads) * B, state, np.repeat(reads, B))
    x0 = None if primer is None else np.repeat(np.asarray(primer, np.float32)[-1:], B, 0)
    return (Guided(pen, guidance) if guided else pen), x0

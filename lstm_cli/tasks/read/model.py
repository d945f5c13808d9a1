"""Online handwriting recognition (Graves et al. 2009, "A Novel Connectionist System for
Unconstrained Handwriting Recognition"; Graves 2012, "Supervised Sequence Labelling", ch. 7 and 9):
a bidirectional LSTM stack reads the pen's trace and emits, at every point, a distribution over
the alphabet and a blank; CTC (Graves et al. 2006) sums over every alignment of the text.

Preprocessing (:func:`points_of`), so that the size, position and point rate of the ink do not
matter: the line is centred on its median height and divided by its height ``h`` (the spread
of y between its 5th and 95th percentiles), and every stroke is resampled every ``step`` x h
along its length (a fast pen and a slow one give the same points). Then per point t
(:func:`features`), the paper's cheap local features::

    dx_t, dy_t                 the move from the previous point (a jump when the pen was lifted)
    up_t, down_t               1 if the pen lifts after this point / was put down at it
    cos a_t, sin a_t           writing direction a_t = atan2(dy_t, dx_t)
    cos(a_t+1 - a_t), sin(..)  curvature: how the direction turns at the point
    y_t                        height above or below the line's centre, in line heights

each shifted and scaled by its mean and spread over the training data (``cfg.stats``). Then::

    h^(l) = [LSTM_f(d(h^(l-1))); reverse(LSTM_b(reverse(d(h^(l-1)))))]   (B, T, 2H), l = 1..L
    log p_t(k) = log_softmax(W d(h_t))   (B, T, V+1): k = 0 is the blank, k = i the i-th character
    loss = CTC(-log p(text | ink)) / len(text)

where d is dropout in training (one mask per sample, shared by all its points; none on x).

Each direction is a fused one-layer ``nn.LSTM``; the backward one reads every sample reversed
within its own length, so padding a batch changes no sample's output (a sample reads the same
alone or among others). Training on 2 CPU cores in bf16 (benchmarks/bench_read.py): 0.93x the
points/s of ``nn.LSTM(bidirectional=True)`` over the padded batch (where the padding leaks into
the backward direction), 12x those of the same over a packed sequence.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from lstm_cli.tasks.read.ink import N_FEATURES, ReadConfig, _resample, config_of, points_of  # noqa: F401  (re-exported)


def features(p: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Normalised points (B, T, 3) (``lengths`` (B,) of the real ones, None: all) -> the raw
    local features (B, T, N_FEATURES) (module docstring); a sample's last real point has no
    next one, whatever padding follows it."""
    xy, up = p[..., :2], p[..., 2:]
    d = torch.diff(xy, dim=1, prepend=xy[:, :1])  # (B, T, 2); the first move is 0
    down = torch.cat([torch.ones_like(up[:, :1]), up[:, :-1]], 1)  # the point after a lift
    norm = d.norm(dim=-1, keepdim=True)
    cs = torch.where(norm > 1e-6, d / norm.clamp_min(1e-6), torch.zeros_like(d))  # (cos a, sin a)
    B, T, _ = p.shape
    last = (torch.full((B,), T) if lengths is None else lengths).to(p.device)[:, None] - 1
    after = torch.minimum(torch.arange(1, T + 1, device=p.device)[None], last)  # (B, T): t+1, but not past the end
    nxt = cs.gather(1, after[:, :, None].expand(-1, -1, 2))
    turn = torch.stack([(cs * nxt).sum(-1), cs[..., 0] * nxt[..., 1] - cs[..., 1] * nxt[..., 0]], -1)
    return torch.cat([d, up, down, cs, turn, xy[..., 1:]], -1)


class ReadNet(nn.Module):
    def __init__(self, cfg: ReadConfig):
        super().__init__()
        self.cfg = cfg
        mean, std = (cfg.stats if cfg.stats else ([0.0] * N_FEATURES, [1.0] * N_FEATURES))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32), persistent=False)
        H = cfg.hidden
        self.forwards = nn.ModuleList(nn.LSTM(N_FEATURES if n == 0 else 2 * H, H, batch_first=True)
                                      for n in range(cfg.layers))
        self.backwards = nn.ModuleList(nn.LSTM(N_FEATURES if n == 0 else 2 * H, H, batch_first=True)
                                       for n in range(cfg.layers))
        self.out = nn.Linear(2 * cfg.hidden, len(cfg.alphabet) + 1)

    def drop(self, h: torch.Tensor) -> torch.Tensor:
        """Dropout with one mask per sample and unit, the same at every point (Gal and
        Ghahramani 2016): a (B, 1, 2H) mask costs next to nothing, where a fresh one per point
        (``nn.Dropout``) cost 15-20% of a training step here."""
        p = self.cfg.dropout
        if not self.training or p == 0:
            return h
        return h * torch.empty(h.shape[0], 1, h.shape[2], dtype=h.dtype, device=h.device).bernoulli_(1 - p) / (1 - p)

    def inputs(self, points: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, 3) points (``lengths`` as in :func:`features`) -> (B, T, F) normalised features."""
        return (features(points, lengths) - self.mean) / self.std

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        """Normalised features x (B, T, F) (``lengths`` (B,) of the real points, None: all) ->
        log-probabilities (B, T, V+1) and the top layer's outputs (B, T, 2H)."""
        B, T, _ = x.shape
        lengths = torch.full((B,), T) if lengths is None else lengths
        at = ((lengths[:, None] - 1 - torch.arange(T)[None]) % T).to(x.device)  # (B, T): t -> len-1-t
        flip = lambda h: h.gather(1, at[:, :, None].expand(-1, -1, h.shape[2]))  # noqa: E731  (its own inverse)
        h = x
        for n, (fw, bw) in enumerate(zip(self.forwards, self.backwards)):
            if n:
                h = self.drop(h)
            h = torch.cat([fw(h)[0], flip(bw(flip(h))[0])], -1)
        return torch.log_softmax(self.out(self.drop(h)).float(), -1), h

    @torch.no_grad()
    def top_cells(self, x: torch.Tensor) -> torch.Tensor:
        """The forward top layer's cell states c_t (T, H) for one sample's features x (1, T, F),
        step by step (the fused layer keeps only the last)."""
        h = x
        for fw, bw in list(zip(self.forwards, self.backwards))[:-1]:
            h = torch.cat([fw(h)[0], bw(h.flip(1))[0].flip(1)], -1)
        state, cells = None, []
        for t in range(h.shape[1]):
            _, state = self.forwards[-1](h[:, t: t + 1], state)
            cells.append(state[1][0, 0])
        return torch.stack(cells)


def build_model(config: dict) -> ReadNet:
    return ReadNet(config_of(config))

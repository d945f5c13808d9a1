"""Graves (2013), "Generating Sequences With Recurrent Neural Networks", section 5: handwriting
synthesis, an LSTM stack that reads the text through a soft window and writes pen offsets.

Input x_t = (dx, dy, up), normalised, and where the model knows hands (``hands``: the names its
training lines gave, e.g. cursive and print) the hand of the point to come as a one-hot beside it
(the line's, or its stroke's in a line that changes hands; all zeros: no hand said, the model
follows its primer). Text c = one-hot characters (U of them).

    h1_t = LSTM1([x_t; w_{t-1}], h1_{t-1})                       the only layer that must loop
    (a, b, k)_t = exp(W h1_t + b)                 K window components: weight, width, position
    kappa_t = kappa_{t-1} + k_t / KAPPA_SCALE     positions only move forward (eq. 51)
    phi_t(u) = sum_k a_k exp(-b_k (kappa_k - u)^2)
    w_t = sum_u phi_t(u) c_u                      the window: which letters are being written
    hn_t = LSTMn([x_t; h(n-1)_t; w_t], hn_{t-1})  n >= 2: inputs known once layer 1 has run,
                                                  so each runs fused (nn.LSTM) over the sequence
    y_t = W_out [h1_t; ...; hN_t; w_t] -> the mixture density output (eqs. 17-22):
        e = sigmoid(e_hat)                        P(pen lifts after the next point)
        pi = softmax(pi_hat * (1 + bias))         M mixture weights
        mu, sigma = mu_hat, exp(sigma_hat - bias) ρ = tanh(rho_hat)   bivariate Gaussians
    loss_t = -log sum_j pi_j N(x_{t+1} | mu_j, sigma_j, rho_j) - log Bernoulli(up_{t+1} | e)

KAPPA_SCALE = 25: public implementations found that a window moving in steps of exp(k)/25
learns to follow the text where exp(k) alone jumps; the alignment shows after a few thousand
updates. ``bias`` (sampling only) sharpens the writing (section 5.4).
"""

from __future__ import annotations

import math
from dataclasses import fields

import torch
import torch.nn as nn

from lstm_cli.tasks.write.config import KAPPA_SCALE, WriteConfig, config_of


class WriteNet(nn.Module):
    def __init__(self, cfg: WriteConfig):
        super().__init__()
        self.cfg = cfg
        V, H, K, M = len(cfg.alphabet) + 1, cfg.hidden, cfg.window, cfg.mixture
        X = 3 + len(cfg.hands)  # a pen point and its line's hand
        self.cell1 = nn.LSTMCell(X + V, H)
        self.window = nn.Linear(H, 3 * K)
        self.upper = nn.ModuleList(nn.LSTM(X + H + V, H, batch_first=True) for _ in range(cfg.layers - 1))
        self.out = nn.Linear(cfg.layers * H + V, 1 + 6 * M)
        self.drop = nn.Dropout(cfg.dropout)
        with torch.no_grad():
            self.window.bias[2 * K:].fill_(-1.0)  # start with slow window steps

    def one_hot(self, text: torch.Tensor) -> torch.Tensor:
        """Character ids (B, U) -> (B, U, V)."""
        return nn.functional.one_hot(text, len(self.cfg.alphabet) + 1).float()

    def with_hand(self, x: torch.Tensor, hand: torch.Tensor | None) -> torch.Tensor:
        """Points x (B, T, 3) -> (B, T, 3 + hands): each row's hand (B,), or each point's (B, T)
        (the hand of the point to come; an index into ``hands``, -1 or None: none said), one-hot
        beside every point. A model without hands: x as it is."""
        n = len(self.cfg.hands)
        if not n:
            return x
        if hand is None:
            return torch.cat([x, x.new_zeros(*x.shape[:2], n)], -1)
        hand = hand[:, None].expand(-1, x.shape[1]) if hand.dim() == 1 else hand
        h = nn.functional.one_hot(hand.clamp_min(0), n).to(x.dtype) * (hand >= 0)[..., None].to(x.dtype)
        return torch.cat([x, h], -1)

    def first_layer(self, x, c, text_mask, state=None):
        """Layer 1 and the window, step by step over ``x`` (B, T, 3 + hands); ``c`` (B, U, V) the text,
        ``text_mask`` (B, U) true on real characters. -> h1 (B, T, H), windows w (B, T, V),
        phi (B, T, U+1) (the last column: just past the text), the state to continue from."""
        B, T, _ = x.shape
        U = c.shape[1]
        H, K = self.cfg.hidden, self.cfg.window
        if state is None:
            z = x.new_zeros(B, H)
            state = (z, z, x.new_zeros(B, K), x.new_zeros(B, c.shape[2]))
        h, cc, kappa, w = state
        u = torch.arange(U + 1, device=x.device, dtype=x.dtype)  # (U+1,)
        mask = torch.cat([text_mask, text_mask.new_ones(B, 1)], 1).to(x.dtype)  # past the end counts
        hs, ws, phis = [], [], []
        for t in range(T):
            h, cc = self.cell1(torch.cat([x[:, t], w], -1), (h, cc))
            a, b, k = torch.exp(self.window(h)).chunk(3, -1)  # (B, K) each
            kappa = kappa + k / KAPPA_SCALE
            phi = (a[:, :, None] * torch.exp(-b[:, :, None] * (kappa[:, :, None] - u) ** 2)).sum(1)  # (B, U+1)
            phi = phi * mask
            w = torch.bmm(phi[:, None, :U], c).squeeze(1)  # (B, V)
            hs.append(h)
            ws.append(w)
            phis.append(phi)
        return torch.stack(hs, 1), torch.stack(ws, 1), torch.stack(phis, 1), (h, cc, kappa, w)

    def forward(self, x, text, text_mask, state=None, hand=None):
        """Points x (B, T, 3), the text, its mask and each row's or point's hand (see :meth:`with_hand`)
        -> the mixture parameters for each next point, phi, and the state (layer 1's, the window's
        and each upper layer's)."""
        x = self.with_hand(x, hand)
        c = self.one_hot(text)
        first = None if state is None else state[0]
        h1, w, phi, first = self.first_layer(x, c, text_mask, first)
        below, hidden, upper_states = h1, [h1], []
        for n, lstm in enumerate(self.upper):
            inp = torch.cat([x, self.drop(below), w], -1)
            below, st = lstm(inp, None if state is None else state[1][n])
            hidden.append(below)
            upper_states.append(st)
        y = self.out(torch.cat([self.drop(h) for h in hidden] + [w], -1))
        return y, phi, (first, upper_states)


def mixture(y: torch.Tensor, M: int, bias: float = 0.0):
    """Raw outputs (..., 1 + 6M) -> (e_logit, log pi, mu_x, mu_y, log sigma_x, log sigma_y, rho)."""
    e, pi, mx, my, sx, sy, rho = torch.split(y, [1, M, M, M, M, M, M], -1)
    log_pi = torch.log_softmax(pi * (1 + bias), -1)
    return e.squeeze(-1), log_pi, mx, my, sx - bias, sy - bias, torch.tanh(rho)


def nll(y: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, M: int) -> torch.Tensor:
    """Mean negative log-likelihood per point of ``target`` (B, T, 3) under outputs ``y``."""
    return (point_nll(y, target, M) * mask).sum() / mask.sum().clamp_min(1)


def point_nll(y: torch.Tensor, target: torch.Tensor, M: int) -> torch.Tensor:
    """The negative log-likelihood (B, T) of each point of ``target`` (B, T, 3) under outputs ``y``."""
    e, log_pi, mx, my, lsx, lsy, rho = mixture(y.float(), M)
    dx, dy, up = (target[..., i: i + 1] for i in range(3))
    zx, zy = (dx - mx) * torch.exp(-lsx), (dy - my) * torch.exp(-lsy)
    one_m = (1 - rho ** 2).clamp_min(1e-6)
    log_n = (-(zx ** 2 + zy ** 2 - 2 * rho * zx * zy) / (2 * one_m)
             - math.log(2 * math.pi) - lsx - lsy - 0.5 * torch.log(one_m))
    log_xy = torch.logsumexp(log_pi + log_n, -1)
    log_e = -nn.functional.binary_cross_entropy_with_logits(e, up.squeeze(-1), reduction="none")
    return -(log_xy + log_e)


def build_model(config: dict) -> WriteNet:
    return WriteNet(config_of(config))


def with_hands(net: WriteNet, hands: tuple) -> WriteNet:
    """A model that knows ``hands``, from ``net`` that knows none: the same weights, the hand's
    inputs weighted zero, so it writes as ``net`` did until training teaches it the hands."""
    cfg = WriteConfig(**{**{f.name: getattr(net.cfg, f.name) for f in fields(WriteConfig)}, "hands": tuple(hands)})
    wide = WriteNet(cfg)
    n = len(hands)
    state = {}
    for name, w in net.state_dict().items():
        if name == "cell1.weight_ih" or (name.startswith("upper.") and name.endswith("weight_ih_l0")):
            w = torch.cat([w[:, :3], w.new_zeros(w.shape[0], n), w[:, 3:]], 1)  # the hand after (dx, dy, up)
        state[name] = w
    wide.load_state_dict(state)
    return wide

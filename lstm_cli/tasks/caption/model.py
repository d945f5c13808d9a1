"""Show, Attend and Tell (Xu et al. 2015), small and trained from scratch.

Encoder: a plain CNN (conv3x3-BN-ReLU blocks, max-pooled down to an 8x8 grid) plus a learned
embedding of each grid position, so that attention's context knows *where* it looked (the
relations, "to the left of", need that):

    image (B, 3, S, S) -> features a (B, L=64, D)

Decoder, one word per step (the paper's eqs. 4-7, 13):

    e_ti    = w^T tanh(W_a a_i + W_h h_{t-1})          attention scores over the L positions
    alpha_t = softmax(e_t)                            (B, L)
    beta_t  = sigmoid(W_b h_{t-1})                    the gating scalar (per feature, as in §4.2.1)
    z_t     = beta_t * sum_i alpha_ti a_i             the context (B, D)
    h_t, c_t = LSTM([E y_{t-1}; z_t], h_{t-1}, c_t-1)
    p(y_t)  = softmax(L_o(E y_{t-1} + L_h h_t + L_z z_t))   the deep output layer
    h_0, c_0 = tanh(W (mean_i a_i))                  initialised from the mean feature

The paper's doubly stochastic regulariser (every position attended about once in all) is left
out: a caption of a few objects should look at a few places.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import torch
import torch.nn as nn

GRID = 8  # the encoder's output is GRID x GRID positions


@dataclass
class CaptionConfig:
    vocab_size: int = 0
    image_size: int = 64  # pixels (square); any input is resized to it
    widths: list = field(default_factory=lambda: [32, 64, 128, 128])  # conv channels, block by block
    embed: int = 128
    hidden: int = 256
    attention: int = 128
    dropout: float = 0.2
    max_len: int = 30  # words per caption, EOS excluded


class Encoder(nn.Module):
    def __init__(self, cfg: CaptionConfig):
        super().__init__()
        pools = (cfg.image_size // GRID).bit_length() - 1  # 64 px -> 3 halvings -> 8x8
        if GRID << pools != cfg.image_size:
            raise ValueError(f"image_size must be {GRID} times a power of two, not {cfg.image_size}")
        layers, c_in = [], 3
        for k, w in enumerate(cfg.widths):
            layers += [nn.Conv2d(c_in, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            if k < pools:
                layers.append(nn.MaxPool2d(2))
            c_in = w
        for _ in range(pools - len(cfg.widths)):  # more halvings than blocks: pool on
            layers.append(nn.MaxPool2d(2))
        self.net = nn.Sequential(*layers)
        self.position = nn.Parameter(torch.zeros(GRID * GRID, c_in))
        nn.init.normal_(self.position, std=0.1)
        self.dim = c_in

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (B, 3, S, S) -> features (B, L, D)."""
        x = images.float() / 127.5 - 1.0
        x = self.net(x)  # (B, D, 8, 8)
        return x.flatten(2).transpose(1, 2) + self.position  # (B, L, D)


class CaptionNet(nn.Module):
    def __init__(self, cfg: CaptionConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        D, H, E, A = self.encoder.dim, cfg.hidden, cfg.embed, cfg.attention
        self.init_h, self.init_c = nn.Linear(D, H), nn.Linear(D, H)
        self.att_a = nn.Linear(D, A)  # W_a, applied to the features once per image
        self.att_h = nn.Linear(H, A, bias=False)
        self.att_w = nn.Linear(A, 1)
        self.gate = nn.Linear(H, D)
        self.embed = nn.Embedding(cfg.vocab_size, E)
        self.cell = nn.LSTMCell(E + D, H)
        self.out_h, self.out_z = nn.Linear(H, E), nn.Linear(D, E, bias=False)
        self.out = nn.Linear(E, cfg.vocab_size)
        self.drop = nn.Dropout(cfg.dropout)
        with torch.no_grad():  # forget-gate bias 1: remember by default
            self.cell.bias_ih[H: 2 * H].fill_(1.0)

    def encode(self, images: torch.Tensor):
        """-> features (B, L, D), their attention keys (B, L, A), the initial state (h, c)."""
        a = self.encoder(images)
        mean = a.mean(1)
        return a, self.att_a(a), (torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean)))

    def step(self, y_prev: torch.Tensor, state, a: torch.Tensor, keys: torch.Tensor):
        """One word: ids ``y_prev`` (B,) -> logits (B, V), the new state, attention alpha (B, L)."""
        h, c = state
        e = self.att_w(torch.tanh(keys + self.att_h(h)[:, None])).squeeze(2)  # (B, L)
        alpha = e.float().softmax(-1)
        z = torch.sigmoid(self.gate(h)) * torch.bmm(alpha[:, None].to(a.dtype), a).squeeze(1)  # (B, D)
        emb = self.drop(self.embed(y_prev))
        h, c = self.cell(torch.cat([emb, z], -1), (h, c))
        logits = self.out(self.drop(emb + self.out_h(self.drop(h)) + self.out_z(z)))
        return logits, (h, c), alpha

    def forward(self, images: torch.Tensor, words_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (B, T, V) for ``words_in`` (B, T), which starts with BOS."""
        a, keys, state = self.encode(images)
        outs = []
        for t in range(words_in.shape[1]):
            logits, state, _ = self.step(words_in[:, t], state, a, keys)
            outs.append(logits)
        return torch.stack(outs, 1)


def build_model(config: dict) -> CaptionNet:
    names = {f.name for f in fields(CaptionConfig)}
    return CaptionNet(CaptionConfig(**{k: v for k, v in config.items() if k in names}))

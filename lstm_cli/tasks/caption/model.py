"""Show, Attend and Tell (Xu et al. 2015), small and trained from scratch.

Encoder: a plain CNN (conv3x3-BN-ReLU blocks, max-pooled down to a grid of 8 cells on the
image's shorter side) plus a learned embedding of each grid position, so that attention's
context knows *where* it looked (the relations, "to the left of", need that):

    image (B, 3, S, S) -> features a (B, L=64, D)
    image (B, 3, S, S * 2.5) -> features a (B, L=8 x 20, D)   (``max_aspect`` > 1)

A model with ``max_aspect`` > 1 keeps each picture's aspect ratio (``data.fit``): its positions
are a row embedding plus a column embedding (up to 8 x max_aspect of each), and pictures of
different shapes in one batch are encoded shape by shape, their features padded to the longest
and masked out of attention and of the mean. At 1 (models trained before), the picture is
squeezed to a square and each of the 64 positions has its own embedding.

Normalisation: training batches hold pictures of one shape each (one CNN call), so batch norm
normalised each shape by its own statistics, while its running averages mix them all: a model
trained so read square scenes 87% right with those averages and 96.7% with statistics taken over
square pictures only. So the encoder can keep batch norm statistics per picture shape
(``norm_shapes``, measured on held-out pictures by :func:`shape_statistics`, ``lstm export
--calibrate``), used at test time for pictures of those shapes (the running averages for
others). ``norm="group"`` (group norm, per picture) has no such gap, but composed worse: it
named held-out colour-shape pairs as the seen ones (87% of unseen square scenes).

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

import math
from dataclasses import dataclass, field, fields

import torch
import torch.nn as nn

GRID = 8  # the encoder's output is GRID x GRID positions


@dataclass
class CaptionConfig:
    vocab_size: int = 0
    image_size: int = 64  # pixels on the shorter side (``max_aspect`` 1: both sides)
    max_aspect: float = 1.0  # longest side / shortest kept (longer pictures are letterboxed); 1: squeezed
    norm: str = "batch"  # the encoder's normalisation: "batch" or "group"
    norm_shapes: list = field(default_factory=list)  # [h, w] of pictures with batch norm statistics of their own
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
            norm = nn.GroupNorm(min(8, w), w) if cfg.norm == "group" else nn.BatchNorm2d(w)
            layers += [nn.Conv2d(c_in, w, 3, padding=1, bias=False), norm, nn.ReLU(inplace=True)]
            if k < pools:
                layers.append(nn.MaxPool2d(2))
            c_in = w
        for _ in range(pools - len(cfg.widths)):  # more halvings than blocks: pool on
            layers.append(nn.MaxPool2d(2))
        self.net = nn.Sequential(*layers)
        bns = [m for m in layers if isinstance(m, nn.BatchNorm2d)]
        self.register_buffer("shape_stats", torch.zeros(len(cfg.norm_shapes), 2 * sum(m.num_features for m in bns))
                             if cfg.norm_shapes else None)  # None: not in the state dict (models without them)
        self.shape_index = {tuple(hw): k for k, hw in enumerate(cfg.norm_shapes)}
        if cfg.max_aspect > 1:
            most = math.ceil(GRID * cfg.max_aspect)
            self.rows, self.cols = nn.Parameter(torch.zeros(most, c_in)), nn.Parameter(torch.zeros(most, c_in))
            nn.init.normal_(self.rows, std=0.1)
            nn.init.normal_(self.cols, std=0.1)
        else:
            self.position = nn.Parameter(torch.zeros(GRID * GRID, c_in))
            nn.init.normal_(self.position, std=0.1)
        self.dim = c_in

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (B, 3, H, W), all of one shape -> features (B, L, D), L = the grid's cells
        row by row."""
        x = images.float() / 127.5 - 1.0
        k = None if self.training else self.shape_index.get(tuple(images.shape[2:]))
        if k is None:
            x = self.net(x)  # (B, D, h, w)
        else:  # batch norm with this shape's own statistics
            row, at = self.shape_stats[k], 0
            for layer in self.net:
                if isinstance(layer, nn.BatchNorm2d):
                    n = layer.num_features
                    x = nn.functional.batch_norm(x, row[at: at + n], row[at + n: at + 2 * n], layer.weight,
                                                 layer.bias, False, 0.0, layer.eps)
                    at += 2 * n
                else:
                    x = layer(x)
        h, w = x.shape[2:]
        pos = (self.rows[:h, None] + self.cols[None, :w]).flatten(0, 1) if hasattr(self, "rows") else self.position
        return x.flatten(2).transpose(1, 2) + pos  # (B, L, D)


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

    def features(self, images) -> tuple[torch.Tensor, torch.Tensor | None]:
        """uint8 images, a tensor (B, 3, H, W) or a list of (3, H, W) of any shapes -> features
        (B, L, D) and a mask (B, L) of the real cells (None when all have the same L)."""
        if torch.is_tensor(images):
            return self.encoder(images), None
        dev = next(self.parameters()).device
        groups: dict[tuple, list[int]] = {}
        for i, im in enumerate(images):
            groups.setdefault(tuple(im.shape), []).append(i)
        if len(groups) == 1:
            return self.encoder(torch.stack(list(images)).to(dev)), None
        parts = {k: self.encoder(torch.stack([images[i] for i in idx]).to(dev)) for k, idx in groups.items()}
        L = max(p.shape[1] for p in parts.values())
        first = next(iter(parts.values()))
        a = first.new_zeros(len(images), L, first.shape[2])
        mask = torch.zeros(len(images), L, dtype=torch.bool, device=dev)
        for k, idx in groups.items():
            n = parts[k].shape[1]
            a[idx, :n] = parts[k]
            mask[idx, :n] = True
        return a, mask

    def encode(self, images):
        """-> features (B, L, D), their attention keys (B, L, A), the initial state (h, c), the mask
        of real cells (B, L) or None (:meth:`features`)."""
        a, mask = self.features(images)
        mean = a.mean(1) if mask is None else (a * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return a, self.att_a(a), (torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))), mask

    def step(self, y_prev: torch.Tensor, state, a: torch.Tensor, keys: torch.Tensor, mask=None):
        """One word: ids ``y_prev`` (B,) -> logits (B, V), the new state, attention alpha (B, L)."""
        h, c = state
        e = self.att_w(torch.tanh(keys + self.att_h(h)[:, None])).squeeze(2)  # (B, L)
        if mask is not None:
            e = e.masked_fill(~mask, float("-inf"))
        alpha = e.float().softmax(-1)
        z = torch.sigmoid(self.gate(h)) * torch.bmm(alpha[:, None].to(a.dtype), a).squeeze(1)  # (B, D)
        emb = self.drop(self.embed(y_prev))
        h, c = self.cell(torch.cat([emb, z], -1), (h, c))
        logits = self.out(self.drop(emb + self.out_h(self.drop(h)) + self.out_z(z)))
        return logits, (h, c), alpha

    def forward(self, images: torch.Tensor, words_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (B, T, V) for ``words_in`` (B, T), which starts with BOS."""
        a, keys, state, mask = self.encode(images)
        outs = []
        for t in range(words_in.shape[1]):
            logits, state, _ = self.step(words_in[:, t], state, a, keys, mask)
            outs.append(logits)
        return torch.stack(outs, 1)


MIN_SHAPE_PICTURES = 8  # a shape's own statistics need at least this many pictures


@torch.no_grad()
def shape_statistics(net: CaptionNet, images: list) -> None:
    """Measure the encoder's batch norm statistics per picture shape over ``images`` (uint8
    (3, H, W), any shapes; shapes with fewer than MIN_SHAPE_PICTURES are left to the running
    averages) and keep them in ``net`` (its config's ``norm_shapes``, the ``shape_stats``
    buffer)."""
    enc = net.encoder
    bns = [m for m in enc.net if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    groups: dict[tuple, list] = {}
    for im in images:
        groups.setdefault(tuple(im.shape[1:]), []).append(im)
    saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone(), m.momentum) for m in bns]
    shapes, rows = [], []
    enc.net.train()
    for hw, g in sorted(groups.items()):
        if len(g) < MIN_SHAPE_PICTURES:
            continue
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # a plain average over the batches below
        for j in range(0, len(g), 64):
            enc.net(torch.stack(g[j: j + 64]).float() / 127.5 - 1.0)
        shapes.append(list(hw))
        rows.append(torch.cat([t for m in bns for t in (m.running_mean, m.running_var)]))
    for m, (mean, var, n, mom) in zip(bns, saved):
        m.running_mean.copy_(mean)
        m.running_var.copy_(var)
        m.num_batches_tracked.copy_(n)
        m.momentum = mom
    enc.net.eval()
    net.cfg.norm_shapes = shapes
    enc.shape_stats = torch.stack(rows) if rows else None
    enc.shape_index = {tuple(hw): k for k, hw in enumerate(shapes)}


def build_model(config: dict) -> CaptionNet:
    names = {f.name for f in fields(CaptionConfig)}
    return CaptionNet(CaptionConfig(**{k: v for k, v in config.items() if k in names}))

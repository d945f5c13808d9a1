"""``lstm predict``'s model (task ``sequences``): an LSTM that reads a sequence's numbers digit column
by digit column, lowest digit first, and writes the next number's digits the same way.

Why columns. A char model (tasks/sequences.py :class:`~lstm_cli.tasks.sequences.Predictor`) reads
``100 200 300`` a character at a time, so to write the next number's k-th digit it must recall the
k-th digits of the numbers before it from its state, found by their position in the line. It
learnt that for the sizes it saw and no further: 40-59% on arithmetic from 5-digit starts after
an hour of training, digits in either order (docs/models.md). Here the given numbers are written
one above the other, aligned at their lowest digit as a person adds them on paper, and the network
reads the columns: the k-th digits of all of them arrive together, at step k::

    x_i        column i, lowest digit first (i < COLUMNS = digits + 3): for each of the last
               ``terms`` elements (right-aligned, so the last is always in the last slot), its
               i-th digit in ten's complement and of its magnitude (one-hot), its sign, whether
               it has an i-th digit, whether the slot holds an element, its size (log10 |x| / 10,
               the same in every column); and i, and letters or not
    e_i        bidirectional LSTM layers over the columns: each column sees the whole numbers (a
               geometric sequence's ratio is in the highest digits, its carries in the lowest)
    d_i        an LSTM over [e_i; the digit it wrote at column i-1], lowest first: the carry
    p(y_i)     softmax(W d_i): the next element's i-th digit, in ten's complement

Negative numbers are in ten's complement over COLUMNS digits (-1 = 99...9), so a difference is the
same digit rule as a sum, whatever the signs. Letters are their places in the alphabet (a = 0) with
a flag, so ``z y x`` is a countdown; an answer outside a-z is no answer. An answer's probability is
the product of its digits' (all COLUMNS of them); the search over answers is a beam over columns.

Trained on lines of numbers or letters (``lstm train sequences``, one sequence per line): each
step draws windows from them (a line, an element to predict, 2 to ``terms`` elements before it),
a pure function of the step, so a resume is exact. The shipped model's lines are the everyday
ranges' (tasks/sequences.py ``draw_everyday``; ``scripts/corpora.py sequences-everyday``).
"""

from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn as nn

from lstm_cli.core import checkpoint
from lstm_cli.core.errors import InputError
from lstm_cli.core.task import Job
from lstm_cli.tasks import sequences as S

__all__ = ["build_model", "train", "evaluate", "ColumnPredictor"]

SLOT = 24  # features per element and column: 10 + 10 digits, sign, has the digit, present, size
LETTERS = S.LETTERS


@dataclass
class SequencesConfig:
    digits: int = 9  # the longest element it reads (a longer one: "too long for this model")
    terms: int = 6  # the last TERMS elements are read
    hidden: int = 192  # encoder units per direction and layer
    layers: int = 2  # bidirectional encoder layers
    decoder: int = 256  # decoder units
    dropout: float = 0.0  # between the encoder layers and before the decoder

    @property
    def columns(self) -> int:
        """Digits of ten's complement: room for an answer of ``digits + 1`` digits and its sign."""
        return self.digits + 3

    @property
    def features(self) -> int:
        return self.terms * SLOT + self.columns + 2


@dataclass
class SequencesData:
    batch_size: int = 256  # windows per step
    val_fraction: float = 0.02


class ColumnNet(nn.Module):
    def __init__(self, cfg: SequencesConfig):
        super().__init__()
        self.cfg = cfg
        self.enc = nn.LSTM(cfg.features, cfg.hidden, num_layers=cfg.layers, bidirectional=True, batch_first=True,
                           dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        self.dec = nn.LSTM(2 * cfg.hidden + 10, cfg.decoder, batch_first=True)
        self.out = nn.Linear(cfg.decoder, 10)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.enc(x)[0])

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Logits (N, C, 10) of each column's digit given the columns x (N, C, F) and the true
        digits y (N, C) of the columns before it (teacher forcing)."""
        prev = torch.zeros(y.shape[0], y.shape[1], 10, device=x.device)
        prev[:, 1:] = nn.functional.one_hot(y[:, :-1], 10).to(prev.dtype)
        return self.out(self.dec(torch.cat([self.encode(x), prev.to(x.dtype)], -1))[0])


def config_of(config: dict) -> SequencesConfig:
    names = {f.name for f in fields(SequencesConfig)}
    return SequencesConfig(**{k: v for k, v in config.items() if k in names})


def build_model(config: dict) -> ColumnNet:
    return ColumnNet(config_of(config))


# ---------------------------------------------------------------- elements as columns


def values_of(items: list[str]) -> tuple[list[int], bool, bool]:
    """Elements as numbers: (values, letters, upper case); a letter is its place in a-z."""
    if items[0].isalpha():
        return [LETTERS.index(c.lower()) for c in items], True, items[0].isupper()
    return [int(x) for x in items], False, False


def columns_of(cfg: SequencesConfig, values: np.ndarray, present: np.ndarray, letters: np.ndarray,
               upper: np.ndarray) -> np.ndarray:
    """The network's input (N, C, F) float32 for N sequences: ``values`` (N, T) int64 of their last
    T = ``cfg.terms`` elements, right-aligned, ``present`` (N, T) which slots hold one, ``letters``
    and ``upper`` (N,) flags."""
    n, t, c = values.shape[0], cfg.terms, cfg.columns
    power = 10 ** np.arange(c, dtype=np.int64)
    comp = (values % 10**c)[:, :, None] // power % 10  # (N, T, C)
    mag = np.abs(values)[:, :, None] // power % 10
    has = (np.maximum(np.abs(values), 1)[:, :, None] >= power) & present[:, :, None]
    size = np.log10(np.abs(values).astype(np.float64) + 1) / 10
    eye = np.eye(10, dtype=np.float32)
    every = lambda a: np.repeat(a[:, :, None, None], c, 2)  # noqa: E731  (N, T) -> (N, T, C, 1)
    slot = np.concatenate([eye[comp], eye[mag], every(values < 0), has[..., None], every(present),
                           every(size)], -1).astype(np.float32)
    slot *= present[:, :, None, None]
    x = np.zeros((n, c, cfg.features), np.float32)
    x[:, :, : t * SLOT] = slot.transpose(0, 2, 1, 3).reshape(n, c, t * SLOT)
    x[:, np.arange(c), t * SLOT + np.arange(c)] = 1
    x[:, :, -2] = letters[:, None]
    x[:, :, -1] = upper[:, None]
    return x


def digits_of(cfg: SequencesConfig, values: np.ndarray) -> np.ndarray:
    """Targets (N, C) int64: each value's digits in ten's complement, lowest first."""
    return (values % 10**cfg.columns)[:, None] // 10 ** np.arange(cfg.columns, dtype=np.int64) % 10


def value_of(cfg: SequencesConfig, digits, letters: bool, upper: bool) -> str | None:
    """An element from its complement digits (lowest first); None if it is no element this model
    writes: longer than ``digits + 1`` digits, or (letters) outside a-z."""
    v = int("".join(map(str, digits[::-1])))
    if v >= 10**cfg.columns // 2:
        v -= 10**cfg.columns
    if letters:
        return None if not 0 <= v < 26 else LETTERS[v].upper() if upper else LETTERS[v]
    return str(v) if abs(v) < 10 ** (cfg.digits + 1) else None


# ---------------------------------------------------------------- training data


class Lines:
    """Sequences as flat arrays: every element's value, each line's start and length, and whether
    it is letters (upper case). Windows are drawn from them by (line, element to predict, given)."""

    def __init__(self, rows: list[tuple[list[int], bool, bool]]):
        self.lens = np.array([len(v) for v, _, _ in rows], np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lens)[:-1]]).astype(np.int64)
        self.values = np.array([x for v, _, _ in rows for x in v], np.int64)
        self.letters = np.array([lt for _, lt, _ in rows], bool)
        self.upper = np.array([up for _, _, up in rows], bool)

    def __len__(self) -> int:
        return len(self.lens)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for a in (self.lens, self.values, self.letters, self.upper):
            h.update(a.tobytes())
        return h.hexdigest()[:16]

    def windows(self, cfg: SequencesConfig, line: np.ndarray, end: np.ndarray, given: np.ndarray):
        """(x (N, C, F), target digits (N, C)) for the element ``end`` of each ``line`` given the
        ``given`` elements before it."""
        t = cfg.terms
        slots = np.arange(t)[None, :] - t + end[:, None]  # element index of each slot
        present = slots >= (end - given)[:, None]
        idx = self.starts[line][:, None] + np.maximum(slots, 0)
        values = np.where(present, self.values[idx], 0)
        x = columns_of(cfg, values, present, self.letters[line], self.upper[line])
        return x, digits_of(cfg, self.values[self.starts[line] + end])

    def draw(self, cfg: SequencesConfig, rng: np.random.Generator, n: int):
        """``n`` random windows: a line, an element after its second, 2 to ``terms`` elements
        before it (2 one time in ten: two elements say little about the family)."""
        line = rng.integers(0, len(self), n)
        end = rng.integers(2, self.lens[line])  # the element to predict: at least 2 before it
        most = np.minimum(end, cfg.terms)
        given = np.where((rng.random(n) < 0.1) | (most == 2), 2, 3 + (rng.random(n) * (most - 2)).astype(np.int64))
        return self.windows(cfg, line, end, np.minimum(given, most))

    def last(self, cfg: SequencesConfig):
        """Each line's last element given the (up to ``terms``) elements before it."""
        end = self.lens - 1
        return self.windows(cfg, np.arange(len(self)), end, np.minimum(end, cfg.terms))


def read_lines(paths: list[str], cfg: SequencesConfig, log, what: str = "--data") -> Lines:
    """:func:`read_rows` as :class:`Lines`."""
    return Lines(read_rows(paths, cfg, log, what))


def read_rows(paths: list[str], cfg: SequencesConfig, log, what: str = "--data") -> list[tuple[list[int], bool, bool]]:
    """Sequences from text files, one per line (whole numbers or letters, spaces or commas between;
    FAMILY<TAB> before a line is ignored). Lines shorter than three elements are left out; a line
    with an element longer than ``cfg.digits`` digits is cut before it; a line that is neither
    numbers nor letters is an InputError naming it."""
    from lstm_cli.core.fileio import read_text

    rows, short, cut = [], 0, 0
    for path in paths:
        for i, ln in enumerate(read_text(path).splitlines()):
            seq = ln.rpartition("\t")[2].strip()
            if not seq:
                continue
            items = seq.replace(",", " ").split()
            try:
                vals, letters, upper = values_of(items)
            except ValueError:
                items = S.parse([seq], f"{path} line {i + 1}")  # the one clear error for the line
                vals, letters, upper = values_of(items)
            if not letters:
                long = next((j for j, v in enumerate(vals) if abs(v) >= 10**cfg.digits), None)
                if long is not None:
                    vals, cut = vals[:long], cut + 1
            if len(vals) < 3:
                short += 1
                continue
            rows.append((vals, letters, upper))
    if cut:
        log(f"lstm: warning: {what}: {cut:,} line(s) cut before an element of more than {cfg.digits} digits")
    if short:
        log(f"lstm: warning: {what}: {short:,} line(s) of fewer than 3 elements left out")
    if not rows:
        raise InputError(f"{what} holds no sequence of 3 elements or more", hint="one sequence per line, e.g. 6 7 8 9")
    return rows


class SequencesJob(Job):
    """What the trainer drives: windows drawn afresh every step (a pure function of the step)."""

    task = "sequences"

    def __init__(self, model: ColumnNet, lines: Lines, val: Lines | None, data: SequencesData, random_seed: int,
                 note: str = ""):
        self.model, self.data, self.data_note = model, data, note
        self.config, self.vocab = asdict(model.cfg), {}
        self.lines, self.val, self.seed = lines, val, random_seed
        self.fingerprint = lines.fingerprint() + f"/b{data.batch_size}"

    def loss(self, model, step: int, carry):
        dev = next(model.parameters()).device
        x, y = self.lines.draw(self.model.cfg, np.random.default_rng([self.seed, step]), self.data.batch_size)
        y = torch.from_numpy(y).to(dev)
        logits = model(torch.from_numpy(x).to(dev), y)
        return nn.functional.cross_entropy(logits.reshape(-1, 10).float(), y.reshape(-1)), y.numel(), None

    def held_out_loss(self, model, bf16: bool) -> float | None:
        if self.val is None:
            return None
        x, y = self.val.last(self.model.cfg)
        dev = next(model.parameters()).device
        total = 0.0
        model.eval()
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            for at in range(0, len(x), 1024):
                yy = torch.from_numpy(y[at: at + 1024]).to(dev)
                logits = model(torch.from_numpy(x[at: at + 1024]).to(dev), yy)
                total += nn.functional.cross_entropy(logits.reshape(-1, 10).float(), yy.reshape(-1), reduction="sum").item()
        model.train()
        return total / y.size

    def sample(self, model, random_seed: int) -> str:
        if self.val is None:
            return ""
        model.eval()
        x, y = self.val.last(self.model.cfg)
        x, dev = x[:2000], next(model.parameters()).device
        with torch.no_grad():
            got = np.concatenate([_greedy(model, torch.from_numpy(x[at: at + 1000]).to(dev))[0]
                                  for at in range(0, len(x), 1000)])
        model.train()
        right = (got == y[: len(got)]).all(1).mean()
        return f"last elements of the first {len(got):,} held-out lines: {100 * right:.1f}% right"


def _greedy(model: ColumnNet, x: torch.Tensor):
    """Each sequence's likeliest digit column by column: (digits (N, C), log-probability (N,))."""
    digits, lp = _beam(model, x, 1)
    return digits[:, 0], lp[:, 0]


@torch.no_grad()
def _beam(model: ColumnNet, x: torch.Tensor, width: int):
    """A beam over columns: (digits (N, W, C) int64, log-probabilities (N, W)), likeliest first.
    Only numbers of at most ``digits + 1`` digits are searched (above them every column is 0, or
    every one 9)."""
    n, c, top = x.shape[0], x.shape[1], model.cfg.digits + 1
    e = model.enc(x)[0]  # (N, C, 2H)
    e = e.repeat_interleave(width, 0)
    dev = x.device
    score = torch.full((n, width), -math.inf, device=dev)
    score[:, 0] = 0.0
    prev = torch.zeros(n * width, 10, device=dev)
    state = None
    digits = torch.zeros(n, width, 0, dtype=torch.long, device=dev)
    for i in range(c):
        d, state = model.dec(torch.cat([e[:, i: i + 1], prev[:, None]], -1), state)
        logp = torch.log_softmax(model.out(d[:, 0]).float(), -1).view(n, width, 10)
        if i == top:  # the sign: the columns above the answer's digits are all 0 or all 9
            logp[:, :, 1:9] = -math.inf
        elif i > top:
            logp = logp.masked_fill(nn.functional.one_hot(digit, 10) == 0, -math.inf)
        total = (score[:, :, None] + logp).view(n, width * 10)
        score, pick = total.topk(width, dim=1)
        parent, digit = pick // 10, pick % 10
        digits = torch.cat([digits.gather(1, parent[:, :, None].expand(-1, -1, i)), digit[:, :, None]], 2)
        rows = (parent + torch.arange(n, device=dev)[:, None] * width).view(-1)
        state = tuple(s[:, rows] for s in state)
        prev = nn.functional.one_hot(digit.view(-1), 10).float()
    return digits.cpu().numpy(), score.cpu().numpy()


TUNABLE = ("dropout",)


def train(data: list[str], val_data: list[str] | None, out: str, cfg, data_cfg: SequencesData, model_cfg: dict,
          given: dict | None = None, init: str | None = None, resume: str | None = None, threads: int = 0) -> dict:
    """``lstm train sequences``: files of sequences, one per line."""
    from lstm_cli.core import registry
    from lstm_cli.core.task import no_validation, train_task

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    stored = checkpoint.load(resume, task="sequences") if resume else registry.load(init, "sequences") if init else None
    mcfg = config_of(stored["config"]) if stored else SequencesConfig(**model_cfg)
    rows = read_rows(data, mcfg, log)
    if val_data:
        lines, val = Lines(rows), read_lines(val_data, mcfg, log, "--val-data")
    else:
        n_val = int(len(rows) * data_cfg.val_fraction) if len(rows) >= 50 else 0
        if not n_val:
            log(no_validation(f"lines ({len(rows)} given, --val-fraction {data_cfg.val_fraction:g}; or give --val-data)"))
        lines, val = Lines(rows[: len(rows) - n_val]), Lines(rows[len(rows) - n_val:]) if n_val else None
    log(f"lstm: {len(lines):,} training lines" + (f", {len(val):,} held out" if val is not None else ""))

    def make(start: dict | None, data_cfg: SequencesData, cfg) -> SequencesJob:
        model = build_model(start["config"]) if start is not None else ColumnNet(mcfg)
        if start is not None:
            checkpoint.weights_into(model, start)
        return SequencesJob(model, lines, val, data_cfg, cfg.random_seed, ", ".join(data))

    return train_task("sequences", out, cfg, make, data_cfg, given, TUNABLE, init=init, resume=resume, threads=threads)


# ---------------------------------------------------------------- predicting


class ColumnPredictor(S.Reading):
    """The next elements of sequences under a column model: all sequences of a call read as one
    batch (one encoder pass, a beam over the columns)."""

    CHUNK = 2048

    def __init__(self, net: ColumnNet):
        self.net = net.eval()
        self.cfg = net.cfg

    @classmethod
    def of(cls, ckpt: dict) -> "ColumnPredictor":
        net = build_model(ckpt["config"])
        checkpoint.weights_into(net, ckpt)
        return cls(net)

    def encode(self, items: list[str], what: str = "the sequence") -> list[str]:
        """InputError for an element longer than the model reads."""
        self.refuse_long(items, self.cfg.digits, what)
        return items

    def _inputs(self, batch: list[list[str]]):
        t = self.cfg.terms
        values = np.zeros((len(batch), t), np.int64)
        present = np.zeros((len(batch), t), bool)
        letters, upper = np.zeros(len(batch), bool), np.zeros(len(batch), bool)
        for r, items in enumerate(batch):
            vals, letters[r], upper[r] = values_of(items[-t:])
            values[r, t - len(vals):], present[r, t - len(vals):] = vals, True
        return torch.from_numpy(columns_of(self.cfg, values, present, letters, upper)), letters, upper

    def ranked_many(self, batch: list[list[str]], k: int = 5) -> list[list[tuple[str, float]]]:
        """For each sequence its ``k`` likeliest next elements with their probabilities, likeliest
        first (a beam of ``k`` over the columns; answers no element, such as a letter past z, are
        dropped)."""
        out = []
        for at in range(0, len(batch), self.CHUNK):
            part = batch[at: at + self.CHUNK]
            x, letters, upper = self._inputs(part)
            digits, lp = _beam(self.net, x, k)
            for r in range(len(part)):
                got = [(value_of(self.cfg, digits[r, j], letters[r], upper[r]), float(np.exp(lp[r, j]))) for j in range(k)]
                out.append([(v, p) for v, p in got if v is not None and p > 0])
        return out

    def probability_many(self, batch: list[list[str]], answers: list[str]) -> list[float]:
        """For each sequence, the probability of the given next element (0 for one of the other
        kind, or longer than the model writes)."""
        out = []
        for at in range(0, len(batch), self.CHUNK):
            part, want = batch[at: at + self.CHUNK], answers[at: at + self.CHUNK]
            x, letters, _ = self._inputs(part)
            ok = np.array([a.isalpha() == bool(lt) and (not lt or a.lower() in LETTERS) for a, lt in zip(want, letters)])
            vals = np.array([values_of([a])[0][0] if good else 0 for a, good in zip(want, ok)], np.int64)
            ok &= np.abs(vals) < 10 ** (self.cfg.digits + 1)
            y = torch.from_numpy(digits_of(self.cfg, vals))
            with torch.no_grad():
                logp = torch.log_softmax(self.net(x, y).float(), -1).gather(2, y[:, :, None])[:, :, 0].sum(1)
            out += [float(np.exp(lp)) if good else 0.0 for lp, good in zip(logp.numpy(), ok)]
        return out


def evaluate(model: str | None, data: str, device: str = "auto") -> dict:
    """``lstm eval``: how often each line's last element is predicted exactly from the elements
    before it (per family with FAMILY<TAB> lines)."""
    from lstm_cli.core import registry
    from lstm_cli.core.fileio import read_text
    from lstm_cli.core.runtime import set_threads

    set_threads(0)
    predictor = ColumnPredictor.of(registry.load(model, "sequences"))
    per = S.accuracy(predictor, S.scored_rows(read_text(data), data))
    right, total = sum(r["correct"] for r in per.values()), sum(r["total"] for r in per.values())
    out = {"metric": "accuracy", "accuracy": round(100.0 * right / max(total, 1), 2), "sequences": total,
           "model": model or registry.task("sequences").default_model}
    if len(per) > 1 or "all" not in per:
        out["per_family"] = {f: r["accuracy"] for f, r in per.items()}
    return out

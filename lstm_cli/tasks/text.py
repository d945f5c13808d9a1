"""Character-level text (Karpathy's char-rnn): predict the next character from all before it.

Model: x_t (a character id) -> embedding e_t -> L stacked LSTM layers -> logits over the vocabulary.
Each LSTM layer (Hochreiter & Schmidhuber 1997, with forget gate) computes, from input u_t and
its previous state (h_{t-1}, c_{t-1}):

    [i; f; g; o] = W_ih u_t + W_hh h_{t-1} + b          (4H,)
    c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
    h_t = sigmoid(o) * tanh(c_t)

Training minimises the cross-entropy of the next character (nats/char) with truncated
back-propagation through time: the corpus is cut into B parallel streams, each batch is the next
T characters of every stream, and the hidden state is carried from one batch to the next
(detached), so the model sees context longer than T::

    corpus  a b c d e f g h i j k l m n o p q r s t u v w x      (B = 3 streams, T = 2)
    stream0 a b c d e f g h     batch k=0: [a b] [i j] [q r]  -> targets [b c] [j k] [r s]
    stream1 i j k l m n o p     batch k=1: [c d] [k l] [s t]  (state carried from k=0)
    stream2 q r s t u v w x

Sampling runs the recurrence one character at a time without ``nn.LSTM``: per step and layer a
single matrix-vector product (``core.sampling.LSTMStream``), so text streams out as fast as memory
allows.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import asdict, dataclass, fields, replace
from typing import Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from lstm_cli.core import checkpoint
from lstm_cli.core import sampling
from lstm_cli.core.errors import InputError, UsageError
from lstm_cli.core.task import Job, no_validation

# Named model sizes (minGPT style); parameter counts for a 100-character vocabulary.
PRESETS = {
    "tiny": dict(embed=16, hidden=64, layers=1),  # 0.03M: tests
    "small": dict(embed=64, hidden=256, layers=2),  # 0.9M
    "medium": dict(embed=128, hidden=512, layers=2),  # 3.5M: the shipped models
    "large": dict(embed=128, hidden=768, layers=3),  # 12.0M
}


@dataclass
class TextConfig:
    """The model; stored in every checkpoint as a plain dict."""

    vocab_size: int
    embed: int = 128
    hidden: int = 512
    layers: int = 2
    dropout: float = 0.25
    weight_drop: float = 0.0  # DropConnect on each layer's W_hh while training (AWD-LSTM)


@dataclass
class TextData:
    """How the corpus is cut into batches (training only)."""

    batch_size: int = 64
    seq_len: int = 128
    val_fraction: float = 0.1  # used when no --val-data is given: the corpus' last 10%
    input_noise: float = 0.0  # share of input characters replaced by draws from the corpus (Xie et al. 2017)
    digits: str | None = None  # how the corpus writes numbers, recorded for lstm predict (None: as --init's, else highest-first)


class CharLSTM(nn.Module):
    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed)
        self.drop = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(cfg.embed, cfg.hidden, cfg.layers, batch_first=True,
                            dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)

    def forward(self, x, state=None):
        e = self.drop(self.embed(x))  # (B, T, E)
        if self.training and self.cfg.weight_drop > 0:
            out, state = self._weight_dropped(e, state)
        else:
            out, state = self.lstm(e, state)  # (B, T, H), ((L, B, H), (L, B, H))
        return self.head(self.drop(out)), state  # (B, T, V)

    def _weight_dropped(self, e, state):
        """The same fused kernel as ``nn.LSTM``, with one DropConnect mask per batch on every
        recurrent matrix W_hh (Wan et al. 2013; Merity et al. 2017): the recurrence is
        regularised without touching the state carried from step to step."""
        lstm = self.lstm
        if state is None:
            z = e.new_zeros(lstm.num_layers, e.shape[0], lstm.hidden_size)
            state = (z, z)
        weights = [F.dropout(w, self.cfg.weight_drop) if name.startswith("weight_hh") else w
                   for name, w in zip(lstm._flat_weights_names, lstm._flat_weights)]
        out, h, c = torch.lstm(e, state, weights, True, lstm.num_layers, lstm.dropout, True, False, True)
        return out, (h, c)


class Vocab:
    """The corpus' characters, sorted; id = position."""

    def __init__(self, chars: str):
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_texts(cls, *texts: str) -> "Vocab":
        return cls("".join(sorted(set().union(*map(set, texts)))))

    def unknown(self, text: str) -> list[str]:
        return sorted(set(text) - self.index.keys())

    def encode(self, text: str, oov: str = "error", what: str = "text", hint: str | None = None) -> torch.Tensor:
        """``oov``: ``error`` lists unknown characters (with ``hint``, which says what the calling
        command offers); ``skip`` drops them; ``replace`` uses a space."""
        bad = self.unknown(text)
        if bad:
            if oov == "error":
                shown = " ".join(repr(c) for c in bad[:20]) + (" ..." if len(bad) > 20 else "")
                raise InputError(f"{what} has {len(bad)} character(s) the model does not know: {shown}",
                                 hint=hint)
            if oov == "skip":
                text = "".join(c for c in text if c in self.index)
            elif oov == "replace":
                sub = " " if " " in self.index else self.chars[0]
                text = "".join(c if c in self.index else sub for c in text)
            else:
                raise UsageError(f"unknown --oov mode '{oov}'", hint="use error, skip or replace")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)


def build_model(config: dict) -> CharLSTM:
    names = {f.name for f in fields(TextConfig)}
    return CharLSTM(TextConfig(**{k: v for k, v in config.items() if k in names}))


def from_checkpoint(ckpt: dict) -> tuple[CharLSTM, Vocab]:
    model = build_model(ckpt["config"])
    checkpoint.weights_into(model, ckpt)
    return model.eval(), Vocab(ckpt["vocab"])


# ---------------------------------------------------------------- training


def _read(model: CharLSTM, ids: torch.Tensor, streams: int, chunk: int, bf16: bool) -> Iterator:
    """Logits (B, T, V) and targets (B, T), chunk by chunk: the text is cut into a few long
    contiguous streams, each read from its start with the state carried, and every character but
    each stream's first is a target."""
    model.eval()
    device = next(model.parameters()).device
    n = ids.numel()
    streams = max(1, min(streams, n // 1024))
    length = n // streams
    data = ids[: streams * length].view(streams, length).to(device)
    state = None
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for s in range(0, length - 1, chunk):
            x, y = data[:, s: s + chunk], data[:, s + 1: s + chunk + 1]
            logits, state = model(x[:, : y.shape[1]], state)
            yield logits.float(), y


@torch.no_grad()
def loss_on(model: CharLSTM, ids: torch.Tensor, streams: int = 16, chunk: int = 256,
            bf16: bool = False, progress=None) -> float:
    """Mean nats/char of ``ids`` under ``model`` (read as :func:`_read` says); ``progress`` (a
    callable) is told the characters scored so far."""
    total, count = 0.0, 0
    for logits, y in _read(model, ids, streams, chunk, bf16):
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
        if progress is not None:
            progress(count)
    return total / max(count, 1)


def dynamic_losses(model: CharLSTM, ids: torch.Tensor, lr: float, decay: float = 0.0,
                   segment: int = 50, progress=None) -> torch.Tensor:
    """Dynamic evaluation (Krause et al. 2018): read ``ids`` once, left to right, in segments of
    ``segment`` characters; score each segment, then take one SGD step on it (learning rate
    ``lr``, weights pulled back towards the originals by ``decay``) before reading the next. The
    model so adapts to the text it reads (its names, its style), and still scores every character
    before it learns from it. Returns the loss of each character but the first (nats), and leaves
    ``model`` as it was: the steps are taken on a copy. ``progress``: as for :func:`loss_on`."""
    import copy

    net = copy.deepcopy(model)
    net.cfg = replace(net.cfg, weight_drop=0.0)
    net.drop.p = net.lstm.dropout = 0.0
    net.lstm.flatten_parameters()
    net.train()  # without dropout: training mode only because cuDNN computes gradients only there
    params = list(net.parameters())
    start = [p.detach().clone() for p in params] if decay > 0 else None
    device = params[0].device
    data = ids.view(1, -1).to(device)
    losses, state = [], None
    for s in range(0, ids.numel() - 1, segment):
        x, y = data[:, s: s + segment], data[:, s + 1: s + segment + 1]
        logits, state = net(x[:, : y.shape[1]], state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
        losses.append(loss.detach())
        state = tuple(t.detach() for t in state)
        net.zero_grad(set_to_none=True)
        loss.mean().backward()
        with torch.no_grad():
            for i, p in enumerate(params):
                p.add_(p.grad, alpha=-lr)
                if start is not None:
                    p.add_(start[i] - p, alpha=decay)
        if progress is not None:
            progress(s + y.shape[1])
    return torch.cat(losses).cpu()


class TextJob(Job):
    """What the trainer drives for character-level text (core/task.py). The carried state is the
    LSTM's (h, c), each (layers, B, H): the batch on dim 1."""

    task = "text"
    carry_batch_dim = 1

    def __init__(self, model: CharLSTM, vocab, train: torch.Tensor, val: torch.Tensor | None,
                 data: TextData, data_note: str = ""):
        """``vocab``: a :class:`Vocab`, or (a task that models other ids with this job, such as
        compose) the plain data to store as the checkpoint's vocabulary."""
        self.model, self.vocab_obj, self.data = model, vocab, data
        self.config = asdict(model.cfg)
        self.vocab = vocab.chars if isinstance(vocab, Vocab) else vocab
        self.train, self.val, self.data_note = train, val, data_note
        self.rank, self.world = 0, 1
        B, T = data.batch_size, data.seq_len
        self.stream_len = (train.numel() - T) // B
        self.steps_per_epoch = (self.stream_len - 1) // T
        self.fingerprint = hashlib.sha256(train.numpy().tobytes()).hexdigest()[:16] + f"/B{B}/T{T}"
        self._epoch, self._streams = -1, None

    def shard(self, rank: int, world: int) -> None:
        if self.data.batch_size % world:
            raise UsageError(f"--batch-size {self.data.batch_size} does not split over {world} processes")
        self.rank, self.world = rank, world

    def _batch(self, epoch: int, k: int):
        if epoch != self._epoch:  # each epoch shifts the cut points so TBPTT boundaries move
            B, T = self.data.batch_size, self.data.seq_len
            off = (epoch * 7) % T
            s = self.train[off: off + B * self.stream_len].view(B, self.stream_len)
            self._streams = s.chunk(self.world)[self.rank]  # (B / world, Ls)
            self._epoch = epoch
        T = self.data.seq_len
        x = self._streams[:, k * T: (k + 1) * T]
        y = self._streams[:, k * T + 1: (k + 1) * T + 1]
        return x, y

    def loss(self, model, step: int, carry):
        epoch, k = divmod(step, self.steps_per_epoch)
        if k == 0:
            carry = None
        x, y = self._batch(epoch, k)
        if self.data.input_noise > 0:  # unigram noising of the inputs; the targets stay clean
            swap = torch.rand(x.shape) < self.data.input_noise
            x = torch.where(swap, self.train[torch.randint(self.train.numel(), x.shape)], x)
        device = next(model.parameters()).device
        logits, state = model(x.to(device), carry)  # (B, T, V)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.to(device).reshape(-1))
        return loss, y.numel(), tuple(t.detach() for t in state)

    def held_out_loss(self, model, bf16: bool) -> float | None:
        if self.val is None or self.val.numel() < 2:
            return None
        return loss_on(model, self.val, bf16=bf16)

    def sample(self, model, random_seed: int) -> str:
        s = Sampler(model, self.vocab_obj)
        return "".join(s.stream(s.prime(""), 300, temperature=0.8, random_seed=random_seed))


def make_job(texts: list[str], val_texts: list[str] | None, data: TextData, model_overrides: dict,
             init: dict | None = None, note: str = "", log=print) -> TextJob:
    """Build the model (fresh, or from the ``init`` checkpoint: weights to fine-tune or a run to
    resume) and the data. A text too small for one batch of the chosen shape gets a smaller one,
    with a warning."""
    corpus = "".join(t if t.endswith("\n") else t + "\n" for t in texts)
    if val_texts is not None and not "".join(val_texts).strip():
        raise InputError("the --val-data text is empty", hint="give held-out text, or leave out --val-data")
    if val_texts:
        val_text = "".join(val_texts)
    else:
        cut = int(len(corpus) * (1 - data.val_fraction)) if data.val_fraction > 0 else len(corpus)
        corpus, val_text = corpus[:cut], corpus[cut:]
    if len(corpus) < 32:
        raise InputError(f"the training text is too small ({len(corpus)} characters); give it at least a few KB")
    base = init
    if base is not None:
        vocab = Vocab(base["vocab"])
        model = build_model(base["config"])
        checkpoint.weights_into(model, base)
        train = vocab.encode(corpus, what="the training data",
                             hint="the alphabet of the --init/--resume model is fixed: remove those characters, or train a new model")
        val = vocab.encode(val_text, oov="skip") if val_text else None
    else:
        vocab = Vocab.from_texts(corpus, val_text)
        cfg = TextConfig(vocab_size=len(vocab.chars), **model_overrides)
        model = CharLSTM(cfg)
        train = vocab.encode(corpus)
        val = vocab.encode(val_text) if val_text else None
    fit_batch(data, train.numel(), log)
    if val is None or val.numel() < 2:
        log(no_validation("text (--val-fraction 0, or too little text)"))
    job = TextJob(model, vocab, train, val, data, note)
    before = (base or {}).get("meta", {}).get("data_facts", {})  # a fine-tune has seen both
    job.data_facts = {k: max(v, before.get(k, 0)) for k, v in number_facts(corpus).items()}
    digits = data.digits or before.get("digits")
    if digits and digits != "highest-first":
        job.data_facts["digits"] = digits
    return job


def number_facts(text: str) -> dict:
    """The most digits of a number in ``text``: what ``lstm predict`` may read with a model
    trained on it (tasks/sequences.py). One pass over the bytes."""
    import numpy as np

    digit = np.frombuffer(text.encode("utf-8", "replace"), np.uint8)
    digit = ((digit >= 48) & (digit <= 57)).astype(np.int8)
    edges = np.diff(np.concatenate(([0], digit, [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return {"longest_number": int((ends - starts).max()) if starts.size else 0}


def fit_batch(data: TextData, n: int, log=print, unit: str = "characters", what: str = "text") -> None:
    """Shrink the batch (then the sequence) of ``data`` until ``n`` tokens fill one, with a
    warning: a small corpus trains on a smaller batch rather than failing."""
    need = lambda b, t: b * (t + 2) + t  # noqa: E731
    shape = (data.batch_size, data.seq_len)
    while data.batch_size > 1 and n < need(data.batch_size, data.seq_len):
        data.batch_size //= 2
    while data.seq_len > 8 and n < need(data.batch_size, data.seq_len):
        data.seq_len //= 2
    if (data.batch_size, data.seq_len) != shape:
        log(f"lstm: warning: the training {what} ({n:,} {unit}) cannot fill one batch of "
            f"{shape[0]} x {shape[1]} {unit} (it needs {need(*shape):,}); training on batches of "
            f"{data.batch_size} x {data.seq_len} instead. A useful model wants far more.")


def preset(name: str, **overrides) -> dict:
    """A named size from :data:`PRESETS`, with explicit flags (not None) taking precedence."""
    if name not in PRESETS:
        raise UsageError(f"unknown preset '{name}'", hint=f"presets: {', '.join(PRESETS)}")
    return {**PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}}


# Model flags that may change when fine-tuning from --init weights; the layer sizes may not.
TUNABLE = ("dropout", "weight_drop")


def train(data: list[str], val_data: list[str] | None, out: str, cfg, data_cfg: TextData, model_cfg: dict,
          given: dict | None = None, init: str | None = None, resume: str | None = None, threads: int = 0) -> dict:
    """``lstm train text``: read the corpus, build or restore the model, run the shared trainer.
    ``given``: the model and data flags the user typed (checked against --init/--resume)."""
    from lstm_cli.core.fileio import read_text
    from lstm_cli.core.task import train_task

    texts = [read_text(p) for p in data]
    vals = [read_text(p) for p in val_data] if val_data else None
    note = ", ".join(p if p != "-" else "stdin" for p in data)

    def make(start: dict | None, data_cfg: TextData, cfg) -> TextJob:
        return make_job(texts, vals, data_cfg, model_cfg, init=start, note=note, log=lambda m: print(m, file=sys.stderr))

    return train_task("text", out, cfg, make, data_cfg, given, TUNABLE, init=init, resume=resume, threads=threads)


def evaluate(model: str | None, data: str, oov: str = "error", device: str = "auto", dynamic_lr: float = 0.0,
             dynamic_decay: float = 0.0, dynamic_segment: int = 50) -> dict:
    """``lstm eval``: held-out loss of a text model on one text, in nats and bits per character;
    with ``dynamic_lr`` > 0, under dynamic evaluation (:func:`dynamic_losses`)."""
    import math

    from lstm_cli.core import registry
    from lstm_cli.core.progress import Ticker
    from lstm_cli.core.runtime import pick_device, set_threads

    set_threads(0)  # LSTM_THREADS, if set
    ckpt = registry.load(model, "text")
    net, vocab = from_checkpoint(ckpt)
    text, ids = _held_out(vocab, data, oov, "evaluate", hint="use --oov skip to leave them out (they are counted)")
    dev = pick_device(device)
    tick = Ticker("scored", ids.numel() - 1, "characters", least=100_000)
    if dynamic_lr > 0:
        nats = dynamic_losses(net.to(dev), ids, dynamic_lr, dynamic_decay, dynamic_segment, tick).mean().item()
        how = f"dynamic (lr {dynamic_lr:g}, decay {dynamic_decay:g}, segment {dynamic_segment})"
    else:
        nats, how = loss_on(net.to(dev), ids, progress=tick), "static"
    return {"metric": "nats_per_char", "nats_per_char": round(nats, 4), "bits_per_char": round(nats / math.log(2), 4),
            "evaluation": how, "chars": int(ids.numel()), "skipped_unknown_chars": len(text) - int(ids.numel()),
            "model": model or registry.task("text").default_model}


def _held_out(vocab: Vocab, data: str, oov: str, purpose: str, hint: str) -> tuple[str, torch.Tensor]:
    """The text of ``data`` (a path or ``-``) and its ids; one clear line if fewer than two are known."""
    from lstm_cli.core.fileio import read_text

    text = read_text(data)
    ids = vocab.encode(text, oov=oov, what=data if data != "-" else "stdin", hint=hint)
    if ids.numel() < 2:
        raise InputError(f"{data} is too short to {purpose} on ({ids.numel()} known characters)")
    return text, ids


@torch.no_grad()
def calibrate(ckpt: dict, data: str) -> dict:
    """``lstm export --calibrate``: fit the softmax temperature T on held-out ``data``
    (:func:`sampling.fit_temperature`) and fold it into the output layer (its weights and bias
    divided by T), so that ``eval``, ``generate`` and further training all see the calibrated
    model as it is, with no new config field. Returns the checkpoint with the new weights and a
    ``calibration`` record in its metadata (T counts from the uncalibrated model when calibrated
    twice)."""
    net, vocab = from_checkpoint(ckpt)
    _, ids = _held_out(vocab, data, "error", "calibrate",
                       hint="calibrate on text in the model's alphabet: remove those characters from the file")
    pairs = list(_read(net, ids, streams=16, chunk=256, bf16=False))
    logits = torch.cat([z.reshape(-1, z.shape[-1]) for z, _ in pairs])
    targets = torch.cat([y.reshape(-1) for _, y in pairs])
    t = sampling.fit_temperature(logits, targets)
    before, after = F.cross_entropy(logits, targets).item(), F.cross_entropy(logits / t, targets).item()
    net.head.weight /= t
    net.head.bias /= t
    t_total = t * ckpt["meta"].get("calibration", {}).get("temperature", 1.0)
    meta = dict(ckpt["meta"], calibration={"temperature": round(t_total, 4), "data": data, "chars": int(ids.numel()),
                                           "nats_per_char_before": round(before, 4),
                                           "nats_per_char_after": round(after, 4)})
    return dict(ckpt, state_dict=net.state_dict(), meta=meta)


def generate(model: str | None, seed: str, n: int, temperature: float = 0.8, top_k: int = 0,
             top_p: float = 1.0, random_seed: int | None = None, oov: str = "error") -> Iterator[str]:
    """``lstm generate``: characters one by one, as they are sampled."""
    from lstm_cli.core import registry

    return sample(*from_checkpoint(registry.load(model, "text")), seed, n, temperature, top_k, top_p, random_seed, oov)


def sample(net: CharLSTM, vocab: Vocab, seed: str, n: int, temperature: float = 0.8, top_k: int = 0,
           top_p: float = 1.0, random_seed: int | None = None, oov: str = "error") -> Iterator[str]:
    """:func:`generate` from a loaded model (``lstm serve`` keeps it): the seed is read (and a
    character the model does not know refused) here, before the first character is asked for."""
    sampling.check_options(temperature, top_k, top_p)
    sampler = Sampler(net, vocab)
    return sampler.stream(sampler.prime(seed, oov), n, temperature, top_k, top_p, random_seed)


# ---------------------------------------------------------------- sampling


MAX_SEED = 20_000  # characters: a 2x512 model reads them in 12 s idle, 26-29 s beside one busy process


class Sampler(sampling.LSTMStream):
    """:class:`core.sampling.LSTMStream` over characters: primes with a seed text, yields characters."""

    def __init__(self, model: CharLSTM, vocab: Vocab):
        super().__init__(model.embed.weight, model.lstm, model.head)
        self.vocab = vocab

    def prime(self, seed: str, oov: str = "error"):
        """Read the start of a document, then ``seed``; returns the next logits. Training carries
        the state from batch to batch, so the model never learnt to start from a zero state on
        a letter (a one-letter seed gave garbage); it has learnt what follows a newline, which is
        how documents are joined for training. So the sampler first reads a newline (if the
        model knows one), then the seed. Unknown seed characters raise here, before anything is
        printed."""
        if len(seed) > MAX_SEED:
            raise InputError(f"the seed has {len(seed):,} characters; at most {MAX_SEED:,} are read "
                             "(one at a time, before the first new one)", hint="give its last part")
        start = next((c for c in ("\n", " ") if c in self.vocab.index), self.vocab.chars[0])
        ids = self.vocab.encode(seed, oov=oov, what="the seed", hint="use --oov skip or --oov replace")
        return self.feed([self.vocab.index[start]] + ids.tolist())

    def stream(self, logits, n: int, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
               random_seed: int | None = None) -> Iterator[str]:
        """Yield ``n`` sampled characters one by one, continuing from ``logits``."""
        chars = self.vocab.chars
        for idx in self.stream_ids(logits, n, temperature, top_k, top_p, random_seed):
            yield chars[idx]

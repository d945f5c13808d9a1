"""Handwriting recognition (Graves et al. 2009): pen strokes in, text out (``lstm read``; the shipped
model: ``hershey-reader``). The model is in :mod:`.model`; its preprocessing, and the same network
run in numpy for ``lstm write``'s judge (no torch), in :mod:`.ink`; decoding the
CTC output (best path, prefix beam search) in :mod:`.ctc`; a character model as the language
model in :mod:`.lm`. The ink is read by the write task's readers (``tasks/write/strokes.py``:
our JSON lines, IAM-OnDB XML, InkML).

What is special to this task: whole samples (no state carried between batches) in batches of
similar length, the CTC loss per character, scores as error rates (characters and words, edit
distances by rapidfuzz), and reading: decoding, n-best lists.
"""

from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import asdict, dataclass

import numpy as np

from lstm_cli.core import checkpoint
from lstm_cli.core.errors import InputError, UsageError
from lstm_cli.core.task import EpochOrder, Job
from lstm_cli.tasks.read import ctc
from lstm_cli.tasks.read.ink import N_FEATURES, InkNet, ReadConfig, config_of, points_of, pooled, shapes
from lstm_cli.tasks.write import strokes as S

__all__ = ["build_model", "train", "evaluate", "Reader", "load_reader"]
_TORCH_SIDE = ("ReadNet", "build_model", "features")  # from .model, which imports torch


def __getattr__(name: str):
    """The network (:mod:`.model`), imported with torch when first asked for: ``lstm write``
    judges its drawings with :class:`.ink.InkNet` alone."""
    if name in _TORCH_SIDE:
        from lstm_cli.tasks.read import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class ReadData:
    batch_size: int = 32  # samples per step (of similar length)
    val_fraction: float = 0.05


def alphabet_of(texts) -> str:
    return "".join(sorted({c for t in texts for c in t}))


def encode(alphabet: str, text: str) -> list[int]:
    """CTC labels: alphabet[i] -> i + 1 (0 is the blank); a character outside it is dropped."""
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    return [index[c] for c in text if c in index]


def stats_of(items) -> list[list[float]]:
    """(mean, std) of each raw feature over the items' points."""
    import torch

    from lstm_cli.tasks.read.model import features

    n, s, ss = 0, torch.zeros(N_FEATURES, dtype=torch.float64), torch.zeros(N_FEATURES, dtype=torch.float64)
    for _, p in items[:5000]:
        f = features(torch.from_numpy(p)[None])[0].double()
        n, s, ss = n + f.shape[0], s + f.sum(0), ss + (f * f).sum(0)
    mean = s / n
    std = (ss / n - mean ** 2).clamp_min(1e-8).sqrt()
    return [mean.tolist(), std.tolist()]


def pad(items, device=None):
    """(labels or None, points (T, 3)) items -> points (B, T, 3), lengths (B,), labels (sum of
    U), label lengths (B,)."""
    import torch

    T = max(p.shape[0] for _, p in items)
    x = torch.zeros(len(items), T, 3)
    for b, (_, p) in enumerate(items):
        x[b, : p.shape[0]] = torch.from_numpy(p)
        x[b, p.shape[0]:, :2] = torch.from_numpy(p[-1, :2])  # padding stays still (no moves)
    lengths = torch.tensor([p.shape[0] for _, p in items])
    labels = torch.tensor([k for ids, _ in items for k in ids or ()], dtype=torch.long)
    label_lengths = torch.tensor([len(ids or ()) for ids, _ in items])
    return x.to(device), lengths, labels, label_lengths


def make_batches(items, batch_size: int) -> list[list[int]]:
    """Indices grouped by similar length (sorted, then cut): little padding."""
    order = sorted(range(len(items)), key=lambda i: items[i][1].shape[0])
    return [order[k: k + batch_size] for k in range(0, len(order), batch_size)]


def ctc_loss(model: ReadNet, batch, device) -> tuple:
    """Summed CTC loss of a padded batch over its characters (a tensor), and the number of characters."""
    import torch.nn.functional as F

    x, lengths, labels, label_lengths = batch
    log_probs, _ = model(model.inputs(x, lengths), lengths)
    loss = F.ctc_loss(log_probs.transpose(0, 1), labels.to(device), lengths, label_lengths,
                      blank=0, reduction="sum", zero_infinity=True)
    return loss, int(label_lengths.sum())


def loss_on(model: ReadNet, items, bf16: bool = False) -> float:
    """Mean CTC loss per character (nats)."""
    import torch

    model.eval()
    dev = next(model.parameters()).device
    total = count = 0.0
    for idx in make_batches(items, 64):
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            loss, n = ctc_loss(model, pad([items[i] for i in idx], dev), dev)
        total, count = total + float(loss), count + n
    return total / max(count, 1)


class ReadJob(Job):
    """What the trainer drives for reading (core/task.py): no state carried across batches."""

    task = "read"

    def __init__(self, model: ReadNet, items, val_items, val_texts, data: ReadData, random_seed: int, note: str = ""):
        self.model, self.data, self.data_note = model, data, note
        self.config, self.vocab = asdict(model.cfg), {}
        self.items, self.val, self.val_texts = items, val_items, val_texts
        self.batches = make_batches(items, data.batch_size)
        h = hashlib.sha256(model.cfg.alphabet.encode())
        for ids, p in items:
            h.update(np.asarray(ids, dtype=np.int32).tobytes())
            h.update(p.tobytes()[::101])
        self.fingerprint = h.hexdigest()[:16] + f"/b{data.batch_size}"
        self.order = EpochOrder(len(self.batches), random_seed)

    def loss(self, model, step: int, carry):
        dev = next(model.parameters()).device
        loss, n = ctc_loss(model, pad([self.items[i] for i in self.batches[self.order(step)]], dev), dev)
        return loss / max(n, 1), n, None

    def held_out_loss(self, model, bf16: bool) -> float | None:
        return loss_on(model, self.val, bf16) if self.val else None

    def sample(self, model, random_seed: int) -> str:
        if not self.val:
            return ""
        reader = Reader(model)
        got = reader.read_points([p for _, p in self.val[:4]])
        return "\n".join(f"{t!r} -> {g[0][0]!r}" for t, g in zip(self.val_texts, got))


TUNABLE = ("dropout",)


def _items(samples, cfg: ReadConfig, log, what: str):
    """(labels, points) of each sample; samples with no character of the alphabet are left out."""
    items = [(encode(cfg.alphabet, t), p) for t, p in samples]
    kept = [it for it in items if it[0]]
    if len(kept) < len(items):
        log(f"lstm: warning: {what}: {len(items) - len(kept)} sample(s) with no character the model reads skipped")
    return kept


def train(data: list[str], val_data: list[str] | None, out: str, cfg, data_cfg: ReadData, model_cfg: dict,
          given: dict | None = None, init: str | None = None, resume: str | None = None, threads: int = 0,
          oov: str = "error") -> dict:
    """``lstm train read``: stroke samples with their text (JSON lines, IAM-OnDB, InkML), CTC."""
    from lstm_cli.core import registry
    from lstm_cli.core.task import train_task
    from lstm_cli.tasks.read.model import ReadNet, build_model

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    # the ink is resampled as the model it starts from was trained (its step), as it is read
    stored = checkpoint.load(resume, task="read") if resume else registry.load(init, "read") if init else None
    step = stored["config"]["step"] if stored else model_cfg.get("step", ReadConfig.step)
    convert = lambda t, st: (t, points_of(st, step))  # noqa: E731
    samples, val = S.train_and_val(data, val_data, data_cfg.val_fraction, log, convert)

    def make(start: dict | None, data_cfg: ReadData, cfg) -> ReadJob:
        if start is not None:
            model = build_model(start["config"])
            checkpoint.weights_into(model, start)
        else:
            pts = [(None, p) for _, p in samples]
            model = ReadNet(ReadConfig(alphabet=alphabet_of(t for t, _ in samples + val), stats=stats_of(pts), **model_cfg))
        alphabet = model.cfg.alphabet
        unknown = sorted({c for t, _ in samples + val for c in t if c not in alphabet})
        if unknown and oov == "error":
            raise InputError(f"the labels hold characters the model does not read: {''.join(unknown)!r}",
                             hint="use --oov skip to leave them out of the labels")
        if unknown:
            log(f"lstm: warning: left out of the labels: {''.join(unknown)!r}")
        return ReadJob(model, _items(samples, model.cfg, log, "--data"), _items(val, model.cfg, log, "--val-data"),
                       [t for t, _ in val[:4]], data_cfg, cfg.random_seed, ", ".join(data))

    return train_task("read", out, cfg, make, data_cfg, given, TUNABLE, init=init, resume=resume, threads=threads)


# ---------------------------------------------------------------- reading


PRUNE = math.log(1e-5)  # the beam search does not try a label less likely than this at a point
BEAM_WITH_LM = 8  # the beam when a language model is used and no --beam is given


class Reader:
    """A loaded reader: ink in, text out (best path, or prefix beam search, optionally with a
    character model as the language model: ``lm``, its weight and a bonus per character).
    ``model``: the torch ``ReadNet``, or an :class:`.ink.InkNet` (numpy, no torch: what
    ``lstm write`` judges with; it cannot :meth:`trace`)."""

    def __init__(self, model, lm=None, lm_weight: float = 0.0, bonus: float = 0.0, hands: dict | None = None):
        self.model = model if isinstance(model, InkNet) else model.eval()
        self.alphabet = model.cfg.alphabet
        self.lm, self.lm_weight, self.bonus = lm, lm_weight, bonus
        self.hands = hands  # the hand head (lstm export --hands): {"names", "weight" (k, 4H), "bias" (k,)}, or None

    @property
    def hand_names(self) -> tuple:
        """The hands the reader tells apart (its hand head's), () without one."""
        return tuple(self.hands["names"]) if self.hands else ()

    def text(self, labels) -> str:
        return "".join(self.alphabet[k - 1] for k in labels)

    def default_beam(self, n_best: int = 1) -> int:
        """The beam when none is asked for: :data:`BEAM_WITH_LM` with a language model, else the
        best path (or ``n_best`` prefixes)."""
        return BEAM_WITH_LM if self.lm is not None and self.lm_weight else max(n_best, 1)

    def outputs(self, points: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each sample's points, batched by length: its (T_i, V+1) log-probabilities and its
        top layer's outputs pooled over its points (:func:`.ink.pooled`: what the hand head reads)."""
        if isinstance(self.model, InkNet):
            return self.model.outputs(points)
        import torch

        out: list = [None] * len(points)
        dev = next(self.model.parameters()).device
        items = [(None, p) for p in points]
        for idx in make_batches(items, 32):
            x, lengths, _, _ = pad([items[i] for i in idx], dev)
            with torch.no_grad():
                lp, h = self.model(self.model.inputs(x, lengths), lengths)
            for b, i in enumerate(idx):
                n = int(lengths[b])
                out[i] = lp[b, :n].double().cpu().numpy(), pooled(h[b, :n].float().cpu().numpy())
        return out

    def log_probs(self, points: list[np.ndarray]) -> list[np.ndarray]:
        """(T_i, V+1) log-probabilities of each sample's points, batched by length."""
        return [lp for lp, _ in self.outputs(points)]

    def likelihood(self, text: str, drawings: list[list]) -> list[float]:
        """log p(``text`` | ink) per character of ``text`` for each drawing (strokes) by CTC: how
        surely the reader reads each as that text (``lstm write --best-of`` picks by it).
        Characters the reader does not know are left out of the text it is held to."""
        return self.assess(text, drawings)[0]

    def assess(self, text: str, drawings: list[list]) -> tuple[list[float], np.ndarray | None]:
        """:meth:`likelihood` of each drawing, and the hand head's probability of each of its
        hands for each, (drawings, hands) (None without a hand head), from one pass."""
        ids = [self.alphabet.index(c) + 1 for c in text if c in self.alphabet]
        got = self.outputs([points_of(st, self.model.cfg.step) for st in drawings])
        nll = ctc.nll([lp for lp, _ in got], ids)  # too few points for the text: inf
        out = [-float(v) / max(len(ids), 1) for v in nll]
        return out, (self.hand_probs_of(np.stack([f for _, f in got])) if self.hands and got else None)

    def hand_probs_of(self, feats: np.ndarray) -> np.ndarray:
        """Pooled top-layer outputs (n, 4H) -> the hand head's probabilities (n, hands)."""
        z = feats @ np.asarray(self.hands["weight"]).T + np.asarray(self.hands["bias"])
        z = np.exp(z - z.max(1, keepdims=True))
        return z / z.sum(1, keepdims=True)

    def hand_probs(self, drawings: list[list]) -> np.ndarray:
        """How likely each drawing (strokes) is in each of the hand head's hands: (drawings, hands)."""
        if not self.hands:
            raise UsageError("this reader has no hand head", hint="add one with lstm export --hands DATA")
        return self.hand_probs_of(np.stack([f for _, f in self.outputs([points_of(st, self.model.cfg.step)
                                                                          for st in drawings])]))

    def decode(self, lp: np.ndarray, beam: int = 1, n_best: int = 1) -> list[tuple[str, float]]:
        """The ``n_best`` readings of one sample's log-probabilities (T, V+1) with their scores:
        best path for ``beam`` 1 (its score: the path's), else prefix beam search (with the LM)."""
        if beam <= 1 and n_best <= 1:
            path = lp.argmax(-1)
            return [(self.text(ctc.collapse(path.tolist())), float(lp[np.arange(len(lp)), path].sum()))]
        if self.lm is not None:
            self.lm.reset()
        found = ctc.prefix_beam(lp, beam=max(beam, n_best), n_best=n_best, prune=PRUNE,
                                lm=self.lm if self.lm_weight else None, lm_weight=self.lm_weight, bonus=self.bonus)
        return [(self.text(labels), score) for labels, score in found]

    def read_points(self, points: list[np.ndarray], beam: int = 1, n_best: int = 1) -> list[list[tuple[str, float]]]:
        return [self.decode(lp, beam, n_best) for lp in self.log_probs(points)]

    def read(self, samples: list[tuple[str, list]], beam: int = 1, n_best: int = 1):
        return self.read_points([points_of(st, self.model.cfg.step) for _, st in samples], beam, n_best)

    def trace(self, strokes: list, moments: list[int] | None = None) -> dict:
        """What the article's four rows show for one sample (render/reading.py): the points
        (T, 3), the output probabilities (T, V+1), the best path's characters at the points where
        their outputs peak, the forward top layer's cell states (T, H), and for each of
        ``moments`` (default: every emitted character's peak) the gradient magnitude of the most
        active output there with respect to every input point (T,), by autograd."""
        import torch

        pts = torch.from_numpy(points_of(strokes, self.model.cfg.step))[None]  # (1, T, 3)
        x = self.model.inputs(pts).requires_grad_(True)  # (1, T, F)
        log_probs, _ = self.model(x)
        probs = log_probs[0].exp().detach()  # (T, V+1)
        path = probs.argmax(-1).tolist()
        peaks, t = [], 0
        while t < len(path):  # each run of one label: the character at its likeliest point
            end = t
            while end + 1 < len(path) and path[end + 1] == path[t]:
                end += 1
            if path[t] != 0:
                k = path[t]
                peaks.append((t + int(probs[t: end + 1, k].argmax()), self.alphabet[k - 1]))
            t = end + 1
        moments = [p for p, _ in peaks] if moments is None else moments
        grads = []
        for m in moments:
            k = int(probs[m, 1:].argmax()) + 1  # the most active character output at that moment
            g, = torch.autograd.grad(log_probs[0, m, k], x, retain_graph=True)
            grads.append(g[0].norm(dim=-1))
        return {"points": pts[0].numpy(), "probs": probs.numpy(), "peaks": peaks,
                "text": "".join(c for _, c in peaks), "cells": self.model.top_cells(x.detach()).numpy(),
                "moments": moments, "grads": [g.numpy() for g in grads]}


def load_reader(model: str | None, device: str = "auto", lm: str | None = None, lm_weight: float | None = None,
                bonus: float | None = None, arrays: bool = False) -> Reader:
    """The reader and its language model: ``lm`` None for the one recorded in the checkpoint
    (``lstm export --calibrate`` tunes it; none if none was), ``"none"``, or a character model's
    name or path, with the recorded weight and bonus unless given. ``arrays``: the network in
    numpy (:class:`.ink.InkNet`, on the CPU), torch not imported (unless a language model is)."""
    from lstm_cli.core import registry

    ckpt = registry.load(model, "read", arrays=arrays)
    if arrays:
        cfg = config_of(ckpt["config"])
        net = InkNet(cfg, checkpoint.arrays_fit(ckpt, shapes(cfg)))
    else:
        from lstm_cli.core.runtime import pick_device
        from lstm_cli.tasks.read.model import build_model

        net = build_model(ckpt["config"]).to(pick_device(device))
        checkpoint.weights_into(net, ckpt)
    tuned = ckpt.get("vocab", {}).get("lm") or {}
    hands = ckpt.get("vocab", {}).get("hands")
    name = tuned.get("model") if lm is None else (None if lm == "none" else lm)
    if name is None:
        return Reader(net, hands=hands)
    from lstm_cli.tasks.read.lm import CharLM

    weight = lm_weight if lm_weight is not None else tuned.get("weight", 0.3)
    return Reader(net, CharLM(registry.load(name, "text"), net.cfg.alphabet, name), weight,
                  bonus if bonus is not None else tuned.get("bonus", 1.0), hands)


def error_rates(refs: list[str], hyps: list[str]) -> dict:
    """Character error rate (edit distance over reference length, summed over the samples) and
    word error rate (the same over words), by rapidfuzz's Levenshtein distance."""
    from rapidfuzz.distance import Levenshtein

    chars = sum(Levenshtein.distance(r, h) for r, h in zip(refs, hyps))
    words = sum(Levenshtein.distance(r.split(), h.split()) for r, h in zip(refs, hyps))
    return {"cer": chars / max(sum(map(len, refs)), 1), "wer": words / max(sum(len(r.split()) for r in refs), 1)}


def evaluate(model: str | None, data: str, device: str = "auto", beam: int = 1, lm: str | None = "none") -> dict:
    """``lstm eval``: character and word error rates on held-out ink with its text; a folder of
    files is also scored file by file (one hand per file, say). ``lm`` as for
    :func:`load_reader` (default: none, with best path: the reader alone)."""
    from pathlib import Path

    from lstm_cli.core import registry
    from lstm_cli.core.runtime import set_threads

    set_threads(0)
    reader = load_reader(model, device, lm)
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    files = sorted(f for f in Path(data).rglob("*") if f.suffix.lower() in (".jsonl", ".inkml")) \
        if Path(data).is_dir() and not (Path(data) / "lineStrokes").is_dir() else [Path(data)]
    refs, hyps, per = [], [], {}
    for f in files:
        samples = S.read_samples([str(f)], log=lambda m: None, what=str(f))
        got = [r[0][0] for r in reader.read(samples, beam=beam)]
        texts = [t for t, _ in samples]
        refs, hyps = refs + texts, hyps + got
        per[f.stem] = round(error_rates(texts, got)["cer"], 4)
    rates = error_rates(refs, hyps)
    log(f"{data}: {len(refs):,} samples read")
    out = {"metric": "cer", "cer": round(rates["cer"], 4), "wer": round(rates["wer"], 4), "samples": len(refs),
           "beam": beam, "lm": _lm_name(reader), "model": model or registry.task("read").default_model}
    if len(per) > 1:
        out["cer_per_file"] = per
    return out


def view_png(reader: Reader, name: str, strokes: list) -> bytes:
    """``--view``'s picture of the reading of ``strokes`` (a sample called ``name``), as PNG: the
    four rows at the middle character's peak (the middle point if it read nothing)."""
    from lstm_cli.render import reading

    tr = reader.trace(strokes)
    if not tr["moments"]:
        tr = reader.trace(strokes, [len(tr["points"]) // 2])
    title = f"{name}: read {tr['text']!r}; gradient of the output at the marked point"
    return reading.png_bytes(tr, len(tr["moments"]) // 2, title=title)


def draw(reader: Reader, name: str, strokes: list, view: str | None, animate: str | None) -> None:
    """``--view``: the four rows at the middle character's peak; ``--animate``: the reading as a GIF."""
    from lstm_cli.core.fileio import write_payload
    from lstm_cli.render import reading

    reader.model.cpu()
    if view is not None:
        write_payload(view, view_png(reader, name, strokes), what="a PNG picture")
        print(f"lstm: picture drawn to {view}", file=sys.stderr)
    if animate is not None:
        T = len(points_of(strokes, reader.model.cfg.step))
        tr = reader.trace(strokes, sorted({int(t) for t in np.linspace(0, T - 1, min(T, 36))}))
        write_payload(animate, reading.gif_bytes(tr, title=f"{name}: reading"), what="a GIF")
        print(f"lstm: animation drawn to {animate}", file=sys.stderr)


TUNE_LM = "wikipedia"  # the language model tuned by --calibrate: trained on none of the reader's phrase sources
TUNE_SAMPLES = 150  # a beam search with the LM takes about 0.25 s a line on this CPU
TUNE_WEIGHTS = (0.15, 0.3, 0.5)
TUNE_BONUSES = (0.5, 1.0, 2.0)


def calibrate(ckpt: dict, data: str, lm: str = TUNE_LM) -> dict:
    """``lstm export --calibrate``: tune the language model's weight and per-character bonus on
    held-out ink (the first :data:`TUNE_SAMPLES` of ``data``) by character error rate with a beam
    of :data:`BEAM_WITH_LM`, against best path and the beam alone. The LM is recorded in the
    checkpoint (``vocab["lm"]``; ``lstm read`` uses it by default) only if it lowers the error
    rate; every number goes into the ``calibration`` record of its metadata."""
    from lstm_cli.core import registry
    from lstm_cli.tasks.read.lm import CharLM
    from lstm_cli.tasks.read.model import build_model

    net = build_model(ckpt["config"])
    checkpoint.weights_into(net, ckpt)
    samples = S.read_samples([data], log=lambda m: None, what="--calibrate")[:TUNE_SAMPLES]
    refs = [t for t, _ in samples]
    reader = Reader(net)
    lps = reader.log_probs([points_of(st, net.cfg.step) for _, st in samples])

    def cer(beam):
        return round(error_rates(refs, [reader.decode(lp, beam)[0][0] for lp in lps])["cer"], 4)

    record = {"data": data, "samples": len(samples), "beam": BEAM_WITH_LM, "cer_best_path": cer(1),
              "cer_beam": cer(BEAM_WITH_LM), "lm": lm, "grid": {}}
    reader.lm = CharLM(registry.load(lm, "text"), net.cfg.alphabet, lm)
    best = (record["cer_beam"], 0.0, 0.0)
    for w in TUNE_WEIGHTS:
        for b in TUNE_BONUSES:
            reader.lm_weight, reader.bonus = w, b
            got = cer(BEAM_WITH_LM)
            record["grid"][f"{w:g}/{b:g}"] = got
            print(f"lstm: calibrate: weight {w:g}, bonus {b:g}: CER {got:.4f}", file=sys.stderr)
            best = min(best, (got, w, b))
    record.update(cer_lm=best[0], weight=best[1], bonus=best[2])
    vocab = dict(ckpt.get("vocab") or {}, lm={"model": lm, "weight": best[1], "bonus": best[2]} if best[1] else None)
    return dict(ckpt, vocab=vocab, meta=dict(ckpt["meta"], calibration=record))


HAND_HELD_OUT = 5  # lstm export --hands fits the head on 4 lines in 5 and measures it on the 5th
HAND_L2 = 1e-3  # the head's weight decay (on standardised features)


def fit_hands(ckpt: dict, data: str) -> dict:
    """``lstm export --hands``: a hand head for the reader: softmax regression from its top layer's
    outputs pooled over a line (:func:`pooled`; the network itself unchanged) to the hand that each
    line of ``data`` names (``"hand"`` in JSON lines: two or more hands), fitted on 4 lines in 5,
    its accuracy measured on the 5th. ``lstm write --best-of`` keeps the drawings of the page's
    hand by it. Recorded in ``vocab["hands"]``, the fit in the ``hands`` record of the metadata."""
    from lstm_cli.tasks.read.model import build_model

    net = build_model(ckpt["config"])
    checkpoint.weights_into(net, ckpt)
    samples = S.read_samples([data], log=lambda m: None, what="--hands")
    named = [(s.hand, s[1]) for s in samples if getattr(s, "hand", None)]
    names = sorted({h for h, _ in named})
    if len(names) < 2:
        raise InputError(f"--hands {data}: its lines name {len(names)} hand(s) ({', '.join(names) or 'none'}); "
                         "a hand head needs two or more",
                         hint='name each line\'s hand in the JSON lines: "hand": "print"')
    feats = np.stack([f for _, f in Reader(net).outputs([points_of(st, net.cfg.step) for _, st in named])])
    y = np.array([names.index(h) for h, _ in named])
    test = np.arange(len(y)) % HAND_HELD_OUT == HAND_HELD_OUT - 1
    weight, bias = softmax_regression(feats[~test], y[~test], len(names))
    right = (np.argmax(feats[test] @ weight.T + bias, 1) == y[test]) if test.any() else np.zeros(0, bool)
    record = {"data": data, "lines": int((~test).sum()), "held_out": int(test.sum()),
              "accuracy": round(float(right.mean()), 4) if test.any() else None,
              "per_hand": {n: f"{int(right[y[test] == k].sum())}/{int((y[test] == k).sum())}"
                           for k, n in enumerate(names)}}
    print(f"lstm: hand head ({', '.join(names)}): {int(right.sum())} of {len(right)} held-out lines right",
          file=sys.stderr)
    vocab = dict(ckpt.get("vocab") or {}, hands={"names": names, "weight": weight.tolist(), "bias": bias.tolist()})
    return dict(ckpt, vocab=vocab, meta=dict(ckpt["meta"], hands=record))


def softmax_regression(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Features x (n, d), classes y (n,) of k -> weight (k, d), bias (k,) of a softmax regression
    (L-BFGS on standardised features, weight decay :data:`HAND_L2`; the standardising folded in)."""
    import torch
    import torch.nn.functional as F

    x = x.astype(np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    a, t = torch.tensor((x - mu) / sd), torch.tensor(y)
    w = torch.zeros(k, x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(a @ w.T + b, t) + HAND_L2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    w_, b_ = w.detach().numpy(), b.detach().numpy()
    return w_ / sd, b_ - (w_ / sd) @ mu


def _lm_name(reader: Reader) -> str:
    return "none" if reader.lm is None else f"{reader.lm.name} (weight {reader.lm_weight:g}, bonus {reader.bonus:g})"


def read(model: str | None, inputs: list[str], beam: int | None = None, n_best: int = 1, device: str = "auto",
         emit=print, view: str | None = None, animate: str | None = None, lm: str | None = None,
         lm_weight: float | None = None, bonus: float | None = None) -> int:
    """``lstm read``: one line per sample (``PATH<TAB>`` first when several inputs are given; with
    ``n_best`` > 1, each reading on its own line with its log-probability); the first sample
    drawn to ``view`` (PNG) and ``animate`` (GIF). ``beam`` None: :data:`BEAM_WITH_LM` with a
    language model (``lm``, see :func:`load_reader`), else 1 (best path). Returns the samples read."""
    from lstm_cli.core.runtime import set_threads

    set_threads(0, default=1)  # a line at a time: 21 ms on 1 thread, 20 on 2 idle, 64 on 2 beside a busy process
    files = [(name, S.read_ink(name, sys.stdin.buffer.read() if name == "-" else None)) for name in inputs]
    reader = load_reader(model, device, lm, lm_weight, bonus)  # every input read first: bad input stops before any output
    beam = beam or reader.default_beam(n_best)
    if n_best > beam:
        raise UsageError(f"--n-best must be between 1 and --beam ({beam}), got {n_best}")
    n = 0
    for name, samples in files:
        for found in reader.read(samples, beam=beam, n_best=n_best):
            prefix = f"{name}\t" if len(inputs) > 1 else ""
            if n_best > 1:
                for text, score in found:
                    emit(f"{prefix}{score:.3f}\t{text}")
            else:
                emit(prefix + found[0][0])
            n += 1
    if view is not None or animate is not None:
        draw(reader, "stdin" if inputs[0] == "-" else inputs[0], files[0][1][0][1], view, animate)
    return n

"""Handwriting synthesis (Graves 2013, section 5): text in, pen strokes out. The model and its
equations are in :mod:`.model`; the same network stepped in numpy to write, in :mod:`.pen`
(``lstm write`` never imports torch: :mod:`.model` is imported only to train and evaluate);
reading strokes and the offset encoding in :mod:`.strokes`; the synthetic Hershey-font handwriting
of the shipped model in :mod:`.hershey`.

What is special to this task: whole samples (no state carried between batches) in batches of
similar length with a mask, a loss that goes negative (a density), file samples (the writing and
the window's alignment as PNGs), and writing: sampling with a bias, Graves' stop rule, priming
with a sample of someone's writing for its style.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from lstm_cli.core import checkpoint
from lstm_cli.core.errors import InputError, UsageError
from lstm_cli.core.task import EpochOrder, Job, SampleFile
from lstm_cli.tasks.write import strokes as S
from lstm_cli.tasks.write.config import WriteConfig
from lstm_cli.tasks.write import pen
from lstm_cli.tasks.write.pen import FINISH_POINTS

__all__ = ["build_model", "train", "evaluate", "write"]
_TORCH_SIDE = ("WriteNet", "build_model", "nll", "point_nll", "with_hands")  # from .model, which imports torch


def __getattr__(name: str):
    """The network and its loss (:mod:`.model`), imported with torch when first asked for:
    ``lstm write`` draws with numpy alone (:mod:`.pen`)."""
    if name in _TORCH_SIDE:
        from lstm_cli.tasks.write import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

STYLES = 8  # held-out samples kept in the checkpoint for --style N


@dataclass
class WriteData:
    batch_size: int = 32  # samples per step
    val_fraction: float = 0.05


def alphabet_of(texts: list[str]) -> str:
    return "".join(sorted({c for t in texts for c in t}))


def encode_text(alphabet: str, text: str) -> list[int]:
    """Character ids, 0 for a character outside ``alphabet``."""
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    return [index.get(c, 0) for c in text]


def scale_of(samples) -> list[float]:
    """The standard deviation of dx and dy over the samples' moves (pen-up jumps included)."""
    n = sx = sy = sxx = syy = 0.0
    for _, st in samples:
        for dx, dy, _ in S.to_offsets(st):
            n, sx, sy, sxx, syy = n + 1, sx + dx, sy + dy, sxx + dx * dx, syy + dy * dy
    return [math.sqrt(max(sxx / n - (sx / n) ** 2, 1e-12)), math.sqrt(max(syy / n - (sy / n) ** 2, 1e-12))]


def hand_index(cfg: WriteConfig, hand: str | None) -> int:
    """A hand's name -> its index in the model's hands; -1 for none or one it does not know."""
    return cfg.hands.index(hand) if hand in cfg.hands else -1


def offsets(strokes: list, cfg: WriteConfig) -> np.ndarray:
    """Strokes -> the pen offsets (T, 3) the network reads: (dx, dy) divided by the data's
    spread (``cfg.scale``), and the pen lift; float32."""
    off = np.asarray(S.to_offsets(strokes), np.float32).reshape(-1, 3)
    off[:, :2] /= np.asarray(cfg.scale, np.float32)
    return off


def tensors(samples, cfg: WriteConfig) -> list[tuple]:
    """Each sample as (text ids (U,), normalised offsets (T, 3), each point's hand (T,) as an index
    (-1: none said, or not one the model knows); the line's hand, or each stroke's)."""
    import torch

    out = []
    for sample in samples:
        text, st = sample
        off = torch.from_numpy(offsets(st, cfg))
        each = getattr(sample, "stroke_hands", None) or [getattr(sample, "hand", None)] * len(st)
        hands = torch.tensor([hand_index(cfg, h) for h in each]).repeat_interleave(torch.tensor([len(s) for s in st]))
        out.append((torch.tensor(encode_text(cfg.alphabet, text), dtype=torch.long), off, hands))
    return out


def pad(batch, device=None):
    """-> inputs x (B, T-1, 3), targets (B, T-1, 3) (the next point), point mask (B, T-1),
    text (B, U), text mask (B, U), hands (B, T-1) (each input's: the hand of the point to come)."""
    import torch

    B = len(batch)
    T = max(o.shape[0] for _, o, _ in batch)
    U = max(t.shape[0] for t, _, _ in batch)
    seq = torch.zeros(B, T, 3)
    pm = torch.zeros(B, T - 1)
    text = torch.zeros(B, U, dtype=torch.long)
    tm = torch.zeros(B, U, dtype=torch.bool)
    hands = torch.full((B, T - 1), -1, dtype=torch.long)
    for b, (t, o, h) in enumerate(batch):
        seq[b, : o.shape[0]] = o
        pm[b, : o.shape[0] - 1] = 1
        text[b, : t.shape[0]] = t
        tm[b, : t.shape[0]] = True
        hands[b, : o.shape[0] - 1] = h[1:]
    return [v.to(device) for v in (seq[:, :-1], seq[:, 1:], pm, text, tm, hands)]


def make_batches(items, batch_size: int) -> list[list[int]]:
    """Indices grouped by similar length (sorted, then cut): little padding."""
    order = sorted(range(len(items)), key=lambda i: items[i][1].shape[0])
    return [order[k: k + batch_size] for k in range(0, len(order), batch_size)]


def loss_on(model: WriteNet, items) -> float:
    """Mean negative log-likelihood per pen point (nats; negative is possible: a density)."""
    import torch

    from lstm_cli.tasks.write.model import nll

    model.eval()
    dev = next(model.parameters()).device
    total = count = 0.0
    for idx in make_batches(items, 64):
        x, y, pm, text, tm, hands = pad([items[i] for i in idx], dev)
        with torch.no_grad():
            out, _, _ = model(x, text, tm, hand=hands)
        total += float(nll(out, y, pm, model.cfg.mixture)) * float(pm.sum())
        count += float(pm.sum())
    return total / max(count, 1)


class WriteJob(Job):
    """What the trainer drives for handwriting (core/task.py): no state carried across batches."""

    task = "write"

    def __init__(self, model: WriteNet, items, val_items, styles: list, data: WriteData, random_seed: int,
                 note: str = ""):
        self.model, self.data, self.data_note = model, data, note
        self.config, self.vocab = asdict(model.cfg), {"styles": styles}
        self.items, self.val, self.styles = items, val_items, styles
        self.batches = make_batches(items, data.batch_size)
        h = hashlib.sha256(model.cfg.alphabet.encode())
        for t, o, hand in items:
            h.update(t.numpy().tobytes())
            h.update(o.numpy().tobytes()[::101])
            if (hand >= 0).any():  # data without hands: the fingerprint it had before hands were read
                h.update((hand + 1).numpy().astype("uint8").tobytes()[::101])
        self.fingerprint = h.hexdigest()[:16] + f"/b{data.batch_size}"
        self.order = EpochOrder(len(self.batches), random_seed)

    def loss(self, model, step: int, carry):
        import torch

        from lstm_cli.tasks.write.model import nll

        dev = next(model.parameters()).device
        x, y, pm, text, tm, hands = pad([self.items[i] for i in self.batches[self.order(step)]], dev)
        if self.model.cfg.hands:  # some lines with no hand said, so the model still writes without one
            drop = torch.rand(len(hands), generator=torch.Generator().manual_seed(step)) < HAND_DROP
            hands = torch.where(drop.to(dev)[:, None], torch.full_like(hands, -1), hands)
        out, _, _ = model(x, text, tm, hand=hands)
        return nll(out, y, pm, self.model.cfg.mixture), int(pm.sum()), None

    def held_out_loss(self, model, bf16: bool) -> float | None:
        return loss_on(model, self.val) if self.val else None

    def sample(self, model, random_seed: int) -> SampleFile:
        from lstm_cli.render import strokes as draw

        text = (self.styles[0]["text"] if self.styles else "hello")[:40]
        hand = hand_index(model.cfg, self.styles[0].get("hand")) if self.styles else -1
        st, phi = write_strokes(model, text, bias=0.75, random_seed=random_seed, hand=hand)
        return SampleFile(".png", draw.png_bytes(st), caption=f"{text!r}: {sum(map(len, st))} points",
                          extra={".window.png": draw.window_png_bytes(phi, text)})


# Model flags that may change when fine-tuning from --init weights; the sizes may not.
TUNABLE = ("dropout",)
HAND_DROP = 0.1  # the share of training lines whose hand is not fed (a model with hands)


def unwritable(alphabet, text: str) -> list[str]:
    """The characters of ``text`` (spaces aside) that a model of ``alphabet`` cannot write, sorted."""
    return sorted({c for c in text if c not in alphabet and not c.isspace()})


def style_rows(samples) -> list[dict]:
    """The first :data:`STYLES` samples as a checkpoint keeps them for ``--style N``: text,
    strokes and, where the data names it, the hand."""
    rows = []
    for sample in samples[:STYLES]:
        text, strokes = sample
        rows.append({"text": text, "strokes": [[list(p) for p in st] for st in strokes]})
        if getattr(sample, "hand", None):
            rows[-1]["hand"] = sample.hand
    return rows


def keep_styles(ckpt: dict, data: str) -> dict:
    """``lstm export --styles``: the checkpoint with the first :data:`STYLES` samples of ``data``
    as its kept styles (in place of those of its validation data), e.g. samples chosen for how
    well the model writes after them. Text the model cannot write, or a hand it is not told
    (a model that takes hands as input), is exit 3."""
    samples = S.read_samples([data], log=lambda m: None, what="--styles")
    hands = ckpt["config"].get("hands") or ()
    for sample in samples[:STYLES]:
        text, hand = sample[0], getattr(sample, "hand", None)
        unknown = unwritable(ckpt["config"]["alphabet"], text)
        if unknown:
            raise InputError(f"--styles {data}: the model cannot write {''.join(unknown)!r} of {text!r}")
        if hands and hand and hand not in hands:
            raise InputError(f"--styles {data}: {text!r} is in {hand}, a hand this model does not write "
                             f"(its hands: {', '.join(hands)})")
    ckpt["vocab"] = {**ckpt["vocab"], "styles": style_rows(samples)}
    return ckpt


def train(data: list[str], val_data: list[str] | None, out: str, cfg, data_cfg: WriteData, model_cfg: dict,
          given: dict | None = None, init: str | None = None, resume: str | None = None, threads: int = 0) -> dict:
    """``lstm train write``: stroke samples (JSON lines or IAM-OnDB), the shared trainer."""
    from lstm_cli.core.task import train_task
    from lstm_cli.tasks.write.model import WriteNet, build_model, with_hands

    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    samples, val = S.train_and_val(data, val_data, data_cfg.val_fraction, log)
    named = lambda s: ({getattr(s, "hand", None)} | set(getattr(s, "stroke_hands", None) or ())) - {None}  # noqa: E731
    hands = tuple(sorted(set().union(*map(named, samples))))

    def make(start: dict | None, data_cfg: WriteData, cfg) -> WriteJob:
        if start is not None:
            model = build_model(start["config"])
            checkpoint.weights_into(model, start)
            if hands and not model.cfg.hands:  # lines that name their hand: the model learns to be told it
                log(f"the data names hands ({', '.join(hands)}): the model now takes one as an input")
                model = with_hands(model, hands)
        else:
            model = WriteNet(WriteConfig(alphabet=alphabet_of([t for t, _ in samples]), scale=scale_of(samples),
                                         hands=hands, **model_cfg))
        unknown = sorted(set().union(*map(named, samples)) - set(model.cfg.hands))
        if unknown:
            log(f"lstm: warning: hands the model does not know are trained as no hand said: {', '.join(unknown)}")
        # --style N offers samples of the data it was trained on last (fine-tuned on a hand: that hand)
        styles = style_rows(val or samples)
        return WriteJob(model, tensors(samples, model.cfg), tensors(val, model.cfg), styles, data_cfg,
                        cfg.random_seed, ", ".join(data))

    return train_task("write", out, cfg, make, data_cfg, given, TUNABLE, init=init, resume=resume, threads=threads)


# ---------------------------------------------------------------- evaluation


def evaluate(model: str | None, data: str, device: str = "auto") -> dict:
    """``lstm eval``: negative log-likelihood per pen point of held-out samples (nats)."""
    from lstm_cli.core import registry
    from lstm_cli.core.runtime import pick_device, set_threads
    from lstm_cli.tasks.write.model import build_model

    set_threads(0)
    ckpt = registry.load(model, "write")
    net = build_model(ckpt["config"]).to(pick_device(device))
    checkpoint.weights_into(net, ckpt)
    samples = S.read_samples([data], log=lambda m: print(m, file=sys.stderr))
    items = tensors(samples, net.cfg)
    return {"metric": "nats_per_point", "nats_per_point": round(loss_on(net, items), 4), "samples": len(items),
            "points": sum(o.shape[0] for _, o, _ in items), "model": model or registry.task("write").default_model}


# ---------------------------------------------------------------- writing


class Drawing(NamedTuple):
    strokes: list  # [[(x, y), ...], ...]
    phis: list  # the window's rows over the text, a row per point
    log_density: float  # of its points under the writer, as drawn (nats)


def write_candidates(model, text: str, n: int, bias: float = 0.75, random_seed: int | None = None,
                     style: tuple[str, list] | None = None, max_points: int | None = None, hand: int | None = None,
                     guidance: float = 1.0):
    """``n`` drawings of ``text`` by ``model`` (``pen.Weights``, or a torch ``WriteNet``) at once
    (one batch of the numpy pen, :mod:`.pen`), after priming
    with ``style`` = (its text, its strokes) if given: the network reads the style's strokes with
    its text first, so it goes on in that hand; ``hand`` (an index into the model's hands, for
    a model that knows them) tells it the hand outright, ``guidance`` times as strongly as it
    learnt to (:class:`.pen.Guided`; 1: as learnt). Each stops on its own by Graves' rule
    (pen.draw), or after ``max_points`` (default 40 a character + 100). -> a :class:`Drawing` each."""
    return pen.finish(candidates(model, text, n, bias, random_seed, style, max_points, stream=False, hand=hand,
                                 guidance=guidance))


def candidates(model, text: str, n: int, bias: float = 0.75, random_seed: int | None = None,
               style: tuple[str, list] | None = None, max_points: int | None = None, stream: bool = True,
               hand: int | None = None, guidance: float = 1.0):
    """:func:`write_candidates` as a generator: with ``stream`` it yields each step's points as
    pen.drawing does."""
    cfg = model.cfg
    g = np.random.default_rng(random_seed)
    prefix = style[0] + " " if style else ""
    primer = offsets(style[1], cfg) if style else None
    p, x0 = pen.start(model, encode_text(cfg.alphabet, prefix + text), n, primer, hand, guidance)
    points, phis, logp = yield from pen.drawing(p, cfg.scale, cfg.mixture, bias, g, max_points or 40 * len(text) + 100,
                                                x0, len(prefix), stream)
    return [Drawing(S.to_strokes(pts), ph, lp) for pts, ph, lp in zip(points, phis, logp)]


def write_strokes(model, text: str, bias: float = 0.75, random_seed: int | None = None,
                  style: tuple[str, list] | None = None, max_points: int | None = None, hand: int | None = None):
    """One drawing of ``text`` (:func:`write_candidates`): (strokes, phi rows over ``text``)."""
    d = write_candidates(model, text, 1, bias, random_seed, style, max_points, hand)[0]
    return d.strokes, d.phis


def _hand(ckpt: dict, hand: str) -> str | None:
    """--hand NAME -> the number of the first kept style in that hand; None for a hand the model
    takes as an input but keeps no style of (it is told the hand, not primed)."""
    styles = ckpt["vocab"].get("styles", [])
    told = tuple(ckpt.get("config", {}).get("hands", ()))
    names = sorted({s["hand"] for s in styles if s.get("hand")} | set(told))
    if not names:
        raise UsageError("--hand: this model's styles are not labelled with their hands",
                         hint="choose one with --style N (lstm info shows them) or give a stroke file")
    for k, s in enumerate(styles):
        if s.get("hand") == hand:
            return str(k)
    if hand in told:
        return None
    raise UsageError(f"--hand {hand}: this model's hands are {', '.join(names)}")


def _style(ckpt: dict, style: str | int | None):
    """--style: None, a shipped example's number, or a JSON-lines stroke file (its first sample).
    An int is always the number (``lstm serve``: no request names a file)."""
    if style is None:
        return None
    styles = ckpt["vocab"].get("styles", [])
    from pathlib import Path

    if _style_number(style) is not None:  # in range or not: exit 2
        k = int(style)
        if not 0 <= k < len(styles):
            raise UsageError(f"--style {k}: this model keeps styles 0 to {len(styles) - 1}")
        return styles[k]["text"], [[tuple(p) for p in s] for s in styles[k]["strokes"]]
    samples = S.read_jsonl(Path(style)) if Path(style).is_file() else None
    if not samples:
        raise InputError(f"--style {style}: not a style number or a JSON-lines stroke file with a sample")
    return samples[0]


def _style_number(style: str | int | None) -> int | None:
    """--style's value as a kept style's number, or None (no style, or a stroke file)."""
    from pathlib import Path

    if isinstance(style, int):
        return style
    if style is None or not style.lstrip("-+").isdigit() or Path(style).is_file():
        return None
    return int(style)


def _hand_name(ckpt: dict, style: str | int | None, hand: str | None) -> str | None:
    """The page's hand by name: --hand's, else the kept style's label; a stroke file of the
    user's names none (the model follows its strokes)."""
    k = _style_number(style)
    if hand is None and k is not None:  # a number _style has checked
        hand = ckpt["vocab"]["styles"][k].get("hand")
    return hand


def _hand_of(ckpt: dict, net, style: str | int | None, hand: str | None) -> int:
    """The page's hand as an index into the model's hands (-1: none said; :func:`_hand_name`)."""
    return hand_index(net.cfg, _hand_name(ckpt, style, hand))


HAND_GUIDANCE = 1.0  # a page in a hand told to a model that takes one: follow it this much (pen.Guided)
LINE_CHARS = 40  # words are wrapped into lines of at most this many characters
PAGE_LINES = 30  # a page: a longer text is refused
PROGRESS_LINES = 4  # lstm write says how far a page of this many lines or more has got (the README's has 3)
PROGRESS_EVERY = 5.0  # seconds, about 4 lines at the default best of 8


def lines_of(text: str, line_chars: int = LINE_CHARS) -> list[str]:
    """The text's paragraphs (its lines), word-wrapped to ``line_chars``; blank lines dropped."""
    import textwrap

    return [ln for para in text.splitlines() for ln in textwrap.wrap(para, line_chars)]


REDRAWS = 1  # --best-of: where none of a line's N drawings is all in the page's hand, N more, this many times
REDRAW_SEED = 7919  # a redraw's seed: the line's plus this times the redraw's number
PRINT_LIFTS = 0.7  # pen lifts per letter: joined handwriting's print about 1, its cursive 0.25-0.5
MAX_BEST_OF = 64


def lifts_per_letter(strokes: list, text: str) -> float:
    return len(strokes) / max(sum(not c.isspace() for c in text), 1)


def print_lifts(ckpt: dict) -> float:
    """Pen lifts per letter from which a line counts as print, for this model: halfway between
    the means of its kept styles of each hand when it keeps both (``hershey``: 1.67 print, 1.17
    cursive, so 1.42; its fonts lift the pen at every letter in both hands), else
    :data:`PRINT_LIFTS`."""
    by: dict[str, list[float]] = {}
    for st in ckpt["vocab"].get("styles", []):
        by.setdefault(st.get("hand"), []).append(lifts_per_letter(st["strokes"], st["text"]))
    if not (by.get("print") and by.get("cursive")):
        return PRINT_LIFTS
    return (sum(by["print"]) / len(by["print"]) + sum(by["cursive"]) / len(by["cursive"])) / 2


LIFT_HANDS = ("cursive", "print")  # the hands pen lifts tell apart


WORD_LETTERS = 4  # words judged on their own: the hand head names the font of 99% of these, 59-68% of 1-2 letters


def judged_alone(word: str) -> bool:
    """Whether ``word`` is judged on its own hand by --best-of (it has :data:`WORD_LETTERS` letters)."""
    return sum(c.isalpha() for c in word) >= WORD_LETTERS


def word_ink(text: str, strokes: list, phis: list) -> list[tuple[str, list]]:
    """A drawing's strokes grouped by word: each stroke goes to the word of ``text`` that the
    window (``phis``, a row per point) was on for most of its points. -> [(word, its strokes)] in
    the text's order (a word the window never dwelt on has no entry)."""
    word, n = [], -1
    for i, c in enumerate(text):
        n += not c.isspace() and (i == 0 or text[i - 1].isspace())
        word.append(-1 if c.isspace() else n)
    word.append(-1)  # just past the text
    groups: dict[int, list] = {}
    k = 0
    for st in strokes:
        on = [word[int(np.argmax(row))] for row in phis[k: k + len(st)]]
        k += len(st)
        on = [w for w in on if w >= 0]
        if on:
            groups.setdefault(max(set(on), key=on.count), []).append(st)
    words = text.split()
    return [(words[w], groups[w]) for w in sorted(groups)]


def judge_drawings(strokes: list, text: str, judge=None, threshold: float = PRINT_LIFTS,
                   phis: list | None = None) -> tuple[list | None, list]:
    """Each drawing's (strokes) score as ``text`` by ``judge`` (a reader: the likelihood of the text,
    None without one) and its hands: by the reader's hand head where it has one (``lstm export
    --hands``), word by word where ``phis`` (each drawing's window rows, a row per point) say
    which word each stroke belongs to (a line can turn to the other hand within it; words of
    :data:`WORD_LETTERS` letters or more), else the whole line; without a head, the whole line
    print from ``threshold`` pen lifts a letter (:func:`print_lifts`), else cursive. -> (scores,
    each drawing's hands, a list of names)."""
    scores, probs = judge.assess(text, strokes) if judge is not None else (None, None)
    if probs is None:
        return scores, [["print" if lifts_per_letter(st, text) >= threshold else "cursive"] for st in strokes]
    names = judge.hand_names
    whole = [[names[k]] for k in probs.argmax(1)]
    if phis is None:
        return scores, whole
    words = [[ink for w, ink in word_ink(text, st, ph) if judged_alone(w)] if len(ph) == sum(map(len, st)) else []
             for st, ph in zip(strokes, phis)]
    flat = [w for ws in words for w in ws]
    named = iter([names[k] for k in judge.hand_probs(flat).argmax(1)] if flat else [])
    return scores, [[next(named) for _ in ws] or line for ws, line in zip(words, whole)]


class Choice(NamedTuple):
    index: int  # the drawing kept
    hand: str  # the hand most of its words are in (the earlier word's in a tie)
    hands: list  # each judged word's hand (the whole line's where no word was judged alone)


def choose(drawings: list[Drawing], text: str, judge=None, hand: str | None = None,
           threshold: float = PRINT_LIFTS) -> Choice:
    """Which drawing of ``text`` to keep: the one ``judge`` (a reader) reads likeliest as ``text``,
    else the one likeliest under the writer itself; among those with the largest share of
    their words in ``hand`` (None: any; judged by :func:`judge_drawings`)."""
    scores, hands = judge_drawings([d.strokes for d in drawings], text, judge, threshold, [d.phis for d in drawings])
    scores = scores or [d.log_density for d in drawings]
    share = [sum(h == hand for h in hs) / len(hs) if hand else 1.0 for hs in hands]
    same = [i for i, f in enumerate(share) if f == max(share)]
    i = max(same, key=lambda i: scores[i])
    return Choice(i, max(hands[i], key=hands[i].count), hands[i])


def hand_scores(net: WriteNet, text: str, drawings: list) -> np.ndarray:
    """How likely each drawing of ``text`` (its strokes) is in each of the model's hands: the mean
    log-density per pen point (nats) under the writer (a torch ``WriteNet``) told that hand,
    unprimed -> (drawings, hands). The hand with the highest score is the writer's judgement of
    the drawing's hand."""
    import torch

    from lstm_cli.tasks.write.model import point_nll

    net.eval()
    items = tensors([(text, st) for st in drawings], net.cfg)
    x, y, pm, ids, tm, _ = pad(items)
    out = np.empty((len(drawings), len(net.cfg.hands)))
    for h in range(len(net.cfg.hands)):
        with torch.no_grad():
            raw, _, _ = net(x, ids, tm, hand=torch.full((len(drawings),), h))
        per = (point_nll(raw, y, net.cfg.mixture) * pm).sum(1) / pm.sum(1).clamp_min(1)
        out[:, h] = (-per).numpy()
    return out


DEFAULT_READER = "hershey-reader"


def load_judge(reader: str | None, log):
    """The reader that picks among candidates (``reader``, else the shipped one), without its
    language model. Without the shipped one (a tree that lacks it): None, with a warning, and
    the writer's own density picks; a ``reader`` named but not found is an error."""
    from lstm_cli.core.errors import UnknownModelError
    from lstm_cli.tasks.read import load_reader

    try:
        return load_reader(reader or DEFAULT_READER, "cpu", "none", arrays=True)  # numpy: no torch
    except UnknownModelError:
        if reader:
            raise
        log(f"lstm: warning: no reader {DEFAULT_READER!r} to pick the best drawing: the likeliest under the writer is kept")
        return None


def writer_for(model: str | None, hand: str | None) -> str | None:
    """The writer a page is drawn with: ``model`` if named; else, for a page asked for in
    ``hand``, the shipped writer of that hand alone where there is one (``hershey-print``,
    ``hershey-cursive``: fine-tuned on one hand's lines, it cannot drift into the other and
    writes it more legibly, docs/models.md); else None (the task's default, ``hershey``)."""
    if model is not None or hand is None:
        return model
    from lstm_cli.core import registry

    return registry.variant("write", hand)


def write(model: str | None, text: str, output: str | None, bias: float = 0.75, style: str | None = None,
          width: int = 800, strokes_out: str | None = None, random_seed: int | None = None,
          oov: str = "error", animate: str | None = None, attention: str | None = None,
          line_chars: int = LINE_CHARS, best_of: int = 1, reader: str | None = None, hand: str | None = None,
          log=lambda m: print(m, file=sys.stderr)) -> tuple[int, int, list[str] | None]:
    """``lstm write``: ``text`` as handwriting on a page, drawn to ``output`` (.png or .svg; ``-``:
    PNG to stdout; None: not drawn). Long text is word-wrapped; every line is primed with
    ``style`` (or ``hand``'s first style) if given, so a line that drifts into the other hand
    does not pass it on, else every line after the first with the line before it (its text and
    its strokes), so the page keeps the hand the model began in. Also: the strokes as JSON lines (one per line of text) to ``strokes_out``, the pen
    writing as an animated GIF to ``animate``, the first line's window to ``attention``. The
    strokes go out as InkML when ``strokes_out`` ends in .inkml (a trace group per line).
    ``best_of`` N > 1: N drawings of each line in one batch, and the one ``reader`` reads
    likeliest as the line kept (:func:`choose`), in the page's hand (asked for, the style's, else
    the first line's; judged by the reader's hand head, else by pen lifts; a line with none all
    in that hand by the head is drawn N more times, :data:`REDRAWS` times). Returns (lines, pen points, what the
    reader read on each line, or None without one)."""
    from lstm_cli.core import registry
    from lstm_cli.core.fileio import atomic_open, write_payload
    from lstm_cli.render import strokes as draw

    ckpt = registry.load(writer_for(model, hand), "write", arrays=True)  # numpy weights: no torch (pen.py)
    net = pen.weights_of(ckpt)
    lines, page, first_phi, read_back = write_page(ckpt, net, text, bias, style, random_seed, oov, line_chars, best_of,
                                                   reader, hand, log, progress=True)
    strokes = draw.stack(page)
    n = len(lines)
    if output is None:
        pass  # the strokes alone (--strokes)
    elif output.lower().endswith(".svg"):
        with atomic_open(output, "wb") as f:
            f.write(draw.svg_text(strokes, width, lines=n).encode())
    else:
        write_payload(output, draw.png_bytes(strokes, width, lines=n), what="a PNG picture")
    if animate is not None:
        write_payload(animate, draw.gif_bytes(strokes, width, lines=n), what="a GIF")
    if attention is not None:
        write_payload(attention, draw.window_png_bytes(first_phi, lines[0]), what="a PNG picture")
    if strokes_out is not None:
        samples = stroke_samples(lines, page)
        if strokes_out.lower().endswith(".inkml"):
            data = S.inkml_text(samples)
        else:
            data = "".join(json.dumps({"text": ln, "strokes": st}) + "\n" for ln, st in samples)
        if strokes_out == "-":
            sys.stdout.write(data)
        else:
            write_payload(strokes_out, data.encode(), what="pen strokes")
    return n, sum(map(len, strokes)), read_back


def _width(strokes: list) -> float:
    xs = [p[0] for s in strokes for p in s] or [0.0]
    return max(xs) - min(xs)


def stroke_samples(lines: list[str], page: list) -> list[tuple[str, list]]:
    """Each line's (text, strokes), the points rounded to 0.01: what ``--strokes`` writes."""
    return [(ln, [[(round(x, 2), round(y, 2)) for x, y in s] for s in st]) for ln, st in zip(lines, page)]


def write_page(ckpt: dict, net, text: str, bias: float = 0.75, style: str | int | None = None,
               random_seed: int | None = None, oov: str = "error", line_chars: int = LINE_CHARS, best_of: int = 1,
               reader: str | None = None, hand: str | None = None, log=lambda m: print(m, file=sys.stderr),
               progress: bool = False):
    """:func:`write`'s drawing, from a loaded model (its checkpoint and network; ``lstm serve``
    keeps them), nothing written: -> (the lines of text, each line's strokes, the first line's
    window, what the reader read on each line or None). ``style``: see :func:`_style`;
    ``progress``: see :func:`page_steps`."""
    return pen.finish(page_steps(ckpt, net, text, bias, style, random_seed, oov, line_chars, best_of, reader, hand, log,
                                 stream=False, progress=progress))


def page_steps(ckpt: dict, net, text: str, bias: float = 0.75, style: str | int | None = None,
               random_seed: int | None = None, oov: str = "error", line_chars: int = LINE_CHARS, best_of: int = 1,
               reader: str | None = None, hand: str | None = None, log=lambda m: print(m, file=sys.stderr),
               stream: bool = True, progress: bool = False):
    """:func:`write_page` as a generator, for showing the pen as it moves (``lstm serve``): once
    the input is checked it yields ``("lines", the lines of text, the style's width per character
    in the data's units (without one, the mean of the model's styles'; None if it keeps none))``,
    then with ``stream`` and ``best_of`` 1
    ``("point", line number, (dx, dy, up))`` for each pen point as it is drawn (in the data's
    units; each line's offsets start from its own origin); it returns what write_page does.
    ``progress``: a page of :data:`PROGRESS_LINES` lines or more says on stderr how far it got,
    every :data:`PROGRESS_EVERY` seconds (``core.progress.Ticker``)."""
    from lstm_cli.core.progress import Ticker

    net = pen.weights(net)  # once for the page: its lines share the prepared products
    alphabet = net.cfg.alphabet
    unknown = unwritable(alphabet, text)
    if unknown and oov == "error":
        raise InputError(f"the model cannot write {''.join(unknown)!r}",
                         hint=f"use --oov skip to leave them out; it knows: {alphabet!r}")
    if unknown:
        log(f"lstm: warning: left out what the model cannot write: {''.join(unknown)!r}")
        text = "".join(c for c in text if c in alphabet or c.isspace())
    lines = lines_of(text, line_chars)
    if not lines:
        raise InputError("nothing to write: the text is empty")
    if len(lines) > PAGE_LINES:
        raise InputError(f"the text fills {len(lines)} lines of {line_chars} characters; a page holds {PAGE_LINES}",
                         hint="write it in parts")
    if not 1 <= best_of <= MAX_BEST_OF:
        raise UsageError(f"--best-of {best_of}: from 1 to {MAX_BEST_OF} drawings a line")
    judge = load_judge(reader, log) if best_of > 1 else None
    number = _hand(ckpt, hand) if hand else None
    prime = style_prime = _style(ckpt, int(number) if number is not None else None if hand else style)
    hand_id = _hand_of(ckpt, net, style, hand)
    threshold = print_lifts(ckpt)
    # the page's hand, as the judge of best-of-N names hands: asked for, the style's label, else
    # the primer's as judged, else the first line's
    names = (judge.hand_names if judge is not None else ()) or LIFT_HANDS
    page_hand = next((h for h in (hand, _hand_name(ckpt, style, hand)) if h in names), None)
    if page_hand is None and prime is not None and best_of > 1:
        page_hand = judge_drawings([prime[1]], prime[0], judge, threshold)[1][0][0]
    sized = [prime] if prime else [_style(ckpt, k) for k in range(len(ckpt["vocab"].get("styles", [])))]
    yield "lines", lines, (sum(_width(st) / max(len(t), 1) for t, st in sized) / len(sized)) if sized else None
    tick = Ticker("writing", len(lines), "lines", least=PROGRESS_LINES if progress else len(lines) + 1,
                  every=PROGRESS_EVERY)
    page = []
    for k, ln in enumerate(lines):
        seed = None if random_seed is None else random_seed + k
        each = stream and best_of == 1
        steps = candidates(net, ln, best_of, bias, seed, prime, stream=each, hand=hand_id, guidance=HAND_GUIDANCE)
        if each:  # one drawing: ("point", k, its point) for each point it keeps
            drawings = yield from pen.relay(steps, lambda step: ("point", k, step[0][0]) if step[1][0] else None)
        else:
            drawings = pen.finish(steps)
        d = drawings[0]
        if best_of > 1:
            kept = choose(drawings, ln, judge, page_hand, threshold)
            # judged by a hand head, and not a line of short words and numbers only (both fonts'
            # digits look alike: no drawing of it would be judged more in the hand)
            held = page_hand and judge is not None and judge.hand_names and any(map(judged_alone, ln.split()))
            for again in range(1, REDRAWS + 1 if held else 1):
                if all(h == page_hand for h in kept.hands):
                    break
                # none of the N came out all in the page's hand: N more, the best of all kept
                drawings += write_candidates(net, ln, best_of, bias, None if seed is None else seed + REDRAW_SEED * again,
                                             prime, hand=hand_id, guidance=HAND_GUIDANCE)
                kept = choose(drawings, ln, judge, page_hand, threshold)
            d, page_hand = drawings[kept.index], page_hand or kept.hand
            other = [h for h in kept.hands if h != page_hand]
            if other and held:  # none came out all in the page's hand: said, not silent
                log(f"lstm: warning: line {k + 1}: {len(other)} of its {len(kept.hands)} longer words look "
                    f"{other[0]}, not {page_hand}; another --random-seed or a larger --best-of may mend it")
        first_phi = d.phis if k == 0 else first_phi
        tick(k + 1)
        page.append(d.strokes)
        if style_prime is None:  # no hand asked for: the next line goes on in this line's
            prime = (ln, d.strokes)
    read_back = [r[0][0] for r in judge.read([("", st) for st in page])] if judge else None
    return lines, page, first_phi, read_back

"""Translation: an LSTM encoder-decoder with attention (Bahdanau et al. 2015; Luong et al. 2015).

Text is cut into subword pieces by a sentencepiece model trained on the training pairs; its bytes
live inside the checkpoint (``vocab``), so raw text goes in and detokenized text comes out.

    source pieces x_1..x_S -> embedding -> bidirectional LSTM -> s_1..s_S         (encoder)
    decoder, for t = 1..T, from the previous target piece y_{t-1}:
        h_t     = LSTM([emb(y_{t-1}); a_{t-1}], h_{t-1})       input feeding: a_{t-1} goes back in
        alpha_t = softmax_j(h_t^T W_a s_j)                      Luong's "general" attention
        c_t     = sum_j alpha_tj s_j                            context
        a_t     = tanh(W_c [c_t; h_t])                          attentional state
        p(y_t)  = softmax(W_o a_t + b_o)

Input feeding makes the decoder a per-step loop (a_{t-1} is only known after step t-1), so each
decoder layer is one fused product [W_ih | W_hh] per step; the output projection, the largest
product, runs once over all steps. The decoder's first state is a projection of the encoder's
final forward and backward states.

Training batches are length-bucketed: pairs sorted by length are cut into batches of about
``batch_tokens`` pieces, whose order is shuffled per epoch by a seeded generator, so a batch is a
pure function of the step (exact resume needs no iterator state). Decoding is greedy or beam
search (length-normalised, n-best), batched over input lines.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from lstm_cli.core import checkpoint
from lstm_cli.core import sampling
from lstm_cli.core.errors import InputError, UsageError
from lstm_cli.core.task import Job

PAD, UNK, BOS, EOS = 0, 1, 2, 3


@dataclass
class TranslateConfig:
    """The model; stored in every checkpoint as a plain dict."""

    vocab_size: int
    embed: int = 256
    enc_hidden: int = 256  # per direction
    enc_layers: int = 1
    dec_hidden: int = 512
    dec_layers: int = 1
    dropout: float = 0.3
    max_len: int = 100  # pieces per side; longer training pairs are dropped, longer input is split


@dataclass
class TranslateData:
    """How pairs become batches (training only)."""

    vocab_size: int = 8000
    batch_tokens: int = 2500  # pieces per batch (the longer side, padding included)
    val_fraction: float = 0.05  # used when no --val-data is given
    label_smoothing: float = 0.1


# ---------------------------------------------------------------- tokenizer


class Tokenizer:
    """A sentencepiece model held as bytes (the checkpoint's ``vocab``)."""

    def __init__(self, model_bytes: bytes):
        import sentencepiece as spm

        self.bytes = bytes(model_bytes)
        self.sp = spm.SentencePieceProcessor(model_proto=self.bytes)

    @classmethod
    def train(cls, sentences: list[str], vocab_size: int) -> "Tokenizer":
        """A unigram model shared by both languages."""
        import io

        import sentencepiece as spm

        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_writer=buf, vocab_size=vocab_size,
            model_type="unigram", character_coverage=1.0, hard_vocab_limit=False,
            pad_id=PAD, unk_id=UNK, bos_id=BOS, eos_id=EOS, num_threads=1,
            shuffle_input_sentence=False, minloglevel=2, max_sentence_length=1 << 16)
        return cls(buf.getvalue())

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.sp.encode(text)

    def decode(self, ids: list[int]) -> str:
        return self.sp.decode([i for i in ids if i > EOS])  # drops pad/unk/bos/eos

    def pieces(self, ids: list[int]) -> list[str]:
        return [self.sp.id_to_piece(i) for i in ids]


# ---------------------------------------------------------------- model


class Seq2Seq(nn.Module):
    def __init__(self, cfg: TranslateConfig):
        super().__init__()
        self.cfg = cfg
        E, He, Hd = cfg.embed, cfg.enc_hidden, cfg.dec_hidden
        self.src_embed = nn.Embedding(cfg.vocab_size, E, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(cfg.vocab_size, E, padding_idx=PAD)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = nn.LSTM(E, He, cfg.enc_layers, batch_first=True, bidirectional=True,
                               dropout=cfg.dropout if cfg.enc_layers > 1 else 0.0)
        self.bridge = nn.Linear(2 * He, Hd)
        # decoder layer l: gates = W_l [input; h_l] + b_l; layer 0's input is [emb(y); a_prev]
        self.cells = nn.ModuleList(nn.Linear((E + Hd if l == 0 else Hd) + Hd, 4 * Hd)
                                   for l in range(cfg.dec_layers))
        self.key = nn.Linear(2 * He, Hd, bias=False)  # W_a, applied to the source once
        self.combine = nn.Linear(2 * He + Hd, Hd, bias=False)  # W_c
        self.out = nn.Linear(Hd, cfg.vocab_size)
        with torch.no_grad():
            for cell in self.cells:  # forget-gate bias 1: remember by default
                cell.bias[Hd: 2 * Hd].fill_(1.0)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor):
        """-> memory (B, S, 2He), attention keys (B, S, Hd), mask (B, S), decoder state."""
        x = self.drop(self.src_embed(src))
        packed = nn.utils.rnn.pack_padded_sequence(x, src_len.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, _) = self.encoder(packed)
        mem, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        mem = self.drop(mem)
        mask = src != PAD
        h0 = torch.tanh(self.bridge(torch.cat([h[-2], h[-1]], -1)))  # last layer, both directions
        L, B, Hd = self.cfg.dec_layers, src.shape[0], self.cfg.dec_hidden
        state = ([h0] * L, [torch.zeros_like(h0)] * L, h0.new_zeros(B, Hd))
        return mem, self.key(mem), mask, state

    def step(self, y_prev: torch.Tensor, state, mem, keys, mask):
        """One decoder step for pieces ``y_prev`` (B,) -> attentional state a_t (B, Hd) (dropout
        applied), the new state and the attention weights (B, S)."""
        hs, cs, feed = state
        x = torch.cat([self.drop(self.tgt_embed(y_prev)), feed], -1)
        new_h, new_c = [], []
        for l, cell in enumerate(self.cells):
            i, f, g, o = cell(torch.cat([x, hs[l]], -1)).chunk(4, -1)
            c = torch.sigmoid(f) * cs[l] + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            new_h.append(h)
            new_c.append(c)
            x = self.drop(h)
        scores = torch.bmm(keys, h.unsqueeze(2)).squeeze(2).float()  # (B, S)
        alpha = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        ctx = torch.bmm(alpha.unsqueeze(1).to(mem.dtype), mem).squeeze(1)
        a = self.drop(torch.tanh(self.combine(torch.cat([ctx, h], -1))))
        return a, (new_h, new_c, a), alpha

    def forward(self, src, src_len, tgt_in):
        """Teacher forcing: logits (B, T, V) for every target position."""
        mem, keys, mask, state = self.encode(src, src_len)
        outs = []
        for t in range(tgt_in.shape[1]):
            a, state, _ = self.step(tgt_in[:, t], state, mem, keys, mask)
            outs.append(a)
        return self.out(torch.stack(outs, 1))


def build_model(config: dict) -> Seq2Seq:
    names = {f.name for f in fields(TranslateConfig)}
    return Seq2Seq(TranslateConfig(**{k: v for k, v in config.items() if k in names}))


def from_checkpoint(ckpt: dict) -> tuple[Seq2Seq, Tokenizer]:
    model = build_model(ckpt["config"])
    checkpoint.weights_into(model, ckpt)
    return model.eval(), Tokenizer(ckpt["vocab"])


# ---------------------------------------------------------------- data


def read_pairs(data: list[str] | None = None, src: str | None = None, tgt: str | None = None,
               hint: str | None = "or pass two line-aligned files with --src and --tgt") -> list[tuple[str, str]]:
    """``source<TAB>target`` lines from TSV files, or two line-aligned files. Malformed input is one
    clear :class:`InputError` naming the file and line (with ``hint``)."""
    from lstm_cli.core.fileio import read_text

    pairs: list[tuple[str, str]] = []
    if not (data or src or tgt):
        raise UsageError("no training pairs given: give --data PAIRS.tsv (- for stdin), or both --src and --tgt")
    if src or tgt:
        if not (src and tgt) or data:
            raise UsageError("give either --data PAIRS.tsv or both --src and --tgt")
        a, b = read_text(src).splitlines(), read_text(tgt).splitlines()
        if len(a) != len(b):
            raise InputError(f"--src has {len(a)} lines but --tgt has {len(b)}; they must be line-aligned")
        return list(zip(a, b))
    for path in data or []:
        name = "stdin" if path == "-" else path
        for n, line in enumerate(read_text(path).splitlines(), 1):
            if not line.strip():
                continue
            if "\t" not in line:
                raise InputError(f"{name} line {n} has no tab: each line must be source<TAB>target", hint=hint)
            s, t = line.split("\t", 1)
            if "\t" in t:
                raise InputError(f"{name} line {n} has more than one tab")
            pairs.append((s, t))
    if not pairs:
        raise InputError(f"no sentence pairs in {', '.join(data or [])}")
    return pairs


def clean_pairs(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], dict]:
    """Drop pairs with an empty side and repeated pairs; returns the rest and the counts."""
    seen, kept, empty, dup = set(), [], 0, 0
    for s, t in pairs:
        s, t = " ".join(s.split()), " ".join(t.split())
        if not s or not t:
            empty += 1
        elif (s, t) in seen:
            dup += 1
        else:
            seen.add((s, t))
            kept.append((s, t))
    return kept, {"pairs": len(pairs), "empty": empty, "duplicate": dup}


def encode_pairs(tok: Tokenizer, pairs, max_len: int) -> tuple[list[tuple[list[int], list[int]]], int]:
    """Pieces for both sides (the target gains EOS); pairs longer than ``max_len`` are dropped."""
    out, long = [], 0
    for s, t in pairs:
        a, b = tok.encode(s), tok.encode(t) + [EOS]
        if len(a) > max_len or len(b) > max_len + 1:
            long += 1
        else:
            out.append((a, b))
    return out, long


def pad_batch(pairs, device=None):
    """-> src (B, S), src_len (B,), tgt_in (B, T) starting with BOS, tgt_out (B, T) ending with EOS."""
    B = len(pairs)
    S, T = max(len(a) for a, _ in pairs), max(len(b) for _, b in pairs)
    src = torch.full((B, S), PAD, dtype=torch.long)
    tin = torch.full((B, T), PAD, dtype=torch.long)
    tout = torch.full((B, T), PAD, dtype=torch.long)
    for i, (a, b) in enumerate(pairs):
        src[i, : len(a)] = torch.tensor(a)
        tout[i, : len(b)] = torch.tensor(b)
        tin[i, : len(b)] = torch.tensor([BOS] + b[:-1])
    src_len = torch.tensor([max(len(a), 1) for a, _ in pairs])
    return tuple(t.to(device) if device is not None else t for t in (src, src_len, tin, tout))


def make_batches(pairs, batch_tokens: int, seed: int) -> list[list[int]]:
    """Indices of length-bucketed batches: sorted by (source, target) length with a seeded
    tie-break, then cut so that count x longest side stays within ``batch_tokens``."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(len(pairs), generator=g).tolist()
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1]), noise[i]))
    batches, cur, longest = [], [], 0
    for i in order:
        n = max(len(pairs[i][0]), len(pairs[i][1]))
        if cur and max(longest, n) * (len(cur) + 1) > batch_tokens:
            batches.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        batches.append(cur)
    return batches


# ---------------------------------------------------------------- training


@torch.no_grad()
def loss_on(model: Seq2Seq, pairs, batch_tokens: int = 4000, bf16: bool = False) -> float:
    """Mean nats per target piece (teacher forcing, no label smoothing)."""
    model.eval()
    dev = next(model.parameters()).device
    total, count = 0.0, 0
    for idx in make_batches(pairs, batch_tokens, 0):
        src, src_len, tin, tout = pad_batch([pairs[i] for i in idx], dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(src, src_len, tin)
        total += F.cross_entropy(logits.float().flatten(0, 1), tout.flatten(), ignore_index=PAD,
                                 reduction="sum").item()
        count += int((tout != PAD).sum())
    return total / max(count, 1)


class TranslateJob(Job):
    """What the trainer drives for translation (core/task.py): no state carried across batches."""

    task = "translate"

    def __init__(self, model: Seq2Seq, tok: Tokenizer, train, val, data: TranslateData, random_seed: int,
                 note: str = "", val_text=None):
        self.model, self.tok, self.data = model, tok, data
        self.config, self.vocab = asdict(model.cfg), tok.bytes
        self.train, self.val, self.data_note, self.val_text = train, val, note, val_text or []
        self.batches = make_batches(train, data.batch_tokens, random_seed)
        self.seed = random_seed
        h = hashlib.sha256(tok.bytes)
        for a, b in train:
            h.update(bytes(str((a, b)), "ascii"))
        self.fingerprint = h.hexdigest()[:16] + f"/bt{data.batch_tokens}"
        self.rank, self.world = 0, 1
        self.steps_per_epoch = len(self.batches)
        self._epoch, self._order = -1, None

    def shard(self, rank: int, world: int) -> None:
        if len(self.batches) < world:
            raise UsageError(f"too few batches ({len(self.batches)}) for {world} processes")
        self.rank, self.world = rank, world
        self.steps_per_epoch = len(self.batches) // world

    def _batch(self, step: int):
        epoch, k = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1000003 + epoch)
            perm = torch.randperm(len(self.batches), generator=g).tolist()
            self._order, self._epoch = perm[self.rank:: self.world], epoch
        return [self.train[i] for i in self.batches[self._order[k]]]

    def loss(self, model, step: int, carry):
        dev = next(model.parameters()).device
        src, src_len, tin, tout = pad_batch(self._batch(step), dev)
        logits = model(src, src_len, tin)
        loss = F.cross_entropy(logits.float().flatten(0, 1), tout.flatten(), ignore_index=PAD,
                               label_smoothing=self.data.label_smoothing)
        return loss, int((tout != PAD).sum()), None

    def held_out_loss(self, model, bf16: bool) -> float | None:
        return loss_on(model, self.val, bf16=bf16) if self.val else None

    def sample(self, model, random_seed: int) -> str:
        shown = self.val_text[:2]
        if not shown:
            return ""
        hyps = Translator(model, self.tok).translate([s for s, _ in shown], beam=1)
        return "\n".join(f"{s}\n  -> {h[0].text}" for (s, _), h in zip(shown, hyps))


def make_job(pairs, val_pairs, data: TranslateData, model_overrides: dict, random_seed: int,
             base: dict | None = None, note: str = "", log=print) -> TranslateJob:
    """Clean the pairs, train the tokenizer (or take it from ``base``), encode, build the model."""
    pairs, counts = clean_pairs(pairs)
    if val_pairs is None:
        g = torch.Generator().manual_seed(random_seed)
        perm = torch.randperm(len(pairs), generator=g).tolist()
        n_val = int(len(pairs) * data.val_fraction) if len(pairs) >= 20 else 0
        val_pairs = [pairs[i] for i in sorted(perm[:n_val])]
        pairs = [pairs[i] for i in sorted(perm[n_val:])]
    else:
        val_pairs, _ = clean_pairs(val_pairs)
    if not pairs:
        raise InputError("no usable sentence pairs left after dropping empty and duplicate ones")
    if base is not None:
        tok = Tokenizer(base["vocab"])
        model = build_model(base["config"])
        checkpoint.weights_into(model, base)
    else:
        tok = Tokenizer.train([s for p in pairs for s in p], data.vocab_size)
        model = Seq2Seq(TranslateConfig(vocab_size=len(tok), **model_overrides))
    max_len = model.cfg.max_len
    train, long = encode_pairs(tok, pairs, max_len)
    val, _ = encode_pairs(tok, val_pairs, max_len)
    log(f"pairs: {counts['pairs']:,} read, {counts['empty']:,} empty, {counts['duplicate']:,} duplicate, "
        f"{long:,} longer than {max_len} pieces dropped; {len(train):,} for training, {len(val):,} for "
        f"validation; vocabulary {len(tok):,} pieces")
    if not train:
        raise InputError(f"every pair is longer than {max_len} pieces", hint="raise --max-len")
    return TranslateJob(model, tok, train, val, data, random_seed, note, val_text=val_pairs)


# Model flags that may change when fine-tuning from --init weights; the sizes may not.
TUNABLE = ("dropout",)


def train(data: list[str] | None, src: str | None, tgt: str | None, val_data: list[str] | None, out: str, cfg,
          data_cfg: TranslateData, model_cfg: dict, given: dict | None = None, init: str | None = None,
          resume: str | None = None, threads: int = 0) -> dict:
    """``lstm train translate``: read pairs, train the tokenizer and the model with the shared
    trainer. ``given``: the model and data flags the user typed (checked against --init/--resume)."""
    from lstm_cli.core.task import train_task

    pairs = read_pairs(data, src, tgt)
    val_pairs = read_pairs(val_data, hint=None) if val_data else None
    note = ", ".join(p if p != "-" else "stdin" for p in (data or [src, tgt]))

    def make(start: dict | None, data_cfg: TranslateData, cfg) -> TranslateJob:
        return make_job(pairs, val_pairs, data_cfg, model_cfg, cfg.random_seed, base=start, note=note,
                        log=lambda m: print(m, file=sys.stderr))

    return train_task("translate", out, cfg, make, data_cfg, given, TUNABLE, init=init, resume=resume,
                      threads=threads)


# ---------------------------------------------------------------- decoding

# A sentence ends at . ! ? (or ...), perhaps followed by closing quotes or brackets, then space;
# not after a common abbreviation or a single capital (an initial).
_SENTENCE_END = re.compile(r"""[.!?\u2026]+["'\u201d\u2019\u00bb)\]]*\s+""")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "cf", "mt", "prof"}


def sentences(line: str) -> list[str]:
    """Cut a line into its sentences (each keeps its end mark); a line without one is one sentence."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(line):
        words = line[start: m.start()].split()
        last = words[-1].lower() if words else ""
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha() and line[m.start()] == "."):
            continue
        out.append(line[start: m.end()].strip())
        start = m.end()
    rest = line[start:].strip()
    return out + ([rest] if rest else [])



@dataclass
class Hypothesis:
    text: str
    score: float  # length-normalised log-probability
    ids: list[int]
    attention: list[list[float]] | None = None  # (target pieces incl. EOS, source pieces)
    unreadable: bool = False  # the input had no piece the model knows, so nothing was translated


class Translator:
    """Greedy and beam-search decoding, batched over sentences."""

    def __init__(self, model: Seq2Seq, tok: Tokenizer, device=None):
        self.model, self.tok = model.eval(), tok
        self.device = device or next(model.parameters()).device
        self._wordy = [i > EOS and any(ch.isalnum() for ch in tok.sp.id_to_piece(i)) for i in range(len(tok))]

    def known(self, ids: list[int]) -> bool:
        """Whether a piece list holds anything the model can read: a known piece with a letter or
        digit in it (``<unk>``, the word-boundary mark and punctuation alone do not count)."""
        return any(self._wordy[i] for i in ids)

    def split(self, line: str) -> list[list[int]]:
        """The line's pieces, one part per sentence (:func:`sentences`); a sentence longer than
        the model's ``max_len`` pieces is cut at clause marks (``;:,``) into groups of at most
        half that, else every ``max_len // 2`` pieces. Parts with no piece the model knows are dropped."""
        limit = self.model.cfg.max_len
        parts = []
        for sent in sentences(line):
            ids = self.tok.encode(sent)
            if len(ids) > limit:  # cut into clause groups of half the limit: long input reads badly
                group, ids = max(limit // 2, 1), []
                for clause in re.split(r"(?<=[;:,])\s+", sent):
                    c = self.tok.encode(clause)
                    if ids and len(ids) + len(c) > group:
                        parts.append(ids)
                        ids = []
                    ids = ids + c
                    while len(ids) > group:
                        parts.append(ids[:group])
                        ids = ids[group:]
            if ids:
                parts.append(ids)
        return [p for p in parts if self.known(p)]

    def translate(self, lines: list[str], beam: int = 5, n_best: int = 1, alpha: float = 0.6,
                  attention: bool = False) -> list[list[Hypothesis]]:
        """n-best hypotheses per line, best first. Every sentence of a line is translated: the
        lines are split into sentences first (:meth:`split`), all the parts are decoded in
        length-sorted batches, and each line's parts are joined again. A line of one part keeps
        its n-best list; a line of several gets one hypothesis, the parts' best ones joined (its
        attention is the first part's). An empty line, or one with no piece the model knows,
        gives an empty translation (``Hypothesis.unreadable`` tells the second)."""
        parts, owner = [], []
        results: list[list[Hypothesis]] = [[Hypothesis("", 0.0, [])] for _ in lines]
        for i, line in enumerate(lines):
            if line.strip():
                mine = self.split(line)
                if not mine:
                    results[i] = [Hypothesis("", 0.0, [], unreadable=True)]
                for p in mine:
                    parts.append(p)
                    owner.append(i)
        if not parts:
            return results
        order = sorted(range(len(parts)), key=lambda k: len(parts[k]))
        decoded = [None] * len(parts)
        chunk = max(1, 64 // max(beam, 1))
        for s in range(0, len(order), chunk):
            idx = order[s: s + chunk]
            outs = self._decode([parts[k] for k in idx], beam, max(n_best, 1), alpha, attention)
            for k, o in zip(idx, outs):
                decoded[k] = o
        by_line: dict[int, list] = {}
        for k, i in enumerate(owner):
            by_line.setdefault(i, []).append(decoded[k])
        for i, mine in by_line.items():
            if len(mine) == 1:
                results[i] = mine[0]
            else:
                best = [m[0] for m in mine]
                results[i] = [Hypothesis(" ".join(h.text for h in best if h.text),
                                         sum(h.score for h in best) / len(best),
                                         [t for h in best for t in h.ids], best[0].attention)]
        return results

    def attended(self, line: str, hyp: Hypothesis) -> tuple[list[str], list[str]]:
        """The labels of ``hyp.attention``'s columns and rows: the pieces of ``line``'s first
        sentence (the one a line of several draws) and those of its translation, </s> included."""
        ids = hyp.ids[: len(hyp.attention)]
        return self.tok.pieces(self.split(line)[0]), [p if i != EOS else "</s>" for p, i in zip(self.tok.pieces(ids), ids)]

    @torch.no_grad()
    def _decode(self, srcs: list[list[int]], beam: int, n_best: int, alpha: float, attention: bool,
                search: str | None = None):
        """Greedy (beam 1) or beam search (``search="beam"`` forces it, even at beam 1) over one
        batch of piece lists (core/sampling.py)."""
        model, k = self.model, max(beam, 1)
        srcs = [s or [UNK] for s in srcs]
        src, src_len, _, _ = pad_batch([(s, [EOS]) for s in srcs], self.device)
        mem, keys, mask, state = model.encode(src, src_len)
        if k > 1:  # every sentence's memory and state, once per beam
            mem, keys, mask = (t.repeat_interleave(k, 0) for t in (mem, keys, mask))
            state = sampling.map_state(lambda t: t.repeat_interleave(k, 0), state)

        def step(y, state):
            a, state, alpha_t = model.step(y, state, mem, keys, mask)
            return model.out(a).float().log_softmax(-1), state, alpha_t

        limit = int(min(model.cfg.max_len + 1, 2 * int(src_len.max()) + 10))
        common = dict(max_steps=limit, bos=BOS, eos=EOS, pad=PAD, alpha=alpha, keep_extra=attention)
        hyps = (sampling.greedy(step, state, len(srcs), **common) if k == 1 and search != "beam" else
                sampling.beam_search(step, state, len(srcs), k, n_best=n_best, **common))
        return [[Hypothesis(self.tok.decode(ids), score, ids, None if att is None else
                            [row[: int(n)] for row in att])
                 for ids, score, att in h] for h, n in zip(hyps, src_len.tolist())]


def load_translator(model: str | None, device: str = "auto"):
    """The shipped (or given) model and its tokenizer, ready to decode."""
    from lstm_cli.core import registry
    from lstm_cli.core.runtime import pick_device, set_threads

    set_threads(0)
    net, tok = from_checkpoint(registry.load(model, "translate"))
    dev = pick_device(device)
    return Translator(net.to(dev), tok, dev)


def evaluate(model: str | None, data: str, device: str = "auto", beams=(5, 1)) -> dict:
    """``lstm eval``: BLEU and chrF (sacrebleu, on detokenized output) of beam 5 and greedy
    decoding on a TSV of held-out pairs."""
    import sacrebleu

    from lstm_cli.core import registry
    from lstm_cli.core.progress import Ticker

    pairs = read_pairs([data], hint="held-out data for a translation model is one source<TAB>reference pair per line")
    tr = load_translator(model, device)
    src, refs = [s for s, _ in pairs], [t for _, t in pairs]
    out = {"metric": "bleu"}
    tick, step = Ticker("translated", len(src) * len(beams), "sentences", least=1_000), 256
    for k, beam in enumerate(beams):
        hyps = []
        for i in range(0, len(src), step):  # in groups, to say how far it has come
            hyps += [h[0].text for h in tr.translate(src[i: i + step], beam=beam)]
            tick(k * len(src) + len(hyps))
        tag = "" if beam == beams[0] else ("_greedy" if beam == 1 else f"_beam{beam}")
        out["bleu" + tag] = round(sacrebleu.corpus_bleu(hyps, [refs]).score, 2)
        out["chrf" + tag] = round(sacrebleu.corpus_chrf(hyps, [refs]).score, 2)
    out.update({"beam": beams[0], "sentences": len(pairs),
                "model": model or registry.task("translate").default_model})
    return out

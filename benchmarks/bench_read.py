"""lstm read, measured: training speed against a plain bidirectional ``nn.LSTM``, and the time to
read a line.

1. Training points/s (forward + backward + AdamW step, CTC loss) of the reader, whose every layer
   is two fused one-direction ``nn.LSTM`` calls (the backward one over each sample reversed within
   its length, so padding changes nothing), against ``nn.LSTM(bidirectional=True)`` of the same
   shape over the padded batch (without dropout, and with its own dropout between layers as the
   reader has), and over a packed batch (the exact way torch offers), in the same run, on the
   same batch, the steps taken in turns so that a busier moment slows every one alike.
2. Milliseconds to read a line of 43 characters (docs/ink/cursive.inkml) after the model is
   loaded: best path, and the beam search with and without the language model, at 1 and 2 torch
   threads, with the shipped ``hershey-reader`` when it exists (else an untrained reader of the
   same shape).

    python benchmarks/bench_read.py [--steps 4] [--batch 32] [--points 500]
"""

from __future__ import annotations

import argparse
import os
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the lstm entry point does (lstm_cli/cli/app.py)
sys.path.insert(0, str(ROOT))


def _line():
    """A line of about 40 characters: the shipped cursive sample (docs/ink/cursive.inkml)."""
    from lstm_cli.tasks.write.strokes import read_ink

    return read_ink(str(ROOT / "docs" / "ink" / "cursive.inkml"))[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--points", type=int, default=500)
    a = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    from lstm_cli.core import registry
    from lstm_cli.tasks.read import Reader, load_reader
    from lstm_cli.tasks.read.model import N_FEATURES, ReadConfig, ReadNet, points_of

    torch.manual_seed(0)
    torch.set_num_threads(2)
    cfg = ReadConfig(alphabet="".join(chr(c) for c in range(32, 127)))
    net = ReadNet(cfg)
    B, T, V = a.batch, a.points, len(cfg.alphabet) + 1
    x = torch.randn(B, T, N_FEATURES)
    lengths = torch.randint(T * 9 // 10, T + 1, (B,))
    lengths[0] = T
    labels = torch.randint(1, V, (B * 20,))
    label_lengths = torch.full((B,), 20)
    plain = nn.LSTM(N_FEATURES, cfg.hidden, cfg.layers, batch_first=True, bidirectional=True)
    plain_drop = nn.LSTM(N_FEATURES, cfg.hidden, cfg.layers, batch_first=True, bidirectional=True,
                         dropout=cfg.dropout)
    head = nn.Linear(2 * cfg.hidden, V)

    def ours():
        return net(x, lengths)[0]

    def padded(lstm):
        return lambda: torch.log_softmax(head(lstm(x)[0]), -1)

    def packed():
        p = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = nn.utils.rnn.pad_packed_sequence(plain(p)[0], batch_first=True, total_length=T)
        return torch.log_softmax(head(h), -1)

    runs = {  # name -> (step, parameters, optimizer, times)
        "plain": padded(plain), "plain_drop": padded(plain_drop), "ours": ours, "packed": packed}
    params = {"plain": [*plain.parameters(), *head.parameters()], "ours": list(net.parameters()),
              "plain_drop": [*plain_drop.parameters(), *head.parameters()],
              "packed": [*plain.parameters(), *head.parameters()]}
    opts = {k: torch.optim.AdamW(v) for k, v in params.items()}
    times = {k: [] for k in runs}
    net.train(), plain.train(), plain_drop.train()

    def step(name):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lp = runs[name]()
        loss = F.ctc_loss(lp.float().transpose(0, 1), labels, lengths, label_lengths, zero_infinity=True)
        opts[name].zero_grad()
        loss.backward()
        opts[name].step()
        times[name].append(time.perf_counter() - t0)

    print(f"training, batch {B} x {T} points, {cfg.layers} layers x {cfg.hidden} units each way, bf16, "
          f"2 threads, best of {a.steps} steps taken in turns:")
    for name in runs:  # warm-up
        step(name)
        times[name].clear()
    for r in range(a.steps):
        for name in runs:
            if name != "packed" or r < max(1, a.steps // 4):
                step(name)
    pps = {k: float(lengths.sum()) / min(v) for k, v in times.items()}
    base = pps["plain"]
    for name, label in [("plain", "nn.LSTM(bidirectional=True), padded"),
                        ("plain_drop", f"  the same with its dropout {cfg.dropout:g}"),
                        ("ours", "reader (two fused directions, exact)"),
                        ("packed", "nn.LSTM(bidirectional=True), packed")]:
        note = {"plain": " (padding leaks into the backward pass; no dropout)"}.get(name, "")
        print(f"  {label:<38} {pps[name]:9,.0f} points/s   {pps[name] / base:.2f}x{note}")

    shipped = "hershey-reader" in registry.manifest()
    text, strokes = _line()
    if shipped:
        reader = load_reader("hershey-reader", "cpu", "none")
    else:
        reader = Reader(ReadNet(cfg))
    lm = None
    if shipped and "wikipedia" in registry.manifest():
        from lstm_cli.tasks.read.lm import CharLM

        lm = CharLM(registry.load("wikipedia", "text"), reader.alphabet, "wikipedia")
    pts = points_of(strokes, reader.model.cfg.step)
    print(f"\nreading a {len(text)}-character line ({len(pts)} points) with "
          f"{'hershey-reader' if shipped else 'an untrained reader'}, ms (best of 5):")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        row = []
        for name, beam, use_lm in (("best path", 1, False), ("beam 8", 8, False), ("beam 8 + LM", 8, True)):
            if use_lm and lm is None:
                continue
            reader.lm, reader.lm_weight, reader.bonus = (lm, 0.3, 1.0) if use_lm else (None, 0.0, 0.0)
            best = math.inf
            for _ in range(5):
                t0 = time.perf_counter()
                reader.read_points([pts], beam=beam)
                best = min(best, time.perf_counter() - t0)
            row.append(f"{name} {1000 * best:6.1f}")
        print(f"  {threads} thread{'s' if threads > 1 else ' '}: " + "   ".join(row))


if __name__ == "__main__":
    main()

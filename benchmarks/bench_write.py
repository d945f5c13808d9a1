"""lstm write, measured: training speed against a straightforward all-LSTMCell loop, and the time
to write a line.

1. Training points/s (forward + backward + AdamW step) of the write model, whose first layer and
   window run step by step while the layers above run as fused ``nn.LSTM`` calls over the whole
   sequence, against the same network with every layer an ``LSTMCell`` stepped in one loop (the
   straightforward way to write Graves' model), in the same run, on the same batch.
2. Points/s drawing a 40-character line with the shipped model when it exists (else an untrained
   one, at most 800 points): the network called per point (the sampler before pen.py, kept
   here as the baseline), the numpy pen for one line, and for 8 lines as one batch.
3. Seconds for the whole process of ``lstm write`` of that line, at --best-of 1, 4 and 8 (the default),
   and the same with torch imported first (the baseline: ``lstm write`` imported it until it drew
   and judged in numpy alone), the two taking turns.

    python benchmarks/bench_write.py [--threads 2] [--steps 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the lstm entry point does (lstm_cli/cli/app.py)
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--points", type=int, default=300)
    ap.add_argument("--parts", default="123", help="which of the three measurements to run (default: all)")
    a = ap.parse_args()

    import torch
    import torch.nn as nn

    from lstm_cli.tasks.write import write_strokes
    from lstm_cli.tasks.write.model import WriteConfig, WriteNet, nll

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    alphabet = "".join(chr(c) for c in range(32, 127))
    net = WriteNet(WriteConfig(alphabet=alphabet))
    cfg = net.cfg
    B, T, U = a.batch, a.points, 16
    x = torch.randn(B, T + 1, 3)
    x[..., 2] = (torch.rand(B, T + 1) < 0.05).float()
    text = torch.randint(1, len(alphabet) + 1, (B, U))
    tm = torch.ones(B, U, dtype=torch.bool)
    mask = torch.ones(B, T)

    # The baseline: the same weights, every layer an LSTMCell, one loop over time.
    cells = nn.ModuleList()
    for lstm in net.upper:
        c = nn.LSTMCell(lstm.input_size, lstm.hidden_size)
        c.load_state_dict({"weight_ih": lstm.weight_ih_l0, "weight_hh": lstm.weight_hh_l0,
                           "bias_ih": lstm.bias_ih_l0, "bias_hh": lstm.bias_hh_l0})
        cells.append(c)

    def cell_loop(inp):
        c1 = net.one_hot(text)
        h1, w, _, _ = net.first_layer(inp, c1, tm)  # the window loop is the same in both
        states = [None] * len(cells)
        outs = []
        for t in range(inp.shape[1]):
            below, hidden = h1[:, t], [h1[:, t]]
            for n, cell in enumerate(cells):
                states[n] = cell(torch.cat([inp[:, t], below, w[:, t]], -1), states[n])
                below = states[n][0]
                hidden.append(below)
            outs.append(net.out(torch.cat(hidden + [w[:, t]], -1)))
        return torch.stack(outs, 1)

    def ours(inp):
        return net(inp, text, tm)[0]

    def rate(fn, params) -> float:
        opt = torch.optim.AdamW(params, lr=1e-4)
        best = 0.0
        for _ in range(2):
            t0 = time.perf_counter()
            for _ in range(a.steps):
                loss = nll(fn(x[:, :-1]), x[:, 1:], mask, cfg.mixture)
                opt.zero_grad()
                loss.backward()
                opt.step()
            best = max(best, a.steps * B * T / (time.perf_counter() - t0))
        return best

    base_params = [p for n, p in net.named_parameters() if not n.startswith("upper.")] + list(cells.parameters())
    print(f"torch {torch.__version__}, {a.threads} thread(s); model {cfg.layers}x{cfg.hidden}, window {cfg.window}, "
          f"mixture {cfg.mixture}; batch {B} x {T} points")
    if "1" in a.parts:
        r_base, r_ours = rate(cell_loop, base_params), rate(ours, list(net.parameters()))
        print(f"1. training points/s: lstm train write {r_ours:8,.0f}   all-LSTMCell loop {r_base:8,.0f}   "
              f"ratio {r_ours / r_base:.2f}")

    shipped = ROOT / "checkpoints" / "hershey.pt"
    line = "the quick brown fox jumps over the dog!"[:40]
    if shipped.exists():
        from lstm_cli.core import registry
        from lstm_cli.tasks.write import build_model

        ck = registry.load("hershey", "write")
        net = build_model(ck["config"])
        net.load_state_dict(ck["state_dict"])
        what = "the shipped hershey model"
    else:
        net.cfg.scale = [1.0, 1.0]
        what = "an untrained model (no checkpoints/hershey.pt)"
    net.eval()
    cap = 800
    print(f"2. drawing a {len(line)}-character line with {what} ({cap} points at most), points/s, best of 3:")

    def pps(fn) -> tuple[float, int]:
        best, n = 0.0, 0
        for k in range(3):
            t0 = time.perf_counter()
            n = fn(k)
            best = max(best, n / (time.perf_counter() - t0))
        return best, n

    if "2" not in a.parts:
        return _whole_process(line) if "3" in a.parts else None
    from lstm_cli.tasks.write import pen

    weights = pen.weights(net)  # the pen's arrays, as lstm write reads them from the checkpoint
    old, n_old = pps(lambda k: _module_per_point(net, line, k, cap))
    one, n_one = pps(lambda k: sum(len(p) for p in _pen(weights, line, 1, k, cap)))
    eight, n_eight = pps(lambda k: sum(len(p) for p in _pen(weights, line, 8, k, cap)))
    print(f"   the network called per point (the sampler before pen.py)   {old:8,.0f}   1.00x")
    print(f"   pen.py, one line                                             {one:8,.0f}   {one / old:.2f}x")
    print(f"   pen.py, 8 lines as one batch (all 8 lines' points)            {eight:8,.0f}   {eight / old:.2f}x"
          f"   ({eight / one:.1f}x one line at a time)")
    if "3" in a.parts:
        _whole_process(line)


def _whole_process(line: str) -> None:
    import subprocess

    from lstm_cli.cli.write import BEST_OF

    lstm = [sys.executable, "-m", "lstm_cli"]
    first = [sys.executable, "-c", "import sys, torch; from lstm_cli.cli.app import main; sys.argv[0] = 'lstm'; main()"]
    print(f"3. the whole process, lstm write of that line (-o a PNG), best of 3, s; torch imported first:")
    for extra in (["--best-of", str(n)] for n in (1, 4, 8)):
        times: dict = {"numpy": [], "torch": []}
        for k in range(3):
            for kind, cmd in (("numpy", lstm), ("torch", first)):
                t0 = time.perf_counter()
                subprocess.run(cmd + ["write", line, "-o", str(ROOT / "build" / "bench-write.png"),
                                      "--random-seed", str(k)] + extra, check=True, capture_output=True)
                times[kind].append(time.perf_counter() - t0)
        ours, base = min(times["numpy"]), min(times["torch"])
        print(f"   {' '.join(extra):<14} {ours:6.2f}   {base:6.2f}   ratio {base / ours:.2f}"
              f"{'   (the default)' if extra[1] == str(BEST_OF) else ''}")


def _pen(net, text, B, seed, cap):
    import numpy as np

    from lstm_cli.tasks.write import encode_text, pen

    p, _ = pen.start(net, encode_text(net.cfg.alphabet, text), B)
    return pen.draw(p, net.cfg.scale, net.cfg.mixture, 0.75, np.random.default_rng(seed), cap)[0]


def _module_per_point(net, text, seed, cap, bias=0.75) -> int:
    """The sampler before pen.py, the baseline: the torch network called for each point."""
    import math

    import torch

    from lstm_cli.tasks.write import encode_text
    from lstm_cli.tasks.write.model import mixture

    g = torch.Generator().manual_seed(seed)
    ids = torch.tensor([encode_text(net.cfg.alphabet, text)])
    tm = torch.ones_like(ids, dtype=torch.bool)
    x, state, U, n = torch.zeros(1, 1, 3), None, ids.shape[1], 0
    with torch.no_grad():
        for n in range(1, cap + 1):
            y, phi, state = net(x, ids, tm, state)
            e, log_pi, mx, my, lsx, lsy, rho = mixture(y[0, 0], net.cfg.mixture, bias)
            j = int(torch.multinomial(log_pi.exp(), 1, generator=g))
            z1, z2 = torch.randn(2, generator=g).tolist()
            sx, sy, r = math.exp(float(lsx[j])), math.exp(float(lsy[j])), float(rho[j])
            dx = float(mx[j]) + sx * z1
            dy = float(my[j]) + sy * (r * z1 + math.sqrt(max(1 - r * r, 0.0)) * z2)
            up = float(float(torch.rand(1, generator=g)) < float(torch.sigmoid(e)))
            x = torch.tensor([[[dx, dy, up]]])
            if float(phi[0, 0, U]) > float(phi[0, 0, :U].max()) and up:
                break
    return n


if __name__ == "__main__":
    main()

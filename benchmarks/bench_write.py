"""lstm write, measured: training speed against a straightforward all-LSTMCell loop, and the time
to write a line.

1. Training points/s (forward + backward + AdamW step) of the write model, whose first layer and
   window run step by step while the layers above run as fused ``nn.LSTM`` calls over the whole
   sequence, against the same network with every layer an ``LSTMCell`` stepped in one loop (the
   straightforward way to write Graves' model), in the same run, on the same batch.
2. Seconds to write a 40-character line (about 800 pen points) with the shipped model when it
   exists (else an untrained one, stopped at 800 points).

    python benchmarks/bench_write.py [--threads 2] [--steps 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--points", type=int, default=300)
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
    r_base, r_ours = rate(cell_loop, base_params), rate(ours, list(net.parameters()))
    print(f"torch {torch.__version__}, {a.threads} thread(s); model {cfg.layers}x{cfg.hidden}, window {cfg.window}, "
          f"mixture {cfg.mixture}; batch {B} x {T} points")
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
        what = "an untrained model (no checkpoints/hershey.pt), stopped at 800 points"
    t0 = time.perf_counter()
    st, _ = write_strokes(net, line, random_seed=0, max_points=800)
    dt = time.perf_counter() - t0
    print(f"2. writing {len(line)} characters ({sum(map(len, st))} points) with {what}: {dt:.2f} s")


if __name__ == "__main__":
    main()

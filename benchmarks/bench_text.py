"""Speed of the text task, as ratios against baselines measured in the same run.

    python benchmarks/bench_text.py [--threads 1] [--hidden 512] [--steps 30] [--chars 2000]

1. Training tokens/s: `lstm train text`'s loop (core/trainer.py + tasks/text.py) against a minimal
   plain-PyTorch loop with nn.LSTM of the same size, in fp32 and in bf16 autocast.
2. Sampling chars/s at batch 1: our Sampler against (a) nn.LSTM called once per step, (b) an
   nn.LSTMCell loop, and (c) the floor: the same matrix-vector products alone in numpy/OpenBLAS,
   on 1 and 2 OpenBLAS threads.
3. Start-up: `lstm --help` and time to the first generated character, against `import torch`.
Numbers depend on what else runs on the machine: rerun on an idle one before quoting them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def corpus_text(n=600_000) -> str:
    tiny = ROOT.parent / "shared" / "tinyshakespeare.txt"
    if tiny.exists():
        return tiny.read_text()[:n]
    import random

    rng = random.Random(0)
    words = "to be or not that is the question whether tis nobler in mind suffer".split()
    return " ".join(rng.choice(words) for _ in range(n // 5))


# ---------------------------------------------------------------- 1. training


def train_ours(text, hidden, batch, seq, steps, bf16) -> float:
    """tokens/s of the real trainer, timed between consecutive steps after a warm-up."""
    from lstm_cli.core.trainer import TrainConfig, fit
    from lstm_cli.tasks import text as task

    job = task.make_job([text], None, task.TextData(batch_size=batch, seq_len=seq, val_fraction=0.0),
                        dict(embed=128, hidden=hidden, layers=2))
    stamps = []
    orig = job.loss

    def timed(model, step, carry):
        stamps.append(time.perf_counter())
        return orig(model, step, carry)

    job.loss = timed
    cfg = TrainConfig(max_steps=steps, eval_every=10**9, sample_every=0, save_every=10**9, log_every=10**9,
                      bf16=bf16, device="cpu")
    with tempfile.TemporaryDirectory() as d:
        fit(job, cfg, Path(d) / "b.pt")
    warm = 5
    return batch * seq * (len(stamps) - 1 - warm) / (stamps[-1] - stamps[warm])


def train_plain(vocab, hidden, batch, seq, steps, bf16) -> float:
    """The baseline: the shortest honest nn.LSTM training loop (same model, same optimizer)."""
    import torch
    import torch.nn as nn

    emb, lstm, head = nn.Embedding(vocab, 128), nn.LSTM(128, hidden, 2, batch_first=True, dropout=0.25), nn.Linear(hidden, vocab)
    drop = nn.Dropout(0.25)  # where the text model has it: embeddings, between layers, before the output
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=2e-3)
    x = torch.randint(0, vocab, (batch, seq + 1))
    state, stamps = None, []
    for _ in range(steps):
        stamps.append(time.perf_counter())
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out, state = lstm(drop(emb(x[:, :-1])), state)
            loss = nn.functional.cross_entropy(head(drop(out)).float().reshape(-1, vocab), x[:, 1:].reshape(-1))
        state = tuple(s.detach() for s in state)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    warm = 5
    return batch * seq * (len(stamps) - 1 - warm) / (stamps[-1] - stamps[warm])


# ---------------------------------------------------------------- 2. sampling


def sample_rates(hidden, vocab_size, n) -> dict:
    import torch

    from lstm_cli.tasks import text as task

    torch.manual_seed(0)
    model = task.CharLSTM(task.TextConfig(vocab_size=vocab_size, embed=128, hidden=hidden, layers=2)).eval()
    vocab = task.Vocab("\n" + "".join(chr(32 + i) for i in range(vocab_size - 1)))
    rates = {}

    s = task.Sampler(model, vocab)
    t = time.perf_counter()
    out = "".join(s.stream(s.prime("\n"), n, random_seed=0))
    rates["ours (Sampler, incl. sampling)"] = len(out) / (time.perf_counter() - t)

    def plain(step_fn, m):
        x = torch.zeros(1, dtype=torch.long)
        t = time.perf_counter()
        with torch.no_grad():
            for _ in range(m):
                logits = step_fn(x)
                x = torch.multinomial(torch.softmax(logits, -1), 1).view(1)
        return m / (time.perf_counter() - t)

    state = [None]

    def lstm_step(x):  # (a) nn.LSTM once per character
        out, state[0] = model.lstm(model.embed(x).view(1, 1, -1), state[0])
        return model.head(out[0, 0])

    cells = [torch.nn.LSTMCell(128 if l == 0 else hidden, hidden) for l in range(2)]
    for l, c in enumerate(cells):
        c.load_state_dict({k.replace(f"_l{l}", ""): v for k, v in model.lstm.state_dict().items() if k.endswith(f"_l{l}")})
    hc = [(torch.zeros(1, hidden), torch.zeros(1, hidden)) for _ in cells]

    def cell_step(x):  # (b) an LSTMCell loop
        h = model.embed(x)
        for l, c in enumerate(cells):
            hc[l] = c(h, hc[l])
            h = hc[l][0]
        return model.head(h[0])

    m = max(n // 4, 200)
    rates["(a) nn.LSTM per step"] = plain(lstm_step, m)
    rates["(b) nn.LSTMCell loop"] = plain(cell_step, m)
    for threads in (1, 2):
        rates[f"(c) numpy matvec floor, {threads} thread(s)"] = numpy_floor(hidden, n, threads)
    return rates


FLOOR = """
import sys, time, numpy as np
H, n = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
w0 = rng.standard_normal((4 * H, H), dtype=np.float32)       # layer 0: W_hh (input is a lookup)
w1 = rng.standard_normal((4 * H, 2 * H), dtype=np.float32)   # layer 1: [W_ih | W_hh]
h0, h1, g = np.zeros(H, np.float32), np.zeros(2 * H, np.float32), np.empty(4 * H, np.float32)
t = time.perf_counter()
for _ in range(n):
    np.dot(w0, h0, out=g); np.dot(w1, h1, out=g)
print(n / (time.perf_counter() - t))
"""


def numpy_floor(hidden, n, threads) -> float:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-c", FLOOR, str(hidden), str(n)], capture_output=True, text=True,
                         env=env, check=True).stdout
    return float(out)


# ---------------------------------------------------------------- 3. start-up


def startup(model_path: str) -> dict:
    def timed(cmd, first_byte=False):
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
            if first_byte:
                p.stdout.read(1)
                best = min(best, time.perf_counter() - t)
                p.kill()
            else:
                p.communicate()
                best = min(best, time.perf_counter() - t)
            p.wait()
        return best

    py = sys.executable
    return {
        "python -c 'import torch'": timed([py, "-c", "import torch"]),
        "lstm --help": timed([py, "-m", "lstm_cli", "--help"]),
        "lstm generate: first character": timed([py, "-m", "lstm_cli", "generate", "-m", model_path,
                                                 "-n", "100000", "--no-echo"], first_byte=True),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (pinned; reported)")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--chars", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=2, help="training runs per side (best is kept)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["train", "sample", "startup"])
    a = ap.parse_args()

    import torch

    from lstm_cli.core.runtime import bf16_supported

    torch.set_num_threads(a.threads)
    os.environ["LSTM_THREADS"] = str(a.threads)
    print(f"torch {torch.__version__}, {a.threads} torch thread(s), {os.cpu_count()} cores, "
          f"bf16 supported: {bf16_supported(torch.device('cpu'))}; model 2x{a.hidden}, embedding 128")
    text = corpus_text()
    vocab = len(set(text))
    if "train" not in a.skip:
        print(f"\n1. training tokens/s (batch {a.batch}, {a.seq}-step BPTT, {a.steps} steps, best of {a.repeat})")
        for bf16 in (False, True):
            # Interleaved, best of `repeat` each, so drift in machine load hits both sides alike.
            base = ours = 0.0
            for _ in range(a.repeat):
                base = max(base, train_plain(vocab, a.hidden, a.batch, a.seq, a.steps, bf16))
                ours = max(ours, train_ours(text, a.hidden, a.batch, a.seq, a.steps, bf16))
            name = "bf16" if bf16 else "fp32"
            print(f"   {name}: lstm train {ours:9,.0f}   plain nn.LSTM loop {base:9,.0f}   ratio {ours / base:.2f}")
    if "sample" not in a.skip:
        print(f"\n2. sampling chars/s at batch 1 ({a.chars} chars)")
        rates = sample_rates(a.hidden, vocab, a.chars)
        ours = rates.pop("ours (Sampler, incl. sampling)")
        print(f"   lstm generate's Sampler            {ours:9,.0f}")
        for k, v in rates.items():
            print(f"   {k:<35}{v:9,.0f}   ours / this = {ours / v:.2f}")
    if "startup" not in a.skip:
        print("\n3. start-up seconds (best of 3)")
        from lstm_cli.core import registry

        names = list(registry.manifest())
        model = str(registry.resolve(names[0])) if names else None
        if model:
            s = startup(model)
            base = s["python -c 'import torch'"]
            for k, v in s.items():
                print(f"   {k:<32}{v:6.2f} s   ({v / base:.2f} x import torch)")


if __name__ == "__main__":
    main()

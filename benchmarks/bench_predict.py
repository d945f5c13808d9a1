"""lstm predict, measured: sequences per second, batched against one sequence per call, idle and
beside a busy process, and the whole process for one sequence and for many.

1. Sequences/s after the model is loaded for draws of 3-5 given elements from every family
   (``sequences.corpus``, the everyday ranges: training ones and, a fifth, held-out ones): one sequence per call of the
   predictor's ``ranked_many`` (the baseline: how ``lstm predict`` read its input until batching),
   and all of them in one call (read in chunks of its ``CHUNK``); idle, then beside one busy
   process (a Python loop on one core), the baseline and the batch in turns. Both give the same
   answers (checked; a sequence with none, such as ``v w x y z``, counts when it has none either
   way). With ``--against MODEL`` (a char model, say the one shipped before), that
   model's predictor is timed the same way in the same run. Torch runs on one thread, as in
   ``lstm predict`` (unless LSTM_THREADS says otherwise).
2. The whole process: ``lstm predict 2 4 8`` against ``python -c "import torch"``, and the same
   sequences piped to ``lstm predict -`` in one call.

    python benchmarks/bench_predict.py [--model sequences] [--against OLD.pt] [--sequences 500] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the lstm entry point does (lstm_cli/cli/app.py)
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sequences", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--model", default="sequences")
    ap.add_argument("--against", help="another model timed the same way in the same run (e.g. a char model)")
    a = ap.parse_args()

    from lstm_cli.core.runtime import set_threads
    from lstm_cli.tasks import sequences as S

    set_threads(0, default=1)  # as lstm predict does
    rng = random.Random(0)
    n_held = a.sequences // 5
    rows = S.corpus(a.sequences - n_held, False, 11, everyday=True) + S.corpus(n_held, True, 12, everyday=True)
    seqs = [ln.split()[: rng.randint(3, 5)] for _, ln in rows]
    for model in [a.model] + ([a.against] if a.against else []):
        timings(S.load_predictor(model), model, seqs, a.rounds)
    whole_process(seqs)


def timings(p, model: str, seqs: list, rounds: int) -> None:
    print(f"{model} ({type(p).__name__}); {len(seqs)} sequences of 3-5 elements; sequences/s, best of {rounds}")

    def timed(fn):
        t0 = time.perf_counter()
        out = fn()
        return len(seqs) / (time.perf_counter() - t0), out

    p.ranked_many(seqs[:4], 1)  # warm up
    for busy in (False, True):
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            one = many = 0.0
            for _ in range(rounds):
                r1, o1 = timed(lambda: [p.ranked_many([s], 1)[0] for s in seqs])
                r2, o2 = timed(lambda: p.ranked_many(seqs, 1))
                one, many = max(one, r1), max(many, r2)
            same = sum(x[:1] == y[:1] or bool(x and y and x[0][0] == y[0][0]) for x, y in zip(o1, o2))
            print(f"1. {'beside one busy process' if busy else 'idle':<24} one per call {one:6.1f}   "
                  f"batched {many:6.1f} ({many / one:.1f}x); same answers: {same} of {len(seqs)}")
        finally:
            if hog:
                hog.kill()


def whole_process(seqs: list) -> None:
    def whole(args, stdin: str | None = None) -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(args, capture_output=True, input=stdin, text=True)  # exit 3: a line with no answer (x y z)
            best = min(best, time.perf_counter() - t0)
        return best

    bare = whole([sys.executable, "-c", "import torch"])
    one = whole([sys.executable, "-m", "lstm_cli", "predict", "2", "4", "8"])
    many = whole([sys.executable, "-m", "lstm_cli", "predict", "-"], "\n".join(" ".join(s) for s in seqs) + "\n")
    print(f"2. whole process: import torch {bare:.2f} s; lstm predict 2 4 8 {one:.2f} s ({one - bare:+.2f} s); "
          f"{len(seqs)} sequences piped in {many:.2f} s ({(len(seqs) - 1) / max(many - one, 1e-9):.0f} sequences/s beyond the first)")


if __name__ == "__main__":
    main()

"""lstm predict on sequences drawn by code that does not share the training data's generator
(``draw_everyday``): its own ranges and edges (round steps such as 25, 250 or 5000; starts such as
0, 99,999 and -99,999; ratios -10..10 with 1 and -1; roots -999..999), 3-5 given elements (periodic:
the whole period and two more), piped to ``lstm predict -`` as a user would. Prints the accuracy
per family and a few misses of each.

    python benchmarks/predict_outsider.py [--per-family 2000] [--seed 11] [--model sequences]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def families(r: random.Random) -> dict:
    def arithmetic():
        if r.random() < 0.3:  # round
            d = r.choice([1, 2, 5, 10, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000]) * r.choice([1, -1])
            a = d * r.randint(-5, 20) if r.random() < 0.5 else r.choice([0, 100, 1000, 10000, 50000, 99999, -99999])
        else:
            a = r.randint(-99999, 99999)
            d = r.choice([r.randint(-9999, 9999), r.randint(-99, 99), r.randint(-9, 9)]) or 3
        return [a + i * d for i in range(6)]

    def geometric():
        while True:
            q = r.choice([x for x in range(-10, 11) if x])
            a = r.choice([r.randint(1, 9), r.randint(10, 999), r.randint(1000, 99999)]) * r.choice([1, -1])
            xs = [a * q**i for i in range(6)]
            if all(abs(x) < 10**9 for x in xs):
                return xs

    def powers(p):
        k = r.randint(0 if p == 2 else -999, 993)
        return [(k + i) ** p for i in range(6)]

    def fibonacci():
        while True:
            xs = [r.randint(-99999, 99999), r.randint(-99999, 99999)] if r.random() < 0.7 else [r.randint(0, 9), r.randint(1, 9)]
            while len(xs) < 6:
                xs.append(xs[-1] + xs[-2])
            if all(abs(x) < 10**9 for x in xs):
                return xs

    def periodic():
        p = r.randint(2, 4)
        while True:
            unit = [r.choice([r.randint(-99999, 99999), r.randint(0, 9), r.randint(10, 99)]) for _ in range(p)]
            if len(set(unit)) == p:
                return [unit[i % p] for i in range(p + 3)]

    def letters():
        step = r.choice([1, -1, 2, -2, 3])
        while True:
            s = r.randrange(26)
            if 0 <= s + 5 * step < 26:
                up = r.random() < 0.3
                return [(LETTERS[s + i * step].upper() if up else LETTERS[s + i * step]) for i in range(6)]

    return {"arithmetic": arithmetic, "geometric": geometric, "squares": lambda: powers(2),
            "cubes": lambda: powers(3), "fibonacci": fibonacci, "periodic": periodic, "alphabet": letters}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-family", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--model", default="sequences")
    a = ap.parse_args()
    r = random.Random(a.seed)
    fams = families(r)
    rows = []
    for _ in range(a.per_family):
        for fam, draw in fams.items():
            xs = [str(x) for x in draw()]
            given = r.randint(3, 5) if fam != "periodic" else len(xs) - 1
            rows.append((fam, xs[:given], xs[given]))
    env = {**os.environ, "LSTM_THREADS": os.environ.get("LSTM_THREADS", "1")}
    got = subprocess.run([sys.executable, "-m", "lstm_cli", "predict", "-m", a.model, "-"], capture_output=True, text=True,
                         input="".join(" ".join(g) + "\n" for _, g, _ in rows), cwd=ROOT, env=env).stdout.splitlines()
    right, misses = collections.Counter(), collections.defaultdict(list)
    for (fam, given, want), answer in zip(rows, got):
        right[fam] += answer == want
        if answer != want:
            misses[fam].append(f"{' '.join(given)} -> {answer or '(none)'} (want {want})")
    print(f"{a.model}: {a.per_family} sequences a family (seed {a.seed}), next element right")
    for fam in fams:
        print(f"{fam:<11} {100 * right[fam] / a.per_family:6.2f}%  e.g. {'; '.join(misses[fam][:2]) or '-'}")


if __name__ == "__main__":
    main()

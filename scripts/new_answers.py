"""The held-out sequences whose answer no training line holds, for `lstm predict --score`.

    python scripts/new_answers.py TEST_TSV TRAIN_TXT [TRAIN_TXT ...] > OUT_TSV

A held-out line's first element never starts a training line of its family, but its later
elements may lie inside one: `12 24 48 96` is inside the training line `3 6 12 24 48 96 192`.
Scoring such a line asks the model to recall, not to compute. This writes the lines of TEST_TSV
(FAMILY<TAB>line) whose last three elements (the answer and the two before it) occur, in that
order, in no line of the TRAIN_TXT files, with ``-new`` after the family; and a count per family
on stderr.
"""

from __future__ import annotations

import collections
import sys


def main(test: str, trains: list[str]) -> None:
    rows = [ln.rstrip("\n").split("\t") for ln in open(test, encoding="utf-8") if ln.strip()]
    wanted = {tuple(ln.split()[-3:]) for _, ln in rows}
    seen = set()
    for path in trains:
        with open(path, encoding="utf-8") as f:
            for ln in f:
                xs = ln.split()
                seen.update(t for t in zip(xs, xs[1:], xs[2:]) if t in wanted)
    new, total = collections.Counter(), collections.Counter()
    for fam, ln in rows:
        total[fam] += 1
        if tuple(ln.split()[-3:]) not in seen:
            new[fam] += 1
            sys.stdout.write(f"{fam}-new\t{ln}\n")
    for fam in total:
        print(f"{fam}: {new[fam]:,} of {total[fam]:,} held-out lines have an answer no training line holds",
              file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])

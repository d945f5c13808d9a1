"""Which samples should a writer keep as its styles? Each of the first ``--first`` lines of a
stroke file (validation lines of the writer's hand) primes the writer in turn; it writes
``--phrases`` validation phrases after each, one drawing a phrase (as ``lstm write --best-of 1
--style FILE``), and Tesseract reads them (ocr_write.py's reading: ``make ocr-tools``). Prints each
candidate's character error rate and the line numbers of the ``--keep`` best, for ``lstm export
--styles`` (the Makefile's ``STYLES_print``).

The phrases are validation phrases from past the first 200 of 8-40 characters (those that
ocr_write.py's checks on validation data use), so neither the test phrases nor the candidates'
measurements elsewhere are reused; the choice is then measured on the test phrases by
``make bench-write-ocr``.

    python benchmarks/pick_styles.py --model checkpoints/hershey-print.pt \\
        --candidates build/data/hershey-print/val.jsonl --data build/data/hershey/val.jsonl [--first 24] [--phrases 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from ocr_write import ROOT, cer_counts, ocr  # noqa: F401  (ROOT: the repository on sys.path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--candidates", required=True, help="JSON-lines stroke file: its first --first lines are tried")
    ap.add_argument("--data", required=True, help="JSON-lines whose texts are the phrases written")
    ap.add_argument("--first", type=int, default=24)
    ap.add_argument("--only", type=int, nargs="+", metavar="K", help="try only these of the first --first lines")
    ap.add_argument("--phrases", type=int, default=60)
    ap.add_argument("--keep", type=int, default=8)
    ap.add_argument("--bias", type=float, default=0.75)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    from lstm_cli.core import checkpoint
    from lstm_cli.render import strokes as draw
    from lstm_cli.tasks.write import hand_index, pen, write_candidates

    net = pen.weights_of(checkpoint.load(a.model, arrays=True))  # as lstm write draws: prepared once
    candidates = [json.loads(line) for line in open(a.candidates)][: a.first]
    texts = [json.loads(line)["text"] for line in open(a.data)]
    phrases = [t for t in texts if 8 <= len(t) <= 40][200: 200 + a.phrases]
    scores: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, c in enumerate(candidates):
            if a.only and k not in a.only:
                continue
            style = (c["text"], [[tuple(p) for p in s] for s in c["strokes"]])
            hand = hand_index(net.cfg, c.get("hand"))
            errors = chars = 0
            for i, text in enumerate(phrases):
                d = write_candidates(net, text, 1, a.bias, random_seed=i, style=style, hand=hand)[0]
                e, n = cer_counts(text, ocr(draw.picture(d.strokes, 800), Path(tmp)))
                errors, chars = errors + e, chars + n
            scores[k] = errors / chars
            print(f"{k:3d} {scores[k]:.4f} {c['text']!r}", file=sys.stderr, flush=True)
    best = sorted(scores, key=scores.__getitem__)[: a.keep]
    print(f"character error rate of {len(phrases)} phrases after each of {len(scores)} candidates; "
          f"the best {a.keep}, in order: {' '.join(map(str, best))}")


if __name__ == "__main__":
    main()

"""lstm caption, measured: images per second, batched against one image at a time, idle and beside
a busy process, and the time of one image in one call.

1. Images/s after the model is loaded (pictures already decoded) for 256 scenes of the generator
   (``shapes.scene``: square 64 px ones, and ones on random canvases of other shapes): one image
   per call (the baseline), and batches of 64 (beam 3, the default), at 1 and 2 torch threads;
   idle, then again beside one busy process (a Python loop on one core), the turns interleaved.
2. The whole process, ``lstm caption`` of one image, against ``python -c "import torch"``, and of
   256 image files in one call (the files read on other threads while the model works).

Uses the shipped ``shapes`` model when it exists, else an untrained one of the same shape.

    python benchmarks/bench_caption.py [--images 256] [--rounds 2]
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
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the lstm entry point does (lstm_cli/cli/app.py)
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()

    import torch

    from lstm_cli.tasks import caption as task
    from lstm_cli.tasks.caption import data as D
    from lstm_cli.tasks.caption import shapes
    from lstm_cli.tasks.caption.model import CaptionConfig, CaptionNet

    if (ROOT / "checkpoints" / "shapes.pt").exists():
        cap, what = task.load_captioner("shapes", "cpu"), "the shipped shapes model"
    else:
        vocab = ["<pad>", "<s>", "</s>", "<unk>"] + sorted({w for i in range(200) for w in D.words(shapes.scene(i, "val")[2])})
        net = CaptionNet(CaptionConfig(vocab_size=len(vocab), max_aspect=3.0))
        cap, what = task.Captioner(net, vocab, torch.device("cpu")), "an untrained model (no checkpoints/shapes.pt)"
    cfg = cap.model.cfg
    sets = {"square 64 px": [shapes.scene(i, "unseen")[0] for i in range(a.images)],
            "random canvases": [shapes.scene(i, "unseen-any")[0] for i in range(a.images)]}
    sets = {k: [D.fit(im, cfg.image_size, cfg.max_aspect) for im in v] for k, v in sets.items()}
    print(f"torch {torch.__version__}; {what}; {a.images} scenes per set, beam 3; images/s, best of {a.rounds}")

    def rate(images, batch: int) -> float:
        t0 = time.perf_counter()
        for k in range(0, len(images), batch):
            cap.caption(images[k: k + batch], beam=3)
        return len(images) / (time.perf_counter() - t0)

    cap.caption(sets["square 64 px"][:2])  # warm up
    for busy in (False, True):
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            print("1. beside one busy process" if busy else "1. idle")
            for name, images in sets.items():
                row = {}
                for threads in (1, 2):
                    torch.set_num_threads(threads)
                    for batch in (1, 64):
                        row[threads, batch] = max(rate(images, batch) for _ in range(a.rounds))
                base = row[1, 1]
                cells = "   ".join(f"{t} thread{'s' if t > 1 else ''} batch {b:>2}: {v:6.1f} ({v / base:4.1f}x)"
                                   for (t, b), v in row.items())
                print(f"   {name:<16} {cells}")
        finally:
            if hog:
                hog.kill()

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(a.images):
            p = Path(tmp) / f"{i:04d}.png"
            shapes.scene(i, "unseen-any")[0].save(p)
            paths.append(str(p))

        def whole(args) -> float:
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                subprocess.run(args, check=True, capture_output=True)
                best = min(best, time.perf_counter() - t0)
            return best

        bare = whole([sys.executable, "-c", "import torch"])
        one = whole([sys.executable, "-m", "lstm_cli", "caption", paths[0]])
        many = whole([sys.executable, "-m", "lstm_cli", "caption", *paths])
        print(f"2. whole process: import torch {bare:.2f} s; lstm caption of one image {one:.2f} s "
              f"({one - bare:+.2f} s); of {a.images} images {many:.2f} s "
              f"({(a.images - 1) / max(many - one, 1e-9):.0f} images/s beyond the first)")


if __name__ == "__main__":
    main()

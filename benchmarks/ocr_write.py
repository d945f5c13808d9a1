"""How legible is lstm write? Read its writing back with Tesseract OCR (not ours) and with our own
reader (``lstm read``'s ``hershey-reader``, trained on other hands and other phrases, never on
the writer's output), side by side on the same strokes.

For held-out phrases (never trained on: the hershey test split), in each of the two hands the
model learnt (joined cursive ``scripts``, print ``rowmans``):
- ceiling: the phrase drawn straight from the Hershey font's own strokes (undistorted), with the
  same renderer, read by Tesseract;
- generated: the phrase written by the model, primed with a sample of that hand (a different
  phrase in that font, as ``--style FILE`` does), at the given bias, read the same way.
- best of N (``--best-of``): N drawings of the phrase, the one our reader reads likeliest as the
  phrase kept (in the primer's hand), as ``lstm write --best-of N`` does; our reader's own CER
  on the kept drawing is then no longer independent of it, Tesseract's is.
Character error rate (CER) = edit distance / reference length, summed over the phrases (spaces
folded to one; rapidfuzz); the ratio is to the ceiling, for the last setting. Goal (issue 14): generated CER within 1.5x of the ceiling per hand,
and below 0.05 for print. Tesseract reads the drawn picture, our reader the strokes.

Tesseract needs Debian's tesseract-ocr and tesseract-ocr-eng (`make ocr-tools`; not a runtime
dependency); without it only our reader's column is measured.

    python benchmarks/ocr_write.py --model checkpoints/hershey.pt --data build/data/hershey/test.jsonl \\
        [--phrases 200] [--bias 0.75] [--out DIR] [--hands rowmans] [--show 40] [--reader hershey-reader|none]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the lstm entry point does (lstm_cli/cli/app.py)
sys.path.insert(0, str(ROOT))


def cer_counts(ref: str, hyp: str) -> tuple[int, int]:
    """(Levenshtein distance between ``ref`` and ``hyp``, len(ref)), spaces folded to one."""
    from rapidfuzz.distance import Levenshtein

    ref, hyp = " ".join(ref.split()), " ".join(hyp.split())
    return Levenshtein.distance(ref, hyp), len(ref)


def _group(text: str) -> str:
    """Which the issue's goals report apart: phrases with a digit, else with a capital, else neither."""
    if any(c.isdigit() for c in text):
        return "with a digit"
    return "with a capital" if any(c.isupper() for c in text) else "lowercase only"


def ocr(img, tmp: Path) -> str:
    path = tmp / "line.png"
    img.save(path)
    out = subprocess.run(["tesseract", str(path), "-", "--psm", "7", "-l", "eng"], capture_output=True, text=True)
    return out.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "checkpoints" / "hershey.pt"),
                    help="the writer; with --pages, by-hand: each hand's own, as lstm write --hand H picks it")
    ap.add_argument("--data", default=str(ROOT / "build" / "data" / "hershey" / "test.jsonl"))
    ap.add_argument("--fonts", default=str(next((ROOT / "build" / "downloads").glob("Hershey_Fonts-*.whl"), "")))
    ap.add_argument("--phrases", type=int, default=200)
    ap.add_argument("--bias", type=float, default=0.75)
    ap.add_argument("--out", default="", help="also save each hand's first pictures here")
    ap.add_argument("--hands", nargs="+", default=None, help="only these Hershey fonts (default: both)")
    ap.add_argument("--prime-text", default="the quick brown fox",
                    help="the text of the priming sample of each hand (not a Shakespeare phrase)")
    ap.add_argument("--show", type=int, default=3, help="print what Tesseract read for this many phrases per hand")
    ap.add_argument("--reader", default="hershey-reader", help="our reader (a model name or path), or none")
    ap.add_argument("--shipped-styles", action="store_true",
                    help="prime with each of the model's own styles that carries a hand label (as --style N does) "
                         "instead of a sample of each font; the ceiling is that hand's font")
    ap.add_argument("--styles", nargs="+", type=int, default=None,
                    help="with --shipped-styles: only these of the model's styles (by number)")
    ap.add_argument("--best-of", type=int, nargs="+", default=[1],
                    help="also as lstm write --best-of N picks: N drawings (the first N of one batch of the "
                         "largest N), the one our reader reads likeliest as the text kept, in the primer's hand")
    ap.add_argument("--guidance", type=float, default=None,
                    help="a model told the hand: follow it this many times as strongly as it learnt to (pen.Guided; "
                         "default: lstm write's, tasks.write.HAND_GUIDANCE)")
    ap.add_argument("--untold", action="store_true",
                    help="a model that takes its line's hand as an input is not told it (the primer alone sets the hand)")
    ap.add_argument("--pages", type=int, default=0,
                    help="instead: write this many 10-line pages per hand (lstm write --hand, at the largest "
                         "--best-of) of held-out phrases and count the lines that come out in the other hand "
                         "(judged by pen lifts per letter, and by the writer where it takes a hand)")
    ap.add_argument("--hand-judge", default="",
                    help="with --pages or --judges: also judge the hand by this writer (a checkpoint that takes hands)")
    ap.add_argument("--judges", type=int, default=0,
                    help="instead: how often the hand judges name the right hand of this many held-out phrases "
                         "per font, drawn from the font with the training data's distortion")
    a = ap.parse_args()
    from lstm_cli.core.runtime import set_threads

    set_threads(0, default=1)  # batch-1 drawing and reading, as lstm write does
    import lstm_cli.tasks.write as W

    if a.guidance is None:
        a.guidance = W.HAND_GUIDANCE
    W.HAND_GUIDANCE = a.guidance  # the pages are written as lstm write writes them
    if a.pages:
        return pages(a)
    if a.judges:
        return judges(a)
    tesseract = bool(shutil.which("tesseract"))
    if not tesseract:
        print("ocr_write: tesseract is not installed (make ocr-tools): our reader only", file=sys.stderr)
        if a.reader == "none":
            sys.exit("ocr_write: nothing to read with")
    sys.path.insert(0, a.fonts)
    from HersheyFonts import HersheyFonts

    from lstm_cli.core import checkpoint
    from lstm_cli.render import strokes as draw
    from lstm_cli.tasks.write import choose, hand_index, hershey, pen, print_lifts, write_candidates

    reader = None
    if a.reader != "none":
        from lstm_cli.tasks.read import load_reader

        reader = load_reader(a.reader, "cpu", "none", arrays=True)  # as lstm write judges
    ck = checkpoint.load(a.model, arrays=True)
    net = pen.weights_of(ck)  # as lstm write draws: the products prepared once, not per phrase
    fonts = {}
    for name in hershey.FONTS:
        fonts[name] = HersheyFonts()
        fonts[name].load_default_font(name)
    texts = [json.loads(line)["text"] for line in open(a.data)]
    phrases = [t for t in texts if 8 <= len(t) <= 40][: a.phrases]
    prime_text = a.prime_text
    out = Path(a.out) if a.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    results, groups = {}, {}
    font_of = {hand: font for font, hand in hershey.HAND_OF.items()}
    if a.shipped_styles:
        primers = [(f"style {k} {s['hand']}", font_of[s["hand"]], (s["text"], [[tuple(p) for p in st] for st in s["strokes"]]))
                   for k, s in enumerate(ck["vocab"].get("styles", [])) if s.get("hand") in font_of
                   and (not a.hands or font_of[s["hand"]] in a.hands) and (a.styles is None or k in a.styles)]
    else:
        primers = [(name, name, (prime_text, hershey.write(fonts, prime_text, random.Random(1), font=name)))
                   for name in a.hands or hershey.FONTS]
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, style in primers:
            rng = random.Random(0)  # the same ceiling drawings for every primer of a font
            threshold = print_lifts(ck)
            hand = -1 if a.untold else hand_index(net.cfg, hershey.HAND_OF[name])  # -1 for a model without hands
            kinds = ["ceiling"] + [f"best of {n}" if n > 1 else "generated" for n in a.best_of]
            err = {f"{who} {kind}": [0, 0] for who in ("tesseract", "reader") for kind in kinds
                   if (who == "tesseract" and tesseract) or (who == "reader" and reader)}
            for k, text in enumerate(phrases):
                clean = hershey.write(fonts, text, rng, font=name, clean=True)
                drawings = write_candidates(net, text, max(a.best_of), a.bias, random_seed=k, style=style, hand=hand,
                                            guidance=a.guidance)
                picked = [drawings[choose(drawings[:n], text, reader, hershey.HAND_OF[name], threshold)[0] if n > 1 else 0].strokes
                          for n in a.best_of]
                for kind, st in zip(kinds, [clean] + picked):
                    img = draw.picture(st, 800)
                    got = {}
                    if tesseract:
                        got["tesseract"] = ocr(img, Path(tmp))
                    if reader:
                        got["reader"] = reader.read([("", st)])[0][0][0]
                    group = _group(text)
                    for who, hyp in got.items():
                        e, n = cer_counts(text, hyp)
                        err[f"{who} {kind}"][0] += e
                        err[f"{who} {kind}"][1] += n
                        g = groups.setdefault(label, {}).setdefault(group, {}).setdefault(f"{who} {kind}", [0, 0])
                        g[0], g[1] = g[0] + e, g[1] + n
                        if k < a.show:
                            print(f"{label:8s} {kind:9s} {who:9s} {text!r} -> {hyp!r}", file=sys.stderr)
                    if out and k < 3:
                        img.save(out / f"{label.replace(' ', '-')}-{kind}-{k}.png")
            results[label] = {kind: round(e / n, 4) for kind, (e, n) in err.items()}
            for who in ("tesseract", "reader"):  # no ratio to a ceiling of 0 (read without a mistake)
                if results[label].get(f"{who} ceiling"):
                    results[label][f"{who} ratio"] = round(results[label][f"{who} {kinds[-1]}"]
                                                           / results[label][f"{who} ceiling"], 2)
    print(f"character error rate on {len(phrases)} held-out phrases, bias {a.bias} (ceiling: the font's own strokes):")
    cols = list(dict.fromkeys(c for r in results.values() for c in r))
    print(f"{'hand':16s} " + " ".join(f"{c:>20s}" for c in cols))
    for name, r in results.items():
        print(f"{name:16s} " + " ".join(f"{r[c]:20.3f}" if c in r else f"{'-':>20s}" for c in cols))
    print("by kind of phrase (character error rate; phrases):")
    for name, by in groups.items():
        for group, r in sorted(by.items()):
            cells = " ".join(f"{c}: {v[0] / max(v[1], 1):.3f}" for c, v in r.items())
            print(f"  {name:16s} {group:18s} ({sum(1 for t in phrases if _group(t) == group)}) {cells}")
    print(json.dumps(results))


def hand_judges(ck: dict, net, other: str = "", reader: str = "none") -> dict:
    """name -> judge(text, strokes, hand) -> True where the line is not all in ``hand`` (print or
    cursive): pen lifts a letter from the model's ``print_lifts``; where the model takes a hand,
    the writer (the hand it finds the line likelier in, told each: tasks.write.hand_scores);
    ``other``: also that writer (a path to a model that takes hands), e.g. to judge a model that
    takes none; ``reader``: its hand head (lstm export --hands), where it has one, on the whole
    line and word by word (any word judged alone in the other hand; words cut at the widest gaps)."""
    from lstm_cli.core import checkpoint
    from lstm_cli.tasks.write import build_model, hand_scores, judged_alone, lifts_per_letter, print_lifts

    threshold = print_lifts(ck)
    judges = {f"pen lifts (print from {threshold:.2f} a letter)":
              lambda t, st, hand: (lifts_per_letter(st, t) >= threshold) != (hand == "print")}
    writers = [("writer", net)] if len(net.cfg.hands) > 1 else []  # a writer of one hand names only it
    if other:
        o = checkpoint.load(other)
        writers.append((f"writer {Path(other).name}", checkpoint.weights_into(build_model(o["config"]), o).eval()))
    for name, w in writers:
        judges[name] = lambda t, st, hand, w=w: w.cfg.hands[int(hand_scores(w, t, [st])[0].argmax())] != hand
    if reader != "none":
        from lstm_cli.tasks.read import load_reader

        r = load_reader(reader, "cpu", "none")
        if "print" in r.hand_names:
            names = lambda inks: [r.hand_names[int(k)] for k in r.hand_probs(inks).argmax(1)]  # noqa: E731
            judges[f"{reader}'s hand head"] = lambda t, st, hand: names([st])[0] != hand

            def by_words(t, st, hand):
                words = [ink for w, ink in zip(t.split(), gap_words(st, len(t.split()))) if judged_alone(w)]
                return any(h != hand for h in names(words or [st]))

            judges[f"{reader}'s hand head, word by word"] = by_words
    return judges


def gap_words(strokes: list, n: int) -> list[list]:
    """A line's strokes cut into ``n`` words at the ``n - 1`` widest gaps between the ink so far
    and the next stroke (left to right; a judge's approximation, with no window to say)."""
    order = sorted(strokes, key=lambda s: min(p[0] for p in s))
    reach, gaps = -float("inf"), []
    for k, s in enumerate(order):
        if k:
            gaps.append((min(p[0] for p in s) - reach, k))
        reach = max(reach, max(p[0] for p in s))
    cuts = sorted(k for _, k in sorted(gaps, reverse=True)[: max(n - 1, 0)])
    return [order[a:b] for a, b in zip([0] + cuts, cuts + [len(order)])]


def judges(a) -> None:
    """How often each hand judge names the right hand of a line drawn from the fonts (the
    training data's distortion, other random numbers), on held-out phrases."""
    sys.path.insert(0, a.fonts)
    from HersheyFonts import HersheyFonts

    from lstm_cli.core import checkpoint
    from lstm_cli.tasks.write import build_model, hershey

    ck = checkpoint.load(a.model)
    net = checkpoint.weights_into(build_model(ck["config"]), ck)
    fonts = {}
    for name in hershey.FONTS:
        fonts[name] = HersheyFonts()
        fonts[name].load_default_font(name)
    phrases = [t for t in (json.loads(line)["text"] for line in open(a.data)) if 8 <= len(t) <= 40][: a.judges]
    rng = random.Random(5)
    lines = [(name, t, hershey.write(fonts, t, rng, font=name)) for name in hershey.FONTS for t in phrases]
    for judge, other in hand_judges(ck, net, a.hand_judge, a.reader).items():
        right = {name: sum(not other(t, st, hershey.HAND_OF[name]) for n, t, st in lines if n == name)
                 for name in hershey.FONTS}
        print(f"{judge}: " + ", ".join(f"{hershey.HAND_OF[n]} {right[n]} of {len(phrases)} right" for n in right))


def pages(a) -> None:
    """One hand per page: ``a.pages`` pages of 10 lines in each labelled hand, as ``lstm write
    --hand H`` writes them; a line is print when it has at least the model's ``print_lifts`` pen
    lifts a letter (a rough judge: a quarter of the cursive lines count as print; docs/usage.md)."""
    from lstm_cli.core import checkpoint, registry
    from lstm_cli.tasks.write import build_model, hershey, write
    from lstm_cli.tasks.write.strokes import read_jsonl

    texts = [json.loads(line)["text"] for line in open(a.data)]
    words = " ".join(texts).split()
    model = None if a.model == "by-hand" else a.model  # by-hand: each page by lstm write --hand's writer
    ck = registry.load(model, "write")
    judges = hand_judges(ck, checkpoint.weights_into(build_model(ck["config"]), ck), a.hand_judge, a.reader)
    print(f"one hand per page: {a.pages} pages of 10 lines per hand, held-out phrases, best of {max(a.best_of)}; "
          f"judged by {' and by '.join(judges)}")
    with tempfile.TemporaryDirectory() as tmp:
        for hand in [h for h in ("print", "cursive") if not a.hands or h in {hershey.HAND_OF.get(f) for f in a.hands}]:
            other, bad_pages, lines = dict.fromkeys(judges, 0), dict.fromkeys(judges, 0), 0
            for k in range(a.pages):
                start = (k * 60) % max(len(words) - 80, 1)
                text = " ".join(words[start: start + 80])
                path = Path(tmp) / "page.jsonl"
                write(model, text, None, strokes_out=str(path), random_seed=k, hand=hand, log=lambda m: None,
                      best_of=max(a.best_of), reader=None if a.reader == "hershey-reader" else a.reader)
                rows = read_jsonl(path)[:10]
                lines += len(rows)
                for name, other_hand in judges.items():
                    wrong = sum(other_hand(t, st, hand) for t, st in rows)
                    other[name], bad_pages[name] = other[name] + wrong, bad_pages[name] + bool(wrong)
            for name in judges:
                print(f"  {hand:8s} by {name}: {other[name]} of {lines} lines in the other hand; "
                      f"{bad_pages[name]} of {a.pages} pages with one")


if __name__ == "__main__":
    main()

"""lstm compose, measured: is the music degenerate, and is composing fast?

1. Statistics of N pieces composed at default settings against the held-out pieces, with the
   held-out pieces against the training pieces as the yardstick: pitch-class histogram (counted
   from each piece's key, major and minor apart: the model learnt every chorale in all 12 keys,
   so absolute pitch classes would only measure which keys it picks), melodic
   intervals of the top voice (the highest note struck at each onset, whichever voice strikes it)
   and of the soprano (the notes ranked highest among those sounding when they start), note
   durations, polyphony (notes sounding on each beat), and the
   share of note time outside the key (Krumhansl-Schmuckler key profiles; in minor, the raised 6th
   and 7th count as in key). Histograms are compared by total-variation distance (half the L1
   distance of the pooled, normalised histograms: 0 = the same, 1 = disjoint), the out-of-key share
   by the difference of the means. The goal: generated-vs-held-out <= held-out-vs-training + MARGIN.
   Then voice leading (tasks/compose/voices.py: voices by pitch rank among the sounding notes),
   for generated, held-out and training pieces side by side: parallel fifths and octaves per pair
   of voices that both move, pieces with any, the share of time with 3 and with 5+ notes
   sounding, the longest note, pieces ending on their tonic. Goals (issue 43): parallels at most
   2x the held-out rate, no note over 8 beats, endings on the tonic as often as the held-out's.
2. Speed: seconds to compose 60 s of music after the model is loaded (the shared LSTMStream
   sampler), against a plain loop that calls ``nn.LSTM`` once per event, in the same run; and in
   minor, where the model plays pieces in a row until one is (``--key``).
3. With ``--primed N``: does the model keep a key? Each held-out piece's first 8 beats are a
   primer, continued N times; how often the next 15 beats are in the piece's key (the whole
   piece's, by the profiles above), against how often the piece's own next 15 beats are.

    python benchmarks/bench_compose.py --model bach --train build/data/bach/train --held-out build/data/bach/test
"""

from __future__ import annotations

import argparse
import collections
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lstm_cli.tasks.compose import voices  # noqa: E402
from lstm_cli.tasks.compose.keys import key_of  # noqa: E402

MARGIN = 0.05
MAJOR_SCALE = {0, 2, 4, 5, 7, 9, 11}
MINOR_SCALE = {0, 2, 3, 5, 7, 8, 9, 10, 11}  # natural, harmonic and melodic minor together
DURATIONS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]  # bin edges in beats


def stats(pieces) -> dict:
    """Pooled histograms (counts), the mean out-of-key share and the share in major of a list of
    pieces (lists of notes)."""
    import numpy as np

    h = {"pitch class": np.zeros(24), "top-voice interval": np.zeros(25), "soprano interval": np.zeros(25),
         "duration": np.zeros(len(DURATIONS) + 1), "polyphony": np.zeros(8)}
    out_of_key, majors = [], []
    lead, with_parallels, tonic_ends, longest = voices.Leading(), 0, 0, []
    sounding = np.zeros(7)
    for notes in pieces:
        if not notes:
            continue
        one = voices.parallels(notes)
        lead, with_parallels = lead + one, with_parallels + bool(one.fifths or one.octaves)
        tonic_ends += voices.ends_on_tonic(notes)
        longest.append(voices.longest_note(notes))
        sounding += voices.sounding_time(notes, most=6)
        tonic, major = key_of(notes)
        majors.append(major)
        for n in notes:
            h["pitch class"][(n.pitch - tonic) % 12 + (0 if major else 12)] += 1
            h["duration"][np.searchsorted(DURATIONS, n.end - n.start - 1e-6)] += 1
        onsets = sorted({n.start for n in notes})
        top = [max(n.pitch for n in notes if n.start == t) for t in onsets]
        for a, b in zip(top, top[1:]):
            h["top-voice interval"][min(max(b - a, -12), 12) + 12] += 1
        soprano = [n.pitch for n, v in zip(notes, voices.voice_of(notes)) if v == 0]  # notes come sorted by onset
        for a, b in zip(soprano, soprano[1:]):
            h["soprano interval"][min(max(b - a, -12), 12) + 12] += 1
        end = max(n.end for n in notes)
        for beat in np.arange(0, end, 1.0):
            h["polyphony"][min(sum(n.start <= beat < n.end for n in notes), 7)] += 1
        scale = MAJOR_SCALE if major else MINOR_SCALE
        total = sum(n.end - n.start for n in notes)
        out_of_key.append(sum(n.end - n.start for n in notes if (n.pitch - tonic) % 12 not in scale) / total)
    return {"hist": h, "out_of_key": float(np.mean(out_of_key)), "major": float(np.mean(majors)),
            "polyphony": float((h["polyphony"] * np.arange(8)).sum() / h["polyphony"].sum()),
            "pieces": len(longest), "leading": lead, "with_parallels": with_parallels, "tonic_ends": tonic_ends,
            "longest": longest, "sounding": sounding / sounding.sum()}


def tv(a, b) -> float:
    return 0.5 * float(abs(a / a.sum() - b / b.sum()).sum())


def load_folder(folder: str):
    from lstm_cli.tasks.compose import events as ev

    return [ev.read_midi(p.read_bytes(), str(p)) for p in sorted(Path(folder).rglob("*.mid"))]


def compare(gen: dict, held: dict, train: dict, head: str) -> None:
    """Print the table of part 1: each statistic, generated~held-out against held-out~training."""
    print(head)
    print(f"   {'statistic':22s} {'generated~held-out':>19s} {'held-out~training':>18s}  verdict")
    for k in gen["hist"]:
        d_gen, d_ref = tv(gen["hist"][k], held["hist"][k]), tv(held["hist"][k], train["hist"][k])
        print(f"   {k:22s} {d_gen:19.3f} {d_ref:18.3f}  {'ok' if d_gen <= d_ref + MARGIN else 'FAR'}")
    d_gen, d_ref = abs(gen["out_of_key"] - held["out_of_key"]), abs(held["out_of_key"] - train["out_of_key"])
    print(f"   {'out-of-key share':22s} {d_gen:19.3f} {d_ref:18.3f}  {'ok' if d_gen <= d_ref + MARGIN else 'FAR'}"
          f"   (generated {gen['out_of_key']:.3f}, held-out {held['out_of_key']:.3f}, training {train['out_of_key']:.3f})")
    print(f"   mean notes sounding on a beat: generated {gen['polyphony']:.2f}, held-out {held['polyphony']:.2f}, "
          f"training {train['polyphony']:.2f}")
    print(f"   pieces in major: generated {gen['major']:.0%}, held-out {held['major']:.0%}, training {train['major']:.0%}")
    leading(gen, held, train)


def leading(gen: dict, held: dict, train: dict) -> None:
    """The voice-leading table: generated, held-out and training side by side, with the goals."""
    import numpy as np

    def row(what, f, verdict=""):
        print(f"   {what:34s} {f(gen):>12s} {f(held):>12s} {f(train):>12s}  {verdict}")

    def pct(x):
        return f"{100 * x:.2f}%"

    print(f"\n   {'voice leading':34s} {'generated':>12s} {'held-out':>12s} {'training':>12s}  goal")
    for what in ("fifths", "octaves"):
        ok = gen["leading"].rate(what) <= 2 * held["leading"].rate(what)
        row(f"parallel {what} / moving voice pairs", lambda s: pct(s["leading"].rate(what)),
            f"<= 2x held-out: {'ok' if ok else 'FAR'}")
    row("pieces with a parallel", lambda s: f"{s['with_parallels']}/{s['pieces']}")
    row("time with 3 notes sounding", lambda s: pct(s["sounding"][3]))
    row("time with 5 or more", lambda s: pct(s["sounding"][5:].sum()))
    row("longest note, median of pieces", lambda s: f"{np.median(s['longest']):.1f} b")
    ok = max(gen["longest"]) <= 8
    row("longest note, longest", lambda s: f"{max(s['longest']):.1f} b", f"<= 8 beats: {'ok' if ok else 'FAR'}")
    ok = gen["tonic_ends"] / gen["pieces"] >= held["tonic_ends"] / held["pieces"] - 0.1
    row("pieces ending on the tonic", lambda s: f"{s['tonic_ends']}/{s['pieces']}",
        f"as held-out's (-10 points): {'ok' if ok else 'FAR'}")
    for name, st in (("generated", gen), ("held-out", held), ("training", train)):
        shares = " ".join(f"{k}{'+' if k == 6 else ''}: {100 * x:.1f}%" for k, x in enumerate(st["sounding"]))
        print(f"   time by notes sounding, {name:9s}  {shares}")


def primed_keys(net, vocab, pieces, tries: int, temperature: float) -> None:
    """Part 3: the key of 15 beats after an 8-beat primer, the model's against the piece's own."""
    from lstm_cli.tasks import compose as task

    def after(notes):
        return [n for n in notes if 8 <= n.start < 23]

    keyed = [(p, key_of(p)) for p in pieces if after(p)]
    for major in (True, False):
        own = [(p, key) for p, key in keyed if key[1] == major]
        real = sum(key_of(after(p)) == key for p, key in own)
        kept = 0
        for p, key in own:
            primer = [n for n in p if n.start < 8]
            for s in range(tries):
                notes = after(task.compose_bytes(net, vocab, 15 * 60 / task.TEMPO, primer, temperature=temperature,
                                                 random_seed=s, cut=True)[1])
                kept += bool(notes) and key_of(notes) == key
        print(f"   {'major' if major else 'minor'} pieces: beats 8-23 in the piece's key: generated {kept} of "
              f"{tries * len(own)}, the pieces themselves {real} of {len(own)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="bach")
    ap.add_argument("--train", default=str(ROOT / "build/data/bach/train"))
    ap.add_argument("--held-out", default=str(ROOT / "build/data/bach/test"))
    ap.add_argument("--pieces", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--temperature", type=float, nargs="+", default=None,
                    help="one or more (a table for each); default: lstm compose's")
    ap.add_argument("--top-p", type=float, nargs="+", default=[1.0],
                    help="one or more nucleus masses (a table for each); default: 1 (off), as lstm compose's")
    ap.add_argument("--search", type=int, nargs="+", default=None,
                    help="one or more voice-leading search widths (a table for each; 0: off); default: lstm compose's")
    ap.add_argument("--cut", action="store_true", help="pieces cut at exactly --seconds (lstm compose --cut), not ended")
    ap.add_argument("--primed", type=int, default=0, metavar="N",
                    help="part 3: continue each held-out piece's first 8 beats N times (at the first --temperature); "
                         "does it keep the key?")
    a = ap.parse_args()

    import torch

    from lstm_cli.core import registry
    from lstm_cli.tasks import compose as task
    from lstm_cli.tasks.compose import events as ev

    torch.set_num_threads(1)
    ckpt = registry.load(a.model, "compose")
    net = task.build_model(ckpt["config"])
    net.load_state_dict(ckpt["state_dict"])
    net.eval()

    held_pieces = load_folder(a.held_out)
    train, held = stats(load_folder(a.train)), stats(held_pieces)
    for temperature, top_p, search in itertools.product(a.temperature or [task.TEMPERATURE], a.top_p,
                                                        a.search or [task.SEARCH]):
        composed = [task.compose_bytes(net, ckpt["vocab"], a.seconds, temperature=temperature, top_p=top_p,
                                       random_seed=s, cut=a.cut, search=search) for s in range(a.pieces)]
        default = temperature == task.TEMPERATURE and top_p == 1 and search == task.SEARCH and not a.cut
        compare(gen=stats([notes for _, notes, _ in composed]), held=held, train=train, head=(
            f"1. {a.pieces} pieces of {a.seconds:g} s {'(cut there)' if a.cut else '(then to an ending)'} composed "
            f"by '{a.model}' at temperature {temperature:g}{'' if top_p == 1 else f', top-p {top_p:g}'}, "
            f"search {search}{' (the defaults)' if default else ''}, against "
            f"{len(held_pieces)} held-out pieces; yardstick: held-out against training (margin {MARGIN})"))
        if not a.cut:
            hows = collections.Counter(ending.how for _, _, ending in composed)
            past = [ending.beats - a.seconds * task.TEMPO / 60 for _, _, ending in composed]
            print(f"   endings: {', '.join(f'{k} {v}' for k, v in hows.most_common())}; beats past the length: "
                  f"mean {sum(past) / len(past):.1f}, most {max(past):.1f}")

    # 2. speed: 60 s of music at the default tempo
    t = time.perf_counter()
    _, piece, _ = task.compose_bytes(net, ckpt["vocab"], 60.0, random_seed=0, cut=True, search=0)
    n = len(piece)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    task.compose_bytes(net, ckpt["vocab"], 60.0, random_seed=0, cut=True)
    searched = time.perf_counter() - t
    events = 0
    with torch.no_grad():
        x, state = torch.tensor([[task.SEPARATOR[0]]]), None
        t = time.perf_counter()
        while time.perf_counter() - t < 2.0:  # events per second of the plain loop, for 2 s
            logits, state = net(x, state)
            x = torch.multinomial(logits[0, -1].softmax(-1), 1)[None]
            events += 1
        plain_rate = events / (time.perf_counter() - t)
    mid_events = len(ev.encode(piece))
    print(f"\n2. composing 60 s ({task.TEMPO:g} bpm, {n} notes, ~{mid_events} events, --cut, no search) after loading, "
          "1 torch thread")
    print(f"   lstm compose (LSTMStream)   {ours:6.2f} s   ({60 / ours:5.0f}x real time)")
    print(f"   plain nn.LSTM per event     {mid_events / plain_rate:6.2f} s   ours / this = {mid_events / plain_rate / ours:.1f}x faster")
    print(f"   with the voice-leading search (the default) {searched:6.2f} s   ({searched / ours:.2f}x the time without)")
    t = time.perf_counter()
    for s in range(5):  # the slow case: the model plays pieces until one is in minor (about 1 in 3)
        task.compose_bytes(net, ckpt["vocab"], 60.0, random_seed=s, key=(None, False), cut=True)
    print(f"   lstm compose --key minor    {(time.perf_counter() - t) / 5:6.2f} s   (mean of 5 seeds)")

    if a.primed:
        temperature = (a.temperature or [task.TEMPERATURE])[0]
        print(f"\n3. the first 8 beats of each held-out piece continued {a.primed} times (temperature {temperature:g})")
        primed_keys(net, ckpt["vocab"], held_pieces, a.primed, temperature)


if __name__ == "__main__":
    main()

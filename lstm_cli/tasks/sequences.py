"""``lstm predict``: the next element of a sequence. The families of generated sequences (and
their held-out parameters), parsing, scoring, and the predictor of a char model.

The article's opening example: after 6 7 8 comes 9, after 2 4 8 comes 16. The last input is 8 both
times; only the context tells them apart. An LSTM that reads the whole sequence can tell.

Two kinds of model predict (:func:`load_predictor`). The shipped one reads the numbers as aligned
digit columns (tasks/columns.py, task ``sequences``). A char model (task ``text``, shipped until
issue 42) reads a sequence as one line of text, its elements in decimal (or letters) separated by
spaces, ``6 7 8 9 10``: the text task's char-rnn as it is, trained on lines drawn from the families
below (``lstm train text``), with no fixed number vocabulary. Its predictor (:class:`Predictor`):

Prediction reads a newline (a line's start), the given elements and a space, then searches for
the likeliest *whole next element*: a beam over characters, ended by a space or a newline; its
probability is the product of its characters'. ``--explain`` shows the runners-up.

A sequence is read from more than one start (:meth:`Predictor.views`): whole, and from each later
element at which a training line could have started (a number of at most :data:`START_DIGITS`
digits, or a letter), keeping three elements or more. Each start is a reading of the same rule,
and the answer is the candidate likeliest under all of them together (the mean of its
log-probabilities). A model that has half learnt a line by its start (a held-out ``44 176 704
2816`` read as if it were a memorised one) is outvoted by the same line read from 176.

Families (:func:`draw`), with the parameters held out of training (:data:`HELD_OUT`): a held-out
sequence has a held-out parameter, and no training sequence of its family has one.
"""

from __future__ import annotations

import itertools
import random
import re

from lstm_cli.core.errors import InputError

FAMILIES = ("arithmetic", "geometric", "squares", "cubes", "fibonacci", "periodic", "alphabet")
WEIGHTS = (0.30, 0.20, 0.08, 0.05, 0.15, 0.10, 0.12)
# The char model's last stage (shipped until issue 42) fine-tunes on this mix: geometric is the
# family it got wrong most (87% on the held-out starts after two stages on WEIGHTS), so it gets
# almost half the lines.
GEOMETRIC_WEIGHTS = (0.22, 0.45, 0.05, 0.03, 0.08, 0.08, 0.09)
CAP = 10**6  # every element of a generated sequence has |x| < CAP
LETTERS = "abcdefghijklmnopqrstuvwxyz"

# Every family but the powers draws its first element from one distribution, so the first element
# says nothing about the family (an earlier model learnt which family starts where, and failed on
# any other start): 1, 2 or 3 digits with equal odds, negative three times in ten. Held out: the
# first elements in HELD_FIRST, a fixed random tenth of the numbers of 2 and 3 digits, which no
# training sequence of these families starts with. They are scattered, not one block: a model that
# had never seen a line start with 60-79 learnt that as a rule, and was thrown by such a start
# (70 75 80 -> 75). The squares and cubes count from a root drawn the same way (cubes: 1 or 2
# digits), with their own scattered tenth held out: a few dozen roots, as there once were, are
# learnt by heart, not as a rule.


def _scattered(seed: int, digits: int, low: int = 10) -> frozenset:
    pool = [x for x in range(1 - 10**digits, 10**digits) if abs(x) >= low]
    return frozenset(random.Random(seed).sample(pool, len(pool) // 10))


HELD_FIRST = _scattered(15, 3)
# The wide draws (``wide=True``; not the shipped model's) start lines with up to 4 digits; a
# scattered tenth of the 4-digit numbers is held out as well.
HELD_WIDE = HELD_FIRST | _scattered(18, 4, low=1000)
HELD_SQUARE_ROOTS = _scattered(16, 3)
HELD_CUBE_ROOTS = _scattered(17, 2)
HELD_OUT = {
    "arithmetic": "first element in HELD_FIRST (a fixed random tenth of 10 <= |x| < 1000)",
    "geometric": "first element in HELD_FIRST",
    "fibonacci": "first element in HELD_FIRST",
    "periodic": "first element in HELD_FIRST",
    "squares": "first root in HELD_SQUARE_ROOTS (a fixed random tenth of 10 <= |k| < 1000)",
    "cubes": "first root in HELD_CUBE_ROOTS (a fixed random tenth of 10 <= |k| < 100)",
    "alphabet": "first letter k, l or m",
}


def _number(rng: random.Random, digits: int = 3) -> int:
    n = rng.randint(1, digits)
    x = rng.randrange(0 if n == 1 else 10 ** (n - 1), 10**n)
    return -x if rng.random() < 0.3 else x


def _first(rng: random.Random, held_out: bool, held: frozenset = HELD_FIRST, digits: int = 3,
           nonzero: bool = False) -> int:
    """A number drawn by :func:`_number` that is in ``held`` if ``held_out`` and not otherwise."""
    while True:
        x = _number(rng, digits)
        if (x in held) == held_out and (x or not nonzero):
            return x


RATIOS = (-3, -2, 2, 3, 4, 5, 10)


def _on_held_path(a: int, r: int) -> bool:
    """Whether a geometric line from ``a`` with ratio ``r`` runs along a held-out one: ``a`` is
    h * r**k for some h in :data:`HELD_WIDE` and k >= 1, so its elements are that line's later ones."""
    while a % r == 0 and abs(a) >= 10:
        a //= r
        if a in HELD_WIDE:
            return True
    return False


def _params(family: str, rng: random.Random, held_out: bool, wide: bool = False) -> tuple:
    """Draw a family's parameters from its training or its held-out ranges. ``wide``: first
    elements of up to 4 digits (held out: :data:`HELD_WIDE`), arithmetic steps of up to 3 digits
    half the time, and no geometric training line starting on the path of a held-out one
    (:func:`_on_held_path`; :func:`draw` keeps them from running through one)."""
    h = held_out
    held, digits = (HELD_WIDE, 4) if wide else (HELD_FIRST, 3)
    if family == "arithmetic":
        a = _first(rng, h, held, digits)
        if wide and rng.random() < 0.5:
            return a, _first(rng, False, frozenset(), 3, nonzero=True)
        return a, rng.choice([x for x in range(-20, 21) if x])
    if family == "geometric":
        while True:
            a, r = _first(rng, h, held, digits, nonzero=True), rng.choice(RATIOS)
            if not wide or h or not _on_held_path(a, r):
                return a, r
    if family == "squares":
        return (_first(rng, h, HELD_SQUARE_ROOTS),)
    if family == "cubes":
        return (_first(rng, h, HELD_CUBE_ROOTS, digits=2),)
    if family == "fibonacci":
        return _first(rng, h, held, digits), _number(rng)
    if family == "periodic":
        p = rng.choice((2, 3))
        while True:
            vals = [_first(rng, h, held, digits)] + [_number(rng) for _ in range(p - 1)]
            if len(set(vals)) == p:
                return tuple(vals)
    if family == "alphabet":
        step = rng.choice((1, 1, 2, 3))
        while True:
            start = rng.randrange(26 - 4 * step)
            if (LETTERS[start] in "klm") == h:
                return start, step, rng.random() < 0.3
    raise ValueError(family)


def _elements(family: str, params: tuple, n: int) -> list:
    if family == "arithmetic":
        a, d = params
        return [a + i * d for i in range(n)]
    if family == "geometric":
        a, r = params
        return [a * r**i for i in range(n)]
    if family == "squares":
        return [(params[0] + i) ** 2 for i in range(n)]
    if family == "cubes":
        return [(params[0] + i) ** 3 for i in range(n)]
    if family == "fibonacci":
        out = list(params)
        while len(out) < n:
            out.append(out[-1] + out[-2])
        return out[:n]
    if family == "periodic":
        return [params[i % len(params)] for i in range(n)]
    start, step, upper = params
    letters = LETTERS.upper() if upper else LETTERS
    return [letters[start + i * step] for i in range(n) if 0 <= start + i * step < 26]


def draw(rng: random.Random, held_out: bool, weights: tuple = WEIGHTS,
         wide: bool = False) -> tuple[str, list]:
    """One sequence of a family drawn by ``weights`` (one per :data:`FAMILIES`), from the held-out
    parameter ranges or from the training ones (``wide``: see :func:`_params`), with 5-10 elements
    (fewer if its elements would pass :data:`CAP` or the alphabet's end; never fewer than 4)."""
    while True:
        fam = rng.choices(FAMILIES, weights)[0]
        xs = _elements(fam, _params(fam, rng, held_out, wide), rng.randint(5, 10))
        if fam != "alphabet":
            xs = list(itertools.takewhile(lambda x: abs(x) < CAP, xs))
        if wide and fam == "geometric" and not held_out and HELD_WIDE.intersection(xs):
            continue  # it runs through a held-out start, so a held-out line lies inside it
        if len(xs) >= 4:
            return fam, xs


def line(xs: list) -> str:
    return " ".join(str(x) for x in xs)


def flip(item: str) -> str:
    """A number's digits in the other order, its sign first (120 <-> 021); a letter as it is.
    Lines written so, lowest digit first, let a carry run the way the text is read
    (``scripts/corpora.py sequences-everyday-lowest-first``, ``lstm train text --digits``). Read
    back from a model, ``str(int(flip(x)))`` drops what would be leading zeros."""
    if item.isalpha():
        return item
    sign, digits = ("-", item[1:]) if item.startswith("-") else ("", item)
    return sign + digits[::-1]


# ---------------------------------------------------------------- everyday ranges

# What a person types (issue 42): arithmetic from starts up to +-99,999 by steps up to +-9,999,
# round numbers included (100 200 300); geometric with ratios -10..10; squares and cubes of roots
# up to 999; Fibonacci-like and geometric lines up to 9 digits; periodic with periods 2-4; letters
# up and down. Held out by a hash rather than a drawn list, so any number of any size is held out
# or not at no cost: a scattered tenth of every size from two digits up (:func:`held`).
EVERYDAY_DIGITS = 9  # no element of an everyday line has more
EVERYDAY_WEIGHTS = (0.30, 0.20, 0.08, 0.07, 0.15, 0.08, 0.12)


def held(x: int, salt: int = 0) -> bool:
    """Whether ``x`` is held out of training as a first element (``salt``: another tenth, for
    roots): a fixed, scattered tenth of the numbers with two digits or more (by a multiplicative
    hash of |x| and its sign); none of one digit."""
    if abs(x) < 10:
        return False
    return ((abs(x) * 2654435761 + (x < 0) * 40503 + salt * 97) % 2**32) * 10 >> 32 == 0


def _digits(rng: random.Random, most: int, least: int = 1, negative: float = 0.3) -> int:
    """A number of ``least``-``most`` digits (each count equally likely), negative with odds
    ``negative``."""
    n = rng.randint(least, most)
    x = rng.randrange(0 if n == 1 else 10 ** (n - 1), 10**n)
    return -x if rng.random() < negative else x


def _round(rng: random.Random, x: int) -> int:
    """``x`` rounded to its leading one or two digits (100, 2000, 1500): how people write steps."""
    if abs(x) < 10:
        return x
    keep = rng.choice((1, 1, 2))
    unit = 10 ** max(len(str(abs(x))) - keep, 1)
    return (x // unit) * unit if x > 0 else -((-x) // unit) * unit


def _everyday_params(family: str, rng: random.Random, held_out: bool, most: int = 5) -> tuple:
    """A family's parameters in the everyday ranges; ``most``: the most digits of a first element
    (arithmetic, Fibonacci-like, periodic; 9 for the long lines of :func:`draw_everyday`, whose
    arithmetic steps then have up to 8)."""
    def first(most: int, salt: int = 0, nonzero: bool = False) -> int:
        while True:  # (no number of one digit is held out)
            x = _digits(rng, max(most, 2), least=2) if held_out else _digits(rng, most)
            if held(x, salt) == held_out and (x or not nonzero):
                return x

    if family == "arithmetic":
        a, d = first(most), 0
        while not d:
            d = _digits(rng, 4 if most <= 5 else 8, negative=0.5)
        if rng.random() < 0.25:  # round numbers: 100 200 300, 1500 3000 4500
            d = _round(rng, d) or d
            a = _round(rng, a) if rng.random() < 0.5 else d * rng.randint(-5, 10)
            if held(a) != held_out:
                return _everyday_params(family, rng, held_out, most)
        return a, d
    if family == "geometric":
        r = rng.choice([x for x in range(-10, 11) if abs(x) > 1] * 4 + [-1, 1])
        return first(rng.choice((1, 2, 3, 3, 4, 5)), nonzero=True), r
    if family in ("squares", "cubes"):
        return (first(3, salt=1 if family == "squares" else 2),)
    if family == "fibonacci":
        return first(most), _digits(rng, most)
    if family == "periodic":
        p = rng.choice((2, 3, 4))
        while True:
            vals = [first(most)] + [_digits(rng, most) for _ in range(p - 1)]
            if len(set(vals)) == p:
                return tuple(vals)
    if family == "alphabet":
        step = rng.choice((1, 1, 2, 3)) * rng.choice((1, -1))
        while True:
            start = rng.randrange(26)
            if (LETTERS[start] in "klm") == held_out and 0 <= start + 3 * step < 26:
                return start, step, rng.random() < 0.3
    raise ValueError(family)


def draw_everyday(rng: random.Random, held_out: bool, weights: tuple = EVERYDAY_WEIGHTS,
                  long: float = 0.0) -> tuple[str, list]:
    """One sequence of the everyday ranges, with 5-10 elements (fewer if they would pass
    :data:`EVERYDAY_DIGITS` digits or the alphabet's end; never fewer than 4). ``long``: the odds
    that an arithmetic, Fibonacci-like or periodic line starts with up to 9 digits rather than 5
    (0: the same draws as before it existed)."""
    while True:
        fam = rng.choices(FAMILIES, weights)[0]
        most = 9 if long and rng.random() < long else 5
        xs = _elements(fam, _everyday_params(fam, rng, held_out, most), rng.randint(5, 10))
        if fam != "alphabet":
            xs = list(itertools.takewhile(lambda x: abs(x) < 10**EVERYDAY_DIGITS, xs))
        if len(xs) >= 4:
            return fam, xs


def corpus(n: int, held_out: bool, seed: int, weights: tuple | None = None, wide: bool = False,
           everyday: bool = False, long: float = 0.0) -> list[tuple[str, str]]:
    """``n`` (family, line) pairs; the same for the same arguments on any machine. ``everyday``:
    from :func:`draw_everyday`'s ranges (``weights`` default to that draw's; ``long`` as there)."""
    rng = random.Random(seed)
    if everyday:
        draws = (draw_everyday(rng, held_out, weights or EVERYDAY_WEIGHTS, long) for _ in range(n))
    else:
        draws = (draw(rng, held_out, weights or WEIGHTS, wide) for _ in range(n))
    return [(fam, line(xs)) for fam, xs in draws]


# ---------------------------------------------------------------- reading and predicting

TOKEN = re.compile(r"[-+]?\d+|[A-Za-z]")


MAX_LINE = 10_000  # characters in one sequence
MAX_DIGITS = 30  # in one element (training's numbers have at most 9)


def parse(words: list[str], what: str = "the sequence") -> list[str]:
    """Elements from the command line or a line of stdin (spaces or commas between them): whole
    numbers, or single letters, not mixed; at least two; not absurdly long."""
    from lstm_cli.core.errors import excerpt

    size = sum(map(len, words))
    if size > MAX_LINE:
        raise InputError(f"{what} has {size:,} characters; at most {MAX_LINE:,} are read")
    items = [w for part in words for w in re.split(r"[\s,]+", part.strip()) if w]
    if not items:
        raise InputError(f"{what} is empty: give at least two elements, e.g. 6 7 8")
    bad = [w for w in items if not TOKEN.fullmatch(w)]
    if bad:
        raise InputError(f"{what}: {excerpt(bad[0])} is not a whole number or a single Latin letter",
                         hint="give whole numbers (6 7 8) or letters (a b c)")
    long = [w for w in items if len(w.lstrip("+-")) > MAX_DIGITS]
    if long:
        raise InputError(f"{what}: {excerpt(long[0])} has more than {MAX_DIGITS} digits")
    kinds = {w.isalpha() for w in items}
    if len(kinds) > 1:
        raise InputError(f"{what} mixes numbers and letters: give one kind")
    if len(items) < 2:
        raise InputError(f"{what} has one element ({items[0]}): give at least two, so there is a pattern to continue")
    return [str(int(w)) if not w.isalpha() else w for w in items]


START_DIGITS = 3  # no training line starts with a longer number (:func:`_first`; powers aside)


def could_start(item: str, digits: int = START_DIGITS) -> bool:
    """Whether a training line could start with this element: a letter or a number of at most
    ``digits`` digits."""
    return item.isalpha() or len(item.lstrip("-")) <= digits


class Reading:
    """What ``lstm predict`` asks of a model's predictor, whichever the model (a char model:
    :class:`Predictor`; a column model: tasks/columns.py): ``ranked_many`` (each sequence's
    likeliest next elements with their probabilities), ``probability_many`` (of given answers),
    ``encode`` (checks a sequence, InputError if the model cannot read it) and ``CHUNK`` (sequences
    read together); the rest is built on them here."""

    CHUNK = 128  # sequences read together (a char model: a few thousand rows of state at most)

    def encode(self, items: list[str], what: str = "the sequence"):
        raise NotImplementedError

    def ranked_many(self, batch: list[list[str]], k: int = 5) -> list[list[tuple[str, float]]]:
        raise NotImplementedError

    def probability_many(self, batch: list[list[str]], answers: list[str]) -> list[float]:
        raise NotImplementedError

    def answer_many(self, batch: list[list[str]], n: int = 1, k: int = 1, explain: bool = False) -> list:
        """``lstm predict``'s answers: for each sequence, None if the model finds no next element,
        else (its next elements, up to ``n``, each read back with the ones before it before the
        next is asked for; the ``k`` likeliest next elements with their probabilities; with
        ``explain`` and four elements or more, the probability of its last element after the ones
        before it (:func:`guess` reads it), else None). A sequence stops short of ``n`` where the
        model finds no next element (a letter past z) or cannot read the last one found (longer
        than it reads): :meth:`why_short` says which."""
        answers = self.ranked_many(batch, k)
        nexts = {j: [c[0][0]] for j, c in enumerate(answers) if c}
        going = list(nexts)
        for _ in range(n - 1):
            going = [j for j in going if self.readable(nexts[j][-1])]
            more = self.ranked_many([batch[j] + nexts[j] for j in going], 1)
            still = []
            for j, m in zip(going, more):
                if m:
                    nexts[j].append(m[0][0])
                    still.append(j)
            going = still
        fit = {}
        if explain:
            asked = [j for j in nexts if len(batch[j]) >= 4]
            fit = dict(zip(asked, self.probability_many([batch[j][:-1] for j in asked], [batch[j][-1] for j in asked])))
        return [(nexts[j], answers[j], fit.get(j)) if j in nexts else None for j in range(len(batch))]

    @staticmethod
    def refuse_long(items: list[str], most: int | None, what: str) -> None:
        """InputError for a number of more than ``most`` digits (None: any length is read)."""
        from lstm_cli.core.errors import excerpt

        long = [x for x in items if most and not x.isalpha() and len(x.lstrip("-")) > most]
        if long:
            raise InputError(f"{what}: {excerpt(long[0])} has {len(long[0].lstrip('-'))} digits, too long for "
                             f"this model (it reads numbers of at most {most})")

    def readable(self, item: str) -> bool:
        """Whether the model reads this element (:meth:`encode` accepts it)."""
        try:
            self.encode([item, item])
        except InputError:
            return False
        return True

    def why_short(self, nexts: list[str]) -> str:
        """Why :meth:`answer_many` found no element after ``nexts``' last."""
        last = nexts[-1]
        if not self.readable(last):
            return f"{last} is longer than the model reads"
        return f"the model finds no element after {last}"

    def ranked(self, items: list[str], k: int = 5) -> list[tuple[str, float]]:
        """:meth:`ranked_many` for one sequence."""
        return self.ranked_many([items], k)[0]

    def next(self, items: list[str]) -> str:
        cands = self.ranked(items, k=1)
        if not cands:
            raise InputError("the model found no next element for this sequence")
        return cands[0][0]


class Predictor(Reading):
    """The next element of sequences under a text model, by beam search over its characters.

    Work is batched: every start (:meth:`views`) of every sequence in one call is read together,
    their searches step together, and the candidates are scored under every start together, so a
    step of the model is one matrix product per layer over all rows (``LSTMStream.step_rows``)
    rather than one product per row. A sequence's answer does not depend on the others in its
    batch (up to the last bits of float32 sums)."""

    END = (" ", "\n")

    def __init__(self, net, vocab, beam: int = 8, max_chars: int = 12, start_digits: int = START_DIGITS,
                 longest: int | None = None, lowest_first: bool = False):
        """``start_digits``: the longest first element of the model's training lines (the powers'
        aside); ``longest``: the most digits of a number in its training text, if known (the
        checkpoint's ``data_facts``): longer elements are refused; ``lowest_first``: the model
        writes each number's digits lowest first (:func:`line`), so the sequences it is given are
        flipped before it reads them, and its answers after (everything outside this class is in
        the usual order)."""
        from lstm_cli.tasks.text import Sampler

        self.sampler, self.vocab = Sampler(net, vocab), vocab
        self.beam, self.max_chars, self.start_digits = beam, max_chars, start_digits
        self.longest, self.lowest_first = longest, lowest_first
        self.ends = [vocab.index[c] for c in self.END if c in vocab.index]

    @classmethod
    def of(cls, net, vocab, meta: dict, **kwargs) -> "Predictor":
        """The predictor for a checkpoint's model, as its ``data_facts`` describe its training text
        (the longest number; the digits' order, which ``lstm train text --digits`` records)."""
        facts = meta.get("data_facts", {})
        return cls(net, vocab, longest=facts.get("longest_number"), lowest_first=facts.get("digits") == "lowest-first",
                   **kwargs)

    def _model(self, item: str) -> str:
        """An element as the model writes it."""
        return flip(item) if self.lowest_first else item

    def _users(self, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """Answers the model wrote, in the usual order (of two that read the same, the likelier)."""
        if not self.lowest_first:
            return ranked
        out: dict[str, float] = {}
        for c, p in ranked:
            c = str(int(flip(c))) if c.lstrip("-").isdigit() else c
            out.setdefault(c, p)
        return list(out.items())

    def encode(self, items: list[str], what: str = "the sequence") -> list[int]:
        """The ids of a newline, the sequence and a space; InputError for a character the model
        does not know, or a number longer than any it learnt."""
        self.refuse_long(items, self.longest, what)
        known = "".join(c for c in self.vocab.chars if c.isprintable() and c != " ")
        ids = self.vocab.encode(" ".join(map(self._model, items)) + " ", what=what, hint=f"this model knows: {known}").tolist()
        return [self.vocab.index["\n"]] + ids

    def _read(self, views: list[list[str]]):
        """Read each view from the zero state, all together; -> (the log-probabilities of the next
        character (N, V), the states (h, c) with one row per view for ``step_rows``)."""
        import numpy as np

        s = self.sampler
        ids = [self.encode(v) for v in views]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # the rows still reading: a prefix
        h = [np.zeros((len(ids), s.H), np.float32) for _ in range(s.L)]
        c = [np.zeros((len(ids), s.H), np.float32) for _ in range(s.L)]
        last = np.empty((len(ids), len(self.vocab.chars)), np.float32)
        for t in range(len(ids[order[0]])):
            n = sum(len(ids[i]) > t for i in order)
            logits, (hn, cn) = s.step_rows([ids[i][t] for i in order[:n]], ([a[:n] for a in h], [a[:n] for a in c]))
            for l in range(s.L):
                h[l][:n], c[l][:n] = hn[l], cn[l]
            for j in range(n):
                if len(ids[order[j]]) == t + 1:
                    last[j] = logits[j]
        back = np.argsort(order)
        return _log_softmax(last[back]), ([a[back] for a in h], [a[back] for a in c])

    def _search(self, read, ks: list[int]) -> list[list[tuple[str, float]]]:
        """For each row of a :meth:`_read`, its ``ks[row]`` likeliest next elements with their
        log-probabilities, likeliest first: a beam over characters, ended by a space or a newline.
        The rows' searches step together; each stops on its own."""
        import numpy as np

        logp, rows = read
        chars, ends, beam = self.vocab.chars, self.ends, self.beam
        live = [[(0.0, "", r)] for r in range(len(ks))]  # per row: (log p, text so far, its state's row)
        done: list[list[tuple[float, str]]] = [[] for _ in ks]
        for _ in range(self.max_chars):
            top = np.argsort(-logp, axis=1)[:, :beam]
            stop = np.logaddexp.reduce(logp[:, ends], axis=1)
            grown_all = []
            for r, branches in enumerate(live):
                grown = []
                for lp, txt, j in branches:
                    if txt:  # the element ends here: followed by a space or a newline
                        done[r].append((lp + stop[j], txt))
                    grown += [(lp + logp[j, i], txt + chars[i], j) for i in top[j] if i not in ends]
                done[r].sort(key=lambda d: -d[0])
                k = ks[r]
                if len(done[r]) >= k:  # a branch below the k-th answer found can only fall further
                    grown = [g for g in grown if g[0] >= done[r][k - 1][0]]
                if grown:
                    grown.sort(key=lambda g: -g[0])
                    grown_all.append((r, grown[:beam]))
            live = [[] for _ in ks]
            parents, last = [], []
            for r, grown in grown_all:
                for lp, txt, j in grown:
                    live[r].append((lp, txt, len(parents)))
                    parents.append(j)
                    last.append(self.vocab.index[txt[-1]])
            if not parents:
                break
            logits, rows = self.sampler.step_rows(last, tuple([a[parents] for a in part] for part in rows))
            logp = _log_softmax(logits)
        return [[(t, float(lp)) for lp, t in d[:k]] for d, k in zip(done, ks)]

    def _log_probs(self, read, pairs: list[tuple[int, str]]):
        """log p(answer, then a space or a newline | the view read) for each (row of ``read``,
        answer), stepped together (one product per layer a character)."""
        import numpy as np

        s, index = self.sampler, self.vocab.index
        which = [r for r, _ in pairs]
        answers = [a for _, a in pairs]
        logp = read[0][which]
        rows = tuple([a[which] for a in part] for part in read[1])
        total, longest = np.zeros(len(answers)), max(map(len, answers))
        for t in range(longest + 1):
            for b, a in enumerate(answers):
                if t < len(a):
                    total[b] += logp[b, index[a[t]]]
                elif t == len(a):
                    total[b] += np.logaddexp.reduce(logp[b, self.ends])
            if t == longest:
                return total
            logits, rows = s.step_rows([index[a[t]] if t < len(a) else self.ends[0] for a in answers], rows)
            logp = _log_softmax(logits)

    def views(self, items: list[str]) -> list[list[str]]:
        """The sequence, and its tails of three elements or more that start where a training
        line could (:func:`could_start`)."""
        return [items] + [items[i:] for i in range(1, len(items) - 2) if could_start(items[i], self.start_digits)]

    def candidates(self, items: list[str], k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` likeliest next elements with their probabilities, likeliest first, reading
        the sequence from its first element only."""
        import math

        return self._users([(c, math.exp(lp)) for c, lp in self._search(self._read([items]), [k])[0]])

    def ranked_many(self, batch: list[list[str]], k: int = 5) -> list[list[tuple[str, float]]]:
        """For each sequence, the ``k`` likeliest next elements, likeliest first, reading it from
        each of its :meth:`views`: the candidates each view's search finds (with one view, its
        ``k`` best and their probabilities), ranked by the geometric mean of the probabilities
        the views give them."""
        out: list[list[tuple[str, float]]] = []
        for at in range(0, len(batch), self.CHUNK):
            out += self._ranked(batch[at: at + self.CHUNK], k)
        return out

    def _all_views(self, batch: list[list[str]]) -> tuple[list[list[str]], list[range]]:
        """Every sequence's :meth:`views`, one list, and each sequence's rows in it."""
        views, spans = [], []
        for items in batch:
            vs = self.views(items)
            spans.append(range(len(views), len(views) + len(vs)))
            views += vs
        return views, spans

    def _ranked(self, batch: list[list[str]], k: int) -> list[list[tuple[str, float]]]:
        import numpy as np

        views, spans = self._all_views(batch)
        read = self._read(views)
        found = self._search(read, [k if len(s) == 1 else max(k, 5) for s in spans for _ in s])
        pools = [list(dict.fromkeys(c for r in s for c, _ in found[r])) for s in spans]
        # A view's search already gave the probabilities of what it found; the rest are scored.
        known = [dict(f) for f in found]
        pairs = [(r, c) for s, pool in zip(spans, pools) if len(s) > 1 for r in s for c in pool if c not in known[r]]
        scores = iter(self._log_probs(read, pairs) if pairs else [])
        out = []
        for s, pool in zip(spans, pools):
            if len(s) == 1:
                out.append(self._users([(c, float(np.exp(lp))) for c, lp in found[s[0]]]))
                continue
            mean = np.mean([[known[r][c] if c in known[r] else next(scores) for c in pool] for r in s], axis=0)
            order = np.argsort(-mean, kind="stable")[:k]
            out.append(self._users([(pool[i], float(np.exp(mean[i]))) for i in order]))
        return out

    def probability_many(self, batch: list[list[str]], answers: list[str]) -> list[float]:
        """For each sequence, the probability of the given next element, as :meth:`ranked_many`
        would rank it: the geometric mean over the sequence's views."""
        import numpy as np

        if not batch:
            return []
        views, spans = self._all_views(batch)
        lp = self._log_probs(self._read(views), [(r, self._model(a)) for s, a in zip(spans, answers) for r in s])
        return [float(np.exp(lp[s.start: s.stop].mean())) for s in spans]


def load_predictor(model: str) -> Reading:
    """The predictor for a shipped model's name or a checkpoint file: a column model's (task
    ``sequences``, tasks/columns.py) or a char model's (task ``text``, :class:`Predictor`)."""
    from lstm_cli.core import checkpoint, registry
    from lstm_cli.core.errors import CheckpointError

    ckpt = checkpoint.load(registry.resolve(model))
    if ckpt["task"] == "sequences":
        from lstm_cli.tasks.columns import ColumnPredictor

        return ColumnPredictor.of(ckpt)
    if ckpt["task"] == "text":
        from lstm_cli.tasks import text

        net, vocab = text.from_checkpoint(ckpt)
        return Predictor.of(net, vocab, ckpt["meta"])
    raise CheckpointError(f"'{model}' is a '{ckpt['task']}' model; lstm predict reads 'sequences' or 'text' models",
                          hint="see: lstm models")


def guess(items: list[str], cands: list[tuple[str, float]], fit: float | None, unsure: float) -> str | None:
    """Why the answer to ``items`` is a guess, or None: the likeliest next element (``cands``)
    below ``unsure``, or (``fit``, four elements or more) the last given element below it when
    predicted from the ones before it: no family the model knows fits."""
    if cands[0][1] >= unsure and (fit is None or fit >= unsure):
        return None
    what = f"the answer {cands[0][1]:.2f}" + ("" if fit is None else f"; {items[-1]} after {' '.join(items[:-1])}: {fit:.2f}")
    return f"no family the model knows fits well ({what}): the answer is a guess"


def _log_softmax(z):
    """Log-probabilities (float64) from logits, over the last axis (one row or several)."""
    import numpy as np

    z = z.astype(np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def period(items: list) -> int:
    """The shortest p with items[i] == items[i + p] throughout (the length if none is shorter)."""
    return next(p for p in range(1, len(items) + 1) if items[p:] == items[:-p or len(items)])


def scored_rows(content: str, path: str) -> list[tuple[str, str]]:
    """(family, sequence) of each line of a ``--score`` file: ``FAMILY<TAB>`` before a sequence
    groups it (without one: "all"); a bad sequence is an InputError naming its line."""
    rows = []
    for i, ln in enumerate(content.splitlines()):
        if ln.strip():
            fam, _, seq = ln.rpartition("\t")
            rows.append((fam or "all", " ".join(parse([seq], f"{path} line {i + 1}"))))
    return rows


def accuracy(predictor: Predictor, rows: list[tuple[str, str]], given: int | None = None) -> dict[str, dict]:
    """Per family: the share of ``rows`` (family, line) whose last element (or, with ``given``,
    the element after the first ``given``) the predictor gets exactly right. A periodic line counts
    only when its period has shown: one element more than the period given."""
    from lstm_cli.core.progress import Ticker

    stats: dict[str, list[int]] = {}
    tick = Ticker("scored", len(rows), "sequences", least=1_000)
    asked = []
    for fam, text in rows:
        items = text.split()
        cut = len(items) - 1 if given is None else given
        if 2 <= cut < len(items) and (fam != "periodic" or cut > period(items)):
            asked.append((fam, items[:cut], items[cut]))
    for at in range(0, len(asked), predictor.CHUNK):
        tick(at)
        part = asked[at: at + predictor.CHUNK]
        for (fam, _, want), got in zip(part, predictor.ranked_many([q for _, q, _ in part], 1)):
            s = stats.setdefault(fam, [0, 0])
            s[0] += bool(got) and got[0][0] == want
            s[1] += 1
    return {f: {"correct": c, "total": t, "accuracy": round(100.0 * c / t, 2)} for f, (c, t) in stats.items()}

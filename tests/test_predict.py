"""lstm predict: the sequence families and their held-out split, the search for the next element,
context that decides it (6 7 8 -> 9, 2 4 8 -> 16), and bad input."""

from __future__ import annotations

import math
import random

import pytest
import torch

from conftest import run_lstm, shared, train_args, train_in_process
from lstm_cli.core.errors import ExitCode, InputError
from lstm_cli.tasks import sequences as S
from lstm_cli.tasks import text


def _params_of(fam: str, xs: list) -> dict:
    """Re-derive a line's parameters from its elements (independently of the generator)."""
    if fam == "arithmetic":
        return {"start": xs[0], "step": xs[1] - xs[0]}
    if fam == "geometric":
        return {"start": xs[0], "ratio": xs[1] // xs[0]}
    if fam in ("squares", "cubes"):
        p = 2 if fam == "squares" else 3
        r = round(abs(xs[0]) ** (1 / p)) * (1 if xs[0] >= 0 or p == 2 else -1)
        if fam == "squares" and len(xs) > 1 and (r + 1) ** 2 != xs[1]:
            r = -r  # a negative root: the squares fall at first
        return {"root": r}
    if fam == "fibonacci":
        return {"first": xs[0]}
    if fam == "periodic":
        return {"first": xs[0]}
    return {"letter": xs[0].lower()}


def _held(fam: str, p: dict) -> bool:
    return {
        "arithmetic": lambda: p["start"] in S.HELD_FIRST,
        "geometric": lambda: p["start"] in S.HELD_FIRST,
        "squares": lambda: p["root"] in S.HELD_SQUARE_ROOTS,
        "cubes": lambda: p["root"] in S.HELD_CUBE_ROOTS,
        "fibonacci": lambda: p["first"] in S.HELD_FIRST,
        "periodic": lambda: p["first"] in S.HELD_FIRST,
        "alphabet": lambda: p["letter"] in "klm",
    }[fam]()


def _rule_holds(fam: str, xs: list) -> bool:
    if fam == "arithmetic":
        return all(b - a == xs[1] - xs[0] for a, b in zip(xs, xs[1:]))
    if fam == "geometric":
        return all(b * xs[0] == a * xs[1] for a, b in zip(xs, xs[1:]))
    if fam == "fibonacci":
        return all(c == a + b for a, b, c in zip(xs, xs[1:], xs[2:]))
    if fam in ("squares", "cubes"):
        p = 2 if fam == "squares" else 3
        k = _params_of(fam, xs)["root"]
        return xs == [(k + i) ** p for i in range(len(xs))]
    if fam == "periodic":
        return any(all(xs[i] == xs[i % q] for i in range(len(xs))) for q in (2, 3))
    return all(ord(b) - ord(a) == ord(xs[1]) - ord(xs[0]) > 0 for a, b in zip(xs, xs[1:]))


@pytest.mark.parametrize("held_out", [False, True])
def test_generated_sequences_follow_their_rule_and_split(held_out):
    rows = S.corpus(3000, held_out, seed=5)
    assert rows == S.corpus(3000, held_out, seed=5)  # the same on any machine
    assert {f for f, _ in rows} == set(S.FAMILIES)
    for fam, ln in rows:
        xs = [x if x.isalpha() else int(x) for x in ln.split()]
        assert len(xs) >= 4
        assert all(isinstance(x, str) or abs(x) < S.CAP for x in xs)
        assert _rule_holds(fam, xs), (fam, ln)
        assert _held(fam, _params_of(fam, xs)) == held_out, (fam, ln)


@pytest.mark.parametrize("held_out", [False, True])
def test_everyday_and_long_draws_follow_their_rule_and_split(held_out):
    """The shipped model's lines (draw_everyday) and the long ones: each family's rule, up to 9
    digits, the split by the hash of the first element (a root for the powers, a letter k-m), and
    long lines starting with more digits than the everyday ones ever do (5)."""
    def digits(x):
        return len(str(abs(x)))

    for long in (0.0, 1.0):
        rows = S.corpus(2000, held_out, seed=7, everyday=True, long=long)
        starts = []
        for fam, ln in rows:
            xs = [x if x.isalpha() else int(x) for x in ln.split()]
            assert len(xs) >= 4 and all(isinstance(x, str) or digits(x) <= S.EVERYDAY_DIGITS for x in xs)
            if fam == "alphabet":
                step = ord(xs[1]) - ord(xs[0])
                assert step and all(ord(b) - ord(a) == step for a, b in zip(xs, xs[1:])), ln
                assert (xs[0].lower() in "klm") == held_out
            elif fam == "periodic":
                assert any(all(xs[i] == xs[i % q] for i in range(len(xs))) for q in (2, 3, 4)), ln
            else:
                assert _rule_holds(fam, xs), (fam, ln)
            if fam in ("squares", "cubes"):
                root = _params_of(fam, xs)["root"]
                assert S.held(root, 1 if fam == "squares" else 2) == held_out, ln
            elif fam != "alphabet":
                assert S.held(xs[0]) == held_out, ln
            if fam in ("arithmetic", "fibonacci", "periodic"):
                starts.append(digits(xs[0]))
        assert (max(starts) > 5) == (long > 0)
    assert S.corpus(50, held_out, seed=7, everyday=True) == S.corpus(50, held_out, seed=7, everyday=True, long=0.0)


def test_geometric_mix_draws_by_its_weights_from_the_training_ranges():
    """The last stage's data: the same rules and split, geometric near its 45% share."""
    rows = S.corpus(3000, False, seed=6, weights=S.GEOMETRIC_WEIGHTS)
    assert len(S.GEOMETRIC_WEIGHTS) == len(S.FAMILIES)
    share = sum(f == "geometric" for f, _ in rows) / len(rows)
    assert 0.40 < share < 0.50, share
    for fam, ln in rows:
        xs = [x if x.isalpha() else int(x) for x in ln.split()]
        assert _rule_holds(fam, xs) and not _held(fam, _params_of(fam, xs)), (fam, ln)


def test_wide_draws_keep_their_split_and_geometric_lines_off_held_out_paths():
    """The wide ranges: starts of up to 4 digits (a scattered tenth of the 4-digit ones held out
    too), arithmetic steps beyond 20; no geometric training line shares three elements in a row
    with any held-out geometric line (the paths through HELD_WIDE, before and after the start)."""
    rows = S.corpus(6000, False, seed=7, weights=S.GEOMETRIC_WEIGHTS, wide=True)
    held = set()
    for h in S.HELD_WIDE:
        for r in S.RATIOS:
            xs = [h * r**i for i in range(10) if abs(h * r**i) < S.CAP]
            held.update(tuple(xs[i:i + 3]) for i in range(len(xs) - 2))
    geometric, steps = 0, set()
    for fam, ln in rows:
        xs = [x if x.isalpha() else int(x) for x in ln.split()]
        assert _rule_holds(fam, xs), (fam, ln)
        if fam in ("arithmetic", "geometric", "fibonacci", "periodic"):
            assert xs[0] not in S.HELD_WIDE, ln
        if fam == "arithmetic":
            steps.add(abs(xs[1] - xs[0]))
        if fam == "geometric":
            geometric += 1
            assert not held.intersection(tuple(xs[i:i + 3]) for i in range(len(xs) - 2)), ln
    starts = [abs(int(ln.split()[0])) for fam, ln in rows if fam == "geometric"]
    assert max(starts) >= 1000 and geometric > 1500 and max(steps) > 100
    test = S.corpus(2000, True, seed=9, wide=True)
    assert all(int(ln.split()[0]) in S.HELD_WIDE for fam, ln in test
               if fam in ("arithmetic", "geometric", "fibonacci", "periodic"))
    assert any(abs(int(ln.split()[0])) >= 1000 for _, ln in test)
    assert S.HELD_FIRST < S.HELD_WIDE and len(S.HELD_WIDE - S.HELD_FIRST) == 1800
    assert S.corpus(500, False, seed=8, wide=False) == S.corpus(500, False, seed=8)


def test_held_out_starts_are_scattered():
    """A tenth of the 2- and 3-digit numbers (cube roots: 2-digit), of either sign, spread over
    the whole range: no leading digit, last digit, length or sign tells a held-out start from a
    training one (the 18 cube roots are too few to show every digit)."""
    for held, digits in ((S.HELD_FIRST, 3), (S.HELD_SQUARE_ROOTS, 3), (S.HELD_CUBE_ROOTS, 2)):
        pool = [x for x in range(1 - 10**digits, 10**digits) if abs(x) >= 10]
        assert len(held) == len(pool) // 10 and held <= set(pool)
        keys = (lambda x: str(abs(x))[0], lambda x: str(x)[-1], lambda x: len(str(abs(x))), lambda x: x < 0)
        for key in keys if digits == 3 else keys[3:]:
            assert {key(x) for x in held} == {key(x) for x in pool}
    assert S.HELD_FIRST != S.HELD_SQUARE_ROOTS


def test_parse():
    assert S.parse(["6 7 8"]) == ["6", "7", "8"]
    assert S.parse(["1,", "-2,", "+3"]) == ["1", "-2", "3"]  # commas and a plus sign
    assert S.parse(["a b", "c"]) == ["a", "b", "c"]
    for bad, says in ((["6", "x7"], "not a whole number"), ([" "], "empty"), (["5"], "one element"),
                      (["1", "b"], "mixes"), (["1.5", "2"], "not a whole number")):
        with pytest.raises(InputError, match=says):
            S.parse(bad)


@pytest.fixture(scope="module")
def random_net():
    torch.manual_seed(0)
    vocab = text.Vocab(" \n-0123456789")
    net = text.CharLSTM(text.TextConfig(vocab_size=len(vocab.chars), embed=8, hidden=16, layers=2)).eval()
    return net, vocab


def _exact_prob(net, vocab, prefix: str, answer: str) -> float:
    """p(answer, then a space or a newline | newline + prefix), from the torch model in one pass."""
    ids = vocab.encode("\n" + prefix + answer)
    with torch.no_grad():
        logp = torch.log_softmax(net(ids[None])[0][0].double(), -1)  # (T, V)
    n0 = 1 + len(prefix)
    lp = sum(logp[n0 - 1 + i, vocab.index[c]].item() for i, c in enumerate(answer))
    last = logp[n0 - 1 + len(answer)]
    return math.exp(lp) * (last[vocab.index[" "]].exp().item() + last[vocab.index["\n"]].exp().item())


def test_candidates_carry_their_exact_probability(random_net):
    net, vocab = random_net
    p = S.Predictor(net, vocab, beam=6)
    cands = p.candidates(["12", "-3", "4"], k=5)
    assert 1 <= len(cands) <= 5
    probs = [q for _, q in cands]
    assert probs == sorted(probs, reverse=True)
    assert len({c for c, _ in cands}) == len(cands)
    for c, q in cands:
        assert c and " " not in c and "\n" not in c
        assert q == pytest.approx(_exact_prob(net, vocab, "12 -3 4 ", c), rel=1e-4)
    assert p.next(["12", "-3", "4"]) == cands[0][0]
    assert p.candidates(["12", "-3", "4"], k=5) == cands  # the search starts afresh every time


def test_a_sequence_is_read_from_every_start_a_training_line_could_have():
    p = S.Predictor.__new__(S.Predictor)  # views need no model
    p.start_digits = S.START_DIGITS
    assert p.views(["6", "7", "8"]) == [["6", "7", "8"]]
    assert p.views(["44", "176", "704", "2816", "11264"]) == [
        ["44", "176", "704", "2816", "11264"], ["176", "704", "2816", "11264"], ["704", "2816", "11264"]]
    assert p.views(["-961", "2883", "-8649", "25947"]) == [["-961", "2883", "-8649", "25947"]]
    assert p.views(list("acegi")) == [list("acegi"), list("cegi"), list("egi")]


def test_ranked_answers_carry_the_mean_log_probability_of_their_views(random_net):
    net, vocab = random_net
    p = S.Predictor(net, vocab, beam=6)
    assert p.ranked(["12", "-3", "4"], k=3) == p.candidates(["12", "-3", "4"], k=3)  # one view
    items = ["5", "12", "-3", "4", "9"]
    views = p.views(items)
    assert len(views) == 3
    ranked = p.ranked(items, k=4)
    assert 1 <= len(ranked) <= 4 and [q for _, q in ranked] == sorted((q for _, q in ranked), reverse=True)
    for c, q in ranked:
        each = [math.log(_exact_prob(net, vocab, " ".join(v) + " ", c)) for v in views]
        assert math.log(q) == pytest.approx(sum(each) / len(each), abs=1e-4)
    found = {c for v in views for c, _ in p.candidates(v, 5)}
    assert {c for c, _ in ranked} <= found
    assert p.next(items) == ranked[0][0]


def test_a_batch_answers_each_sequence_as_it_would_alone(random_net):
    """Sequences of 3-6 elements (one start or several) read, searched and scored together, in
    chunks smaller than the batch: each gets the candidates it gets alone."""
    net, vocab = random_net
    p = S.Predictor(net, vocab, beam=6)
    p.CHUNK = 3
    batch = [["6", "7", "8"], ["5", "12", "-3", "4", "9"], ["-40", "7"], ["1", "22", "333", "4", "55", "6"],
             ["9", "9", "9", "9"]]
    together = p.ranked_many(batch, k=4)
    assert len(together) == len(batch)
    for items, got in zip(batch, together):
        alone = p.ranked(items, k=4)
        assert [c for c, _ in got] == [c for c, _ in alone]
        assert [q for _, q in got] == pytest.approx([q for _, q in alone], rel=1e-4)


def test_branches_step_together_as_they_would_one_by_one(random_net):
    """LSTMStream.step_rows (the beam's branches in one product per layer) against step."""
    import numpy as np

    net, vocab = random_net
    s = text.Sampler(net, vocab)
    starts, want = [], []
    for prefix, nxt in (("\n12 3", "4"), ("\n-7 ", "9"), ("\n5", " ")):
        s.reset()
        s.feed(vocab.encode(prefix).tolist())
        starts.append(s.rows())
        want.append(s.step(vocab.index[nxt]).copy())
    rows = tuple([np.concatenate([r[part][l] for r in starts]) for l in range(2)] for part in (0, 1))
    logits, _ = s.step_rows([vocab.index[c] for c in "49 "], rows)
    assert np.allclose(logits, np.stack(want), atol=1e-5)


def test_beam_finds_the_best_of_all_short_answers(random_net):
    """Against brute force over every answer of 1-2 characters: no such answer is likelier
    than the one found."""
    net, vocab = random_net
    best = S.Predictor(net, vocab, beam=13).candidates(["7", "7"], k=1)[0][1]
    chars = "-0123456789"
    for a in chars:
        assert _exact_prob(net, vocab, "7 7 ", a) <= best * (1 + 1e-6)
        for b in chars:
            assert _exact_prob(net, vocab, "7 7 ", a + b) <= best * (1 + 1e-6)


def context_corpus(n: int, seed: int) -> str:
    """Two families that share their last elements: counting (6 7 8 9) and doubling (2 4 8 16)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        if rng.random() < 0.5:
            a = rng.randint(0, 12)
            lines.append(" ".join(str(a + i) for i in range(rng.randint(4, 7))))
        else:
            a = rng.randint(1, 3)
            lines.append(" ".join(str(a * 2**i) for i in range(rng.randint(4, 6))))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def context_model(tmp_path_factory):
    def build(d):
        (d / "train.txt").write_text(context_corpus(4000, 0))
        train_in_process(train_args(d / "train.txt", d / "seq.pt", steps=300))

    return shared(tmp_path_factory, "seq", build) / "seq.pt"


def test_the_context_decides_the_next_element(context_model):
    """The article's example: the same last element 8, two different answers."""
    r = run_lstm("predict", "6", "7", "8", "-m", context_model)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "9\n"
    r = run_lstm("predict", "2", "4", "8", "-m", context_model, "-n", "2")
    assert r.stdout == "16 32\n"
    r = run_lstm("predict", "-m", context_model, input="3 4 5\n\n1 2 4 8\n")
    assert r.stdout == "6\n16\n"
    for args in (["-3", "-2", "-1"], ["--", "-3", "-2", "-1"], ["-3 -2 -1"]):  # negative numbers are elements
        r = run_lstm("predict", "-m", context_model, *args)  # (this toy model never saw a minus sign)
        assert r.returncode == ExitCode.BAD_INPUT and "does not know: '-'" in r.stderr, (args, r.stderr)


def test_explain_and_score(context_model, tmp_path):
    r = run_lstm("predict", "3", "6", "12", "-m", context_model, "--explain", "--top", "3")
    lines = r.stdout.splitlines()
    assert lines[0] == "24" and len(lines) == 4
    probs = [float(ln.split("\t")[1]) for ln in lines[1:]]
    assert lines[1].split("\t")[0].strip() == "24"
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    f = tmp_path / "held.tsv"
    f.write_text("count\t4 5 6 7\ncount\t9 10 11 12\ndouble\t3 6 12 24\n")
    r = run_lstm("predict", "-m", context_model, "--score", f, "--json")
    import json

    got = json.loads(r.stdout)
    assert got["count"]["total"] == 2 and got["double"]["total"] == 1
    assert got["double"]["accuracy"] == 100.0


@pytest.mark.parametrize("args, stdin, says", [
    (["six", "7"], None, "not a whole number"),
    (["5"], None, "one element"),
    (["a", "1"], None, "mixes"),
    ([], "", "no sequence"),
    (["-"], "\n \n", "no sequence"),
])
def test_bad_input_is_one_line_and_exit_3(context_model, args, stdin, says):
    r = run_lstm("predict", *args, "-m", context_model, input=stdin)
    assert r.returncode == ExitCode.BAD_INPUT
    assert says in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_a_bad_line_among_good_ones(context_model):
    r = run_lstm("predict", "-m", context_model, input="6 7 8\nfoo bar\n2 4 8\n")
    assert r.returncode == ExitCode.BAD_INPUT
    assert r.stdout == "9\n\n16\n"  # one answer line per input line, empty for the bad one
    assert "line 2" in r.stderr


def test_score_json_goes_into_the_manifest(context_model, tmp_path):
    """`make checkpoints/sequences.pt`'s path: the per-family accuracy measured by predict --score
    is kept in the shipped model's metric details; a bad details file stops the export first."""
    import json

    held = tmp_path / "held.tsv"
    held.write_text("double\t3 6 12 24\ncount\t4 5 6 7\n")
    score = tmp_path / "seq.accuracy.json"
    r = run_lstm("predict", "-m", context_model, "--score", held, "--json")
    score.write_text(r.stdout)
    (tmp_path / "test.txt").write_text("3 6 12 24\n4 5 6 7\n" * 20)
    r = run_lstm("export", context_model, "-o", tmp_path / "ship" / "s.pt", "--name", "s",
                 "--eval-data", tmp_path / "test.txt", "--details", score)
    assert r.returncode == 0, r.stderr
    entry = json.loads((tmp_path / "ship" / "manifest.json").read_text())["s"]
    assert entry["metric"]["name"] == "nats_per_char"
    assert entry["metric"]["details"]["accuracy"]["double"]["total"] == 1
    (tmp_path / "bad.json").write_text("{not json")
    r = run_lstm("export", context_model, "-o", tmp_path / "other.pt", "--details", tmp_path / "bad.json")
    assert r.returncode == ExitCode.BAD_INPUT and "not a readable JSON" in r.stderr
    assert not (tmp_path / "other.pt").exists()


def test_explain_says_when_the_answer_is_a_guess():
    import io

    from lstm_cli.cli.predict import UNSURE, _explain

    def shown(cands, fit):
        out = io.StringIO()
        _explain(["2", "3", "5", "7"], cands, fit, out)
        return out.getvalue().splitlines()

    assert shown([("9", 0.9), ("8", 0.05)], None) == ["  9\t0.9000", "  8\t0.0500"]
    assert shown([("9", 0.9)], UNSURE + 0.01) == ["  9\t0.9000"]
    for cands, fit in (([("9", UNSURE - 0.01)], None), ([("9", 0.99)], 0.02)):
        lines = shown(cands, fit)
        assert len(lines) == 1 + len(cands) and "a guess" in lines[-1]


def test_the_probability_of_a_given_answer_is_the_mean_over_views(random_net):
    net, vocab = random_net
    p = S.Predictor(net, vocab)
    batch, answers = [["5", "12", "-3", "4", "9"], ["7", "7"]], ["13", "-1"]
    got = p.probability_many(batch, answers)
    for items, a, q in zip(batch, answers, got):
        each = [math.log(_exact_prob(net, vocab, " ".join(v) + " ", a)) for v in p.views(items)]
        assert math.log(q) == pytest.approx(sum(each) / len(each), abs=1e-4)
    assert p.probability_many([], []) == []


def test_scoring_after_n_given_elements_skips_periods_not_yet_shown():
    assert [S.period(s.split()) for s in ("1 2 1 2 1", "7 8 9 7 8 9", "1 2 3", "5 5 5")] == [2, 3, 3, 1]

    class Oracle:  # answers the element at the given position of the line it was built from
        CHUNK = 2

        def __init__(self, lines):
            self.lines = [ln.split() for ln in lines]

        def ranked_many(self, batch, k):
            return [[(next(ln[len(b)] for ln in self.lines if ln[: len(b)] == b), 1.0)] for b in batch]

    rows = [("periodic", "1 2 3 1 2 3"), ("periodic", "4 5 4 5 4"), ("arithmetic", "7 8 9 10"), ("arithmetic", "1 2")]
    got = S.accuracy(Oracle([r for _, r in rows]), rows, given=3)
    assert got == {"periodic": {"correct": 1, "total": 1, "accuracy": 100.0},
                   "arithmetic": {"correct": 1, "total": 1, "accuracy": 100.0}}
    assert S.accuracy(Oracle([r for _, r in rows]), rows, given=4)["periodic"]["total"] == 2


def test_given_needs_score(context_model):
    r = run_lstm("predict", "1", "2", "3", "--given", "3", "-m", context_model)
    assert r.returncode == ExitCode.USAGE and "--given goes with --score" in r.stderr


def test_numbers_longer_than_the_training_data_held_are_refused(context_model):
    """The toy model learnt numbers of at most two digits (counting to 18, doubling to 96): its
    checkpoint says so, and a longer one is too long for it, one line of a batch or the only one."""
    assert text.number_facts("7 8 9\n-12 345 6\nx1234\n") == {"longest_number": 4}
    assert torch.load(context_model, weights_only=False)["meta"]["data_facts"] == {"longest_number": 2}
    r = run_lstm("predict", "100", "200", "300", "-m", context_model)
    assert r.returncode == ExitCode.BAD_INPUT and "too long for this model" in r.stderr and "at most 2" in r.stderr
    r = run_lstm("predict", "-m", context_model, input="4 5 6\n-1000 -2000 -3000\n")
    assert r.returncode == ExitCode.BAD_INPUT and r.stdout.splitlines()[1] == "" and r.stdout.splitlines()[0]
    assert "line 2: '-1000' has 4 digits, too long for this model" in r.stderr


def test_digits_written_lowest_first():
    """Each number's digits lowest first, and back; letters as they are."""
    assert [S.flip(x) for x in ("120", "-35", "7", "x")] == ["021", "-53", "7", "x"]
    assert [S.flip(x) for x in ("021", "-53", "7", "x")] == ["120", "-35", "7", "x"]


def test_a_lowest_first_model_is_given_and_answers_numbers_in_the_usual_order(random_net):
    """With lowest_first the predictor flips what it reads and what it answers, so it ranks (and
    scores) a sequence exactly as the plain predictor ranks the flipped sequence, any network."""
    net, vocab = random_net
    plain, low = S.Predictor(net, vocab, beam=6), S.Predictor(net, vocab, beam=6, lowest_first=True)
    seqs = [["12", "34", "56"], ["-5", "10", "-20", "40"], ["7", "8", "9", "10"]]
    flipped = [[S.flip(x) for x in s] for s in seqs]
    assert low.encode(seqs[1]) == plain.encode(flipped[1])
    for got, want in zip(low.ranked_many(seqs, 4), plain.ranked_many(flipped, 4)):
        back = list(dict.fromkeys(str(int(S.flip(c))) for c, _ in want))
        assert [c for c, _ in got] == back and got[0][1] == pytest.approx(want[0][1], rel=1e-9)
    answers = ["78", "-80", "11"]
    assert low.probability_many(seqs, answers) == pytest.approx(
        plain.probability_many(flipped, [S.flip(a) for a in answers]), rel=1e-9)


def test_the_digits_order_is_recorded_and_kept_by_a_fine_tune(tmp_path):
    """lstm train text --digits lowest-first goes into the model's data facts (Predictor.of reads
    it); a fine-tune from it keeps it unless told otherwise."""
    data = tmp_path / "low.txt"
    data.write_text("".join(" ".join(S.flip(str(a + i)) for i in range(5)) + "\n" for a in range(10, 60)))
    train_in_process(train_args(data, tmp_path / "low.pt", steps=4, digits="lowest-first"))
    train_in_process(train_args(data, tmp_path / "again.pt", steps=4, init=tmp_path / "low.pt"))
    for name in ("low.pt", "again.pt"):
        meta = torch.load(tmp_path / name, weights_only=False)["meta"]
        assert meta["data_facts"] == {"longest_number": 2, "digits": "lowest-first"}
        net, vocab = text.from_checkpoint(torch.load(tmp_path / name, weights_only=False))
        assert S.Predictor.of(net, vocab, meta).lowest_first
    train_in_process(train_args(data, tmp_path / "plain.pt", steps=4, init=tmp_path / "low.pt", digits="highest-first"))
    assert "digits" not in torch.load(tmp_path / "plain.pt", weights_only=False)["meta"]["data_facts"]
    r = run_lstm(*train_args(data, tmp_path / "x.pt", steps=4, digits="backwards"))
    assert r.returncode == ExitCode.USAGE and "--digits" in r.stderr

"""lstm write: the stroke formats (JSON lines, IAM-OnDB XML), the offset encoding, the model's
window and mixture density, a tiny model trained on a toy hand, the command and its bad input."""

from __future__ import annotations

import json
import math
import random

import pytest

from conftest import run_lstm, shared, train_in_process
from lstm_cli.core.errors import ExitCode, InputError
from lstm_cli.tasks.write import strokes as S

# ---------------------------------------------------------------- a toy hand


def _letter(c: str, x: float, rng: random.Random) -> list[list[tuple[float, float]]]:
    """'o' a small loop, 'l' a tall stroke, 'v' a vee; jittered."""
    j = lambda v: v + rng.gauss(0, 0.15)  # noqa: E731
    if c == "o":
        return [[(j(x + 3 + 3 * math.cos(a / 8 * 2 * math.pi)), j(-3 + 3 * math.sin(a / 8 * 2 * math.pi))) for a in range(9)]]
    if c == "l":
        return [[(j(x + 1), j(-10)), (j(x + 1.5), j(-5)), (j(x + 2), j(0))]]
    if c == "v":
        return [[(j(x), j(-6)), (j(x + 2), j(0)), (j(x + 4), j(-6))]]
    return []


def toy_sample(text: str, rng: random.Random):
    strokes, x = [], 0.0
    for c in text:
        strokes += _letter(c, x, rng)
        x += 7 if c != " " else 5
    return text, strokes


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory):
    def build(d):
        rng = random.Random(0)
        words = ["lo", "vo", "ol", "lov", "vol", "olv", "lol", "ovo", "vl"]
        for name, n in (("train", 160), ("val", 20)):
            with open(d / f"{name}.jsonl", "w") as f:
                for k in range(n):
                    text, st = toy_sample(" ".join(rng.choice(words) for _ in range(rng.randint(1, 2))), rng)
                    hand = {"hand": ("cursive", "print")[k % 2]} if name == "val" else {}  # the styles' labels
                    f.write(json.dumps({"text": text, **hand, "strokes": st}) + "\n")

    return shared(tmp_path_factory, "hand", build)


@pytest.fixture(scope="session")
def write_model(toy_data, tmp_path_factory):
    def build(d):
        train_in_process(["train", "write", "--data", toy_data / "train.jsonl", "--val-data", toy_data / "val.jsonl",
                          "-o", d / "hand.pt", "--hidden", 32, "--layers", 2, "--window", 3, "--mixture", 4,
                          "--batch-size", 16, "--max-steps", 120, "--lr", "5e-3", "--warmup", 10, "--eval-every", 40,
                          "--sample-every", 120, "--log-every", 40, "--random-seed", 0])

    return shared(tmp_path_factory, "hand-model", build) / "hand.pt"


# ---------------------------------------------------------------- formats


def test_offsets_round_trip():
    st = [[(3.0, 4.0), (5.0, 4.5)], [(9.0, 1.0)], [(10.0, 2.0), (11.0, 2.0), (12.5, 0.0)]]
    off = S.to_offsets(st)
    assert off[0] == (0.0, 0.0, 0.0) and [o[2] for o in off] == [0, 1, 1, 0, 0, 1]
    back = S.to_strokes(off)
    assert [[(x + 3, y + 4) for x, y in s] for s in back] == st


def test_jsonl_and_iam_readers(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "hi", "strokes": [[[0, 0], [1, 1]]]}\n\n')
    assert S.read_jsonl(tmp_path / "a.jsonl") == [("hi", [[(0.0, 0.0), (1.0, 1.0)]])]
    (tmp_path / "b.jsonl").write_text('{"text": "hi"}\n')
    with pytest.raises(InputError, match=r"b.jsonl:1: not a stroke sample"):
        S.read_jsonl(tmp_path / "b.jsonl")
    iam = tmp_path / "iam"
    (iam / "ascii" / "a01" / "a01-000").mkdir(parents=True)
    (iam / "lineStrokes" / "a01" / "a01-000").mkdir(parents=True)
    (iam / "ascii" / "a01" / "a01-000" / "a01-000u.txt").write_text(
        "OCR:\n\nA MOVE to stop\n\nCSR:\n\nA MOVE to stop\nMr. Gaitskell\n")
    xml = ('<?xml version="1.0"?><WhiteboardCaptureSession><StrokeSet>'
           '<Stroke colour="black"><Point x="10" y="20" time="0"/><Point x="12" y="21" time="1"/></Stroke>'
           '<Stroke colour="black"><Point x="15" y="20" time="2"/></Stroke></StrokeSet></WhiteboardCaptureSession>')
    for k in (1, 2, 3):  # line 3 has no transcription
        (iam / "lineStrokes" / "a01" / "a01-000" / f"a01-000u-0{k}.xml").write_text(xml)
    notes = []
    samples = S.read_samples([str(iam)], log=notes.append)
    assert [t for t, _ in samples] == ["A MOVE to stop", "Mr. Gaitskell"]
    assert samples[0][1] == [[(10.0, 20.0), (12.0, 21.0)], [(15.0, 20.0)]]
    assert any("without a transcription" in n for n in notes)
    with pytest.raises(InputError, match="no .jsonl or .inkml files"):
        S.read_samples([str(tmp_path / "iam" / "ascii")], log=notes.append)
    # malformed, truncated, absurd: one clear error for our format, a skipped file for IAM's
    for k, bad in enumerate(['{"text": "hi", "strokes": [[[0, NaN]]]}', '{"text": "hi", "strokes": [[[1e30, 0]]]}',
                             '{"text": "hi", "strokes": [[[0, 0], [1', '{"text": "hi", "strokes": [[[0, "a"]]]}']):
        (tmp_path / f"bad{k}.jsonl").write_text(bad + "\n")
        with pytest.raises(InputError, match=f"bad{k}.jsonl:1: not a stroke sample"):
            S.read_jsonl(tmp_path / f"bad{k}.jsonl")
    (iam / "lineStrokes" / "a01" / "a01-000" / "a01-000u-01.xml").write_text(xml[:90])  # truncated
    (iam / "lineStrokes" / "a01" / "a01-000" / "a01-000u-02.xml").write_text(xml.replace('x="12"', 'x="inf"'))
    notes = []
    with pytest.raises(InputError, match="no usable stroke sample"):
        S.read_samples([str(iam)], log=notes.append)
    assert any("not XML" in n for n in notes) and any("without usable x and y" in n for n in notes)
    (tmp_path / "empty.jsonl").write_text('{"text": "hi", "strokes": [[]]}\n')
    with pytest.raises(InputError, match="no usable stroke sample"):
        S.read_samples([str(tmp_path / "empty.jsonl")], log=notes.append)


def test_a_line_that_changes_hands(tmp_path):
    """"hands" names each stroke's hand (an empty stroke dropped with its name); a wrong count is a
    bad line. Each point then carries its stroke's hand, and each input the hand of the point to
    come (where a word in the other hand begins, the input before it already says so)."""
    import torch

    from lstm_cli.tasks.write import WriteConfig, pad, tensors

    good = {"text": "a b", "hands": ["print", "cursive", "print"], "strokes": [[[0, 0], [1, 1]], [], [[5, 0], [6, 1], [7, 0]]]}
    (tmp_path / "m.jsonl").write_text(json.dumps(good) + "\n" + json.dumps({**good, "hands": ["print"]}) + "\n")
    with pytest.raises(InputError, match="m.jsonl:2: not a stroke sample.*one name per stroke"):
        S.read_jsonl(tmp_path / "m.jsonl")
    (tmp_path / "m.jsonl").write_text(json.dumps(good) + "\n" + json.dumps({**good, "hands": None, "hand": "cursive"}))
    mixed, whole = S.read_jsonl(tmp_path / "m.jsonl")
    assert mixed.stroke_hands == ["print", "print"] and whole.stroke_hands is None and whole.hand == "cursive"
    cfg = WriteConfig(alphabet=" ab", hands=("cursive", "print"))
    (_, _, h1), (_, _, h2) = items = tensors([mixed, whole], cfg)
    assert h1.tolist() == [1] * 5 and h2.tolist() == [0] * 5
    mixed.stroke_hands = ["cursive", "print"]
    items[0] = tensors([mixed], cfg)[0]
    assert items[0][2].tolist() == [0, 0, 1, 1, 1]
    hands = pad(items)[5]
    assert hands.tolist() == [[0, 1, 1, 1], [0, 0, 0, 0]]
    assert tensors([mixed], WriteConfig(alphabet=" ab"))[0][2].tolist() == [-1] * 5  # a model without hands


class _FakeFont:
    """What hershey's layout reads of a font: a glyph per character, one stroke each (none for a
    space), 10 units wide: the strokes of letters side by side do not join."""

    class Glyph:
        def __init__(self, c):
            self.strokes = [] if c == " " else [[(0.0, 0.0), (3.0, -10.0), (6.0, 0.0)]]
            self.left_offset, self.char_width = 0.0, 10.0

    def glyphs_for_text(self, text):
        return [self.Glyph(c) for c in text]


def test_hershey_words_each_in_its_own_hand():
    """write_mixed: each stroke named with its word's hand, the words side by side left to right."""
    from lstm_cli.tasks.write import hershey

    fonts = {"rowmans": _FakeFont(), "scripts": _FakeFont()}
    st, hands = hershey.write_mixed(fonts, [("Ab", "rowmans"), ("cd", "scripts"), ("e", "rowmans")], random.Random(3))
    assert hands == ["print", "print", "cursive", "cursive", "print"]
    lefts = [min(x for x, _ in s) for s in st]
    assert lefts == sorted(lefts) and lefts[2] - lefts[1] > lefts[3] - lefts[2] + 5  # a space between the words


INKML = """<?xml version="1.0"?>
<ink xmlns="http://www.w3.org/2003/InkML">
  <traceFormat><channel name="T" type="decimal"/><channel name="X" type="decimal"/>
    <channel name="Y" type="decimal"/><channel name="F" type="integer"/></traceFormat>
  <annotation type="truth">{text}</annotation>
  <trace>0 10 20 5, 1 12 21 6</trace>
  <trace>2 15 20 7</trace>
</ink>"""


def test_inkml_reader(tmp_path):
    """x and y from the channels named X and Y (here after a time channel, before a pressure one);
    the truth annotation is the text; bad files are skipped with a warning."""
    (tmp_path / "a.inkml").write_text(INKML.format(text="hi"))
    assert S.read_inkml(tmp_path / "a.inkml") == [("hi", [[(10.0, 20.0), (12.0, 21.0)], [(15.0, 20.0)]])]
    plain = '<ink><annotation type="truth">ok</annotation><trace>1 2, 3 4</trace></ink>'
    (tmp_path / "b.inkml").write_text(plain)  # no namespace, no traceFormat: the first two values
    assert S.read_inkml(tmp_path / "b.inkml") == [("ok", [[(1.0, 2.0), (3.0, 4.0)]])]
    notes = []
    for k, bad in enumerate([INKML.format(text="x")[:120], plain.replace("3 4", "3 nan"), plain.replace("3 4", "3"),
                             plain.replace("1 2, 3 4", "1 2, '3 '4")]):
        (tmp_path / "bad" / f"{k}.inkml").parent.mkdir(exist_ok=True)
        (tmp_path / "bad" / f"{k}.inkml").write_text(bad)
        assert S.read_inkml(tmp_path / "bad" / f"{k}.inkml", log=notes.append) == []
    assert len(notes) == 4 and "not XML" in notes[0] and all("skipping" in n for n in notes)
    got = S.read_samples([str(tmp_path)], log=notes.append)  # a folder: both files (the bad ones skipped)
    assert sorted(t for t, _ in got) == ["hi", "ok"]


def test_window_moves_forward_and_state_continues():
    import torch

    from lstm_cli.tasks.write.model import WriteConfig, WriteNet, mixture, nll

    torch.manual_seed(0)
    net = WriteNet(WriteConfig(alphabet="lov ", hidden=16, layers=3, window=2, mixture=3))
    x = torch.randn(2, 30, 3)
    x[..., 2] = (torch.rand(2, 30) < 0.2).float()
    text = torch.tensor([[1, 2, 3, 4], [2, 3, 0, 0]])
    tm = text != 0
    y, phi, _ = net(x, text, tm)
    assert y.shape == (2, 30, 1 + 6 * 3) and phi.shape == (2, 30, 5)
    assert float(phi[1, :, 2:4].detach().abs().max()) == 0.0  # padding is never read
    y1, _, s = net(x[:, :12], text, tm)
    y2, _, _ = net(x[:, 12:], text, tm, s)
    assert torch.allclose(torch.cat([y1, y2], 1), y, atol=1e-5)
    loss = nll(y, x, torch.ones(2, 30), 3)
    assert torch.isfinite(loss)
    # the bias sharpens: smaller sigmas, weights closer to one component
    _, lp0, _, _, ls0, _, _ = mixture(y[0, 0].detach(), 3, 0.0)
    _, lp2, _, _, ls2, _, _ = mixture(y[0, 0].detach(), 3, 2.0)
    assert bool((ls2 < ls0).all()) and float(lp2.exp().max()) >= float(lp0.exp().max())


def test_mixture_density_loss_against_a_direct_computation():
    """nll = -log sum_j pi_j N2(dx, dy | mu_j, sigma_j, rho_j) - log Bernoulli(up | e), written
    out with the bivariate normal's textbook density for one point."""
    import torch

    from lstm_cli.tasks.write.model import mixture, nll

    torch.manual_seed(1)
    M = 3
    y = torch.randn(1, 1, 1 + 6 * M)
    target = torch.tensor([[[0.3, -0.7, 1.0]]])
    e, log_pi, mx, my, lsx, lsy, rho = (t[0, 0] for t in mixture(y, M))
    dx, dy, up = target[0, 0].tolist()
    density = 0.0
    for j in range(M):
        sx, sy, r = math.exp(lsx[j]), math.exp(lsy[j]), float(rho[j])
        zx, zy = (dx - float(mx[j])) / sx, (dy - float(my[j])) / sy
        z = zx * zx + zy * zy - 2 * r * zx * zy
        density += math.exp(float(log_pi[j])) * math.exp(-z / (2 * (1 - r * r))) / (2 * math.pi * sx * sy * math.sqrt(1 - r * r))
    p_up = 1 / (1 + math.exp(-float(e)))
    direct = -math.log(density) - math.log(p_up if up else 1 - p_up)
    assert float(nll(y, target, torch.ones(1, 1), M)) == pytest.approx(direct, rel=1e-5)


class _ScriptedPen:
    """A stand-in for pen.Pen: row b's window passes the text's end at step ``past[b]``, and its
    pen lifts at the steps in ``ups[b]`` (a huge end-of-stroke logit), else stays down."""

    def __init__(self, past: list, ups: list, U: int = 2, M: int = 2, begin: int = 0):
        self.past, self.ups, self.B, self.U, self.M, self.t = past, ups, len(past), U, M, 0
        self.begin = begin  # before this step the window is on character 0, then on 1

    def step(self, x):
        import numpy as np

        y = np.zeros((self.B, 1 + 6 * self.M), np.float32)
        phi = np.zeros((self.B, self.U + 1), np.float32)
        for b in range(self.B):
            y[b, 0] = 50.0 if self.t in self.ups[b] else -50.0
            phi[b, -1 if self.t >= self.past[b] else int(self.t >= self.begin)] = 1.0
        self.t += 1
        return y, phi


def test_sampling_stop_rule_and_cap():
    """Graves' rule with the finishing points, and the cap; each row of a batch stops on its own."""
    import numpy as np

    from lstm_cli.tasks.write import FINISH_POINTS
    from lstm_cli.tasks.write.pen import draw

    def lengths(past, ups, cap=10 ** 4):
        points, phis, _ = draw(_ScriptedPen(past, ups), (1.0, 1.0), 2, 0.0, np.random.default_rng(0), cap)
        assert [len(p) for p in points] == [len(p) for p in phis]
        return [len(p) for p in points]

    assert lengths([10], [{10}]) == [11]  # passed the end with the pen up: stop there
    assert lengths([10], [{3, 14}]) == [15]  # ... else at the end of that stroke
    assert lengths([10], [set()]) == [11 + FINISH_POINTS]  # ... at most this much later
    assert lengths([10 ** 6], [set()], cap=25) == [25]  # the hard cap
    # one batch, rows stopping at their own times, the cap for the one that never does
    assert lengths([10, 4, 10, 10 ** 6], [{10}, {4}, {3, 14}, set()], cap=60) == [11, 5, 15, 60]


def test_what_the_pen_draws_on_the_primers_text_is_left_out():
    """With a primer (its text the first ``skip`` characters), points drawn while the window is
    still on that text are not this line's: the first 4 here; all kept if it never moves on."""
    import numpy as np

    from lstm_cli.tasks.write.pen import draw

    g = lambda: np.random.default_rng(0)  # noqa: E731
    full, _, _ = draw(_ScriptedPen([10], [{10}], U=3, begin=4), (1.0, 1.0), 2, 0.0, g(), 100)
    kept, phis, _ = draw(_ScriptedPen([10], [{10}], U=3, begin=4), (1.0, 1.0), 2, 0.0, g(), 100, skip=1)
    assert len(full[0]) == 11 and kept[0] == full[0][4:] and len(phis[0]) == 7
    never, _, _ = draw(_ScriptedPen([10 ** 6], [set()], U=3, begin=10 ** 6), (1.0, 1.0), 2, 0.0, g(), 30, skip=1)
    assert len(never[0]) == 30


def test_the_points_yielded_as_drawn_are_those_kept():
    """pen.drawing yields each step's points and which rows keep them (``lstm serve`` streams
    them): gathered row by row, they are what it returns, rows of one batch stopping and
    reaching their text at their own steps."""
    import numpy as np

    from lstm_cli.tasks.write.pen import drawing

    steps = drawing(_ScriptedPen([10, 6, 10 ** 6], [{10}, {3, 8}, set()], U=3, begin=4), (2.0, 3.0), 2, 0.0,
                    np.random.default_rng(0), 40, skip=1)
    streamed = [[], [], []]
    while True:
        try:
            points, kept = next(steps)
        except StopIteration as done:
            drawn = done.value[0]
            break
        for b in np.flatnonzero(kept):
            streamed[b].append(points[b].tolist())
    assert [len(p) for p in drawn] == [7, 5, 36] and streamed == drawn


def test_a_long_page_says_how_far_it_got(write_model, tmp_path, capsys, monkeypatch):
    """lstm write of a page of PROGRESS_LINES lines or more says on stderr every so often how
    many lines are done (a 30-line page takes half a minute); shorter pages, such as the
    README's, and write_page (lstm serve's) say nothing of it."""
    import time as clock

    from lstm_cli.tasks import write as W

    now = [0.0]

    def tick():
        now[0] += 2.0  # every reading of the clock: 2 s later
        return now[0]

    monkeypatch.setattr(clock, "perf_counter", tick)
    long, short = (W.write(str(write_model), text, None, random_seed=1, line_chars=2, log=lambda m: None)
                   and capsys.readouterr().err for text in ("lo vo ol lo vo", "lo vo ol"))
    assert "lstm: writing: " in long and "of 5 lines" in long and "writing" not in short, (long, short)
    ck = W.checkpoint.load(write_model, arrays=True)
    W.write_page(ck, W.pen.weights_of(ck), "lo vo ol lo vo", random_seed=1, line_chars=2)
    assert "writing" not in capsys.readouterr().err


def test_write_strokes_default_cap():
    """Without ``max_points``: 40 points a letter + 100."""
    import torch

    from lstm_cli.tasks.write import WriteConfig, WriteNet, write_strokes

    torch.manual_seed(0)
    net = WriteNet(WriteConfig(alphabet="lov", hidden=8, layers=2, window=2, mixture=2))
    with torch.no_grad():
        net.window.bias[4:].fill_(-30.0)  # a window that never moves: the rule never fires
    st, phis = write_strokes(net, "lo", random_seed=0)
    assert len(phis) == sum(map(len, st)) == 40 * 2 + 100


@pytest.mark.parametrize("primed,hand", [(False, None), (True, None), (False, 1), (True, 0), (True, -1)])
def test_the_pen_steps_as_the_network_runs(primed, hand, monkeypatch):
    """The numpy pen, stepped point by point for 3 rows at once, gives the torch network's outputs
    and window over the same points (from nothing, or after a primer, which the pen reads itself
    at one row and the network reads whole; in a hand, for a model that takes one, or with none
    said); its products in blocks of 8 columns, two a gate, as the shipped writers' in 64."""
    import numpy as np
    import torch

    from lstm_cli.tasks.write import WriteConfig, WriteNet, encode_text, pen
    from lstm_cli.tasks.write.pen import start

    monkeypatch.setattr(pen, "BLOCK", 8)

    torch.manual_seed(1)
    hands = () if hand is None else ("cursive", "print")
    net = WriteNet(WriteConfig(alphabet=" lov", hidden=16, layers=3, window=3, mixture=4, hands=hands)).eval()
    ids = encode_text(net.cfg.alphabet, "lol vo" if primed else "vo")
    t = torch.tensor([ids])
    tm = torch.ones_like(t, dtype=torch.bool)
    primer = torch.randn(12, 3) if primed else None
    x = torch.randn(20, 3)
    told = None if hand is None else torch.tensor([hand])
    with torch.no_grad():
        state = net(primer[None], t, tm, hand=told)[2] if primed else None
        y, phi, _ = net(x[None], t, tm, state, hand=told)
        if hand is not None:  # the hand changes what it writes
            other = net(x[None], t, tm, hand=torch.tensor([1 - max(hand, 0)]))[0]
            assert (other - net(x[None], t, tm, hand=told)[0]).abs().max() > 1e-3
    pen, _ = start(net, ids, 3, primer, hand)
    for k in range(20):
        py, pphi = pen.step(np.repeat(x[k: k + 1].numpy(), 3, 0))
        np.testing.assert_allclose(py, np.repeat(y[0, k: k + 1].numpy(), 3, 0), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(pphi, np.repeat(phi[0, k: k + 1].numpy(), 3, 0), rtol=1e-4, atol=1e-6)


def test_a_primer_read_whole_leaves_the_state_stepping_would(monkeypatch):
    """Pen.read (the layers above the first over all the primer's points at once) leaves the
    state that stepping through the points leaves, with rows in two hands and products in blocks."""
    import numpy as np
    import torch

    from lstm_cli.tasks.write import WriteConfig, WriteNet, encode_text, pen

    monkeypatch.setattr(pen, "BLOCK", 8)
    torch.manual_seed(4)
    net = pen.weights(WriteNet(WriteConfig(alphabet=" lov", hidden=16, layers=3, window=3, mixture=4,
                                           hands=("cursive", "print"))))
    ids = encode_text(net.cfg.alphabet, "lol vo")
    xs = np.random.default_rng(0).standard_normal((15, 3)).astype(np.float32)
    whole, stepped = pen.Pen(net, ids, 2, hand=np.array([1, -1])), pen.Pen(net, ids, 2, hand=np.array([1, -1]))
    whole.read(xs)
    for x in xs:
        stepped.step(np.repeat(x[None], 2, 0))
    for a, b in zip(whole.state([0, 1]), stepped.state([0, 1])):
        np.testing.assert_allclose(a[:, -16:], b[:, -16:], rtol=1e-5, atol=1e-6)  # own h, c, the window
    y1, phi1 = whole.step(xs[:2])
    y2, phi2 = stepped.step(xs[:2])
    np.testing.assert_allclose(y1, y2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(phi1, phi2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("primed", [False, True])
def test_a_guided_pen_moves_the_untold_outputs_towards_the_told(primed):
    """pen.Guided: its rows are a told pen's and an untold pen's stepped together; at scale 1 it
    gives the told outputs, at scale s untold + s (told - untold); the window is the told one."""
    import numpy as np
    import torch

    from lstm_cli.tasks.write import WriteConfig, WriteNet, encode_text
    from lstm_cli.tasks.write.pen import Guided, start

    torch.manual_seed(3)
    net = WriteNet(WriteConfig(alphabet=" lov", hidden=16, layers=3, window=3, mixture=4, hands=("cursive", "print"))).eval()
    ids = encode_text(net.cfg.alphabet, "lol vo" if primed else "vo")
    primer = torch.randn(12, 3) if primed else None
    told, _ = start(net, ids, 2, primer, 1)
    untold, _ = start(net, ids, 2, primer, -1)
    guided, x0 = start(net, ids, 2, primer, 1, guidance=2.5)
    assert isinstance(guided, Guided) and guided.B == 2 and (x0 is None) == (not primed)
    assert not isinstance(start(net, ids, 2, primer, -1, guidance=2.5)[0], Guided)  # no hand: nothing to guide by
    for _ in range(6):
        x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
        (yt, pt), (yu, _), (yg, pg) = told.step(x), untold.step(x), guided.step(x)
        np.testing.assert_allclose(yg, yu + 2.5 * (yt - yu), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(pg, pt, rtol=1e-5, atol=1e-6)
    assert np.abs(yt - yu).max() > 1e-4


def test_a_model_given_hands_writes_as_before_until_trained():
    """with_hands: the hand's inputs weighted zero, so in any hand (or none) the outputs are the
    model's without hands."""
    import torch

    from lstm_cli.tasks.write import WriteConfig, WriteNet
    from lstm_cli.tasks.write.model import with_hands

    torch.manual_seed(2)
    net = WriteNet(WriteConfig(alphabet=" lov", hidden=16, layers=3, window=3, mixture=4)).eval()
    wide = with_hands(net, ("cursive", "print")).eval()
    assert wide.cfg.hands == ("cursive", "print") and wide.cell1.weight_ih.shape[1] == net.cell1.weight_ih.shape[1] + 2
    x, t = torch.randn(3, 15, 3), torch.tensor([[1, 2, 3, 1]] * 3)
    tm = torch.ones_like(t, dtype=torch.bool)
    with torch.no_grad():
        y = net(x, t, tm)[0]
        for hand in (None, torch.tensor([0, 1, -1])):
            torch.testing.assert_close(wide(x, t, tm, hand=hand)[0], y, rtol=1e-5, atol=1e-5)


def test_candidates_are_drawn_apart_and_reproducibly(write_model):
    """n candidates from one seed: the same n again, and not n copies of one drawing."""
    from lstm_cli.core import registry
    from lstm_cli.tasks.write import build_model, write_candidates

    ck = registry.load(str(write_model), "write")
    net = build_model(ck["config"])
    net.load_state_dict(ck["state_dict"])
    a = write_candidates(net, "lov", 4, random_seed=3)
    b = write_candidates(net, "lov", 4, random_seed=3)
    assert [d.strokes for d in a] == [d.strokes for d in b]
    assert len({str(d.strokes) for d in a}) == 4


# ---------------------------------------------------------------- a tiny model and the command


def test_training_lowers_the_held_out_loss(write_model, toy_data):
    """Against the same network untrained, the held-out loss falls by more than a nat per point."""
    import torch

    from lstm_cli.core import registry
    from lstm_cli.tasks import write as task

    ck = registry.load(str(write_model), "write")
    trained = task.build_model(ck["config"])
    trained.load_state_dict(ck["state_dict"])
    torch.manual_seed(0)
    fresh = task.build_model(ck["config"])
    val = task.tensors(S.read_jsonl(toy_data / "val.jsonl"), trained.cfg)
    assert task.loss_on(trained, val) < task.loss_on(fresh, val) - 1.0
    assert ck["vocab"]["styles"] and ck["config"]["alphabet"] == " lov"
    samples = sorted((write_model.parent / "hand.samples").iterdir())
    assert [p.name for p in samples] == ["step-000120.png", "step-000120.window.png"]


def test_fine_tuning_offers_the_new_hand_as_styles(write_model, tmp_path):
    """--init on someone's own strokes: --style N then offers their samples, not the old model's."""
    rng = random.Random(7)
    mine = tmp_path / "mine.jsonl"
    mine.write_text("".join(json.dumps({"text": t, "strokes": st}) + "\n"
                            for t, st in (toy_sample(rng.choice(["ol", "vo", "lol"]), rng) for _ in range(24))))
    out = tmp_path / "mine.pt"
    r = run_lstm("train", "write", "--init", write_model, "--data", mine, "-o", out, "--max-steps", 2,
                 "--batch-size", 4, "--sample-every", 0, "--eval-every", 2)
    assert r.returncode == 0, r.stderr
    from lstm_cli.core import checkpoint

    assert "warning" not in r.stderr  # 24 samples: one held out
    few = tmp_path / "few.jsonl"
    few.write_text("".join(mine.read_text().splitlines(keepends=True)[:10]))
    r2 = run_lstm("train", "write", "--init", write_model, "--data", few, "-o", tmp_path / "few.pt", "--max-steps", 1,
                  "--batch-size", 4, "--sample-every", 0)
    assert r2.returncode == 0 and "warning: no validation samples (10 given" in r2.stderr, r2.stderr  # once silent
    styles = checkpoint.load(out)["vocab"]["styles"]
    assert styles and {s["text"] for s in styles} <= {"ol", "vo", "lol"}


@pytest.fixture(scope="session")
def hands_model(write_model, tmp_path_factory):
    """The toy model fine-tuned on lines that name their hand (a few steps): it now takes one."""
    def build(d):
        rng = random.Random(5)
        with open(d / "named.jsonl", "w") as f:
            for k in range(40):
                text, st = toy_sample(rng.choice(["lo", "vo", "lol", "ov"]), rng)
                f.write(json.dumps({"text": text, "hand": ("cursive", "print")[k % 2], "strokes": st}) + "\n")
        train_in_process(["train", "write", "--init", write_model, "--data", d / "named.jsonl", "-o", d / "named.pt",
                          "--max-steps", 3, "--batch-size", 8, "--sample-every", 0, "--eval-every", 3,
                          "--random-seed", 0])

    return shared(tmp_path_factory, "hands-model", build) / "named.pt"


def test_fine_tuning_on_named_hands_teaches_the_model_to_take_one(hands_model, write_model):
    """--init a model without hands on lines that name theirs: the checkpoint knows both hands
    and the hand inputs have moved from zero; the rest of the network is the same size."""
    from lstm_cli.core import checkpoint

    before, after = checkpoint.load(write_model), checkpoint.load(hands_model)
    assert not before["config"].get("hands") and tuple(after["config"]["hands"]) == ("cursive", "print")
    w = after["state_dict"]["cell1.weight_ih"]
    assert w.shape[1] == before["state_dict"]["cell1.weight_ih"].shape[1] + 2
    assert w[:, 3:5].abs().max() > 0  # trained from zero
    assert {s.get("hand") for s in after["vocab"]["styles"]} == {"cursive", "print"}


def test_the_page_tells_the_pen_its_hand(hands_model, write_model, monkeypatch, tmp_path):
    """--hand H, or a kept style labelled H: every line drawn in hand H (its index in the
    model's hands); a style file of the user's, or nothing: no hand said (-1); a model without
    hands: -1 whatever is asked."""
    from lstm_cli.core import checkpoint
    from lstm_cli.tasks import write as W

    told, real = [], W.candidates

    def recording(*args, hand=None, **kw):
        told.append(hand)
        return real(*args, hand=hand, **kw)

    monkeypatch.setattr(W, "candidates", recording)
    for model, knows in ((hands_model, True), (write_model, False)):
        ckpt = checkpoint.load(model)
        net = checkpoint.weights_into(W.build_model(ckpt["config"]), ckpt)
        labels = [s.get("hand") for s in ckpt["vocab"]["styles"]]
        mine = tmp_path / "mine.jsonl"  # a stroke file of the user's, even one that names a hand
        mine.write_text(json.dumps({"text": "lo", "hand": "print", "strokes": toy_sample("lo", random.Random(1))[1]}))
        for style, hand, want in ((None, None, -1), (None, "print", 1), (None, "cursive", 0),
                                  (labels.index("print"), None, 1), (labels.index("cursive"), None, 0),
                                  (str(mine), None, -1)):
            told.clear()
            W.write_page(ckpt, net, "lo vo ol", style=style, hand=hand, random_seed=1, line_chars=5)
            assert told == [want if knows else -1] * 2, (style, hand)
    ckpt = checkpoint.load(hands_model)  # its styles unlabelled (lines that only name each stroke's hand)
    net = checkpoint.weights_into(W.build_model(ckpt["config"]), ckpt)
    for s in ckpt["vocab"]["styles"]:
        s.pop("hand", None)
    told.clear()
    W.write_page(ckpt, net, "lo vo ol", hand="print", random_seed=1, line_chars=5)
    assert told == [1, 1]


def test_write_png_svg_strokes_and_seed(write_model, tmp_path):
    png = tmp_path / "h.png"
    r = run_lstm("write", "lov", "-m", write_model, "-o", png, "--random-seed", 1, "--strokes", "-")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["text"] == "lov" and row["strokes"] and all(len(p) == 2 for s in row["strokes"] for p in s)
    r2 = run_lstm("write", "lov", "-m", write_model, "-o", tmp_path / "h2.png", "--random-seed", 1, "--strokes", "-")
    assert r2.stdout == r.stdout  # the seed decides
    from PIL import Image

    assert Image.open(png).width == 800
    svg = tmp_path / "h.svg"
    r = run_lstm("write", "lo", "-m", write_model, "-o", svg, "--style", "0", "--width", 300)
    assert r.returncode == 0, r.stderr
    import xml.etree.ElementTree as ET

    root = ET.parse(svg).getroot()
    assert root.get("width") == "300" and root.tag.endswith("svg")


def test_write_bad_input(write_model, tmp_path):
    out = tmp_path / "x.png"
    for args, code, needle in [(["lov!"], ExitCode.BAD_INPUT, "cannot write '!'"),
                               (["  "], ExitCode.BAD_INPUT, "empty"),
                               (["lo", "--style", "99"], ExitCode.USAGE, "styles 0 to"),
                               (["lo", "--style", "-1"], ExitCode.USAGE, "styles 0 to"),  # once: exit 3
                               (["lo", "--style", str(tmp_path / "none.jsonl")], ExitCode.BAD_INPUT, "--style")]:
        r = run_lstm("write", *args, "-m", write_model, "-o", out)
        assert r.returncode == code and needle in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
        assert not out.exists()
    r = run_lstm("write", "lo", "-m", write_model, "-o", tmp_path / "x.jpg")
    assert r.returncode == ExitCode.USAGE


def test_write_a_page_gif_attention_and_stdout(write_model, tmp_path):
    """Long text is wrapped into lines (one JSON row of strokes each, stacked on the page), -o -
    writes PNG bytes, --animate a GIF whose frames end with the whole page, --attention the window."""
    from PIL import Image

    gif, att = tmp_path / "pen.gif", tmp_path / "att.png"
    r = run_lstm("write", "lov vol\nlo", "-m", write_model, "-o", "-", "--line-chars", 3, "--random-seed", 2,
                 "--animate", gif, "--attention", att, input=b"")
    assert r.returncode == 0, r.stderr
    assert b"3 lines" in r.stderr
    import io

    raw = run_lstm("write", "lov vol\nlo", "-m", write_model, "-o", "-", "--line-chars", 3, "--random-seed", 2,
                   input=b"").stdout
    assert raw.startswith(b"\x89PNG")
    page = Image.open(io.BytesIO(raw))
    one = run_lstm("write", "lov", "-m", write_model, "-o", "-", "--random-seed", 2, input=b"").stdout
    assert page.height > Image.open(io.BytesIO(one)).height  # three lines stand taller than one
    g = Image.open(gif)
    assert g.format == "GIF" and g.n_frames == 60
    g.seek(g.n_frames - 1)
    last = g.convert("L")
    g.seek(0)
    first = g.convert("L")
    ink = lambda im: sum(im.histogram()[:128])  # noqa: E731
    assert 0 < ink(first) < ink(last)  # the pen draws more and more
    assert Image.open(att).format == "PNG"
    rows = run_lstm("write", "lov vol\nlo", "-m", write_model, "-o", tmp_path / "p.png", "--line-chars", 3,
                    "--random-seed", 2, "--strokes", "-").stdout.splitlines()
    assert [json.loads(x)["text"] for x in rows] == ["lov", "vol", "lo"]


def test_write_oov_skip_and_page_limit(write_model, tmp_path):
    out = tmp_path / "x.png"
    r = run_lstm("write", "lo!v", "-m", write_model, "-o", out, "--oov", "skip", "--strokes", "-", "--random-seed", 0)
    assert r.returncode == 0 and "left out" in r.stderr and json.loads(r.stdout)["text"] == "lov"
    r = run_lstm("write", " ".join(["lov"] * 200), "-m", write_model, "-o", tmp_path / "y.png", "--line-chars", 5)
    assert r.returncode == ExitCode.BAD_INPUT and "a page holds" in r.stderr
    assert not (tmp_path / "y.png").exists()
    r = run_lstm("write", "lo", "-m", write_model, "-o", "-", "--strokes", "-")
    assert r.returncode == ExitCode.USAGE


# ---------------------------------------------------------------- best of N


def _drawing(strokes: int, log_density: float = 0.0):
    from lstm_cli.tasks.write import Drawing

    return Drawing([[(float(k), 0.0), (k + 0.5, 1.0)] for k in range(strokes)], [], log_density)


class _FakeReader:
    """Reads the drawing with the given number of strokes likeliest; with ``hand_of`` (strokes ->
    a hand's name), it has a hand head that judges so."""

    def __init__(self, favourite: int, hand_of=None, names=("neat", "rough")):
        self.favourite, self.hand_of = favourite, hand_of
        self.hand_names = names if hand_of else ()

    def assess(self, text, drawings):
        import numpy as np

        scores = [0.0 if len(st) == self.favourite else -5.0 - len(st) for st in drawings]
        if not self.hand_of:
            return scores, None
        return scores, np.array([[float(self.hand_of(st) == n) for n in self.hand_names] for st in drawings])

    def hand_probs(self, drawings):
        return self.assess("", drawings)[1]

    def read(self, samples):
        return [[("", 0.0)] for _ in samples]


def test_best_of_keeps_what_the_reader_prefers_in_the_pages_hand():
    from lstm_cli.tasks.write import choose

    text = "abcd"  # 4 letters: 4+ strokes look printed (>= 0.7 a letter), 1-2 joined up
    drawings = [_drawing(n, -n) for n in (1, 2, 4, 5)]
    assert choose(drawings, text, _FakeReader(4))[:2] == (2, "print")
    assert choose(drawings, text, _FakeReader(1))[:2] == (0, "cursive")
    assert choose(drawings, text, _FakeReader(1), "print")[:2] == (2, "print")  # the reader's favourite is in the other hand
    assert choose(drawings, text, _FakeReader(5), "cursive")[0] == 0  # (-6 against -7)
    assert choose(drawings[:2], text, _FakeReader(1), "print")[0] == 0  # none in the hand: the favourite anyway
    assert choose(drawings, text)[0] == 0  # no reader: the likeliest under the writer (log density -1)


def test_best_of_judges_the_hand_by_the_readers_hand_head_where_it_has_one():
    """A reader with a hand head (lstm export --hands) names the hands; pen lifts are not asked."""
    from lstm_cli.tasks.write import choose

    drawings = [_drawing(n, -n) for n in (1, 2, 4, 5)]
    odd = _FakeReader(1, hand_of=lambda st: "rough" if len(st) % 2 else "neat")
    assert choose(drawings, "abcd", odd, "neat")[:2] == (1, "neat")  # 2 strokes: the likeliest of the neat ones
    assert choose(drawings, "abcd", odd, "rough")[:2] == (0, "rough")
    assert choose(drawings, "abcd", odd)[:2] == (0, "rough")
    assert choose(drawings, "abcd", odd, "print")[0] == 0  # a hand it does not name: none in it, the favourite


def test_word_ink_groups_strokes_by_the_word_the_window_was_on():
    from lstm_cli.tasks.write import word_ink

    text = "ab cd"  # words 0 (a, b) and 1 (c, d); columns: a b ' ' c d, past the end
    row = lambda k: [1.0 if j == k else 0.0 for j in range(len(text) + 1)]  # noqa: E731
    strokes = [[(0, 0), (1, 0)], [(2, 0)], [(3, 0), (4, 0), (5, 0)], [(6, 0)]]
    phis = [row(0), row(1), row(1), row(3), row(2), row(4), row(5)]  # the space and the end belong to no word
    groups = word_ink(text, strokes, phis)
    assert groups == [("ab", [strokes[0], strokes[1]]), ("cd", [strokes[2]])]  # the last stroke: past the text


def test_a_line_kept_in_the_other_hand_is_said_on_stderr(write_model, monkeypatch):
    """When none of the N drawings of a line is judged in the page's hand, the line is named on the
    log; lines in the hand are not, nor lines of only short words (1-3 letters) and numbers."""
    from lstm_cli.core import checkpoint
    from lstm_cli.tasks import write as W

    ckpt = checkpoint.load(write_model)
    net = checkpoint.weights_into(W.build_model(ckpt["config"]), ckpt)
    for judged, warned in (("print", 1), ("cursive", 0)):
        logged = []
        judge = _FakeReader(0, hand_of=lambda st: judged, names=("cursive", "print"))
        monkeypatch.setattr(W, "load_judge", lambda reader, log: judge)
        W.write_page(ckpt, net, "lovo vool ol", hand="cursive", best_of=3, random_seed=1, line_chars=9, log=logged.append)
        said = ["lstm: warning: line 1: 2 of its 2 longer words look print, not cursive;"]  # "lovo vool"; "ol": too short to say
        assert [m[: len(said[0])] for m in logged] == said[:warned]


def test_best_of_holds_every_word_to_the_hand():
    """With a hand head and the window's rows, a drawing is judged word by word (words of 4
    letters or more): one that turns to the other hand within the line loses to one in the hand
    throughout, though the reader prefers it; with none in the hand throughout, the one with
    most words in it; a line of short words only is judged as a whole."""
    from lstm_cli.tasks.write import Drawing, choose

    def drawing(text, word_strokes: tuple, log_density=0.0):  # word -> that many strokes of 2 points
        row = lambda k: [1.0 if j == k else 0.0 for j in range(len(text) + 1)]  # noqa: E731
        starts = [i for i, c in enumerate(text) if c != " " and (i == 0 or text[i - 1] == " ")]
        strokes, phis = [], []
        for start, n in zip(starts, word_strokes):
            strokes += [[(float(k), 0.0), (k + 0.5, 1.0)] for k in range(n)]
            phis += [row(start)] * (2 * n)
        return Drawing(strokes, phis, log_density)

    judge = _FakeReader(3, hand_of=lambda st: "rough" if len(st) % 2 else "neat")  # odd strokes: rough
    text = "abcd efgh"
    mixed, neat, rough = drawing(text, (2, 1)), drawing(text, (2, 2)), drawing(text, (1, 1))
    assert choose([mixed, neat], text, judge, "neat")[:2] == (1, "neat")  # the reader favours the 3 strokes of mixed
    assert choose([mixed, neat], text, judge)[0] == 0
    assert choose([rough, mixed], text, judge, "neat")[:2] == (1, "neat")  # half its words neat (a tie: its first word's hand)
    assert choose([rough, mixed], text, judge, "rough")[:2] == (0, "rough")
    short = "ab cd"  # no word of 4 letters: the line as a whole (3 strokes: rough)
    assert choose([drawing(short, (2, 1)), drawing(short, (2, 2))], short, judge, "rough")[:2] == (0, "rough")


def test_a_page_keeps_the_hand_the_readers_head_names(write_model, monkeypatch):
    """--best-of with a reader that has a hand head: --hand (here one of the head's names) is the
    hand every line is held to; without --hand or a style, the first line's as judged."""
    from lstm_cli.core import checkpoint
    from lstm_cli.tasks import write as W

    ckpt = checkpoint.load(write_model)
    net = checkpoint.weights_into(W.build_model(ckpt["config"]), ckpt)
    asked, judged = [], []
    real = W.choose

    def recording(drawings, text, judge=None, hand=None, threshold=W.PRINT_LIFTS):
        asked.append(hand)
        judged.append(real(drawings, text, judge, hand, threshold))
        return judged[-1]

    judge = _FakeReader(0, hand_of=lambda st: "print" if len(st) % 2 else "cursive", names=("cursive", "print"))
    monkeypatch.setattr(W, "choose", recording)
    monkeypatch.setattr(W, "load_judge", lambda reader, log: judge)
    monkeypatch.setattr(W, "REDRAWS", 0)  # one choice a line (redrawing: the test below)
    W.write_page(ckpt, net, "lo vo ol", hand="print", best_of=3, random_seed=1, line_chars=5)
    assert asked == ["print", "print"]
    asked.clear()
    W.write_page(ckpt, net, "lo vo ol lov", best_of=3, random_seed=1, line_chars=5)
    assert asked == [None, judged[0][1], judged[0][1]]


def test_a_line_with_no_drawing_in_the_hand_is_drawn_again(write_model, monkeypatch):
    """--best-of N: when none of a line's N drawings is judged all in the page's hand, N more are
    drawn (another seed) and the best of all 2N kept; a line with one in the hand is not redrawn,
    nor a line of short words and numbers only (both fonts draw digits alike)."""
    from lstm_cli.core import checkpoint
    from lstm_cli.tasks import write as W

    ckpt = checkpoint.load(write_model)
    net = checkpoint.weights_into(W.build_model(ckpt["config"]), ckpt)
    judge = _FakeReader(0, hand_of=lambda st: "print", names=("cursive", "print"))
    monkeypatch.setattr(W, "load_judge", lambda reader, log: judge)
    seeds, seen, real = [], [], W.candidates

    def counted(net, text, n, bias, seed, *a, **k):
        seeds.append(seed)
        return real(net, text, n, bias, seed, *a, **k)

    def choosing(drawings, text, judge=None, hand=None, threshold=W.PRINT_LIFTS):
        seen.append(len(drawings))  # the first batch: all in the other hand; with the second, the last kept
        fits = len(drawings) > 3
        return W.Choice(len(drawings) - 1, "cursive" if fits else "print", ["cursive" if fits else "print"])

    monkeypatch.setattr(W, "candidates", counted)
    monkeypatch.setattr(W, "choose", choosing)
    logged = []
    lines, page, _, _ = W.write_page(ckpt, net, "lovo", hand="cursive", best_of=3, random_seed=5, log=logged.append)
    assert seeds == [5, 5 + W.REDRAW_SEED] and seen == [3, 6] and not logged  # mended: nothing to warn of
    seeds.clear()
    again = W.write_page(ckpt, net, "lovo", hand="cursive", best_of=3, random_seed=5, log=logged.append)[1]
    assert again == page  # the redraw's seed follows from the line's
    monkeypatch.setattr(W, "choose", lambda drawings, *a, **k: W.Choice(0, "cursive", ["cursive"]))
    seeds.clear()
    W.write_page(ckpt, net, "lovo", hand="cursive", best_of=3, random_seed=5)
    assert seeds == [5]  # in the hand at once: not redrawn
    monkeypatch.setattr(W, "choose", choosing)
    seeds.clear()
    W.write_page(ckpt, net, "lo vo ol", hand="cursive", best_of=3, random_seed=5, log=logged.append)
    assert seeds == [5] and not logged  # short words only, judged as a line: neither redrawn nor warned of


def test_a_page_in_a_chosen_hand_primes_every_line_with_it(write_model, monkeypatch):
    """With --style or --hand, each line is primed with that sample (a line that drifted into the
    other hand does not hand its drift on); without, with the line before it."""
    from lstm_cli.core import checkpoint
    from lstm_cli.tasks import write as W

    ckpt = checkpoint.load(write_model)
    net = checkpoint.weights_into(W.build_model(ckpt["config"]), ckpt)
    primers, real = [], W.candidates

    def recording(model, text, n, bias, seed, style, *rest, **kw):
        primers.append(style[0] if style else None)
        return real(model, text, n, bias, seed, style, *rest, **kw)

    monkeypatch.setattr(W, "candidates", recording)
    for style, hand in ((None, None), (1, None), (None, "print")):
        primers.clear()
        lines = W.write_page(ckpt, net, "lo vo ol lov", style=style, hand=hand, random_seed=1, line_chars=5)[0]
        sample = ckpt["vocab"]["styles"][style if style is not None else int(W._hand(ckpt, hand or "print"))]["text"]
        assert lines == ["lo vo", "ol", "lov"]
        assert primers == ([None, "lo vo", "ol"] if style is None and hand is None else [sample] * 3)


def test_the_print_threshold_lies_between_the_models_own_hands():
    """print_lifts: halfway between the pen lifts a letter of the model's print and cursive styles
    (both hands of the Hershey fonts lift at every letter); without both hands labelled, the
    default; choose holds drawings to the page's hand by it."""
    from lstm_cli.tasks.write import PRINT_LIFTS, choose, print_lifts

    def style(hand, strokes, text="abcd"):
        return {"hand": hand, "text": text, "strokes": [[[k, 0.0], [k + 0.5, 1.0]] for k in range(strokes)]}

    ckpt = {"vocab": {"styles": [style("cursive", 4), style("print", 8), style("cursive", 6)]}}
    assert print_lifts(ckpt) == pytest.approx((2.0 + 1.25) / 2)
    assert print_lifts({"vocab": {"styles": [style("cursive", 4), style(None, 8)]}}) == PRINT_LIFTS
    assert print_lifts({"vocab": {}}) == PRINT_LIFTS
    drawings = [_drawing(n, -n) for n in (5, 7)]  # 1.25 and 1.75 lifts a letter of "abcd"
    assert choose(drawings, "abcd", hand="print", threshold=print_lifts(ckpt))[0] == 1
    assert choose(drawings, "abcd", hand="print")[0] == 0  # by the default, both look printed


def test_the_pen_draws_from_the_mixture_it_is_given():
    """pen.sample (numpy random numbers, not the torch sampler's draw order) against the mixture
    at a bias, computed directly: the first two moments of dx and dy, their covariance, and the
    share of pen lifts, over 40,000 draws, each within 5 standard errors."""
    import numpy as np

    from lstm_cli.tasks.write.pen import sample

    M, bias, n = 3, 0.5, 40_000
    e = np.array([0.4])
    pi, mx, my = np.array([0.2, 1.0, -0.5]), np.array([-2.0, 0.5, 3.0]), np.array([1.0, -1.0, 0.0])
    lsx, lsy, rho = np.array([0.1, -0.4, 0.3]), np.array([-0.2, 0.2, 0.0]), np.array([0.5, -1.0, 0.0])
    y = np.concatenate([e, pi, mx, my, lsx, lsy, rho]).astype(np.float32)[None].repeat(n, 0)
    rng = np.random.default_rng(0)
    pts = sample(y, M, bias, rng.random((n, 2)), rng.standard_normal((n, 2)))
    w = np.exp(pi * (1 + bias))
    w /= w.sum()
    sx, sy, r = np.exp(lsx - bias), np.exp(lsy - bias), np.tanh(rho)
    ex, ey = w @ mx, w @ my
    vx, vy = w @ (sx ** 2 + mx ** 2) - ex ** 2, w @ (sy ** 2 + my ** 2) - ey ** 2
    cxy = w @ (r * sx * sy + mx * my) - ex * ey
    dx, dy = pts[:, 0], pts[:, 1]
    assert abs(dx.mean() - ex) < 5 * np.sqrt(vx / n) and abs(dy.mean() - ey) < 5 * np.sqrt(vy / n)
    assert dx.var() == pytest.approx(vx, rel=0.05) and dy.var() == pytest.approx(vy, rel=0.05)
    assert np.cov(dx, dy)[0, 1] == pytest.approx(cxy, abs=0.05 * np.sqrt(vx * vy))
    lift = 1 / (1 + np.exp(-e[0]))
    assert abs(pts[:, 2].mean() - lift) < 5 * np.sqrt(lift * (1 - lift) / n)
    assert set(np.unique(pts[:, 2])) == {0.0, 1.0}


def test_the_drawn_points_density_is_the_training_loss():
    """pen._log_density of a point equals minus the training loss (model.nll) there."""
    import numpy as np
    import torch

    from lstm_cli.tasks.write.model import nll
    from lstm_cli.tasks.write.pen import _log_density

    torch.manual_seed(0)
    M = 3
    y = torch.randn(4, 1 + 6 * M)
    x = torch.randn(4, 3)
    x[:, 2] = torch.tensor([0.0, 1.0, 1.0, 0.0])
    e, pi, mx, my, lsx, lsy, rho = np.split(y.numpy(), np.cumsum([1, M, M, M, M, M]), 1)
    p = np.exp(pi) / np.exp(pi).sum(1, keepdims=True)
    mine = _log_density(x.numpy(), p, mx, my, lsx, lsy, rho, e[:, 0])
    for b in range(4):
        assert -mine[b] == pytest.approx(float(nll(y[b: b + 1, None], x[b: b + 1, None], torch.ones(1, 1), M)), rel=1e-4)


def test_best_of_bad_values_and_a_missing_reader(write_model, tmp_path):
    out = tmp_path / "w.png"
    for bad in ("0", "-2", "65", "x"):
        r = run_lstm("write", "lo", "--model", write_model, "-o", out, "--best-of", bad)
        assert r.returncode == ExitCode.USAGE and "--best-of" in r.stderr and "Traceback" not in r.stderr
    r = run_lstm("write", "lo", "--model", write_model, "-o", out, "--best-of", "2", "--reader", tmp_path / "none.pt")
    assert r.returncode == ExitCode.UNKNOWN_MODEL and not out.exists()


def test_hand_by_name(write_model, tmp_path):
    """--hand picks the first kept style labelled with that hand; unknown hands, --hand with
    --style, and a model whose styles carry no labels are refused with a hint."""
    from lstm_cli.core import registry
    from lstm_cli.core.errors import UsageError
    from lstm_cli.tasks.write import _hand

    ck = registry.load(str(write_model), "write")
    assert [s.get("hand") for s in ck["vocab"]["styles"]][:2] == ["cursive", "print"]
    assert _hand(ck, "print") == "1" and _hand(ck, "cursive") == "0"
    out = tmp_path / "w.png"
    assert run_lstm("write", "lo", "--model", write_model, "-o", out, "--hand", "print").returncode == 0
    r = run_lstm("write", "lo", "--model", write_model, "-o", tmp_path / "x.png", "--hand", "italic")
    assert r.returncode == ExitCode.USAGE and "cursive, print" in r.stderr
    r = run_lstm("write", "lo", "--model", write_model, "-o", tmp_path / "x.png", "--hand", "print", "--style", "1")
    assert r.returncode == ExitCode.USAGE and "--hand" in r.stderr
    with pytest.raises(UsageError, match="not labelled"):
        _hand({"vocab": {"styles": [{"text": "lo", "strokes": [[[0, 0], [1, 1]]]}]}}, "print")
    # a model that takes hands as an input but keeps no style of one: told it, primed with nothing
    unlabelled = {"config": {"hands": ["cursive", "print"]}, "vocab": {"styles": [{"text": "lo", "strokes": []}]}}
    assert _hand(unlabelled, "print") is None
    with pytest.raises(UsageError, match="hands are cursive, print"):
        _hand(unlabelled, "italic")


def test_export_keeps_the_styles_it_is_given(write_model, toy_data, tmp_path):
    """lstm export --styles LINES: the first 8 samples of LINES become the model's styles (their
    hands kept where named), in place of its validation data's; text it cannot write is exit 3,
    and other tasks refuse the flag."""
    import torch

    rng = random.Random(5)
    lines = tmp_path / "styles.jsonl"
    with open(lines, "w") as f:
        for k in range(10):
            text, st = toy_sample(("vol", "lo v", "ovo")[k % 3], rng)
            f.write(json.dumps({"text": text, "hand": "print", "strokes": st}) + "\n")
    r = run_lstm("export", write_model, "-o", tmp_path / "w.pt", "--styles", lines)
    assert r.returncode == 0, r.stderr
    styles = torch.load(tmp_path / "w.pt", weights_only=False)["vocab"]["styles"]
    assert [s["text"] for s in styles] == [("vol", "lo v", "ovo")[k % 3] for k in range(8)]
    assert {s["hand"] for s in styles} == {"print"}
    r = run_lstm("write", "lov", "--model", tmp_path / "w.pt", "--style", "7", "--best-of", "1", "-o", tmp_path / "a.png")
    assert r.returncode == 0 and (tmp_path / "a.png").stat().st_size > 0, r.stderr
    (tmp_path / "bad.jsonl").write_text(json.dumps({"text": "xyz", "strokes": [[[0, 0], [1, 1]]]}) + "\n")
    r = run_lstm("export", write_model, "-o", tmp_path / "x.pt", "--styles", tmp_path / "bad.jsonl")
    assert r.returncode == ExitCode.BAD_INPUT and "cannot write 'xyz'" in r.stderr and not (tmp_path / "x.pt").exists()
    # a writer of one hand (told its hand) is not given a sample of another as a style
    ck = torch.load(write_model, weights_only=False)
    ck["config"] = {**ck["config"], "hands": ["cursive"]}
    torch.save(ck, tmp_path / "cursive.pt")
    r = run_lstm("export", tmp_path / "cursive.pt", "-o", tmp_path / "y.pt", "--styles", lines)
    assert r.returncode == ExitCode.BAD_INPUT and "a hand this model does not write" in r.stderr, r.stderr

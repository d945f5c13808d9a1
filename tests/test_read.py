"""lstm read: preprocessing that ignores size, place and point rate; a batch that changes no
sample's reading; a tiny reader trained on a toy hand; the command (JSON lines, IAM XML, InkML,
stdin, several inputs, n-best), its eval, and bad input."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from conftest import run_lstm, shared, train_in_process
from lstm_cli.core.errors import ExitCode
from lstm_cli.tasks.read import error_rates
from lstm_cli.tasks.read.model import ReadConfig, ReadNet, points_of
from test_write import toy_data, toy_sample, write_model  # noqa: F401  (fixtures)

@pytest.fixture(scope="session")
def reader(toy_data, tmp_path_factory):
    """A reader of test_write's toy hand (o, l, v)."""
    def build(d):
        train_in_process(["train", "read", "--data", toy_data / "train.jsonl", "--val-data", toy_data / "val.jsonl",
                          "-o", d / "reader.pt", "--hidden", 32, "--layers", 2, "--dropout", 0, "--batch-size", 16,
                          "--max-steps", 400, "--lr", "1e-2", "--warmup", 10, "--eval-every", 100,
                          "--sample-every", 0, "--log-every", 50, "--random-seed", 0])

    return shared(tmp_path_factory, "read-model", build) / "reader.pt"


def _ink(text="lov", seed=0):
    return toy_sample(text, random.Random(seed))[1]


# ---------------------------------------------------------------- preprocessing and model


def test_points_ignore_size_place_and_point_rate():
    st = _ink("lol vo")
    base = points_of(st, 0.15)
    moved = points_of([[(3 * x + 100, 3 * y - 40) for x, y in s] for s in st], 0.15)
    assert np.allclose(base, moved, atol=1e-4)
    # twice the points (a slower pen): every segment split in two
    dense = [[p for a, b in zip(s, s[1:]) for p in (a, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))] + [s[-1]] for s in st]
    again = points_of(dense, 0.15)
    assert abs(len(again) - len(base)) <= len(st)  # the same resampling, but for rounding at a stroke's end
    assert base[:, 2].sum() == len(st)  # one pen-up per stroke
    assert np.abs(np.median(base[:, 1])) < 0.05  # centred on the line


def test_a_sample_reads_the_same_alone_or_in_a_padded_batch():
    torch.manual_seed(0)
    net = ReadNet(ReadConfig(alphabet="lov ", hidden=16, layers=2, dropout=0.0)).eval()
    short, long = torch.from_numpy(points_of(_ink("lo"), 0.15)), torch.from_numpy(points_of(_ink("vol lo"), 0.15))
    batch = torch.zeros(2, long.shape[0], 3)
    batch[0, : short.shape[0]], batch[1] = short, long
    with torch.no_grad():
        alone, _ = net(net.inputs(short[None]))
        lengths = torch.tensor([short.shape[0], long.shape[0]])
        together, _ = net(net.inputs(batch, lengths), lengths)
    assert torch.allclose(alone[0], together[0, : short.shape[0]], atol=1e-5)


def test_the_numpy_reader_reads_as_the_torch_one():
    """ink.InkNet (lstm write's judge, without torch) from the checkpoint's arrays: the same
    log-probabilities and pooled top layer as ReadNet for samples of different lengths in one
    batch, and so the same likelihoods, hands and readings through a Reader."""
    from lstm_cli.tasks.read import Reader, pooled
    from lstm_cli.tasks.read.ink import InkNet

    torch.manual_seed(0)
    net = ReadNet(ReadConfig(alphabet="lov ", hidden=16, layers=2, dropout=0.0, stats=([0.1] * 9, [2.0] * 9))).eval()
    ink = InkNet(net.cfg, {k: v.numpy() for k, v in net.state_dict().items()})
    inks = [_ink(t, seed=k) for k, t in enumerate(["lo", "vol lo", "v", "love lol"])]
    pts = [points_of(st, 0.15) for st in inks]
    got = ink.outputs(pts, batch=3)
    for p, (lp, feats) in zip(pts, got):
        with torch.no_grad():
            want, h = net(net.inputs(torch.from_numpy(p)[None]))
        np.testing.assert_allclose(lp, want[0].double().numpy(), atol=1e-4)
        np.testing.assert_allclose(feats, pooled(h[0].numpy()), atol=1e-5)
    hands = {"names": ["a", "b"], "weight": np.random.default_rng(0).normal(size=(2, 64)).tolist(), "bias": [0.0, 0.1]}
    a, b = Reader(ink, hands=hands), Reader(net, hands=hands)
    (sa, ha), (sb, hb) = a.assess("lo", inks), b.assess("lo", inks)
    np.testing.assert_allclose(sa, sb, atol=1e-4)
    np.testing.assert_allclose(ha, hb, atol=1e-5)
    texts = lambda r: [got[0][0] for got in r.read([("", st) for st in inks])]  # noqa: E731
    assert texts(a) == texts(b)


def test_error_rates():
    r = error_rates(["the cat", "sat"], ["the bat", "sat on"])
    assert r["cer"] == pytest.approx((1 + 3) / 10)
    assert r["wer"] == pytest.approx((1 + 1) / 3)


# ---------------------------------------------------------------- the trained toy reader


def test_trained_reader_reads_held_out_ink(reader, toy_data):
    r = run_lstm("eval", "--model", reader, "--data", toy_data / "val.jsonl", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["metric"] == "cer" and got["samples"] == 20
    assert got["cer"] < 0.2, got  # an untrained reader: ~1.0 (it says nothing or noise)
    beam = json.loads(run_lstm("eval", "--model", reader, "--data", toy_data / "val.jsonl", "--beam", "4", "--json").stdout)
    assert beam["cer"] <= got["cer"] + 0.05


@pytest.fixture(scope="module")
def ink_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("ink")
    rows = [{"text": t, "strokes": _ink(t, k)} for k, t in enumerate(["lov", "vol lo"])]
    (d / "two.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "nolabel.jsonl").write_text(json.dumps({"strokes": _ink("ol", 5)}) + "\n")
    traces = "".join(f"<trace>{', '.join(f'{x:.2f} {y:.2f} {k * 10} 0.5' for k, (x, y) in enumerate(s))}</trace>"
                     for s in _ink("lol", 7))
    (d / "a.inkml").write_text('<ink xmlns="http://www.w3.org/2003/InkML"><traceFormat><channel name="X"/>'
                               '<channel name="Y"/><channel name="T"/><channel name="F"/></traceFormat>'
                               f'<annotation type="truth">lol</annotation>{traces}</ink>')
    strokes = "".join("<Stroke>" + "".join(f'<Point x="{x * 50:.0f}" y="{y * 50:.0f}" time="0"/>' for x, y in s) + "</Stroke>"
                      for s in _ink("vo", 9))
    (d / "a.xml").write_text(f"<WhiteboardCaptureSession><StrokeSet>{strokes}</StrokeSet></WhiteboardCaptureSession>")
    return d


def test_read_prints_a_line_per_sample(reader, ink_files):
    r = run_lstm("read", "--model", reader, ink_files / "two.jsonl")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and all(set(line) <= set("lov ") for line in lines)
    again = run_lstm("read", "--model", reader, ink_files / "two.jsonl")
    assert again.stdout == r.stdout  # deterministic


def test_read_every_format_and_several_inputs(reader, ink_files):
    names = [ink_files / n for n in ("a.inkml", "a.xml", "nolabel.jsonl")]
    r = run_lstm("read", "--model", reader, *names)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [ln.split("\t")[0] for ln in lines] == [str(n) for n in names]
    # each alone reads the same (batching changes nothing); stdin too
    for n, line in zip(names, lines):
        alone = run_lstm("read", "--model", reader, n).stdout.strip()
        assert line.split("\t")[1] == alone
        assert run_lstm("read", "--model", reader, "-", input=n.read_text()).stdout.strip() == alone


def test_n_best_lists_readings_best_first(reader, ink_files):
    r = run_lstm("read", "--model", reader, ink_files / "a.inkml", "--n-best", "3")
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert len(rows) == 3 and len({t for _, t in rows}) == 3
    scores = [float(s) for s, _ in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] <= 0
    assert rows[0][1] == run_lstm("read", "--model", reader, ink_files / "a.inkml", "--beam", "3").stdout.strip()


@pytest.mark.parametrize("content, says", [
    ("", "no pen points"),
    ('{"strokes": [[[1, 2]]]}\n', "one pen point"),
    ('{"strokes": [[[1, 2], [NaN, 3]]]}\n', "not a stroke sample"),
    ('{"strokes": [[[1, 2], [1e30, 3]]]}\n', "not a stroke sample"),
    ('{"strokes": [[[1, 2], [3, 4]]\n', "not a stroke sample"),
    ("<ink><trace>1 2, 3</trace></ink>", "point without usable x and y"),
    ("<ink><trace>1 2, 3 4</trace>", "not well-formed XML"),
    ("<svg><path/></svg>", "neither InkML"),
    pytest.param('{"strokes": [' + ", ".join(f"[[{k}, 0], [{k}, 1]]" for k in range(50_001)) + "]}\n",
                 "at most 100,000", id="100,002 points"),
])
def test_bad_ink_is_one_line_and_exit_3(reader, tmp_path, ink_files, content, says):
    bad = tmp_path / ("bad.inkml" if content.startswith("<") else "bad.jsonl")
    bad.write_text(content)
    r = run_lstm("read", "--model", reader, ink_files / "two.jsonl", bad)
    assert r.returncode == ExitCode.BAD_INPUT, r.stderr
    assert r.stdout == ""  # the good file before it is not read either: nothing half-done
    assert says in r.stderr and r.stderr.count("\n") <= 2 and "Traceback" not in r.stderr


def test_train_read_refuses_labels_it_cannot_read_unless_skipped(reader, toy_data, tmp_path):
    extra = tmp_path / "x.jsonl"
    text, st = toy_sample("lov", random.Random(3))
    extra.write_text("".join(json.dumps({"text": t, "strokes": st}) + "\n" for t in ["lox"] * 5 + ["", "lov"] * 10))
    args = ["train", "read", "--init", reader, "--data", extra, "-o", tmp_path / "ft.pt", "--max-steps", 2,
            "--eval-every", 2, "--sample-every", 0]
    r = run_lstm(*args)
    assert r.returncode == ExitCode.BAD_INPUT and "'x'" in r.stderr, r.stderr
    r = run_lstm(*args, "--oov", "skip")
    assert r.returncode == 0, r.stderr
    assert "without text" in r.stderr  # the empty labels, skipped with a warning


# ---------------------------------------------------------------- lstm write speaks InkML; write | read


def test_inkml_round_trip_one_trace_group_per_line(tmp_path):
    from lstm_cli.tasks.write import strokes as S

    samples = [("lov", [[(0.0, 1.5), (2.25, -3.0)], [(4.0, 0.0), (5.0, 1.0)]]), ("a <b> & c", [[(1.0, 1.0), (2.0, 2.0)]])]
    f = tmp_path / "page.inkml"
    f.write_text(S.inkml_text(samples))
    assert S.read_ink(str(f)) == samples
    assert S.read_samples([str(f)], log=lambda m: None) == samples  # lstm train reads it too


def test_write_strokes_pipe_into_read(reader, write_model, tmp_path):
    written = run_lstm("write", "--model", write_model, "lov ol\nvol", "--strokes", "-", "--random-seed", "1",
                       "--line-chars", "6")
    assert written.returncode == 0, written.stderr
    assert written.stdout.count("\n") == 2  # a JSON line per line of text, and no picture asked for
    r = run_lstm("read", "--model", reader, "-", input=written.stdout)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2 and set(r.stdout) <= set("lov \n")
    ink = tmp_path / "page.inkml"
    assert run_lstm("write", "--model", write_model, "lov ol\nvol", "--strokes", ink, "--random-seed", "1",
                    "--line-chars", "6").returncode == 0
    assert run_lstm("read", "--model", reader, ink).stdout == r.stdout  # the same ink as InkML reads the same
    none = run_lstm("write", "--model", write_model, "lov")
    assert none.returncode == ExitCode.USAGE and "--strokes" in none.stderr


def test_write_best_of_is_judged_by_the_reader(reader, write_model, tmp_path):
    """--best-of N with a reader: the page is drawn, and each line's reading is on stderr; the
    reader's likelihood ranks a clean drawing of the text above the same ink under another text."""
    from lstm_cli.tasks.read import load_reader

    out = tmp_path / "w.png"
    r = run_lstm("write", "--model", write_model, "lov ol\nvol", "-o", out, "--best-of", "3", "--reader", reader,
                 "--random-seed", "1", "--line-chars", "6")
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0
    assert [ln.startswith("lstm: line ") and "reads back as" in ln for ln in r.stderr.splitlines()[1:]] == [True, True]
    judge = load_reader(str(reader), "cpu", "none")
    clean = [toy_sample("lov", random.Random(k))[1] for k in range(3)]
    right, wrong = judge.likelihood("lov", clean), judge.likelihood("vvv", clean)
    assert all(a > b for a, b in zip(right, wrong))


# ---------------------------------------------------------------- the four rows


def test_trace_agrees_with_the_reading(reader):
    from lstm_cli.tasks.read import load_reader

    r = load_reader(str(reader), "cpu")
    ink = _ink("vol lo", 4)
    tr = r.trace(ink)
    assert tr["text"] == r.read([("", ink)])[0][0][0]
    T = len(tr["points"])
    assert tr["probs"].shape[0] == T and tr["cells"].shape == (T, 32)
    assert [t for t, _ in tr["peaks"]] == tr["moments"] == sorted(tr["moments"])
    assert len(tr["grads"]) == len(tr["moments"]) and all(g.shape == (T,) and g.max() > 0 for g in tr["grads"])


def test_view_and_animation_files(reader, ink_files, tmp_path):
    from PIL import Image

    view, gif = tmp_path / "read.png", tmp_path / "read.gif"
    r = run_lstm("read", "--model", reader, ink_files / "a.inkml", "--view", view, "--animate", gif)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == run_lstm("read", "--model", reader, ink_files / "a.inkml").stdout.strip()
    with Image.open(view) as im:
        assert im.format == "PNG" and im.size[0] == 1000 and im.size[1] > 500
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames > 10
    bad = run_lstm("read", "--model", reader, ink_files / "a.inkml", "--view", tmp_path / "read.jpg")
    assert bad.returncode == ExitCode.USAGE and not (tmp_path / "read.jpg").exists()


def _hand_lines(path, n=40, hands=("dotted", "joined")):
    """Toy lines in two hands that differ in how the pen lifts: every stroke cut into pieces of two
    points (dotted), or all of a line's strokes joined into one (joined)."""
    with open(path, "w") as f:
        for k in range(n):
            text, st = toy_sample(["lov", "vol ol", "lo vo", "ovo"][k % 4], random.Random(k))
            hand = hands[k % 2]
            if hand == "dotted":
                st = [s[i: i + 2] for s in st for i in range(0, len(s), 2)]
            else:
                st = [[p for s in st for p in s]]
            f.write(json.dumps({"text": text, "hand": hand, "strokes": st}) + "\n")
    return path


def test_export_hands_fits_a_hand_head_that_leaves_the_reading_alone(reader, tmp_path):
    """lstm export --hands: a softmax head on the pooled top layer, recorded with its held-out
    accuracy; it tells the two hands of the lines it was fitted on apart, and the reader reads
    as before (likelihoods unchanged)."""
    from lstm_cli.core.export import export
    from lstm_cli.tasks.read import load_reader
    from lstm_cli.tasks.write.strokes import read_jsonl

    data = _hand_lines(tmp_path / "hands.jsonl")
    entry = export(str(reader), str(tmp_path / "r.pt"), hands=str(data))
    assert entry["hands"]["lines"] == 32 and entry["hands"]["held_out"] == 8
    assert 0 <= entry["hands"]["accuracy"] <= 1
    got, plain = load_reader(str(tmp_path / "r.pt"), "cpu", "none"), load_reader(str(reader), "cpu", "none")
    assert got.hand_names == ("dotted", "joined") and plain.hand_names == ()
    lines = read_jsonl(data)
    probs = got.hand_probs([st for _, st in lines])
    assert probs.shape == (40, 2) and np.allclose(probs.sum(1), 1)
    right = sum(("dotted", "joined")[int(p.argmax())] == ("dotted", "joined")[k % 2] for k, p in enumerate(probs))
    assert right >= 36  # the 32 it was fitted on (a linear head on 128 features) and most of the 8 others
    scores, head = got.assess("lov", [lines[0][1]])
    assert scores == pytest.approx(plain.likelihood("lov", [lines[0][1]])) and head.shape == (1, 2)
    assert plain.assess("lov", [lines[0][1]])[1] is None


def test_export_hands_refuses_lines_of_one_hand_and_other_tasks(reader, write_model, tmp_path):
    one = _hand_lines(tmp_path / "one.jsonl", hands=("neat", "neat"))
    r = run_lstm("export", reader, "-o", tmp_path / "r.pt", "--hands", one)
    assert r.returncode == ExitCode.BAD_INPUT and "needs two or more" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r.pt").exists()
    r = run_lstm("export", write_model, "-o", tmp_path / "w.pt", "--hands", one)
    assert r.returncode == ExitCode.USAGE and "--hands is not available for 'write' models" in r.stderr


def test_a_character_model_as_language_model_changes_the_reading(reader, tmp_path):
    """Ink that reads 'vol' or 'lol' equally well: a language model that has only seen 'lol'
    picks it; without the LM (or with weight 0) the tie stays as the reader has it."""
    from lstm_cli.core import registry
    from lstm_cli.tasks.read import Reader, load_reader
    from lstm_cli.tasks.read.lm import CharLM

    (tmp_path / "lol.txt").write_text("lol ol lol lo lol\n" * 200)
    train_in_process(["train", "text", "--data", tmp_path / "lol.txt", "-o", tmp_path / "lm.pt", "--preset", "tiny",
                      "--batch-size", 8, "--seq-len", 32, "--max-steps", 80, "--lr", "1e-2", "--warmup", 5,
                      "--eval-every", 80, "--sample-every", 0, "--random-seed", 0])
    net = load_reader(str(reader), "cpu").model
    a = net.cfg.alphabet
    lp = np.full((5, len(a) + 1), np.log(1e-6))
    for t, choices in enumerate(["vl", "", "o", "", "l"]):  # blanks between the letters
        for c in choices:
            lp[t, a.index(c) + 1] = np.log(0.5 if len(choices) > 1 else 1.0)
        if not choices:
            lp[t, 0] = 0.0
    lm = CharLM(registry.load(str(tmp_path / "lm.pt"), "text"), a, "lol")
    plain = Reader(net).decode(lp, beam=8, n_best=2)
    assert {t for t, _ in plain} == {"vol", "lol"} and abs(plain[0][1] - plain[1][1]) < 1e-6
    assert Reader(net, lm, lm_weight=1.0).decode(lp, beam=8)[0][0] == "lol"
    ids = {c: a.index(c) + 1 for c in "lov"}
    assert lm((ids["l"], ids["o"]), ids["l"]) > lm((ids["l"], ids["o"]), ids["v"])  # 'lol', not 'lov'


def test_train_read_on_iam_ondb_and_inkml(tmp_path):
    """lstm train read takes the writer's inputs: an IAM-OnDB folder (lineStrokes/ + ascii/ with
    the CSR transcriptions) and InkML files, here written by the test (toy ink)."""
    from lstm_cli.tasks.write import strokes as S

    rng = random.Random(5)
    texts = ["lov vol", "ol lo", "vl ov", "lol"]
    iam = tmp_path / "iam"
    (iam / "ascii" / "a01").mkdir(parents=True)
    (iam / "lineStrokes" / "a01").mkdir(parents=True)
    (iam / "ascii" / "a01" / "a01-000u.txt").write_text("OCR:\n\nx\n\nCSR:\n\n" + "\n".join(texts) + "\n")
    for k, t in enumerate(texts, 1):
        ink = toy_sample(t, rng)[1]
        points = "".join("<Stroke>" + "".join(f'<Point x="{x * 40:.0f}" y="{y * 40:.0f}" time="0"/>' for x, y in s)
                         + "</Stroke>" for s in ink)
        (iam / "lineStrokes" / "a01" / f"a01-000u-0{k}.xml").write_text(
            f"<WhiteboardCaptureSession><StrokeSet>{points}</StrokeSet></WhiteboardCaptureSession>")
    (tmp_path / "ink").mkdir()
    for k, t in enumerate(texts):
        (tmp_path / "ink" / f"{k}.inkml").write_text(S.inkml_text([toy_sample(t, rng)]))
    r = run_lstm("train", "read", "--data", iam, "--data", tmp_path / "ink", "-o", tmp_path / "r.pt", "--hidden", 8,
                 "--layers", 1, "--max-steps", 2, "--batch-size", 4, "--eval-every", 2, "--sample-every", 0)
    assert r.returncode == 0, r.stderr
    assert "--data: 8 samples" in r.stderr and "no validation" in r.stderr

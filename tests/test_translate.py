"""Translation: tokenizer inside the checkpoint, learning a toy language, beam search, the command."""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest
import torch

from conftest import ROOT, run_lstm, shared, train_in_process
from lstm_cli.core.errors import ExitCode

EN = "one two three four five six seven eight nine ten".split()
FR = "un deux trois quatre cinq six sept huit neuf dix".split()


def toy_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """Number words, English -> French, word for word: a mapping a tiny model can learn exactly."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = [rng.randrange(10) for _ in range(rng.randint(2, 6))]
        out.append((" ".join(EN[i] for i in k), " ".join(FR[i] for i in k)))
    return out


def write_tsv(path, pairs):
    path.write_text("".join(f"{a}\t{b}\n" for a, b in pairs))
    return path


def train_args(data, out, steps=500, **extra):
    args = ["train", "translate", "--data", data, "-o", out, "--vocab-size", "40", "--embed", "32",
            "--enc-hidden", "32", "--dec-hidden", "64", "--dropout", "0.1", "--batch-tokens", "400",
            "--lr", "1e-2", "--warmup", "10", "--max-steps", steps, "--eval-every", "100",
            "--sample-every", "0", "--log-every", "50", "--random-seed", "0", "--label-smoothing", "0"]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", v]
    return [str(a) for a in args]


@pytest.fixture(scope="session")
def toy_model(tmp_path_factory):
    def build(d):
        train_in_process(train_args(write_tsv(d / "train.tsv", toy_pairs(2000, 0)), d / "m.pt"))

    return shared(tmp_path_factory, "toy-translate", build) / "m.pt"


def translator(path):
    from lstm_cli.core import checkpoint
    from lstm_cli.tasks import translate as task

    net, tok = task.from_checkpoint(checkpoint.load(path, task="translate"))
    return task.Translator(net, tok)


def test_tokenizer_lives_in_the_checkpoint(toy_model):
    from lstm_cli.core import checkpoint
    from lstm_cli.tasks.translate import Tokenizer

    ckpt = checkpoint.load(toy_model, task="translate")
    assert isinstance(ckpt["vocab"], bytes)
    assert sorted(p.name for p in toy_model.parent.iterdir()) == ["m.last.pt", "m.pt", "train.tsv"]
    tok = Tokenizer(ckpt["vocab"])
    for text in ("three one four", "un deux trois", "neuf dix"):
        assert tok.decode(tok.encode(text)) == text


def test_learns_the_toy_mapping(toy_model):
    tr = translator(toy_model)
    test = toy_pairs(100, seed=1)
    hyps = tr.translate([s for s, _ in test], beam=1)
    exact = sum(h[0].text == t for h, (_, t) in zip(hyps, test)) / len(test)
    assert exact >= 0.9, [(s, h[0].text) for h, (s, _) in zip(hyps, test)][:5]


def test_beam_one_is_greedy_and_nbest_is_ordered(toy_model):
    tr = translator(toy_model)
    sents = [s for s, _ in toy_pairs(12, seed=2)]
    ids = [tr.tok.encode(s) for s in sents]
    g = tr._decode(ids, beam=1, n_best=1, alpha=0.6, attention=False)
    b = tr._decode(ids, beam=1, n_best=1, alpha=0.6, attention=False, search="beam")
    assert [h[0].ids for h in g] == [h[0].ids for h in b]
    assert [h[0].score for h in g] == pytest.approx([h[0].score for h in b], abs=1e-5)
    nbest = tr.translate(sents, beam=4, n_best=4)
    for hyps in nbest:
        assert len(hyps) == 4
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.ids) for h in hyps}) == 4  # distinct hypotheses


def test_resume_is_exact(tmp_path):
    data = write_tsv(tmp_path / "train.tsv", toy_pairs(300, 0))
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    common = dict(save_every=5)
    assert run_lstm(*train_args(data, a, steps=10, **common)).returncode == 0
    assert run_lstm(*train_args(data, b, steps=5, **common)).returncode == 0
    r = run_lstm(*train_args(data, b, steps=10, resume=tmp_path / "b.last.pt", **common))
    assert r.returncode == 0, r.stderr
    from lstm_cli.core import checkpoint

    wa = checkpoint.load(tmp_path / "a.last.pt")["state_dict"]
    wb = checkpoint.load(tmp_path / "b.last.pt")["state_dict"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_stdin_lines_stay_aligned(toy_model):
    r = run_lstm("translate", "-m", toy_model, "--beam", "3", input="one two\n\nthree four five\n\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n") == ["un deux", "", "trois quatre cinq", "", ""]
    dash = run_lstm("translate", "-m", toy_model, "--beam", "3", "-", input="one two\n")
    assert dash.returncode == 0 and dash.stdout == "un deux\n"


def test_argument_and_nbest_output(toy_model):
    r = run_lstm("translate", "-m", toy_model, "--beam", "3", "--n-best", "2", "six seven")
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert len(rows) == 2 and [row[0] for row in rows] == ["1", "1"]
    assert rows[0][2] == "six sept" and float(rows[0][1]) >= float(rows[1][1])


def test_output_streams_before_input_ends(toy_model):
    """Line 1's translation comes back while stdin is still open."""
    p = subprocess.Popen([sys.executable, "-m", "lstm_cli", "translate", "-m", str(toy_model)], cwd=ROOT,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write("one two three\n")
        p.stdin.flush()
        t0 = time.time()
        first = p.stdout.readline()
        assert first == "un deux trois\n" and time.time() - t0 < 60
        p.stdin.write("four five\n")
        p.stdin.close()
        assert p.stdout.read() == "quatre cinq\n"
        assert p.wait(timeout=60) == 0
    finally:
        p.kill()


def test_attention_picture(toy_model, tmp_path):
    from PIL import Image

    png = tmp_path / "att.png"
    r = run_lstm("translate", "-m", toy_model, "--attention", png, "one two three four")
    assert r.returncode == 0, r.stderr
    img = Image.open(png)
    assert img.format == "PNG" and img.width > 60 and img.height > 60
    colours = img.convert("RGB").getcolors(1 << 16)
    assert colours is not None and len(colours) > 10  # a heatmap, not a blank canvas


def test_long_and_strange_input_never_crashes(toy_model):
    long_line = " ".join(["one two three."] * 60)  # far beyond max_len pieces: split and translated
    r = run_lstm("translate", "-m", toy_model, "--beam", "2", input=f"{long_line}\n日本語 🙂 ∑ one\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout.split("\n")
    assert len(out) == 3 and out[0].count("trois") == 60


@pytest.mark.parametrize("n", [1, 2, 5, 13, 40])
def test_every_sentence_of_a_line_is_translated(toy_model, n):
    """A line of many short sentences, short enough to fit the model in one piece, still comes
    back sentence for sentence: lines are split into sentences first."""
    tr = translator(toy_model)
    line = " ".join(["four five."] * n)
    assert len(tr.split(line)) == n
    for beam in (1, 3):
        out = tr.translate([line, "six seven"], beam=beam)
        assert out[0][0].text.count("quatre") == n and out[0][0].text.count("cinq") == n
        assert out[1][0].text == "six sept"


def test_sentences():
    from lstm_cli.tasks.translate import sentences

    assert sentences('He said, "Go. Now!" Mr. Smith left. J. R. Tolkien wrote... Why? no end') == [
        'He said, "Go.', 'Now!"', "Mr. Smith left.", "J. R. Tolkien wrote...", "Why?", "no end"]
    assert sentences("one line") == ["one line"] and sentences("  ") == []
    assert sentences("3.5 percent. Done.") == ["3.5 percent.", "Done."]


def test_unreadable_line_gives_an_empty_line_and_a_warning(toy_model):
    r = run_lstm("translate", "-m", toy_model, input="one two\n日本語 🙂\n∑∑ !!\nthree four five\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout.split("\n")
    assert len(out) == 5 and out[1:3] == ["", ""] and "deux" in out[0] and "quatre" in out[3]
    assert "line 2 has no word the model knows" in r.stderr and "line 3 has no word" in r.stderr
    assert "line 1 " not in r.stderr and "line 4 " not in r.stderr


def test_eval_prints_bleu_and_chrf(toy_model, tmp_path):
    import json

    test = write_tsv(tmp_path / "test.tsv", toy_pairs(40, 3))
    r = run_lstm("eval", "-m", toy_model, "--data", test, "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["metric"] == "bleu" and m["bleu"] > 80 and m["chrf"] > 80 and "bleu_greedy" in m


@pytest.mark.parametrize("content,needle", [
    (b"", "no sentence pairs"),
    (b"one two\tun deux\njust one side\n", "line 2 has no tab"),
    (bytes(range(256)) * 4, "binary"),
    (b"\xff\xfe caf\xe9\tcaf\xe9\n", "not UTF-8"),
])
def test_bad_training_data(tmp_path, content, needle):
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(content)
    r = run_lstm(*train_args(bad, tmp_path / "m.pt", steps=1))
    assert r.returncode == ExitCode.BAD_INPUT, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_misaligned_src_tgt(tmp_path):
    (tmp_path / "s.txt").write_text("one\ntwo\n")
    (tmp_path / "t.txt").write_text("un\n")
    r = run_lstm("train", "translate", "--src", tmp_path / "s.txt", "--tgt", tmp_path / "t.txt", "-o", tmp_path / "m.pt")
    assert r.returncode == ExitCode.BAD_INPUT and "line-aligned" in r.stderr


def test_bad_translate_options_and_input(toy_model):
    r = run_lstm("translate", "-m", toy_model, "--beam", "2", "--n-best", "3", "one")
    assert r.returncode == ExitCode.USAGE and "--n-best" in r.stderr
    r = run_lstm("translate", "-m", toy_model, input=b"one\x00two\n")
    assert r.returncode == ExitCode.BAD_INPUT and "binary" in r.stderr.decode()
    r = run_lstm("translate", "-m", toy_model, input=b"\xff\xfe\n")
    assert r.returncode == ExitCode.BAD_INPUT and "UTF-8" in r.stderr.decode()


def test_text_model_is_not_a_translation_model(tiny_model):
    r = run_lstm("translate", "-m", tiny_model, "one")
    assert r.returncode == ExitCode.BAD_CHECKPOINT and "not a 'translate' model" in r.stderr


def test_model_flags_with_init(toy_model, tmp_path):
    data = write_tsv(tmp_path / "train.tsv", toy_pairs(300, 5))
    r = run_lstm(*train_args(data, tmp_path / "ft.pt", steps=2, init=toy_model))  # its sizes, as typed
    assert r.returncode == 0, r.stderr
    r = run_lstm(*train_args(data, tmp_path / "ft.pt", steps=2, init=toy_model, dec_hidden=128))
    assert r.returncode == ExitCode.USAGE and "--dec-hidden 128 cannot apply" in r.stderr and "--dec-hidden 64" in r.stderr

"""lstm caption: the generated scenes and their true captions, the caption-file formats, images of
every kind (and bad ones), a tiny model that learns four captions, the command, eval."""

from __future__ import annotations

import json
import math
import random

import pytest

from conftest import run_lstm, shared, train_in_process
from lstm_cli.core.errors import ExitCode, InputError
from lstm_cli.tasks.caption import data as D
from lstm_cli.tasks.caption import shapes

# ---------------------------------------------------------------- the scenes


@pytest.fixture(scope="session")
def scenes(tmp_path_factory):
    def build(root):
        for split, n in (("train", 150), ("unseen", 60), ("unseen-any", 30)):
            shapes.write_split(root / split, split, n)

    return shared(tmp_path_factory, "shapes", build)


def _caption_from(objects: list[dict]) -> str:
    """The grammar re-derived independently from the drawn objects' metadata."""
    name = lambda o: f"a {o['size']} {o['colour']} {o['shape']}"  # noqa: E731
    if len(objects) == 1:
        return name(objects[0])
    if len(objects) == 3:
        row = sorted(objects, key=lambda o: o["x"])
        return f"{name(row[0])}, {name(row[1])} and {name(row[2])}"
    a, b = objects
    if a["size"] != b["size"] and a["size"] == "small":
        a, b = b, a
    dx, dy = a["x"] - b["x"], a["y"] - b["y"]
    horizontal = abs(dx) >= 2 * abs(dy)
    assert horizontal or abs(dy) >= 2 * abs(dx), "the generator placed an ambiguous pair"
    if a["size"] == b["size"] and (dx > 0 if horizontal else dy > 0):  # same size: left or upper first
        a, b, dx, dy = b, a, -dx, -dy
    rel = ("to the left of" if dx < 0 else "to the right of") if horizontal else ("above" if dy < 0 else "below")
    return f"{name(a)} {rel} {name(b)}"


def test_each_caption_follows_from_the_drawing(scenes):
    from PIL import Image

    for split in ("train", "unseen", "unseen-any"):
        rows = [json.loads(l) for l in (scenes / split / "scenes.jsonl").read_text().splitlines()]
        caps = dict(l.split("\t") for l in (scenes / split / "captions.tsv").read_text().splitlines())
        assert {len(r["objects"]) for r in rows} == ({0, 1, 2, 3} if split == "train" else {1, 2, 3})
        assert {r["canvas"]["width"] != r["canvas"]["height"] for r in rows} == {"train": {True, False}, "unseen": {False}, "unseen-any": {True}}[split]
        for r in rows:
            if not r["objects"]:
                assert r["caption"] == caps[r["image"] + "#0"] == shapes.NOTHING
                continue
            assert r["caption"] == _caption_from(r["objects"]) == caps[r["image"] + "#0"]
            img = Image.open(scenes / split / r["image"]).convert("RGB")
            cv = r["canvas"]
            k = cv["pixels"] / min(cv["width"], cv["height"])  # pixels per scene unit
            assert img.size == (round(cv["width"] * k), round(cv["height"] * k))
            for o in r["objects"]:  # the named colour is the nearest palette colour at the centre
                px = [img.getpixel((int(o["x"] * k) + dx, int(o["y"] * k) + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
                mean = [sum(p[c] for p in px) / 9 for c in range(3)]
                nearest = min(shapes.COLOURS, key=lambda c: math.dist(shapes.COLOURS[c], mean))
                assert nearest == o["colour"], (r["image"], o)
            assert len({(o["shape"], o["colour"], o["size"]) for o in r["objects"]}) == len(r["objects"])


def test_held_out_combinations_occur_only_in_the_unseen_split(scenes):
    for split in ("train", "unseen", "unseen-any"):
        for line in (scenes / split / "captions.tsv").read_text().splitlines():
            if line.endswith(shapes.NOTHING):
                continue
            objects, rel = shapes.parse(line.split("\t")[1])
            pairs = {(c, s) for _, c, s in objects}
            triple = (objects[0][2], rel, objects[1][2]) if rel else None
            held = bool(pairs & shapes.HELD_PAIRS) or triple in shapes.HELD_TRIPLES
            assert held == split.startswith("unseen"), line
    assert len({c for c, _ in shapes.HELD_PAIRS}) == len({s for _, s in shapes.HELD_PAIRS}) == 6


def test_scenes_are_deterministic():
    a, b = shapes.scene(7, "val"), shapes.scene(7, "val")
    assert a[0].tobytes() == b[0].tobytes() and a[2] == b[2]
    assert shapes.scene(8, "val")[0].tobytes() != a[0].tobytes()


def test_parse_and_attribute_scores():
    ref = "a large red circle to the left of a small blue star"
    assert shapes.parse(ref) == ([("large", "red", "circle"), ("small", "blue", "star")], "to the left of")
    assert shapes.parse("a red circle") is None and shapes.parse("a large pink circle") is None
    s = shapes.attribute_scores(["a large red circle above a small green star", "nonsense"],
                                [ref, "a small red square"])
    assert s == {"count_accuracy": 50.0, "size_accuracy": 66.67, "colour_accuracy": 33.33, "shape_accuracy": 66.67,
                 "relation_accuracy": 0.0}


# ---------------------------------------------------------------- caption files and images


def _png(path, size=(20, 10), mode="RGB", colour=(200, 30, 30)):
    from PIL import Image

    Image.new(mode, size, colour).save(path)
    return path


def test_flickr_csv_and_coco_formats(tmp_path):
    (tmp_path / "images").mkdir()
    _png(tmp_path / "images" / "a.png")
    _png(tmp_path / "b.png")
    (tmp_path / "captions.tsv").write_text("a.png#0\tA red box.\na.png#1\tsomething red\nb.png#0\tanother\n")
    items = D.read_captioned(str(tmp_path))
    assert [(p.name, cs) for p, cs in items] == [("a.png", ["A red box.", "something red"]), ("b.png", ["another"])]
    (tmp_path / "captions.tsv").unlink()
    (tmp_path / "captions.txt").write_text('image,caption\na.png,"a red box, small"\nb.png,another\n')
    assert [cs for _, cs in D.read_captioned(str(tmp_path))] == [["a red box, small"], ["another"]]
    (tmp_path / "captions.txt").unlink()
    coco = {"images": [{"id": 5, "file_name": "a.png"}], "annotations": [{"image_id": 5, "caption": "one"},
                                                                         {"image_id": 5, "caption": "two"}]}
    (tmp_path / "captions.json").write_text(json.dumps(coco))
    assert [cs for _, cs in D.read_captioned(str(tmp_path))] == [["one", "two"]]
    (tmp_path / "captions.json").write_text('{"images": []}')
    with pytest.raises(InputError, match="not COCO captions"):
        D.read_captioned(str(tmp_path))
    (tmp_path / "captions.json").unlink()
    with pytest.raises(InputError, match="no captions.tsv"):
        D.read_captioned(str(tmp_path))
    assert D.words("A red box, small.") == ["a", "red", "box", ",", "small", "."]
    assert D.detokenize(D.words("A red box, small.")) == "a red box, small."


def test_images_of_every_mode(tmp_path):
    from PIL import Image

    made = {}
    for mode, colour in [("RGB", (200, 30, 30)), ("RGBA", (200, 30, 30, 255)), ("L", 90), ("P", 3),
                         ("CMYK", (0, 200, 200, 0)), ("I;16", 40000), ("1", 1), ("F", 0.5)]:
        path = tmp_path / f"{mode.replace(';', '')}.{'jpg' if mode == 'CMYK' else 'tiff' if mode in ('I;16', 'F') else 'png'}"
        Image.new(mode, (30, 12), colour).save(path)
        made[mode] = D.load_image(path, 32)
        assert made[mode].shape == (3, 32, 32) and str(made[mode].dtype) == "torch.uint8", mode
    assert made["RGB"][:, 5, 5].tolist() == [200, 30, 30]
    assert made["RGBA"][:, 5, 5].tolist() == [200, 30, 30]
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(clear)
    assert D.load_image(clear, 8).min() == 255  # transparent is white, not black
    # EXIF orientation 6 (rotate 90 clockwise to view): a wide picture is shown tall
    img = Image.new("RGB", (40, 20), "white")
    img.paste((0, 0, 0), (0, 0, 20, 20))  # left half black
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(tmp_path / "rot.jpg", exif=exif)
    t = D.load_image(tmp_path / "rot.jpg", 16)
    assert t[:, :7, :].float().mean() < 60 and t[:, 9:, :].float().mean() > 200  # black on top after turning
    t = D.load_image(tmp_path / "rot.jpg", 16, max_aspect=3.0)  # the turn applied before the shape is kept
    assert t.shape == (3, 32, 16)
    for size in ((1, 1), (20000, 20), (20, 20000)):  # any size: a shape the model takes
        _png(tmp_path / "odd.png", size)
        assert D.load_image(tmp_path / "odd.png", 32, max_aspect=3.0).shape[1:] in ((32, 32), (32, 96), (96, 32))
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "blue", "green")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    notes = []
    t = D.load_image(tmp_path / "anim.gif", 16, notes=notes)
    assert notes == [f"{tmp_path / 'anim.gif'}: an animation of 3 frames; its first frame is used"]
    assert t[0].float().mean() > 200 and t[2].float().mean() < 60  # red: the first frame


def test_bad_images_are_one_clear_error(tmp_path):
    from PIL import Image

    (tmp_path / "text.png").write_text("not a picture")
    (tmp_path / "empty.jpg").write_bytes(b"")
    good = _png(tmp_path / "good.png", (64, 64))
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[:60])
    Image.new("1", (15_000, 13_000)).save(tmp_path / "bomb.png")  # 195M pixels, a few KB on disk
    for name, needle in [("text.png", "not an image"), ("empty.jpg", "not an image"), ("cut.png", "unreadable"),
                         ("bomb.png", "decompression-bomb"), ("missing.png", "no such image")]:
        with pytest.raises(InputError, match=needle) as e:
            D.load_image(tmp_path / name, 32)
        assert name in e.value.message


# ---------------------------------------------------------------- a tiny model


def _four_captions(root, n: int, seed: int):
    """Single large objects, two colours x two shapes, anywhere on the canvas: four captions."""
    rng = random.Random(seed)
    (root / "images").mkdir(parents=True)
    lines = []
    for i in range(n):
        t = shapes.Thing(rng.choice(["circle", "square"]), rng.choice(["red", "blue"]), "large",
                         rng.uniform(14, 50), rng.uniform(14, 50))
        shapes.draw([t], rng).save(root / "images" / f"{i}.png")
        lines.append(f"images/{i}.png#0\t{shapes.caption([t])}")
    (root / "captions.tsv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="session")
def four(tmp_path_factory):
    root = shared(tmp_path_factory, "four", lambda root: [_four_captions(root / "train", 256, 0),
                                                          _four_captions(root / "test", 40, 1)])
    return root / "train", root / "test"


@pytest.fixture(scope="session")
def caption_model(four, tmp_path_factory):
    def build(d):
        train_in_process(["train", "caption", "--data", four[0], "-o", d / "cap.pt", "--image-size", 32,
                          "--widths", "8,16,16", "--embed", 16, "--hidden", 32, "--attention", 16, "--batch-size", 32,
                          "--max-steps", 250, "--lr", "1e-2", "--warmup", 10, "--eval-every", 50, "--sample-every", 150,
                          "--log-every", 50, "--random-seed", 0, "--val-fraction", "0.1"])

    return shared(tmp_path_factory, "caption-model", build) / "cap.pt"


def test_the_tiny_model_learns_four_captions(caption_model, four):
    r = run_lstm("eval", "-m", caption_model, "--data", four[1], "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["metric"] == "exact_match" and m["images"] == 40
    assert m["exact_match"] >= 75 and m["count_accuracy"] == 100.0 and m["size_accuracy"] == 100.0
    assert 0 <= m["bleu4"] <= 100


def test_caption_one_several_and_stdin(caption_model, four, tmp_path):
    imgs = sorted((four[1] / "images").glob("*.png"))[:5]
    r = run_lstm("caption", "-m", caption_model, imgs[0])
    assert r.returncode == 0, r.stderr
    one = r.stdout.strip()
    assert shapes.parse(one) is not None and "\t" not in one
    r = run_lstm("caption", "-m", caption_model, *imgs, "--batch-size", 2)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and [l.split("\t")[0] for l in lines] == list(map(str, imgs))
    assert lines[0] == f"{imgs[0]}\t{one}"
    r2 = run_lstm("caption", "-m", caption_model, "-", input="\n".join(map(str, imgs)) + "\n")
    assert r2.returncode == 0 and r2.stdout.splitlines() == lines
    r = run_lstm("caption", "-m", caption_model, imgs[0], "--n-best", 2, "--beam", 3)
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    assert len(rows) == 2 and float(rows[0][1]) >= float(rows[1][1])


def test_greedy_is_beam_one_exactly(caption_model, four):
    import torch

    from lstm_cli.core import sampling
    from lstm_cli.tasks import caption as task

    cap = task.load_captioner(str(caption_model), "cpu")
    images = torch.stack([D.load_image(p, 32) for p in sorted((four[1] / "images").glob("*.png"))[:8]])
    greedy = [h[0] for h in cap.caption(images, beam=1)]
    torch.set_grad_enabled(False)
    a, keys, state, _ = cap.model.encode(images)

    def step(y, state):
        logits, state, alpha = cap.model.step(y, state, a, keys)
        return logits.float().log_softmax(-1), state, alpha

    beam = sampling.beam_search(step, state, 8, 1, max_steps=cap.model.cfg.max_len + 1, bos=D.BOS, eos=D.EOS,
                                pad=D.PAD, alpha=0.0)
    torch.set_grad_enabled(True)
    assert [g.words for g in greedy] == [[cap.vocab[i] for i in h[0][0]] for h in beam]


def test_aspect_kept_letterboxed_or_squeezed():
    """data.fit: the shorter side the model's size, the longer a multiple of a grid cell, the
    shape kept up to max_aspect, letterboxed (border colour) beyond; squeezed at max_aspect 1."""
    from PIL import Image

    from lstm_cli.tasks.caption.data import fit

    shape = lambda size, aspect=3.0, colour=(10, 200, 30): tuple(fit(Image.new("RGB", size, colour), 64, aspect).shape)  # noqa: E731
    assert shape((160, 120)) == (3, 64, 88) and shape((120, 180)) == (3, 96, 64) and shape((512, 512)) == (3, 64, 64)
    assert shape((300, 100)) == shape((20000, 20)) == (3, 64, 192) and shape((1, 1)) == (3, 64, 64)
    assert shape((300, 100), 1.0) == (3, 64, 64)
    strip = Image.new("RGB", (400, 50), (200, 20, 20))
    t = fit(strip, 64, 3.0)
    assert t.shape == (3, 64, 192) and (t[:, 0] == t[:, -1]).all() and t[0].min() == 200  # padded with its border


def test_a_picture_is_captioned_alike_alone_or_among_other_shapes(caption_model, four):
    """Pictures of other shapes in one batch are encoded shape by shape and masked: each gets the
    features and the caption it gets alone."""
    import torch
    from PIL import Image

    from lstm_cli.tasks import caption as task

    cap = task.load_captioner(str(caption_model), "cpu")
    pics = [Image.open(p).convert("RGB") for p in sorted((four[1] / "images").glob("*.png"))[:3]]
    images = [D.fit(pics[0], 32, 3.0), D.fit(pics[1].resize((90, 30)), 32, 3.0), D.fit(pics[2].resize((40, 70)), 32, 3.0)]
    assert len({tuple(im.shape) for im in images}) == 3
    with torch.no_grad():
        together, mask = cap.model.features(images)
        assert mask is not None and mask.sum(1).tolist() == [im.shape[1] * im.shape[2] // 16 for im in images]
        for k, im in enumerate(images):
            alone, _ = cap.model.features([im])
            torch.testing.assert_close(together[k, : alone.shape[1]], alone[0])
    both = cap.caption(images, beam=3)
    assert [h[0].text for h in both] == [cap.caption([im], beam=3)[0][0].text for im in images]


def test_calibrated_threshold_and_the_unsure_warning(caption_model, four, tmp_path):
    """export --calibrate records a threshold that calls at most 0.5% of the held-out captions
    unsure; with a threshold above every score, each caption gets the warning, on stderr only."""
    import torch

    from lstm_cli.core import checkpoint
    from lstm_cli.tasks import caption as task

    out = tmp_path / "cal.pt"
    r = run_lstm("export", caption_model, "-o", out, "--calibrate", four[1])
    assert r.returncode == 0, r.stderr
    ck = checkpoint.load(out)
    cal = ck["meta"]["calibration"]
    assert cal["images"] == 40 and cal["threshold"] < 0 and "knows" in cal
    cap = task.load_captioner(str(out), "cpu")
    images = [D.load_image(p, 32, max_aspect=3.0) for p in sorted((four[1] / "images").glob("*.png"))]
    scores = [cap.per_word(h[0]) for h in cap.caption(images)]
    assert sum(s < cal["threshold"] for s in scores) <= 1
    good = sorted((four[1] / "images").glob("*.png"))[:3]
    plain = run_lstm("caption", "-m", out, *good)
    ck["meta"]["calibration"] = dict(cal, threshold=1.0)  # above any log-probability
    torch.save(ck, tmp_path / "strict.pt")
    r = run_lstm("caption", "-m", tmp_path / "strict.pt", *good)
    assert r.returncode == 0 and r.stdout == plain.stdout
    warned = [l for l in r.stderr.splitlines() if "unsure" in l]
    assert len(warned) == 3 and all("this model knows only one to three filled circles" in l for l in warned)


def test_a_bad_image_among_good_ones(caption_model, four, tmp_path):
    good = sorted((four[1] / "images").glob("*.png"))[:2]
    bad = tmp_path / "bad.png"
    bad.write_text("no")
    r = run_lstm("caption", "-m", caption_model, good[0], bad, good[1])
    assert r.returncode == ExitCode.BAD_INPUT and "Traceback" not in r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and lines[1].startswith(f"{bad}\terror: ") and "not an image" in lines[1]
    assert shapes.parse(lines[2].split("\t")[1]) is not None
    assert r.stderr.strip().splitlines()[-1] == "lstm: error: 1 of 3 images could not be read (their lines say why)"
    r = run_lstm("caption", "-m", caption_model, bad)
    assert r.returncode == ExitCode.BAD_INPUT and r.stdout == ""
    assert r.stderr.strip().splitlines() == [f"lstm: error: {bad}: not an image pillow can read"]


def test_attention_picture_and_bad_flags(caption_model, four, tmp_path):
    from PIL import Image

    img = sorted((four[1] / "images").glob("*.png"))[0]
    png = tmp_path / "att.png"
    r = run_lstm("caption", "-m", caption_model, img, "--attention", png)
    assert r.returncode == 0, r.stderr
    words = len(r.stdout.split()) + 1  # and </s>
    pic = Image.open(png)
    assert pic.width >= min(words + 1, 6) * 128 and len(pic.convert("RGB").getcolors(1 << 16)) > 10
    wide = tmp_path / "wide.png"
    Image.open(img).resize((96, 32)).save(wide)
    r = run_lstm("caption", "-m", caption_model, img, wide, "--attention", tmp_path / "many.png")
    assert r.returncode == 0, r.stderr
    one, two = Image.open(tmp_path / "many-1.png"), Image.open(tmp_path / "many-2.png")
    assert one.size == pic.size and (two.width - 6) % (3 * 128 + 6) == 0  # the second keeps its shape: 3:1 tiles
    assert not (tmp_path / "many.png").exists()
    for args in (["--attention", tmp_path / "a.jpg", img], ["--n-best", 4, "--beam", 2, img], ["-", img]):
        r = run_lstm("caption", "-m", caption_model, *args)
        assert r.returncode == ExitCode.USAGE and "Traceback" not in r.stderr, args


def test_other_models_and_collapse_warning(caption_model, tiny_model, tmp_path):
    r = run_lstm("caption", "-m", tiny_model, tmp_path / "x.png")
    assert r.returncode == ExitCode.BAD_CHECKPOINT
    from lstm_cli.tasks.caption import collapsed

    assert collapsed(["a red circle"] * 30, [[f"ref {i}"] for i in range(30)]) is not None
    assert collapsed([f"cap {i % 10}" for i in range(30)], [[f"ref {i}"] for i in range(30)]) is None


def test_training_says_when_it_cannot_validate_or_keeps_no_word(four, tmp_path):
    """Once both trained in silence: on a handful of images, and on a vocabulary of <unk>."""
    args = ["train", "caption", "-o", tmp_path / "m.pt", "--image-size", 32, "--widths", "8,8,8", "--embed", 8,
            "--hidden", 8, "--attention", 8, "--batch-size", 4, "--max-steps", 1, "--sample-every", 0]
    r = run_lstm(*args, "--data", _four_captions(tmp_path / "few", 8, 2))
    assert r.returncode == 0 and "warning: no validation images (8 given" in r.stderr, r.stderr
    r = run_lstm(*args, "--data", four[1], "--min-count", 1000)
    assert r.returncode == 0 and "warning: --min-count 1000 keeps none of the" in r.stderr, r.stderr

"""What each endpoint asks of the models: one function per tool, run on a worker thread
(pool.Jobs), calling the same task functions as its command in cli/ (named beside each), with the
models kept by pool.Models. Nothing here reads or writes a file: every input arrives in the
request, every output leaves in the response.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
from typing import Iterator

from lstm_cli.core.errors import InputError
from lstm_cli.serve import schemas as api
from lstm_cli.serve.pool import Models


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _text_model(models: Models, name: str):
    """(network, vocabulary, meta) of a char model: generate, predict and inspect share it."""

    def load():
        from lstm_cli.core import registry
        from lstm_cli.tasks import text

        ckpt = registry.load(name, "text")
        return (*text.from_checkpoint(ckpt), ckpt["meta"])

    return models.get(("text", name), load)


def generate(models: Models, name: str, req: api.GenerateRequest) -> Iterator[str]:
    """cli/generate.py: tasks.text.sample; the seed is read here (an unknown character is refused
    before anything streams), and echoed first."""
    from lstm_cli.tasks import text

    net, vocab, _ = _text_model(models, name)
    chars = text.sample(net, vocab, req.seed, req.n, req.temperature, req.top_k, req.top_p, req.random_seed, req.oov)
    if req.echo and req.seed:
        return _after(req.seed, chars)
    return chars


def _after(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def write(models: Models, name: str, req: api.WriteRequest) -> api.WriteResponse:
    """cli/write.py: tasks.write.write_page (the page, line by line), drawn as SVG."""
    from lstm_cli.tasks import write as task

    ckpt, net = _writer(models, name, req)
    said: list[str] = []
    lines, page, _, _ = task.write_page(ckpt, net, req.text, req.bias, req.style, req.random_seed, req.oov,
                                        hand=req.hand, log=said.append)
    return _page(lines, page, said, req.width)


def write_stream(models: Models, name: str, req: api.WriteRequest) -> Iterator[str]:
    """:func:`write` as the pen moves, JSON lines: ``{"lines": [...], "em": ...}`` once the text is
    checked (an error answers before anything streams; em: the style's width per character, to
    size the page before it is drawn), then ``{"line": k, "point": [dx,
    dy, up]}`` for each pen point as it is sampled (offsets from the last point, each line from
    its own origin), then ``{"page": ...}``, :func:`write`'s whole answer."""
    from lstm_cli.tasks import write as task

    ckpt, net = _writer(models, name, req)
    said: list[str] = []
    steps = task.page_steps(ckpt, net, req.text, req.bias, req.style, req.random_seed, req.oov, hand=req.hand,
                            log=said.append)
    _, lines, em = next(steps)
    return _points(lines, em, steps, said, req.width)


def _points(lines: list[str], em: float | None, steps, said: list[str], width: int) -> Iterator[str]:
    from lstm_cli.tasks.write.pen import relay

    yield json.dumps({"lines": lines, "em": em}) + "\n"
    lines, page, _, _ = yield from relay(steps, _point)
    yield json.dumps({"page": _page(lines, page, said, width).model_dump()}) + "\n"


def _point(event) -> str:
    _, k, (dx, dy, up) = event
    return f'{{"line": {k}, "point": [{dx:.3f}, {dy:.3f}, {int(up)}]}}\n'


def _writer(models: Models, name: str, req: api.WriteRequest):
    """The kept (checkpoint, weights as the pen steps them) of the writer ``name``, once the text is
    checked to fit."""
    from lstm_cli.tasks import write as task

    def load():
        from lstm_cli.core import registry
        from lstm_cli.tasks.write import pen

        ckpt = registry.load(name, "write", arrays=True)
        return ckpt, pen.weights_of(ckpt)

    n = len(task.lines_of(req.text))
    if n > api.MAX_WRITE_LINES:
        raise InputError(f"the text fills {n} lines of {task.LINE_CHARS} characters; at most {api.MAX_WRITE_LINES} are "
                         "written here", hint="write it in parts, or with lstm write")
    return models.get(("write", name), load)


def _page(lines: list[str], page: list, said: list[str], width: int) -> api.WriteResponse:
    from lstm_cli.render import strokes as draw
    from lstm_cli.tasks import write as task

    strokes = draw.stack(page)
    return api.WriteResponse(lines=lines, points=sum(map(len, strokes)),
                             strokes=[{"text": ln, "strokes": st} for ln, st in task.stroke_samples(lines, page)],
                             svg=draw.svg_text(strokes, width, lines=len(lines)),
                             warnings=[m.removeprefix("lstm: warning: ") for m in said])


def read(models: Models, name: str, lm: str | None, req: api.ReadRequest) -> api.ReadResponse:
    """cli/read.py: the ink checked by tasks.write.strokes.read_ink, as for a JSON-lines file, and
    read by tasks.read's Reader (load_reader). A reader with a language model keeps the LM's
    prefixes while it reads a line, so it reads one request at a time."""
    from lstm_cli.tasks import read as task
    from lstm_cli.tasks.write.strokes import read_ink

    points = sum(len(s) for sample in req.samples for s in sample.strokes)
    if points > api.MAX_INK_POINTS:
        raise InputError(f"the ink has {points:,} pen points; at most {api.MAX_INK_POINTS:,} are read here",
                         hint="send fewer lines at a time")
    if sum(len(sample.strokes) for sample in req.samples) > api.MAX_INK_STROKES:
        raise InputError(f"the ink has more than {api.MAX_INK_STROKES:,} strokes", hint="send fewer lines at a time")
    lines = "".join(json.dumps(s.model_dump(exclude_none=True)) + "\n" for s in req.samples)
    samples = read_ink("the ink", lines.encode())
    reader, lock = models.get(("read", name, lm),
                              lambda: (task.load_reader(name, "cpu", lm), threading.Lock()))
    beam = req.beam or reader.default_beam()
    with lock:
        found = reader.read(samples, beam=beam)
    view = b64(task.view_png(reader, "the ink", samples[-1][1])) if req.view else None  # the network only: no lock
    return api.ReadResponse(texts=[f[0][0] for f in found], beam=beam, lm="none" if reader.lm is None else reader.lm.name,
                            view=view)


def compose(models: Models, name: str, req: api.ComposeRequest) -> api.ComposeResponse:
    """cli/compose.py: tasks.compose.compose_bytes on the kept network, and the piano roll."""
    from lstm_cli.render import pianoroll
    from lstm_cli.tasks import compose as task
    from lstm_cli.tasks.compose import keys

    def load():
        from lstm_cli.core import checkpoint, registry

        ckpt = registry.load(name, "compose")
        net = task.build_model(ckpt["config"])
        checkpoint.weights_into(net, ckpt)
        return net.eval(), ckpt["vocab"]

    net, vocab = models.get(("compose", name), load)  # read only: each piece samples with its own stream
    key = keys.parse(req.key) if req.key is not None else None
    midi, notes, ending = task.compose_bytes(net, vocab, req.length, random_seed=req.random_seed, key=key,
                                             texts=(f"lstm serve: compose --model {name} --random-seed {req.random_seed}",))
    primer_beats = 0.0
    tempo = task.TEMPO
    return api.ComposeResponse(
        midi=b64(midi), notes=[api.Note(pitch=n.pitch, velocity=n.velocity, start=n.start, end=n.end) for n in notes],
        pianoroll=b64(pianoroll.png_bytes(notes, primer_beats)), key=keys.name(keys.key_of(notes)), tempo=tempo,
        seconds=round(max((n.end for n in notes), default=0.0) * 60 / tempo, 3), ending=ending.how)


def translate(models: Models, name: str, req: api.TranslateRequest) -> api.TranslateResponse:
    """cli/translate.py: tasks.translate's Translator (load_translator), a line out per line in."""
    from lstm_cli import render
    from lstm_cli.render.attention import heatmap_picture
    from lstm_cli.tasks import translate as task

    lines = req.text.splitlines() or [""]
    if len(lines) > api.MAX_TRANSLATE_LINES:
        raise InputError(f"the text has {len(lines)} lines; at most {api.MAX_TRANSLATE_LINES} are translated here")
    if any("\x00" in line for line in lines):
        raise InputError("the text contains NUL bytes")
    tr = models.get(("translate", name), lambda: task.load_translator(name))
    want = req.attention and any(line.strip() for line in lines)
    results = tr.translate(lines, beam=req.beam, attention=want)
    warnings = [f"line {k + 1} has no word the model knows; its output line is empty"
                for k, hyps in enumerate(results) if hyps[0].unreadable]
    picture = None
    if want:
        line, hyp = next((ln, h[0]) for ln, h in zip(lines, results) if h[0].attention is not None)
        picture = b64(render.png_bytes(heatmap_picture(*tr.attended(line, hyp), hyp.attention)))
    return api.TranslateResponse(translation="\n".join(h[0].text for h in results), warnings=warnings,
                                 attention=picture)


def image_bytes(data: str) -> bytes:
    """An uploaded image's bytes, from base64 or a data: URL; bounded before decoding."""
    if data.startswith("data:"):
        data = data.partition(",")[2]
    if len(data) > api.MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise InputError(f"the image is larger than {api.MAX_IMAGE_BYTES >> 20} MiB")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the image is not valid base64", hint="send the file's bytes as base64, or a data: URL") from None
    if not raw:
        raise InputError("the image is empty")
    return raw


def _check_pixels(raw: bytes) -> None:
    """Refuse an image of more than MAX_PIXELS from its header alone, before it is decoded (a
    small file can declare a huge picture: a decompression bomb)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw), formats=api.IMAGE_FORMATS) as img:
            w, h = img.size
    except Image.DecompressionBombError:
        raise InputError(f"the image declares too many pixels (over pillow's decompression-bomb limit of "
                         f"{Image.MAX_IMAGE_PIXELS:,})") from None
    except UnidentifiedImageError:
        raise InputError("the image is not a picture the server reads",
                         hint=f"send {', '.join(api.IMAGE_FORMATS)}") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"the image is unreadable ({e})") from None
    if w * h > min(api.MAX_PIXELS, Image.MAX_IMAGE_PIXELS or api.MAX_PIXELS):
        raise InputError(f"the image is {w:,} x {h:,} pixels; at most {api.MAX_PIXELS:,} pixels are read here",
                         hint="send a smaller picture")


def caption(models: Models, name: str, req: api.CaptionRequest) -> api.CaptionResponse:
    """cli/caption.py: tasks.caption's Captioner (load_captioner) on the uploaded image, decoded
    in memory (tasks.caption.data.load_image), or on a scene the shapes generator draws."""
    from lstm_cli.tasks import caption as task
    from lstm_cli.tasks.caption import data as D

    scene = None
    if req.scene is not None:
        from lstm_cli import render
        from lstm_cli.tasks.caption import shapes

        picture, _, truth = shapes.scene(req.scene, "unseen-any")  # combinations training never showed
        raw = render.png_bytes(picture)
        scene = api.Scene(png=b64(raw), caption=truth)
    else:
        raw = image_bytes(req.image)
    _check_pixels(raw)
    cap = models.get(("caption", name), lambda: task.load_captioner(name))
    image = D.load_image(io.BytesIO(raw), cap.model.cfg.image_size, name="the image", max_aspect=cap.model.cfg.max_aspect,
                         formats=api.IMAGE_FORMATS)
    best = cap.caption([image], beam=req.beam, attention=req.attention)[0][0]
    attention = None
    if req.attention:
        from lstm_cli import render
        from lstm_cli.render.attention import image_grid_picture

        attention = b64(render.png_bytes(image_grid_picture(image, best.words, best.attention, grid=cap.grid(image))))
    return api.CaptionResponse(caption=best.text, unsure=cap.unsure(best), scene=scene, attention=attention)


def predict(models: Models, name: str, req: api.PredictRequest) -> api.PredictResponse:
    """cli/predict.py: tasks.sequences' predictor for the model (kept: its searches leave the model
    alone)."""
    from lstm_cli.cli.predict import UNSURE
    from lstm_cli.tasks import sequences

    predictor = models.get(("predict", name), lambda: sequences.load_predictor(name))
    items = sequences.parse([req.sequence], "the sequence")
    predictor.encode(items, "the sequence")
    found = predictor.answer_many([items], req.n, req.top if req.explain else 1, req.explain)[0]
    if found is None:
        raise InputError("the model found no next element for this sequence")
    nexts, cands, fit = found
    short = [f"{len(nexts)} of {req.n} next elements: {predictor.why_short(nexts)}"] if len(nexts) < req.n else []
    return api.PredictResponse(
        sequence=items, next=nexts, probability=cands[0][1], warnings=short,
        alternatives=[api.Alternative(element=c, probability=p) for c, p in cands] if req.explain else None,
        guess=sequences.guess(items, cands, fit, UNSURE) if req.explain else None)


def inspect(models: Models, name: str, req: api.InspectRequest) -> api.InspectResponse:
    """cli/inspect.py: tasks.cells.read, a cell's state (or the surprise) per character."""
    from lstm_cli.tasks import cells

    net, vocab, _ = _text_model(models, name)
    states, loss = cells.read(net, vocab, req.text)
    values = loss
    if req.cell is not None:
        layer, k = cells.parse_cell(req.cell, states.shape[1], states.shape[2])
        values = states[:, layer, k]
    return api.InspectResponse(cell=req.cell, values=[round(float(v), 4) for v in values],
                               mean_surprise=round(float(loss.mean()), 4))

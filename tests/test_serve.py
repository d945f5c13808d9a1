"""``lstm serve``: the JSON API in process (FastAPI's TestClient, one app and so one load of each
shipped model for the module), every input bound, the busy queue, the 500 path; and the command
itself: its help, the missing extra, the warning for a non-loopback address."""

from __future__ import annotations

import base64
import io
import socket
import struct
import sys
import threading
import zlib

import pytest

from conftest import run_lstm
from lstm_cli.core.errors import ExitCode

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")  # httpx is what FastAPI names


def _client(**kwargs):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from lstm_cli.serve import create_app

    return TestClient(create_app(**kwargs))


@pytest.fixture(scope="module")
def client():
    with _client(workers=2, queue=8) as c:
        yield c


@pytest.fixture(scope="module")
def written(client):
    r = client.post("/api/write", json={"text": "hello", "hand": "print", "random_seed": 1})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def scene(client):
    r = client.post("/api/caption", json={"scene": 3})
    assert r.status_code == 200, r.text
    return r.json()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG file whose header declares width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def error_of(r, status: int) -> str:
    """The one-line error of a refused request, after checking its status and JSON shape."""
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) <= {"error", "hint", "id"} and body["error"], body
    assert "Traceback" not in r.text
    return body["error"]


# ---------------------------------------------------------------- the page (in a browser: tests/test_browser.py)


def test_the_page_and_its_files_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for path, kind in (("/static/app.js", "javascript"), ("/static/style.css", "text/css")):
        assert f'"{path}"' in page.text
        r = client.get(path)
        assert r.status_code == 200 and kind in r.headers["content-type"] and r.text
    assert "http" not in page.text.replace('href="/docs"', "")  # nothing from elsewhere: it works offline


def test_the_api_docs_are_served_from_the_package_too(client):
    """/docs: Swagger UI from its package (FastAPI's default page fetches it from a CDN)."""
    import re

    page = client.get("/docs")
    assert page.status_code == 200 and "openapi.json" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) >= 3 and all(a.startswith("/docs-static/") for a in assets), assets
    for a in assets:
        assert client.get(a).status_code == 200
    assert client.get("/redoc").status_code == 404  # its page would fetch from a CDN too


# ---------------------------------------------------------------- each tool


def test_models_lists_the_shipped_ones_with_their_endpoints(client):
    from lstm_cli.core import registry

    got = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert set(got) == set(registry.manifest())
    assert got["obama"]["task"] == "text" and "generate" in got["obama"]["endpoints"]
    assert got["bach"]["endpoints"] == ["compose"] and got["en-fr"]["metric"]["name"] == "bleu"


def test_generate_streams_the_seed_then_what_the_task_samples(client):
    from lstm_cli.tasks import text

    body = {"seed": "War on terror", "n": 200, "random_seed": 1}
    with client.stream("POST", "/api/generate", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        chunks = list(r.iter_text())
    got = "".join(chunks)
    assert len(chunks) > 1 and got.startswith("War on terror") and len(got) == 13 + 200
    assert got[13:] == "".join(text.generate("obama", "War on terror", 200, random_seed=1))  # as lstm generate
    r = client.post("/api/generate", json={**body, "echo": False, "n": 20, "model": "shakespeare"})
    assert r.status_code == 200 and len(r.text) == 20


def test_generate_refuses_an_unknown_character_before_streaming(client):
    assert "does not know" in error_of(client.post("/api/generate", json={"seed": "snow\u2603"}), 422)
    r = client.post("/api/generate", json={"seed": "snow\u2603", "oov": "skip", "n": 5, "echo": False})
    assert r.status_code == 200 and len(r.text) == 5


def test_write_returns_strokes_and_an_svg_with_paths(client, written):
    assert written["lines"] == ["hello"] and written["strokes"][0]["text"] == "hello" and written["warnings"] == []
    points = sum(len(s) for s in written["strokes"][0]["strokes"])
    assert points == written["points"] > 20
    assert written["svg"].startswith("<svg") and written["svg"].count("<path") == len(written["strokes"][0]["strokes"])
    assert "cannot write" in error_of(client.post("/api/write", json={"text": "na\u00efve"}), 422)
    r = client.post("/api/write", json={"text": "na\u00efve", "oov": "skip", "style": 2, "random_seed": 1})
    assert r.status_code == 200 and r.json()["lines"] == ["nave"] and "left out" in r.json()["warnings"][0]
    assert "styles 0 to" in error_of(client.post("/api/write", json={"text": "hi", "style": 999}), 422)


def test_write_stream_sends_each_pen_point_then_the_page_write_answers(client):
    """The points streamed, summed line by line, are the page's strokes (up to where each line
    sits on the page); the page is /api/write's answer for the same request."""
    import json

    from lstm_cli.tasks.write.strokes import to_strokes

    body = {"text": "hello there, this line is long enough to be wrapped onto two", "hand": "print", "random_seed": 3}
    with client.stream("POST", "/api/write/stream", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in r.iter_lines() if line]
    head, points, page = events[0], events[1:-1], events[-1]["page"]
    assert head["lines"] == page["lines"] and len(page["lines"]) == 2 and head["em"] > 0
    assert page == client.post("/api/write", json=body).json()
    assert [p["line"] for p in points] == sorted(p["line"] for p in points) and len(points) == page["points"]
    for k, sample in enumerate(page["strokes"]):
        drawn = to_strokes([p["point"] for p in points if p["line"] == k])
        assert [len(s) for s in drawn] == [len(s) for s in sample["strokes"]]
        dx, dy = (sample["strokes"][0][0][i] - drawn[0][0][i] for i in (0, 1))  # the line's place on the page
        for got, want in zip((p for s in drawn for p in s), (p for s in sample["strokes"] for p in s)):
            assert got[0] + dx == pytest.approx(want[0], abs=0.05) and got[1] + dy == pytest.approx(want[1], abs=0.05)
    with client.stream("POST", "/api/write/stream", json={"text": "hi", "random_seed": 1}) as r:  # no hand given
        assert json.loads(next(r.iter_lines()))["em"] > 0  # the model's styles' width per character
    # checked before anything streams: a plain JSON error
    assert "cannot write" in error_of(client.post("/api/write/stream", json={"text": "na\u00efve"}), 422)
    assert "styles 0 to" in error_of(client.post("/api/write/stream", json={"text": "hi", "style": 999}), 422)


def test_read_reads_what_write_wrote(client, written):
    from rapidfuzz.distance import Levenshtein

    for lm in (None, "none"):  # the tuned language model (beam 8), and none (best path)
        r = client.post("/api/read", json={"samples": written["strokes"], "lm": lm})
        assert r.status_code == 200, r.text
        got = r.json()
        assert len(got["texts"]) == 1 and Levenshtein.distance(got["texts"][0], "hello") <= 2, got
        assert (got["lm"], got["beam"]) == (("none", 1) if lm else ("wikipedia", 8))
        assert got["view"] is None


def _png_size(data: str) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(data))).size


def test_read_draws_the_reading_when_asked(client, written):
    """view: lstm read --view's four rows (outputs, cells, ink, gradient) of the last sample."""
    r = client.post("/api/read", json={"samples": written["strokes"] * 2, "lm": "none", "view": True})
    assert r.status_code == 200, r.text
    w, h = _png_size(r.json()["view"])
    assert w > 200 and h > 200 and len(r.json()["texts"]) == 2


def test_compose_returns_midi_its_notes_and_a_piano_roll(client):
    r = client.post("/api/compose", json={"length": 4, "random_seed": 1})
    assert r.status_code == 200, r.text
    got = r.json()
    assert base64.b64decode(got["midi"]).startswith(b"MThd")
    assert base64.b64decode(got["pianoroll"]).startswith(b"\x89PNG")
    assert len(got["notes"]) > 4 and all(0 <= n["pitch"] < 128 and n["end"] > n["start"] for n in got["notes"])
    assert got["seconds"] >= 4 * 0.9 and got["key"].endswith(("major", "minor"))
    assert "not a key" in error_of(client.post("/api/compose", json={"key": "H sharp"}), 422)


def test_translate_returns_french_a_line_per_line_and_the_attention(client):
    r = client.post("/api/translate", json={"text": "In the beginning God created the heavens and the earth.\n\nJesus wept.",
                                            "attention": True})
    assert r.status_code == 200, r.text
    got = r.json()
    lines = got["translation"].split("\n")
    assert len(lines) == 3 and "Dieu" in lines[0] and lines[1] == "" and "Jésus" in lines[2]
    assert base64.b64decode(got["attention"]).startswith(b"\x89PNG") and got["warnings"] == []


def test_caption_of_a_drawn_scene_and_of_its_upload(client, scene):
    from lstm_cli.core import registry

    vocab = set(registry.load("shapes", "caption")["vocab"])
    assert scene["caption"] and set(scene["caption"].split()) <= vocab
    assert scene["scene"]["caption"]  # the generator's own words, to compare with
    r = client.post("/api/caption", json={"image": "data:image/png;base64," + scene["scene"]["png"]})
    assert r.status_code == 200 and r.json()["caption"] == scene["caption"] and r.json()["scene"] is None
    assert r.json()["attention"] is None and scene["attention"] is None


def test_caption_draws_where_it_looked_when_asked(client, scene):
    """attention: lstm caption --attention's grid, the picture once per word (and once as it is)."""
    r = client.post("/api/caption", json={"scene": 3, "attention": True})
    assert r.status_code == 200 and r.json()["caption"] == scene["caption"]
    w, h = _png_size(r.json()["attention"])
    cells = len(scene["caption"].split()) + 2  # the picture, each word, </s>
    assert w * h >= cells * 128 * 128


def test_predict_the_articles_example_and_its_explanation(client):
    r = client.post("/api/predict", json={"sequence": "2 4 8"})
    assert r.status_code == 200 and r.json()["next"] == ["16"] and r.json()["probability"] > 0.5
    got = client.post("/api/predict", json={"sequence": "6 7 8", "n": 3, "explain": True, "top": 3}).json()
    assert got["next"] == ["9", "10", "11"] and len(got["alternatives"]) == 3 and got["guess"] is None
    assert got["alternatives"][0] == {"element": "9", "probability": got["probability"]}
    assert "a guess" in client.post("/api/predict", json={"sequence": "2 3 5 7 11", "explain": True}).json()["guess"]
    assert "not a whole number" in error_of(client.post("/api/predict", json={"sequence": "1 2 %"}), 422)
    short = client.post("/api/predict", json={"sequence": "v w x", "n": 5}).json()
    assert short["next"] == ["y", "z"] and short["warnings"] == ["2 of 5 next elements: the model finds no element after z"]


def test_inspect_gives_a_value_per_character(client):
    text = 'He said "no (really)".'
    cell = client.post("/api/inspect", json={"text": text, "cell": "1:7"}).json()
    assert len(cell["values"]) == len(text) and all(-1 <= v <= 1 for v in cell["values"])
    surprise = client.post("/api/inspect", json={"text": text}).json()
    assert surprise["cell"] is None and min(surprise["values"]) >= 0
    assert abs(sum(surprise["values"]) / len(text) - surprise["mean_surprise"]) < 1e-3
    assert "cell" in error_of(client.post("/api/inspect", json={"text": text, "cell": "9:99999"}), 422)


# ---------------------------------------------------------------- bounds and hostile requests


def test_over_long_texts_and_too_large_numbers_are_refused(client):
    assert "seed: at most 1,000 characters" in error_of(client.post("/api/generate", json={"seed": "a" * 1001}), 422)
    assert error_of(client.post("/api/generate", json={"n": 100_000}), 422).startswith("n: ")
    assert "text" in error_of(client.post("/api/translate", json={"text": "word " * 500}), 422)
    assert "length" in error_of(client.post("/api/compose", json={"length": 3600}), 422)
    assert "lines" in error_of(client.post("/api/write", json={"text": "write this line by hand " * 12}), 422)
    assert "temperature" in error_of(client.post("/api/generate", content=b'{"temperature": NaN}',
                                                 headers={"content-type": "application/json"}), 422)


def test_too_many_pen_points_are_refused_before_reading(client):
    line = {"strokes": [[[float(i), 0.0] for i in range(10_000)]] * 4}
    assert "pen points" in error_of(client.post("/api/read", json={"samples": [line], "lm": "none"}), 422)


def test_a_body_over_its_limit_is_refused_unread(client):
    from lstm_cli.serve import schemas as api

    big = b'{"image": "' + b"A" * api.MAX_CAPTION_BODY + b'"}'
    assert "over" in error_of(client.post("/api/caption", content=big, headers={"content-type": "application/json"}), 413)
    assert "over" in error_of(client.post("/api/predict", content=b" " * (api.MAX_BODY + 1),
                                          headers={"content-type": "application/json"}), 413)

    def chunked():  # no Content-Length: counted as it arrives
        for _ in range(api.MAX_BODY // 65536 + 2):
            yield b" " * 65536

    assert "over" in error_of(client.post("/api/predict", content=chunked(), headers={"content-type": "application/json"}), 413)


@pytest.mark.parametrize("image, says", [
    (png_declaring(100_000, 100_000), "decompression-bomb"),  # pillow's own guard, from the header alone
    (png_declaring(6_000, 6_000), "at most 20,000,000 pixels"),  # under pillow's, over the server's
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not a picture the server reads"),  # never ghostscript
    (b"\x89PNG\r\n\x1a\n", "not a picture the server reads"),  # a signature, then nothing
])
def test_hostile_images_are_refused(client, image, says):
    r = client.post("/api/caption", json={"image": base64.b64encode(image).decode()})
    assert says in error_of(r, 422)


def test_a_truncated_png_is_refused(client, scene):
    png = base64.b64decode(scene["scene"]["png"])
    r = client.post("/api/caption", json={"image": base64.b64encode(png[: len(png) // 2]).decode()})
    assert "unreadable" in error_of(r, 422) or "truncated" in r.text
    assert "base64" in error_of(client.post("/api/caption", json={"image": "not base64!"}), 422)
    assert "not both" in error_of(client.post("/api/caption", json={"image": "AAAA", "scene": 1}), 422)


def test_a_body_that_is_not_utf8_or_not_json(client):
    headers = {"content-type": "application/json"}
    assert "UTF-8" in error_of(client.post("/api/predict", content=b'{"sequence": "\xff\xfe 1 2"}', headers=headers), 400)
    assert "not valid JSON" in error_of(client.post("/api/predict", content=b'{"sequence": ', headers=headers), 422)


@pytest.mark.parametrize("path, body", [
    ("/api/generate", {"model": "nope"}),
    ("/api/generate", {"model": "bach"}),  # a shipped model, of another task
    ("/api/generate", {"model": "../checkpoints/obama.pt"}),
    ("/api/predict", {"sequence": "1 2 3", "model": "/etc/passwd"}),
    ("/api/inspect", {"text": "hi", "model": "checkpoints/obama.pt"}),
    ("/api/read", {"samples": [{"strokes": [[[0, 0], [1, 1]]]}], "lm": "/etc/passwd"}),
    ("/api/compose", {"model": "~/model.pt"}),
])
def test_models_by_shipped_name_only(client, monkeypatch, path, body):
    from lstm_cli.core import checkpoint

    def never(*a, **k):
        raise AssertionError("a request reached the file system")

    monkeypatch.setattr(checkpoint, "load", never)
    assert error_of(client.post(path, json=body), 404).startswith("no shipped ")


def test_unknown_fields_are_refused(client):
    assert "unknown field 'seeed'" in error_of(client.post("/api/generate", json={"seeed": "War"}), 422)
    assert "unknown field" in error_of(client.post("/api/read", json={"samples": [{"strokes": [], "pen": 1}]}), 422)


def test_concurrent_requests_all_succeed(client):
    asks = [("/api/predict", {"sequence": f"{k} {2 * k} {3 * k}"}) for k in range(1, 5)]
    asks += [("/api/inspect", {"text": "The quick brown fox." * 3}), ("/api/generate", {"n": 50, "random_seed": 2})]
    got = [None] * len(asks)

    def ask(i):
        got[i] = client.post(*asks[i][:1], json=asks[i][1])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(asks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status_code for r in got] == [200] * len(asks)
    assert [r.json()["next"] for r in got[:4]] == [[str(4 * k)] for k in range(1, 5)]


def test_past_the_queue_the_server_answers_503_with_retry_after(monkeypatch):
    from lstm_cli.serve import schemas as api
    from lstm_cli.serve import work

    gate, started = threading.Event(), threading.Event()

    def slow(*args):
        started.set()
        gate.wait(30)
        return api.PredictResponse(sequence=["1"], next=["2"], probability=1.0)

    monkeypatch.setattr(work, "predict", slow)
    with _client(workers=1, queue=0) as c:
        first = []
        t = threading.Thread(target=lambda: first.append(c.post("/api/predict", json={"sequence": "1"})))
        t.start()
        assert started.wait(30)
        r = c.post("/api/predict", json={"sequence": "1"})
        assert "busy" in error_of(r, 503) and r.headers["retry-after"] == "2"
        gate.set()
        t.join(30)
        assert first[0].status_code == 200
        assert c.post("/api/predict", json={"sequence": "1"}).status_code == 200  # its place is free again


def test_one_worker_serves_requests_one_after_another_and_a_gone_client_frees_it(client):
    """A stream frees its place before its client sees the end (else the next request raced it
    to a 503), and stops when its client goes."""
    import time

    with _client(workers=1, queue=0) as c:
        for k in range(4):
            assert c.post("/api/generate", json={"n": 10, "random_seed": k}).status_code == 200
            assert c.post("/api/generate", json={"seed": "\u2603"}).status_code == 422
        with c.stream("POST", "/api/generate", json={"n": 2000, "echo": False}) as r:
            next(r.iter_text())
        t = time.monotonic()
        while (code := c.post("/api/predict", json={"sequence": "2 4 8"}).status_code) == 503 and time.monotonic() - t < 5:
            time.sleep(0.05)
        assert code == 200


def test_a_bug_is_answered_500_with_an_id_and_logged_on_the_server(client, monkeypatch, capsys):
    from lstm_cli.serve import work

    def broken(*args):
        raise RuntimeError("secret state of the server")

    monkeypatch.setattr(work, "inspect", broken)
    r = client.post("/api/inspect", json={"text": "hi"})
    assert error_of(r, 500) == "internal error" and "secret" not in r.text
    logged = capsys.readouterr().err
    assert r.json()["id"] in logged and "RuntimeError: secret state of the server" in logged


# ---------------------------------------------------------------- the command


def test_serve_help():
    r = run_lstm("serve", "--help")
    assert r.returncode == 0 and "--host" in r.stdout and "--port" in r.stdout and "--open" in r.stdout


def test_serve_without_the_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if not installed: import fastapi fails
    r = run_lstm("serve")
    assert r.returncode == ExitCode.DEVICE and r.stdout == ""
    assert "lstm-cli[serve]" in r.stderr and len(r.stderr.splitlines()) == 2  # the error, and the hint


def test_a_non_loopback_address_is_warned_about():
    pytest.importorskip("fastapi")
    from lstm_cli.cli.serve import is_loopback

    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.20", "example.com"]))
    with socket.socket() as taken:  # a port in use: the command warns, then stops before serving
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        r = run_lstm("serve", "--host", "0.0.0.0", "--port", taken.getsockname()[1])
    assert r.returncode == ExitCode.USAGE and r.stdout == ""
    assert "warning: listening on 0.0.0.0: anyone" in r.stderr and "cannot listen on 0.0.0.0" in r.stderr

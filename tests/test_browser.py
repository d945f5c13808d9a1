"""``lstm serve``'s web page (lstm_cli/serve/static/) in a real browser: headless Chromium driven by
Selenium, over the app served by uvicorn on a loopback port, one server and one browser for the
module. Each test works a panel as a user would and checks what the page shows; a screenshot of
the page at the end of each test lands in its temporary folder.

Needs Debian's chromium and chromium-driver (``make browser-tools``) and selenium (the dev extra).
Without them these tests skip, saying why; under CI (CI=true) that is a failure instead, so that
they cannot quietly stop running.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _missing() -> str | None:
    for module, how in (("selenium", "pip install selenium==4.51.0 (the dev extra)"),
                        ("fastapi", "pip install 'lstm-cli[serve]'"), ("uvicorn", "pip install 'lstm-cli[serve]'")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed: {how}"
    for path in (CHROMIUM, DRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: make browser-tools"
    return None


MISSING = _missing()
CI = os.environ.get("CI") == "true"
if MISSING and not CI:
    pytest.skip(MISSING, allow_module_level=True)
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # under CI: each test fails, saying why (below)
    pass


@pytest.fixture(scope="module", autouse=True)
def _can_run():  # module-wide: before the server and the browser
    if MISSING:  # only under CI: elsewhere the module was skipped
        pytest.fail(f"the browser tests cannot run under CI: {MISSING}", pytrace=False)


WAIT = 30  # seconds for a panel's request (a model loads on first use; the machine may be busy)


@pytest.fixture(scope="module")
def server():
    """The app on a free loopback port, served by uvicorn on a thread; its URL."""
    import uvicorn

    from lstm_cli.serve import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(workers=2, queue=8), log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with the driver's path: Selenium Manager never reaches for the network
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,900",
                "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, server, request, tmp_path):
    """The page opened afresh; afterwards a screenshot in tmp_path, and no error in the console."""

    def open_panel(name: str):
        browser.get("about:blank")
        browser.get(f"{server}#{name}")
        section = browser.find_element(By.ID, name)
        assert section.is_displayed()
        # the model lists come from /api/models: wait for them, so a request names its model
        WebDriverWait(browser, WAIT).until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('select[data-task]')].every(s => s.options.length)"))
        return section

    browser.get_log("browser")  # what earlier tests left
    yield open_panel
    browser.save_screenshot(str(tmp_path / f"{request.node.name}.png"))
    if os.environ.get("LSTM_SCREENSHOTS"):  # make docs-serve: the README's pictures of the page
        browser.save_screenshot(str(Path(os.environ["LSTM_SCREENSHOTS"]) / f"{request.node.name}.png"))
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def finished(browser, section, timeout: float = WAIT):
    """Wait for a panel's request (its data-state); fail with the panel's error if it had one."""
    WebDriverWait(browser, timeout).until(lambda d: section.get_attribute("data-state") in ("done", "error"))
    error = section.find_element(By.CSS_SELECTOR, ".error").text
    assert section.get_attribute("data-state") == "done", error


def fill(section, **values):
    """Set a panel's fields by name (as typing would, without the typing's time)."""
    form = section.find_element(By.TAG_NAME, "form")
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        field.parent.execute_script("arguments[0].value = arguments[1]", field, str(value))


def submit(section):
    section.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


# ---------------------------------------------------------------- the page


def test_api_docs_render_offline(browser, server):
    """/docs in the browser: every endpoint listed, nothing fetched from elsewhere."""
    browser.get(server + "docs")
    WebDriverWait(browser, WAIT).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 10)
    names = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(n.startswith(server) for n in names), names
    paths = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")]
    assert "/api/write/stream" in paths and "/api/generate" in paths, paths


def test_page_is_served_whole_and_offline(browser, server, page):
    section = page("generate")
    names = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(n.endswith("/static/app.js") for n in names) and any(n.endswith("/static/style.css") for n in names)
    assert all(n.startswith(server) for n in names), names  # nothing from anywhere else: it works offline
    tabs = browser.find_elements(By.CSS_SELECTOR, "#tabs a")
    assert [t.text for t in tabs] == ["Generate", "Write", "Read", "Compose", "Translate", "Caption", "Predict", "Inspect"]
    tabs[3].click()
    assert browser.find_element(By.ID, "compose").is_displayed() and not section.is_displayed()
    models = browser.execute_script("return [...document.querySelector('#generate select').options].map(o => o.value)")
    assert "obama" in models and browser.find_element(By.CSS_SELECTOR, "#generate select").get_attribute("value") == "obama"


def test_generate_streams_the_text_in(browser, page):
    section = page("generate")
    fill(section, seed="War on terror", n=300, random_seed=1)
    # record the output's length at every change: a text that streams in grows many times
    browser.execute_script("""
        const out = document.getElementById('generate-out'); window.lengths = [];
        new MutationObserver(() => lengths.push(out.textContent.length)).observe(out, {childList: true});""")
    submit(section)
    finished(browser, section)
    text = browser.find_element(By.ID, "generate-out").text
    assert text.startswith("War on terror") and len(text) > len("War on terror") + 250, text
    lengths = browser.execute_script("return lengths")
    assert len(set(lengths)) >= 5, lengths


def test_write_draws_the_pen_as_it_moves_and_offers_png_and_svg(browser, page):
    section = page("write")
    fill(section, text="hello world", hand="print", random_seed=1)
    # record the drawn ink at every change: strokes that arrive as the pen moves grow many times
    browser.execute_script("""
        const out = document.getElementById('write-out'); window.inks = [];
        new MutationObserver(() => inks.push([...out.querySelectorAll('path')].map(p => p.getAttribute('d') || '')
            .join('').length)).observe(out, {subtree: true, childList: true, attributes: true});""")
    submit(section)
    finished(browser, section)
    svg = browser.find_element(By.CSS_SELECTOR, "#write-out svg")
    paths = svg.find_elements(By.TAG_NAME, "path")
    assert len(paths) >= 10
    inks = browser.execute_script("return inks")
    assert len(set(inks)) >= 5, inks  # drawn in many steps before the finished page replaced it
    # the downloads: a PNG and the SVG, made in the page
    got = browser.execute_async_script("""const done = arguments[0];
        Promise.all(['write-png', 'write-svg'].map(id => fetch(document.getElementById(id).href).then(r => r.arrayBuffer())))
          .then(([png, svg]) => done([[...new Uint8Array(png.slice(0, 4))], new TextDecoder().decode(svg)]));""")
    assert got[0] == [0x89, ord("P"), ord("N"), ord("G")]
    assert got[1].count("<path") == len(paths)


def test_read_canvas_reads_drawn_ink(browser, page, tmp_path):
    """The shipped print sample drawn on the canvas with synthesised pointer events, scaled to fit,
    reads as lstm read reads the file."""
    section = page("read")
    sample = json.loads((ROOT / "docs/ink/print.jsonl").read_text().splitlines()[0])
    browser.execute_script("""
        const [strokes, canvas] = arguments, box = canvas.getBoundingClientRect();
        const xs = strokes.flat().map(p => p[0]), ys = strokes.flat().map(p => p[1]);
        const x0 = Math.min(...xs), y0 = Math.min(...ys);
        const scale = Math.min((box.width - 40) / (Math.max(...xs) - x0), (box.height - 40) / (Math.max(...ys) - y0));
        const at = ([x, y]) => ({clientX: box.left + 20 + (x - x0) * scale, clientY: box.top + 20 + (y - y0) * scale});
        const fire = (type, p) => canvas.dispatchEvent(new PointerEvent(type,
            {...at(p), pointerId: 7, pointerType: 'pen', isPrimary: true, bubbles: true, cancelable: true, buttons: 1}));
        for (const s of strokes) {
            fire('pointerdown', s[0]);
            for (const p of s.slice(1)) fire('pointermove', p);
            fire('pointerup', s[s.length - 1]);
        }""", sample["strokes"], browser.find_element(By.ID, "read-canvas"))
    points = browser.execute_script("return ink.flat().length")
    assert points == sum(map(len, sample["strokes"]))
    submit(section)
    finished(browser, section)
    assert browser.find_element(By.ID, "read-out").text == sample["text"] == "and on the 31st of October,"
    assert browser.execute_script("return document.getElementById('read-view').naturalWidth") > 200  # the four rows
    browser.save_screenshot(str(tmp_path / "drawn.png"))
    section.find_element(By.CSS_SELECTOR, "button.clear").click()
    assert browser.execute_script("return ink.length") == 0
    # and a stroke by the (trusted) mouse of the browser's own input
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = browser.find_element(By.ID, "read-canvas")
    moves = ActionChains(browser, duration=10).move_to_element_with_offset(canvas, -200, 0).click_and_hold()
    for dx in range(-180, 20, 20):
        moves = moves.move_by_offset(20, 5 if dx % 40 else -5)
    moves.release().perform()
    assert browser.execute_script("return ink.map(s => s.length)") == [11]


def test_compose_shows_the_roll_and_plays_it(browser, page):
    section = page("compose")
    fill(section, key="D minor", length=6, random_seed=1)
    submit(section)
    finished(browser, section)
    roll = browser.find_element(By.ID, "compose-roll")
    assert browser.execute_script("return arguments[0].naturalWidth", roll) > 100
    assert "D minor" in browser.find_element(By.ID, "compose-about").text
    midi = browser.find_element(By.ID, "compose-midi").get_attribute("href")
    assert midi.startswith("data:audio/midi;base64,TVRoZ")  # "MThd"
    play = browser.find_element(By.ID, "compose-play")
    play.click()
    WebDriverWait(browser, 5).until(lambda d: play.text == "Stop")
    status = browser.find_element(By.ID, "compose-status").text
    assert status.startswith("playing ") and int(status.split()[1]) > 0, status
    play.click()
    assert play.text == "Play" and browser.execute_script("return playing") is None


def test_caption_of_an_upload_and_of_a_drawn_scene(browser, page, tmp_path):
    from lstm_cli.tasks.caption import shapes

    picture, _, truth = shapes.scene(11, "unseen-any")
    picture.save(tmp_path / "scene.png")
    section = page("caption")
    section.find_element(By.NAME, "image").send_keys(str(tmp_path / "scene.png"))
    submit(section)
    finished(browser, section)
    shown = browser.find_element(By.ID, "caption-image")
    assert browser.execute_script("return arguments[0].naturalWidth", shown) == picture.width
    assert browser.find_element(By.ID, "caption-text").text == truth
    looked = browser.find_element(By.ID, "caption-attention")  # the picture once per word, lit where it looked
    assert browser.execute_script("return arguments[0].naturalWidth", looked) > 2 * 128
    section.find_element(By.CSS_SELECTOR, "button.scene").click()
    finished(browser, section)
    assert len(browser.find_element(By.ID, "caption-text").text.split()) >= 3
    assert browser.find_element(By.ID, "caption-truth").text.startswith("the generator drew: ")


def test_translate_predict_inspect(browser, page):
    section = page("translate")
    fill(section, text="God created the heavens and the earth.")
    submit(section)
    finished(browser, section)
    assert "Dieu" in browser.find_element(By.ID, "translate-out").text
    assert browser.execute_script("return document.getElementById('translate-attention').naturalWidth") > 0

    section = page("predict")
    fill(section, sequence="2 4 8 16")
    submit(section)
    finished(browser, section)
    assert browser.find_element(By.ID, "predict-out").text.startswith("2 4 8 16 → 32")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#predict-alternatives tr")) >= 2

    section = page("inspect")
    fill(section, text="We are strong.", cell="0:3")
    submit(section)
    finished(browser, section)
    spans = browser.find_elements(By.CSS_SELECTOR, "#inspect-out span")
    assert browser.execute_script("return document.getElementById('inspect-out').textContent") == "We are strong."
    colours = {s.value_of_css_property("background-color") for s in spans}
    assert len(spans) == 14 and len(colours) > 3, colours


def test_a_refused_request_shows_the_servers_message(browser, page):
    section = page("inspect")
    fill(section, text="We are strong.", cell="9:0")
    submit(section)
    WebDriverWait(browser, WAIT).until(lambda d: section.get_attribute("data-state") in ("done", "error"))
    assert section.get_attribute("data-state") == "error"
    assert "9" in section.find_element(By.CSS_SELECTOR, ".error").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#inspect-out span")
    logged = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert all("status of 422" in m for m in logged), logged  # the refusal itself, and nothing else

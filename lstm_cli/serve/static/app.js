// The page over lstm serve's JSON API (docs/usage.md, "serve"): a panel per tool, each a form posted
// to /api/NAME. Plain JavaScript, no framework and no build step; nothing is fetched from anywhere
// but this server, so the page works offline.
//
// Each panel's <section> carries data-state: "busy" while its request runs, then "done" or "error"
// (the browser tests wait on it).
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);

// ---------------------------------------------------------------- the tabs: the URL's #hash names the panel

function showPanel() {
  const name = location.hash.slice(1) || "generate";
  for (const p of document.querySelectorAll(".panel")) p.classList.toggle("current", p.id === name);
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("current", a.hash === "#" + name);
  if (name === "read") fitCanvas();
}

// ---------------------------------------------------------------- talking to the API

// POST a JSON body; an answer that is not a success becomes an Error with the server's message and hint.
async function post(path, body, signal) {
  const r = await fetch(path, {method: "POST", headers: {"content-type": "application/json"},
                               body: JSON.stringify(body), signal});
  if (!r.ok) {
    let message = `${r.status} ${r.statusText}`;
    try {
      const e = await r.json();
      message = e.error + (e.hint ? ` (${e.hint})` : "");
    } catch (_) { /* not JSON: keep the status line */ }
    throw new Error(message);
  }
  return r;
}

const postJSON = async (path, body) => (await post(path, body)).json();

// A form's fields as a request: empty fields left out (the server's defaults), numbers as numbers.
function fields(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.type === "file") continue;
    if (el.type === "checkbox") body[el.name] = el.checked;
    else if (el.value.trim() !== "") body[el.name] = el.type === "number" ? Number(el.value) : el.value;
  }
  return body;
}

// A panel: its form's submit runs `run(form, section)`; the section's buttons wait while it runs,
// and an error shows in the panel. Returns `act`, to run other work (another button's) the same way.
function panel(name, run) {
  const section = document.getElementById(name), form = $("form", section), error = $(".error", section);
  const act = async (work) => {
    error.textContent = "";
    section.dataset.state = "busy";
    const buttons = [...form.querySelectorAll("button:not(.stop)")];
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await work();
      section.dataset.state = "done";
    } catch (e) {
      section.dataset.state = e.name === "AbortError" ? "done" : "error";
      if (e.name !== "AbortError") error.textContent = e.message;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => run(form, section));
  });
  return act;
}

// Each model <select> lists the shipped models of its task (data-task), its default chosen.
async function loadModels() {
  const {models} = await (await fetch("/api/models")).json();
  for (const select of document.querySelectorAll("select[data-task]")) {
    for (const m of models.filter((m) => m.task === select.dataset.task)) {
      const option = new Option(m.name, m.name, false, m.name === select.dataset.default);
      option.title = m.description;
      select.add(option);
    }
  }
}

const download = (link, blob) => {
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(blob);
};

// ---------------------------------------------------------------- generate: the text streams in

panel("generate", async (form, section) => {
  const out = $("#generate-out"), stop = $(".stop", section), controller = new AbortController();
  out.textContent = "";
  stop.hidden = false;
  stop.onclick = () => controller.abort();
  try {
    const r = await post("/api/generate", fields(form), controller.signal);
    // The server sends each character as it is sampled (chunked text/plain).
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      out.append(value);
    }
  } finally {
    stop.hidden = true;
  }
});

// ---------------------------------------------------------------- write: the pen drawn as it moves

panel("write", async (form, section) => {
  const out = $("#write-out");
  const width = Math.max(100, Math.min(2000, Math.round(out.clientWidth || 800)));
  $("#write .downloads").hidden = true;
  // The server sends each pen point as it is sampled (JSON lines), then the page it laid out.
  const r = await post("/api/write/stream", {...fields(form), width});
  let pen = null, page = null;
  for await (const events of jsonLines(r)) {
    for (const e of events) {
      if (e.lines) {
        pen = new LivePen(e.lines, e.em, width);
        out.replaceChildren(pen.svg);
      } else if (e.point) pen.add(e.line, e.point);
      else if (e.page) page = e.page;
    }
    pen?.show();
  }
  if (!page) throw new Error("the answer stopped before the page was done");
  // Done: the page as the server drew it (the same strokes, laid out as lstm write lays them out).
  const svg = new DOMParser().parseFromString(page.svg, "image/svg+xml").documentElement;
  out.replaceChildren(document.importNode(svg, true));
  $(".error", section).textContent = page.warnings.join("; ");
  download($("#write-svg"), new Blob([page.svg], {type: "image/svg+xml"}));
  download($("#write-png"), await pngOf(page.svg));
  $("#write .downloads").hidden = false;
});

// A streamed answer of JSON lines -> arrays of the objects that have arrived, as they arrive.
async function* jsonLines(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    const parts = (rest + value).split("\n");
    rest = parts.pop();
    yield parts.filter((p) => p).map((p) => JSON.parse(p));
  }
  if (rest.trim()) yield [JSON.parse(rest)];
}

const SVG = "http://www.w3.org/2000/svg";

// The lines drawn point by point as they arrive, a <path> per stroke. Each line starts at x = 0
// below the one before; the picture is sized for the longest line at the style's width per
// character (em; else as wide as what is drawn so far) and grows where the pen goes past it.
class LivePen {
  constructor(lines, em, width) {
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("width", width);
    this.svg.innerHTML = '<rect width="100%" height="100%" fill="white"/>' +
      '<g fill="none" stroke="black" stroke-linecap="round" stroke-linejoin="round"></g>';
    this.g = this.svg.lastChild;
    this.width = width;
    this.wide = em ? 1.05 * em * Math.max(...lines.map((l) => l.length)) : 0;
    this.line = -1;
    this.box = null;  // [x0, y0, x1, y1] of what is drawn
    this.lineBox = null;  // of the line being drawn
  }

  add(k, [dx, dy, up]) {
    if (k !== this.line) {  // a new line, below the last: as far above its origin as that one was
      const [, y0, , y1] = this.lineBox || [0, 0, 0, 0];
      this.y = this.lineBox ? y1 + 0.6 * (y1 - y0) + (this.y0 - y0) : 0;
      this.y0 = this.y;
      this.x = 0;
      this.line = k;
      this.lineBox = null;
      this.path = null;
    }
    this.x += dx;
    this.y += dy;
    const x = this.x, y = this.y;
    if (!this.path) {
      this.path = document.createElementNS(SVG, "path");
      this.path.setAttribute("vector-effect", "non-scaling-stroke");
      this.path.setAttribute("stroke-width", "2.5");
      this.g.append(this.path);
      this.d = `M${x.toFixed(1)},${y.toFixed(1)} L${x.toFixed(1)},${y.toFixed(1)}`;
    } else this.d += ` L${x.toFixed(1)},${y.toFixed(1)}`;
    this.path.dataset.d = this.d;
    for (const name of ["box", "lineBox"]) {
      const b = this[name];
      this[name] = b ? [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)] : [x, y, x, y];
    }
    if (up > 0) this.path = null;  // the pen lifts
  }

  // Bring the picture up to date (once per batch of points that arrived together).
  show() {
    if (!this.box) return;
    for (const p of this.g.querySelectorAll("path[data-d]")) {
      p.setAttribute("d", p.dataset.d);
      delete p.dataset.d;
    }
    const [x0, y0, x1, y1] = this.box, margin = 0.1 * Math.max(y1 - y0, 1);
    const w = Math.max(x1 - x0, this.wide) + 2 * margin, h = y1 - y0 + 2 * margin;
    this.svg.setAttribute("viewBox", `${x0 - margin} ${y0 - margin} ${w} ${h}`);
    this.svg.setAttribute("height", Math.round(this.width * h / w));
    this.svg.firstChild.setAttribute("x", x0 - margin);
    this.svg.firstChild.setAttribute("y", y0 - margin);
  }
}

// The SVG drawn on a canvas at twice its size, as PNG.
async function pngOf(svgText) {
  const url = URL.createObjectURL(new Blob([svgText], {type: "image/svg+xml"}));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth * 2;
    canvas.height = img.naturalHeight * 2;
    canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}

// ---------------------------------------------------------------- read: ink from pointer events

const canvas = $("#read-canvas");
let ink = [];  // strokes of [x, y] points in CSS pixels, y down (as lstm write --strokes has them)
let pen = null;  // the pointer drawing now

function fitCanvas() {  // the bitmap at the screen's resolution
  const box = canvas.getBoundingClientRect();
  if (!box.width) return;
  canvas.width = Math.round(box.width * devicePixelRatio);
  canvas.height = Math.round(box.height * devicePixelRatio);
  redraw();
}

function redraw() {
  const ctx = canvas.getContext("2d");
  ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 2.5;
  ctx.lineCap = ctx.lineJoin = "round";
  for (const stroke of ink) {
    ctx.beginPath();
    stroke.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (stroke.length === 1) ctx.lineTo(stroke[0][0] + 0.1, stroke[0][1]);
    ctx.stroke();
  }
}

function pointAt(event) {
  const box = canvas.getBoundingClientRect();
  return [Math.round((event.clientX - box.left) * 10) / 10, Math.round((event.clientY - box.top) * 10) / 10];
}

canvas.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pen = event.pointerId;
  try { canvas.setPointerCapture(event.pointerId); } catch (_) { /* a synthetic pointer: nothing to capture */ }
  ink.push([pointAt(event)]);
  redraw();
});
canvas.addEventListener("pointermove", (event) => {
  if (event.pointerId !== pen) return;
  // A pen or a fast finger moves further between frames than one event says: take them all.
  const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  const stroke = ink[ink.length - 1];
  for (const e of coalesced.length ? coalesced : [event]) stroke.push(pointAt(e));
  redraw();
});
for (const type of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(type, (event) => { if (event.pointerId === pen) pen = null; });
}
$("#read .clear").addEventListener("click", () => {
  ink = [];
  $("#read-out").textContent = "";
  $("#read-view").hidden = true;
  redraw();
});
addEventListener("resize", () => { ink = []; fitCanvas(); });  // the old ink would be out of place

panel("read", async (form) => {
  if (!ink.length) throw new Error("write something on the canvas first");
  const r = await postJSON("/api/read", {...fields(form), samples: [{strokes: ink}], view: true});
  $("#read-out").textContent = r.texts[0] || "(nothing read)";
  // lstm read --view's four rows: what each output said, the cells, the ink, what the output looked at
  $("#read-view").src = "data:image/png;base64," + r.view;
  $("#read-view").hidden = false;
});

// ---------------------------------------------------------------- compose: piano roll, a synthesiser, MIDI

let piece = null;  // the last piece composed
let playing = null;  // {ctx, timer} while it plays

panel("compose", async (form) => {
  stopMusic();
  piece = await postJSON("/api/compose", fields(form));
  $("#compose-roll").src = "data:image/png;base64," + piece.pianoroll;
  $("#compose-midi").href = "data:audio/midi;base64," + piece.midi;
  $("#compose-about").textContent = `${piece.key}, ${piece.seconds} s, ${piece.notes.length} notes`;
  $("#compose-out").hidden = false;
});

$("#compose-play").addEventListener("click", () => (playing ? stopMusic() : playMusic(piece)));

// A small synthesiser of our own (no samples, no network): a triangle wave per note, its loudness
// from the velocity, a quick attack, a decay to a sustain and a short release; the notes' times
// are in beats at the piece's tempo. Every note is scheduled at once on the audio clock.
async function playMusic(p) {
  const ctx = new AudioContext();
  const master = ctx.createGain();
  master.gain.value = 0.3;
  master.connect(ctx.createDynamicsCompressor()).connect(ctx.destination);  // chords stay below clipping
  const beat = 60 / p.tempo, t0 = ctx.currentTime + 0.1;
  let last = 0;
  for (const n of p.notes) {
    const start = t0 + n.start * beat, end = start + Math.max(n.end - n.start, 0.1) * beat;
    const peak = 0.25 * n.velocity / 127;
    const osc = ctx.createOscillator(), env = ctx.createGain();
    osc.type = "triangle";
    osc.frequency.value = 440 * 2 ** ((n.pitch - 69) / 12);  // MIDI pitch -> Hz (A4 = 69 = 440 Hz)
    env.gain.setValueAtTime(0, start);
    env.gain.linearRampToValueAtTime(peak, start + 0.01);
    env.gain.setTargetAtTime(peak * 0.6, start + 0.01, 0.15);
    env.gain.setTargetAtTime(0, end, 0.04);
    osc.connect(env).connect(master);
    osc.start(start);
    osc.stop(end + 0.3);
    last = Math.max(last, end + 0.3);
  }
  playing = {ctx, timer: setTimeout(stopMusic, (last - ctx.currentTime) * 1000)};
  await ctx.resume();
  $("#compose-play").textContent = "Stop";
  $("#compose-status").textContent = ctx.state === "running" ? `playing ${p.notes.length} notes` : `audio: ${ctx.state}`;
}

function stopMusic() {
  if (!playing) return;
  clearTimeout(playing.timer);
  playing.ctx.close();
  playing = null;
  $("#compose-play").textContent = "Play";
  $("#compose-status").textContent = "";
}

// ---------------------------------------------------------------- translate

panel("translate", async (form) => {
  const r = await postJSON("/api/translate", fields(form));
  $("#translate-out").textContent = r.translation;
  $("#translate-warnings").textContent = r.warnings.join("; ");
  const picture = $("#translate-attention");
  picture.hidden = !r.attention;
  if (r.attention) picture.src = "data:image/png;base64," + r.attention;
});

// ---------------------------------------------------------------- caption: an uploaded image, or a scene drawn

function showCaption(r, picture) {
  $("#caption-image").src = picture;
  $("#caption-text").textContent = r.caption;
  $("#caption-unsure").textContent = r.unsure ? `unsure: ${r.unsure}` : "";
  $("#caption-truth").textContent = r.scene ? `the generator drew: ${r.scene.caption}` : "";
  $("#caption-attention").src = "data:image/png;base64," + r.attention;  // where it looked for each word
  $("#caption-out").hidden = false;
}

const readFile = (file) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result);
  reader.onerror = () => reject(new Error(`cannot read ${file.name}`));
  reader.readAsDataURL(file);
});

const captioning = panel("caption", async (form) => {
  const file = form.elements.image.files[0];
  if (!file) throw new Error("choose an image first");
  const image = await readFile(file);  // a data: URL, as the API takes it
  showCaption(await postJSON("/api/caption", {model: form.elements.model.value || undefined, image, attention: true}),
              image);
});

$("#caption .scene").addEventListener("click", () => captioning(async () => {
  const form = $("#caption form");
  form.elements.scene.value = Math.floor(Math.random() * 100000);
  const r = await postJSON("/api/caption", {model: form.elements.model.value || undefined,
                                            scene: Number(form.elements.scene.value), attention: true});
  showCaption(r, "data:image/png;base64," + r.scene.png);
}));

// ---------------------------------------------------------------- predict

panel("predict", async (form) => {
  const r = await postJSON("/api/predict", fields(form));
  $("#predict-out").textContent = `${r.sequence.join(" ")} → ${r.next.join(" ")}  (${(100 * r.probability).toFixed(1)}%)`;
  $("#predict-guess").textContent = [r.guess ? `a guess: ${r.guess}` : "", ...r.warnings].filter(Boolean).join("; ");
  $("#predict-alternatives").replaceChildren(...(r.alternatives || []).map((a) => {
    const row = document.createElement("tr");
    row.innerHTML = "<td></td><td></td>";
    row.cells[0].textContent = a.element;
    row.cells[1].textContent = `${(100 * a.probability).toFixed(1)}%`;
    return row;
  }));
});

// ---------------------------------------------------------------- inspect: each character coloured

panel("inspect", async (form) => {
  const body = fields(form);
  const r = await postJSON("/api/inspect", body);
  // A cell's tanh(c) is in [-1, 1]: red above 0, blue below; the surprise (-log p, nats) in orange,
  // full at 5 nats (a 1-in-150 character) and above.
  const colour = r.cell
    ? (v) => (v >= 0 ? `rgba(214, 39, 40, ${0.7 * v})` : `rgba(31, 119, 180, ${-0.7 * v})`)
    : (v) => `rgba(255, 127, 14, ${0.8 * Math.min(v / 5, 1)})`;
  $("#inspect-out").replaceChildren(...[...body.text].map((ch, k) => {
    const span = document.createElement("span");
    span.textContent = ch;
    span.style.background = colour(r.values[k]);
    span.title = r.values[k].toFixed(3);
    return span;
  }));
  $("#inspect-about").textContent = r.cell
    ? `cell ${r.cell}: red positive, blue negative (tanh of the cell's state)`
    : `surprise per character (nats; mean ${r.mean_surprise}): the darker, the less expected`;
});

// ---------------------------------------------------------------- start

addEventListener("hashchange", showPanel);
showPanel();
loadModels().catch((e) => { document.querySelector(".panel.current .error").textContent = `models: ${e.message}`; });

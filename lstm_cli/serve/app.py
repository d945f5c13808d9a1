"""The app: one JSON endpoint per tool, the errors every endpoint shares, and the guard around it;
the web page over them (static/: HTML, CSS and plain JavaScript, no build step) at ``/``.

Every answer that is not a success is JSON, ``{"error": MESSAGE, "hint": HINT}``: our errors
(core/errors.py) keep the CLI's message and hint, with a status by kind (an unknown model 404, bad
input 422); a field out of bounds or unknown is 422 naming it; a body over its limit 413; a full
queue 503 with Retry-After. Anything else is a bug: logged on stderr with a traceback and an id,
and answered 500 with that id and nothing more.
"""

from __future__ import annotations

import sys
import traceback
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from lstm_cli.core.errors import InputError, LstmError, UnknownModelError, UsageError
from lstm_cli.serve import schemas as api
from lstm_cli.serve import work
from lstm_cli.serve.pool import Busy, Jobs, Models

WORKERS = 2  # model work at once (`lstm serve --workers`)
QUEUE = 8  # jobs waiting beyond those (`lstm serve --queue`); past it: 503
STATUS = ((UnknownModelError, 404), (UsageError, 422), (InputError, 422))  # others: the server's fault, 500
STATIC = Path(__file__).with_name("static")  # the page: index.html, app.js, style.css (in the wheel as package data)
ENDPOINTS = {"text": ["generate", "predict", "inspect"], "sequences": ["predict"], "translate": ["translate"],
             "compose": ["compose"],
             "caption": ["caption"], "write": ["write", "write/stream"], "read": ["read"]}


def error(status: int, message: str, hint: str | None = None, id: str | None = None, headers=None) -> JSONResponse:
    return JSONResponse(api.ErrorBody(error=message, hint=hint, id=id).model_dump(exclude_none=True), status,
                        headers=headers)


def internal(method: str, path: str, e: BaseException) -> JSONResponse:
    """A bug: its traceback on the server's stderr under a new id, and only the id in the answer."""
    id = uuid.uuid4().hex[:12]
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    print(f"lstm serve: internal error {id} in {method} {path}:\n{tb}", file=sys.stderr, flush=True)
    return error(500, "internal error", hint="the server logged it under this id", id=id)


class Guard:
    """The outermost layer (pure ASGI, so streamed answers pass untouched): refuses a body over its
    limit (by its Content-Length at once, else as its bytes arrive: 413), and answers an exception
    nothing else handled with :func:`internal` (a streamed answer already under way is cut short)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = api.MAX_CAPTION_BODY if scope["path"] == "/api/caption" else api.MAX_BODY
        too_big = f"the request body is over {limit:,} bytes"
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > limit:
            return await error(413 if length.isdigit() else 400, too_big if length.isdigit() else "bad Content-Length")(
                scope, receive, send)
        got, started = 0, False

        async def bounded():
            nonlocal got
            message = await receive()
            got += len(message.get("body", b""))
            if got > limit:
                raise HTTPException(413, too_big)  # the route's body reading passes it on as it is
            return message

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, tracked)
        except Exception as e:
            response = internal(scope.get("method", ""), scope["path"], e)
            if not started:
                await response(scope, receive, send)


def create_app(workers: int = WORKERS, queue: int = QUEUE) -> FastAPI:
    """The server: ``workers`` threads for the models and at most ``queue`` jobs waiting. Shipped
    models load on first use and stay loaded (pool.Models)."""
    from lstm_cli import __version__
    from lstm_cli.cli.predict import DEFAULT_MODEL as PREDICT_MODEL
    from lstm_cli.core import registry

    models = Models()
    jobs = Jobs(workers, queue, initializer=_one_thread)

    @asynccontextmanager
    async def lifespan(app):
        yield
        jobs.close()

    app = FastAPI(title="lstm serve", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="The lstm tools as a JSON API: one endpoint per tool, models by their registry "
                              "names (GET /api/models). Errors: {\"error\": ..., \"hint\": ...}.")
    app.state.models, app.state.jobs = models, jobs
    app.add_middleware(Guard)
    fails = {s: {"model": api.ErrorBody} for s in (404, 413, 422, 503)}

    @app.exception_handler(LstmError)
    async def _ours(request, e: LstmError):
        status = next((s for kind, s in STATUS if isinstance(e, kind)), 500)
        if status == 500:  # a shipped model that does not load, say: the server's fault
            return internal(request.method, request.url.path, e)
        return error(status, e.message, e.hint)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, e: RequestValidationError):
        return error(422, "; ".join(_say(err) for err in e.errors()[:5]), hint="see /docs for the fields and their bounds")

    @app.exception_handler(HTTPException)
    async def _http(request, e: HTTPException):
        message = e.detail if isinstance(e.detail, str) else str(e.detail)
        if isinstance(e.__cause__, UnicodeDecodeError):
            message = "the request body is not UTF-8 JSON"
        return error(e.status_code, message, headers=getattr(e, "headers", None))

    @app.exception_handler(Busy)
    async def _busy(request, e: Busy):
        return error(503, f"the server is busy: {jobs.workers} job(s) at work and {jobs.queue} waiting",
                     hint=f"try again in {Jobs.RETRY_AFTER} s", headers={"Retry-After": str(Jobs.RETRY_AFTER)})

    @app.get("/", include_in_schema=False)
    async def _page():
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # /docs: FastAPI's own page fetches Swagger UI from a CDN; this one serves it from its package
    app.mount("/docs-static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    async def _docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="lstm serve: the API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")

    @app.get("/api/models", response_model=api.ModelsResponse)
    async def models_list():
        """The shipped models: name, task, the endpoints that use it, its held-out metric."""
        return api.ModelsResponse(models=[
            api.ModelInfo(name=k, task=e.get("task", ""), endpoints=ENDPOINTS.get(e.get("task"), []),
                          metric=e.get("metric"), description=e.get("description", ""),
                          parameters=e.get("parameters", 0))
            for k, e in registry.manifest().items()])

    @app.post("/api/generate", response_class=StreamingResponse, responses={200: {"content": {"text/plain": {}}}, **fails})
    async def generate(req: api.GenerateRequest):
        """Continue a seed text (default model: obama). The text streams as it is sampled
        (text/plain, chunked): the seed first (unless echo is false), then each character."""
        name = Models.name("text", req.model)
        pieces = await jobs.stream(work.generate, models, name, req)
        return StreamingResponse(pieces, media_type="text/plain; charset=utf-8")

    def writer(req: api.WriteRequest) -> str:
        """The writer's name: the request's model, else its hand's own writer where one is shipped
        (tasks.write.writer_for), else the default."""
        from lstm_cli.tasks.write import writer_for

        return Models.name("write", writer_for(req.model, req.hand))

    @app.post("/api/write", response_model=api.WriteResponse, responses=fails)
    async def write(req: api.WriteRequest):
        """Write text by hand (default model: hershey): the pen strokes (as `lstm write --strokes`
        writes them, a sample per line) and the page as SVG."""
        return await jobs.run(work.write, models, writer(req), req)

    @app.post("/api/write/stream", response_class=StreamingResponse, responses={200: {"content": {"application/x-ndjson": {}}}, **fails})
    async def write_stream(req: api.WriteRequest):
        """/api/write as the pen moves, one JSON object a line: `{"lines": [...], "em": width per character}`, then
        `{"line": k, "point": [dx, dy, up]}` for each pen point as it is sampled (offsets, each line
        from its own origin; up: the pen lifts after it), then `{"page": ...}`, /api/write's answer."""
        pieces = await jobs.stream(work.write_stream, models, writer(req), req)
        return StreamingResponse(pieces, media_type="application/x-ndjson")

    @app.post("/api/read", response_model=api.ReadResponse, responses=fails)
    async def read(req: api.ReadRequest):
        """Read handwriting (default model: hershey-reader): a text per sample of ink."""
        lm = req.lm if req.lm in (None, "none") else Models.name("text", req.lm)
        return await jobs.run(work.read, models, Models.name("read", req.model), lm, req)

    @app.post("/api/compose", response_model=api.ComposeResponse, responses=fails)
    async def compose(req: api.ComposeRequest):
        """Compose a piece (default model: bach): MIDI (base64), its notes (times in beats), its
        piano roll (PNG, base64)."""
        return await jobs.run(work.compose, models, Models.name("compose", req.model), req)

    @app.post("/api/translate", response_model=api.TranslateResponse, responses=fails)
    async def translate(req: api.TranslateRequest):
        """English -> French (default model: en-fr), a line out per line in."""
        return await jobs.run(work.translate, models, Models.name("translate", req.model), req)

    @app.post("/api/caption", response_model=api.CaptionResponse, responses=fails)
    async def caption(req: api.CaptionRequest):
        """Describe an image (base64), or a scene the shapes generator draws from a seed
        (default model: shapes)."""
        return await jobs.run(work.caption, models, Models.name("caption", req.model), req)

    @app.post("/api/predict", response_model=api.PredictResponse, responses=fails)
    async def predict(req: api.PredictRequest):
        """The next element(s) of a sequence (default model: sequences); with explain, the
        likeliest alternatives and whether the answer is a guess."""
        return await jobs.run(work.predict, models, Models.name(("sequences", "text"), req.model or PREDICT_MODEL), req)

    @app.post("/api/inspect", response_model=api.InspectResponse, responses=fails)
    async def inspect(req: api.InspectRequest):
        """A cell's state (LAYER:CELL) per character of a text, or the surprise (default model: obama)."""
        return await jobs.run(work.inspect, models, Models.name("text", req.model), req)

    return app


def _one_thread() -> None:
    """Each worker runs torch on one thread (LSTM_THREADS overrides): the requests are the parallelism."""
    from lstm_cli.core.runtime import set_threads

    set_threads(0, default=1)


def _say(err: dict) -> str:
    """One pydantic error as a line: the field, then what is wrong with it."""
    where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "the body"
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"unknown field '{where}'"
    if kind == "missing":
        return f"{where}: missing"
    if kind == "json_invalid":
        return f"the body is not valid JSON ({ctx.get('error', 'decode error')})"
    if kind == "value_error":
        return f"{where}: {ctx.get('error', err.get('msg'))}"
    if kind in ("string_too_long", "too_long"):
        return f"{where}: at most {ctx.get('max_length'):,} {'characters' if kind == 'string_too_long' else 'items'}"
    return f"{where}: {err.get('msg', 'invalid')}"

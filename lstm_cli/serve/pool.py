"""The server's two shared resources: the models (loaded on first use, then kept) and the worker
threads that run them (bounded, with a bounded queue in front).

Model work is CPU-bound and runs off the event loop, so one slow request does not stall the
others: :class:`Jobs` has ``workers`` threads and lets at most ``queue`` more jobs wait; a job past
that is refused at once with :class:`Busy` (503 and Retry-After), never queued without bound. A
streamed job (generate) keeps its place until its last piece is out or its client is gone.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Callable, Iterator

from lstm_cli.core.errors import UnknownModelError, excerpt


class Busy(Exception):
    """Every worker is busy and the queue is full."""


class Models:
    """Shipped models by registry name only (a path never reaches the file system): :meth:`name`
    checks a requested name; :meth:`get` loads an object once, with the task's own loader, and
    keeps it. Objects are shared by concurrent requests: only those that read their model (the
    tasks' networks in eval mode) are kept; one with state of its own comes with a lock."""

    def __init__(self):
        self._kept: dict[tuple, Any] = {}
        self._loading: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    @staticmethod
    def name(task: str | tuple[str, ...], name: str | None) -> str:
        """``name`` (the task's default when None) if it is a shipped model of ``task`` (or of one
        of several tasks), else :class:`UnknownModelError` (404) listing those that are."""
        from lstm_cli.core import registry

        tasks = (task,) if isinstance(task, str) else task
        name = name or registry.task(tasks[0]).default_model
        entries = registry.manifest()
        if name not in entries or entries[name].get("task") not in tasks:
            names = [k for k, e in entries.items() if e.get("task") in tasks]
            kinds = " or ".join(tasks)
            raise UnknownModelError(f"no shipped {kinds} model named {excerpt(str(name))}",
                                    hint=f"{kinds} models: {', '.join(names) or 'none'} (GET /api/models)")
        return name

    def get(self, key: tuple, load: Callable[[], Any]) -> Any:
        """The object kept under ``key``, made by ``load()`` the first time (once, even when
        several requests ask at once)."""
        with self._lock:
            lock = self._loading.setdefault(key, threading.Lock())
        with lock:
            if key not in self._kept:
                self._kept[key] = load()
            return self._kept[key]


_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def _settle(fut: asyncio.Future, error: BaseException | None = None) -> None:
    if fut.done():  # its request has gone meanwhile
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(None)


class _Place:
    """A job's place among those running or waiting, freed once: when the job ends, or earlier
    (a stream frees it before its client can see the end, so the client's next request finds it)."""

    def __init__(self, places: threading.BoundedSemaphore):
        self._places, self._held = places, True

    def free(self, *_) -> None:
        if self._held:  # (called by the job's own thread, or instead of it once cancelled)
            self._held = False
            self._places.release()


class Jobs:
    """``workers`` threads and a queue of at most ``queue`` waiting jobs (see the module docstring)."""

    RETRY_AFTER = 2  # seconds, the Retry-After of a 503

    def __init__(self, workers: int = 2, queue: int = 8, initializer: Callable[[], None] | None = None):
        self.workers, self.queue = workers, queue
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="lstm-serve", initializer=initializer)
        self._places = threading.BoundedSemaphore(workers + queue)  # running or waiting

    def _submit(self, job: Callable[[_Place], Any]):
        """``job(its place)`` on a worker, if there is a place for it (else :class:`Busy`)."""
        if not self._places.acquire(blocking=False):
            raise Busy()
        place = _Place(self._places)
        try:
            fut = self._pool.submit(job, place)
        except BaseException:
            place.free()
            raise
        fut.add_done_callback(place.free)  # the first of its callbacks: freed before the result is seen
        return fut

    async def run(self, fn: Callable, *args) -> Any:
        """``fn(*args)`` on a worker; its result, or its exception raised here. A request that goes
        away meanwhile leaves the job to finish (its place is freed then)."""
        return await asyncio.wrap_future(self._submit(lambda place: fn(*args)))

    async def stream(self, start: Callable[..., Iterator[str]], *args) -> AsyncIterator[str]:
        """``start(*args)`` on a worker returns an iterator of text; its errors are raised here, so
        a request's checks and set-up answer before anything is streamed. Then the same worker
        runs the iterator, and the async iterator returned yields what it has made so far, joined
        (a piece per character when the client keeps up). The worker stops when the client goes."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future = loop.create_future()
        pieces: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def put(item) -> None:
            try:
                loop.call_soon_threadsafe(pieces.put_nowait, item)
            except RuntimeError:  # the loop is closed: the server is shutting down
                stop.set()

        def work(place: _Place) -> None:
            try:
                it = start(*args)
            except BaseException as e:
                place.free()
                loop.call_soon_threadsafe(_settle, ready, e)
                return
            loop.call_soon_threadsafe(_settle, ready)
            try:
                for piece in it:
                    if stop.is_set():
                        return
                    put(piece)
            except BaseException as e:
                put(_Failed(e))
            finally:
                place.free()
                put(_END)

        self._submit(work)
        try:
            await ready
        except BaseException:
            stop.set()
            raise

        async def joined() -> AsyncIterator[str]:
            try:
                while True:
                    got = [await pieces.get()]
                    while not pieces.empty():
                        got.append(pieces.get_nowait())
                    text = "".join(g for g in got if isinstance(g, str))
                    if text:
                        yield text
                    for g in got:
                        if isinstance(g, _Failed):
                            raise g.error
                        if g is _END:
                            return
            finally:
                stop.set()

        return joined()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

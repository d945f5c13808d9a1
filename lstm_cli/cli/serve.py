"""``lstm serve``: the tools as a local web server (lstm_cli/serve/), on FastAPI and uvicorn, which
the optional extra ``lstm-cli[serve]`` installs; nothing of them is imported before the command runs."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from lstm_cli.cli import options as o

INSTALL = "pip install 'lstm-cli[serve]' (make setup installs it)"


def serve(
    host: Annotated[str, typer.Option("--host", help="The address to listen on; anything but a loopback address (127.0.0.1, ::1, localhost) lets anyone on the network use it.")] = "127.0.0.1",
    port: Annotated[int, o.num("--port", kind=int, lo=0, hi=65535, help="The port (0: any free one).")] = 8000,
    open_page: Annotated[bool, typer.Option("--open", help="Open it in the web browser.")] = False,
    workers: Annotated[int, o.num("--workers", kind=int, lo=1, hi=64, help="Requests worked on at once (each on one torch thread).")] = 2,
    queue: Annotated[int, o.num("--queue", kind=int, lo=0, hi=1000, help="Requests that may wait beyond those; past it the server answers 503 (busy).")] = 8,
):
    """Serve the tools as a web page and a JSON API (documented at /docs) on a local web server; Ctrl-C stops it."""
    from lstm_cli.core.errors import MissingToolError, UsageError

    try:
        import fastapi  # noqa: F401
        import swagger_ui_bundle  # noqa: F401 (/docs, offline)
        import uvicorn
    except ImportError as e:
        raise MissingToolError(f"lstm serve needs FastAPI, uvicorn and Swagger UI, the serve extra ({e.name} is not installed)",
                               hint=INSTALL) from None
    from lstm_cli.serve import create_app

    if not is_loopback(host):
        print(f"lstm: warning: listening on {host}: anyone who can reach this machine on the network can use "
              "the server (and its CPU); there is no login", file=sys.stderr)
    sock = _listen(host, port, UsageError)
    url = f"http://{f'[{host}]' if ':' in host else host}:{sock.getsockname()[1]}/"
    config = uvicorn.Config(create_app(workers, queue), log_config=_log_config(uvicorn), timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    print(url, flush=True)
    print(f"lstm: serving the page at {url} and the API (documented at {url}docs); Ctrl-C stops", file=sys.stderr,
          flush=True)
    if open_page:
        _open_when_started(server, url)
    server.run(sockets=[sock])  # Ctrl-C: uvicorn shuts down, then raises it again: exit 130 (cli/app.py)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # another name: it may resolve to anything
        return False


def _listen(host: str, port: int, UsageError):
    """A socket bound to (host, port), or a one-line error (a port in use, an address not here)."""
    import socket

    try:
        family = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        raise UsageError(f"cannot listen on {host} port {port}: {e.strerror or e}",
                         hint="choose another --port (0: any free one)" if port else None) from None
    return sock


def _log_config(uvicorn) -> dict:
    """uvicorn's logging with its access lines on stderr too: stdout carries the URL alone."""
    import copy

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def _open_when_started(server, url: str) -> None:
    import threading
    import time
    import webbrowser

    def wait_then_open():
        for _ in range(200):
            if server.started:
                webbrowser.open(url)
                return
            time.sleep(0.05)

    threading.Thread(target=wait_then_open, daemon=True).start()

"""lstm serve under load, against one CLI process per request (issue 44).

The server runs as its own process (`lstm serve`, 2 workers, a queue as deep as the clients, so
the clients measure waiting, not refusals), warmed by one request per endpoint. Then:

1. CLIENTS concurrent clients (threads, httpx) for SECONDS each phase: (a) `generate` of 200
   characters; (b) a mix of `write` ("hello world"), `translate` (one verse) and `caption` (a
   generated scene), then (a) again. Requests/s, p50/p95/p99 latency, errors (any answer but
   200), the server's resident memory before and after each phase (goal: flat).
2. Warm, one request at a time: time to the first generated character of `generate` (goal:
   < 100 ms), and to the first pen point of a 40-character line of handwriting streamed by
   `write/stream` (the page draws each point as it arrives; goal: < 300 ms) and to its end.
3. Baseline: the same requests through one `lstm` process each, one after another.

    python benchmarks/bench_serve.py [--clients 32] [--seconds 30] [--cli 4]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LSTM = [sys.executable, "-m", "lstm_cli"]
VERSE = "In the beginning God created the heavens and the earth."
REQUESTS = {
    "generate": ("/api/generate", {"seed": "War on terror", "n": 200, "random_seed": 1}),
    "write": ("/api/write", {"text": "hello world", "hand": "print", "random_seed": 1}),
    "translate": ("/api/translate", {"text": VERSE}),
    "caption": ("/api/caption", {"scene": 7}),
}
CLI = {  # the same work through one process each
    "generate": ["generate", "--seed", "War on terror", "-n", "200", "--random-seed", "1"],
    "write": ["write", "hello world", "--hand", "print", "--random-seed", "1", "-o", "{tmp}/w.svg"],
    "translate": ["translate", VERSE],
}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(clients: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*LSTM, "serve", "--port", str(port), "--workers", "2", "--queue", str(clients)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/api/models", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("bench_serve: the server did not start")


def load(url: str, names: list[str], clients: int, seconds: float) -> dict:
    """``clients`` threads, each sending the requests ``names`` in turn for ``seconds``."""
    import httpx

    latencies, errors, lock = [], [], threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as c:
            i = k
            while time.monotonic() < stop:
                path, body = REQUESTS[names[i % len(names)]]
                t = time.perf_counter()
                try:
                    r = c.post(path, json=body)
                    ok = r.status_code == 200
                    code = r.status_code
                except httpx.HTTPError as e:
                    ok, code = False, type(e).__name__
                with lock:
                    (latencies if ok else errors).append(time.perf_counter() - t if ok else code)
                i += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    q = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000) if lat else (lambda p: float("nan"))
    return {"done": len(lat), "rate": len(lat) / wall, "p50": q(0.5), "p95": q(0.95), "p99": q(0.99),
            "errors": len(errors), "kinds": sorted(set(map(str, errors)))}


def first_ms(url: str, path: str, body: dict, tries: int) -> tuple[float, float]:
    """Median ms to the first piece of a streamed answer (for write/stream, the first pen point,
    past the line that names the lines) and to its end."""
    import httpx

    firsts, wholes = [], []
    with httpx.Client(base_url=url, timeout=60) as c:
        for s in range(tries):
            t = time.perf_counter()
            with c.stream("POST", path, json={**body, "random_seed": s}) as r:
                r.raise_for_status()
                lines = r.iter_lines() if path.endswith("/stream") else r.iter_text()
                for piece in lines:
                    if piece and not piece.startswith('{"lines"'):
                        firsts.append((time.perf_counter() - t) * 1000)
                        break
                for _ in lines:  # the rest of the answer
                    pass
            wholes.append((time.perf_counter() - t) * 1000)
    return statistics.median(firsts), statistics.median(wholes)


def whole_ms(url: str, path: str, body: dict, tries: int = 5) -> float:
    import httpx

    times = []
    with httpx.Client(base_url=url, timeout=60) as c:
        for s in range(tries):
            t = time.perf_counter()
            r = c.post(path, json={**body, "random_seed": s})
            r.raise_for_status()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--cli", type=int, default=4, help="CLI processes per request kind for the baseline")
    a = ap.parse_args()

    proc, url = start_server(a.clients)
    try:
        import httpx

        for path, body in REQUESTS.values():  # warm: every model loaded once
            httpx.post(url + path, json=body, timeout=120).raise_for_status()
        print(f"lstm serve (2 workers, queue {a.clients}) on loopback; {os.cpu_count()} cores; "
              f"{a.clients} clients, {a.seconds:g} s a phase")
        memory = [rss_mb(proc.pid)]
        phases = (("generate 200 chars", ["generate"]), ("write / translate / caption", ["write", "translate", "caption"]),
                  ("generate again", ["generate"]))
        for name, kinds in phases:
            r = load(url, kinds, a.clients, a.seconds)
            memory.append(rss_mb(proc.pid))
            print(f"1. {name:28s} {r['rate']:6.1f} requests/s  p50 {r['p50']:6.0f} ms  p95 {r['p95']:6.0f} ms  "
                  f"p99 {r['p99']:6.0f} ms  ({r['done']} done, {r['errors']} errors{' ' + str(r['kinds']) if r['errors'] else ''})")
        print(f"   server memory (MB) before the load and after each phase: {', '.join(f'{m:.0f}' for m in memory)}")
        char, _ = first_ms(url, "/api/generate", {"seed": "War on terror", "n": 50, "echo": False}, 20)
        line = {"text": "The magic of long short-term memory nets", "hand": "print"}
        point, whole = first_ms(url, "/api/write/stream", line, 10)
        print(f"2. warm, one at a time: first character of generate {char:.0f} ms (median of 20); "
              f"a 40-character line of handwriting: first pen point {point:.0f} ms, all of it {whole:.0f} ms "
              f"(write/stream; /api/write whole {whole_ms(url, '/api/write', line):.0f} ms; medians of 10, 10, 5)")
    finally:
        proc.terminate()
        proc.wait(10)

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LSTM_THREADS": "1"}
        for kind, args in CLI.items():
            args = [x.replace("{tmp}", tmp) for x in args]
            t = time.perf_counter()
            for _ in range(a.cli):
                subprocess.run([*LSTM, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=True, input="")
            each = (time.perf_counter() - t) / a.cli
            print(f"3. baseline: lstm {kind:10s} one process each: {each * 1000:6.0f} ms a request ({1 / each:.2f} requests/s)")


if __name__ == "__main__":
    main()

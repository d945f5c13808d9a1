"""Training progress on stderr with rich: a live bar on a terminal, plain log lines otherwise.

Log lines (``step 500/2000  loss 1.4321  lr 1.9e-03  12,345 tok/s  eta 3m10s``) are printed either
way, so a background run's log file shows the same numbers a terminal does.
"""

from __future__ import annotations


class Ticker:
    """Progress of long work that prints nothing else meanwhile (``lstm eval`` on a big file): a
    line on stderr at most every ``every`` seconds, the first after ``every`` seconds; work of
    fewer than ``least`` units says nothing (short work stays as quiet on a slow, busy machine as
    on a fast one). Call it with the amount done so far."""

    def __init__(self, what: str, total: int, unit: str, least: int = 0, every: float = 10.0):
        import time

        self.what, self.total, self.unit, self.every = what, max(int(total), 1), unit, every
        self.quiet = total < least
        self.t0 = self.last = time.perf_counter()

    def __call__(self, done: int) -> None:
        import sys
        import time

        now = time.perf_counter()
        if self.quiet or now - self.last < self.every or done <= 0:
            return
        self.last = now
        left = (self.total - done) * (now - self.t0) / done
        print(f"lstm: {self.what}: {done:,} of {self.total:,} {self.unit} ({100 * done / self.total:.0f}%), "
              f"about {_fmt_time(left)} left", file=sys.stderr, flush=True)


def _fmt_time(s: float) -> str:
    s = int(max(s, 0))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{sec:02d}s"


class TrainProgress:
    def __init__(self, console=None, total_steps=None, max_time=None, enabled=True, start_step=0,
                 start_elapsed=0.0):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.total, self.max_time, self.enabled = total_steps, max_time, enabled
        # A resumed run: its rate is measured from where it resumed, not over time spent before it.
        self.start_step, self.start_elapsed = start_step, start_elapsed
        self.bar = None

    def __enter__(self):
        if self.enabled and self.console.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("[bold]train"), BarColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), console=self.console, transient=False)
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total or None, completed=self.start_step)
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()

    def update(self, step, loss, lr, tok_s, elapsed):
        if not self.enabled:
            return
        eta = ""
        rate_steps = max(step - self.start_step, 1) / max(elapsed - self.start_elapsed, 1e-9)
        if self.total:
            eta = _fmt_time((self.total - step) / rate_steps) if step > self.start_step else "?"
        if self.max_time:
            left = self.max_time - elapsed
            eta = _fmt_time(min(left, (self.total - step) / rate_steps) if self.total else left)
        of = f"/{self.total}" if self.total else ""
        line = f"step {step}{of}  loss {loss:.4f}  lr {lr:.1e}  {tok_s:,.0f} tok/s" + (f"  eta {eta}" if eta else "")
        if self.bar is not None:
            self.bar.update(self.task, completed=step, description=line)
        else:
            self.console.print(line, highlight=False, soft_wrap=True)

    def note(self, msg: str):
        if self.enabled:
            self.console.print(msg, highlight=False, soft_wrap=True)

    def sample(self, step: int, text: str):
        if self.enabled:
            from rich.panel import Panel
            from rich.text import Text

            self.console.print(Panel(Text(text), title=f"sample at step {step}", title_align="left"))

"""A stub task, deliberately unlike text, that keeps the task contract (core/task.py) honest.

It predicts the next value of noisy sine waves with a Gaussian: its loss is a negative
log-likelihood that goes below zero and keeps falling; its carried state nests the LSTM's (h, c)
in a dict with the batch on dim 0; its encoder trains at a tenth of the learning rate (a second
parameter group); its training samples are files; its command writes a binary payload. It lives
in the tests and registers itself when imported (``LSTM_CLI_PLUGINS=stub_task`` with ``tests/``
on ``PYTHONPATH``): no shared file knows it. It is both the task module and its CLI module.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, fields
from typing import Annotated

import typer

from lstm_cli.cli import options as o
from lstm_cli.core import registry
from lstm_cli.core.task import Job, SampleFile, train_task

TASK = registry.Task(module=__name__, cli=__name__, default_model=None, summary="A stub task (tests only).")
registry.register("stub", TASK)


@dataclass
class StubConfig:
    hidden: int = 16
    dropout: float = 0.0


@dataclass
class StubData:
    batch_size: int = 8
    seq_len: int = 16


def build_model(config: dict):
    import torch.nn as nn

    cfg = StubConfig(**{k: v for k, v in config.items() if k in {f.name for f in fields(StubConfig)}})

    class StubModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.cfg = cfg
            self.encoder = nn.Linear(1, cfg.hidden)
            self.lstm = nn.LSTM(cfg.hidden, cfg.hidden, batch_first=True)
            self.head = nn.Linear(cfg.hidden, 2)  # mean and log standard deviation

        def forward(self, x, state=None):  # x (B, T); state {"hc": [h, c]}, each (B, 1, H)
            hc = None if state is None else tuple(t.transpose(0, 1).contiguous() for t in state["hc"])
            out, (h, c) = self.lstm(self.encoder(x.unsqueeze(-1)), hc)
            mu, log_sigma = self.head(out).unbind(-1)
            return mu, log_sigma, {"hc": [h.transpose(0, 1), c.transpose(0, 1)]}

    return StubModel()


def nll(mu, log_sigma, y):
    """Gaussian negative log-likelihood per value: below zero once sigma is small."""
    return (log_sigma + 0.5 * ((y - mu) / log_sigma.exp()) ** 2 + 0.5 * math.log(2 * math.pi)).mean()


def waves(n_streams: int, length: int, seed: int):
    import torch

    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length).float()
    phase, freq = torch.rand(n_streams, 1, generator=g) * 6.28, 0.2 + 0.3 * torch.rand(n_streams, 1, generator=g)
    return torch.sin(phase + freq * t) + 0.01 * torch.randn(n_streams, length, generator=g)


def read_values(path: str):
    import torch

    from lstm_cli.core.errors import InputError
    from lstm_cli.core.fileio import read_text

    try:
        rows = [[float(v) for v in line.split()] for line in read_text(path).splitlines() if line.strip()]
    except ValueError:
        raise InputError(f"{path}: each line must hold numbers") from None
    return torch.tensor(rows)  # (streams, length)


class StubJob(Job):
    task = "stub"
    carry_batch_dim = 0

    def __init__(self, model, train, val, data: StubData, explode_at: int | None = None):
        self.model, self.train, self.val, self.data = model, train, val, data
        self.config, self.vocab = asdict(model.cfg), None
        self.fingerprint = hashlib.sha256(train.numpy().tobytes()).hexdigest()[:16]
        self.data_note = "sine waves"
        self.rows = train
        self.explode_at = explode_at

    def shard(self, rank: int, world: int) -> None:
        self.rows = self.train.chunk(world)[rank]

    def loss(self, model, step, carry):
        T = self.data.seq_len
        k = step % ((self.rows.shape[1] - 1) // T)
        if k == 0:
            carry = None
        x, y = self.rows[:, k * T: (k + 1) * T], self.rows[:, k * T + 1: (k + 1) * T + 1]
        mu, log_sigma, state = model(x, carry)
        loss = nll(mu.float(), log_sigma.float(), y)
        if self.explode_at is not None and step >= self.explode_at:
            loss = loss + 1000.0 * (step - self.explode_at + 1)
        return loss, y.numel(), {"hc": [t.detach() for t in state["hc"]]}

    def held_out_loss(self, model, bf16):
        import torch

        model.eval()
        with torch.no_grad():
            mu, log_sigma, _ = model(self.val[:, :-1])
            return nll(mu, log_sigma, self.val[:, 1:]).item()

    def sample(self, model, random_seed):
        import torch

        with torch.no_grad():
            mu, _, _ = model(self.val[:1, :-1])
        return SampleFile(".f32", mu.float().numpy().tobytes(), caption="predicted means, float32")

    def param_groups(self, model):
        return [{"params": list(model.encoder.parameters()), "lr_scale": 0.1},
                {"params": [p for n, p in model.named_parameters() if not n.startswith("encoder.")]}]


def train(data: Annotated[str, typer.Option("--data", help="Numbers, one stream per line.")], output: o.Output, cfg,
          hidden: Annotated[int, o.num("--hidden", kind=int, lo=1, help="Units.")] = 16,
          dropout: Annotated[float, o.num("--dropout", lo=0, hi=1, hi_open=True, help="Unused.")] = 0.0,
          seq_len: Annotated[int, o.num("--seq-len", kind=int, lo=2, help="Steps per batch.")] = 16,
          **start):
    """``lstm train stub``: the stub's own flags; the trainer's come from cli/train.py."""
    values = read_values(data)
    given = {k: v for k, v in dict(hidden=hidden, dropout=dropout, seq_len=seq_len).items() if k in start.pop("given", set())}

    def make(start_ckpt, data_cfg, cfg):
        model = build_model(start_ckpt["config"] if start_ckpt else {"hidden": hidden, "dropout": dropout})
        if start_ckpt:
            model.load_state_dict(start_ckpt["state_dict"])
        return StubJob(model, values, waves(4, 64, seed=99), data_cfg)

    return train_task("stub", output, cfg, make, StubData(batch_size=values.shape[0], seq_len=seq_len), given,
                      **start)


def evaluate(model: str | None, data: str, device: str = "auto", window: int = 0) -> dict:
    """Mean NLL of the streams in ``data`` (their first ``window`` values only, if > 0)."""
    import torch

    ckpt = registry.load(model, "stub")
    net = build_model(ckpt["config"])
    net.load_state_dict(ckpt["state_dict"])
    values = read_values(data)
    if window:
        values = values[:, :window]
    net.eval()
    with torch.no_grad():
        mu, log_sigma, _ = net(values[:, :-1])
        value = nll(mu, log_sigma, values[:, 1:]).item()
    return {"metric": "nll", "nll": round(value, 4), "streams": values.shape[0], "model": model}


EVAL_OPTIONS = {"window": (Annotated[int, o.num("--window", kind=int, lo=0, help="Stub: score only the first N values.")], 0)}
COMMAND = "stub-predict"


def command(model: o.Model = None, output: Annotated[str, typer.Option("--output", "-o", help="Where the float32 bytes go; - for stdout.")] = "-"):
    """Write the model's predicted means for one generated wave as raw float32 bytes."""
    import torch

    from lstm_cli.core.fileio import check_output, write_payload

    check_output(output, "--output", dash=True)
    ckpt = registry.load(model, "stub")
    net = build_model(ckpt["config"])
    net.load_state_dict(ckpt["state_dict"])
    with torch.no_grad():
        mu, _, _ = net.eval()(waves(1, 32, seed=5))
    write_payload(output, mu.float().numpy().tobytes(), what="float32 bytes")

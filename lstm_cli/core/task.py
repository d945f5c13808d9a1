"""The task contract: what a task gives the shared machinery (trainer, checkpoints, registry,
export, eval, the CLI), and the few steps every task's ``train`` would otherwise repeat.

A task is one module (or package) under ``lstm_cli/tasks/`` plus one thin ``cli/<command>.py``,
joined by one line in ``core/registry.py``'s ``TASKS`` (or a ``registry.register`` call from a
plugin module). The task module provides (:class:`TaskModule`)::

    build_model(config: dict) -> nn.Module         the model from its plain-dict config
    train(...)                                     ``lstm train NAME``; ends in :func:`train_task`
    evaluate(model, data, device, **opts) -> dict  ``lstm eval``: {"metric": NAME, NAME: value, ...}
    calibrate(ckpt, data) -> ckpt                  optional: ``lstm export --calibrate``

and a *job* for the trainer, a subclass of :class:`Job`. The CLI module provides the user's
command and the task's ``train`` and ``eval`` options (see ``cli/train.py`` and ``cli/evaluate.py``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from lstm_cli.core.errors import UsageError


@dataclass
class SampleFile:
    """What :meth:`Job.sample` returns when a sample is a file (a MIDI, a PNG), not text: the
    trainer writes ``data`` atomically to ``OUT.samples/step-NNNNNN<suffix>`` (and each of
    ``extra``, suffix -> bytes, beside it: a piano roll of the MIDI) and shows the paths and
    ``caption``."""

    suffix: str  # ".mid", ".png", ...
    data: bytes
    caption: str = ""
    extra: dict = dataclasses.field(default_factory=dict)


class Job:
    """What the trainer drives (core/trainer.py). Subclass it; set the attributes in ``__init__``.

    Attributes:
        task          task name, e.g. "text" (the registry's key; stored in every checkpoint)
        model         the ``nn.Module`` to train
        config        the model's config as a plain dict (the task's dataclass, ``asdict``)
        vocab         the tokenizer/vocabulary as plain data (chars, sentencepiece bytes, ...)
        fingerprint   a string that identifies the training data; a resume on other data is refused
        data          the data config (a dataclass: batch shape, ...), kept for exact resume, or None
        data_note     where the data came from, for the checkpoint's metadata
        data_facts    facts about the training data a task needs at use time (a plain dict, kept
                      in the checkpoint's meta as ``data_facts``; text: the longest numbers)
        carry_batch_dim  the batch axis of every tensor in the carried state (see :meth:`loss`)

    The batch for a step is a pure function of the step (so a resume needs no iterator state).
    """

    task: str = ""
    model: Any = None
    config: dict = {}
    vocab: Any = None
    fingerprint: str = ""
    data: Any = None
    data_note: str = ""
    data_facts: dict = {}
    carry_batch_dim: int = 0

    def loss(self, model, step: int, carry) -> tuple[Any, int, Any]:
        """-> (mean loss of the batch, a scalar tensor of any sign; tokens in it; new carry).

        ``carry`` is the state carried from one batch to the next (truncated BPTT's hidden state),
        None at the start: a tensor, or a tuple/list/dict nesting tensors, each with its batch on
        ``carry_batch_dim``; return it detached, or None. ``model`` may be wrapped in DDP: call it,
        do not reach into it."""
        raise NotImplementedError

    def shard(self, rank: int, world: int) -> None:
        """Keep only this process's share of every batch (DDP with ``world`` processes)."""
        if world > 1:
            raise UsageError(f"task '{self.task}' cannot train on {world} processes")

    def held_out_loss(self, model, bf16: bool) -> float | None:
        """Mean loss per token on the held-out data (no dropout), or None without any."""
        return None

    def validate(self, model) -> float | None:
        """The trainer's validation: :meth:`held_out_loss`, in bf16 where it pays off."""
        from lstm_cli.core.runtime import bf16_supported

        return self.held_out_loss(model, bf16_supported(next(model.parameters()).device))

    def sample(self, model, random_seed: int) -> str | SampleFile:
        """Something to look at every ``--sample-every`` steps: text, or a :class:`SampleFile`."""
        return ""

    def param_groups(self, model) -> list[dict]:
        """The optimizer's parameter groups: dicts with ``params`` and optionally ``lr_scale`` (a
        multiplier on the one learning-rate schedule, e.g. 0.1 for a pretrained encoder; 0
        freezes) and ``weight_decay``. Default: one group of every parameter."""
        return [{"params": list(model.parameters())}]

    def extra_state(self) -> dict:
        """Plain data stored in the training checkpoint beside the trainer's own."""
        return {"data_config": dataclasses.asdict(self.data)} if dataclasses.is_dataclass(self.data) else {}


class EpochOrder:
    """The batches of whole samples in a shuffled order per epoch, a pure function of (seed, epoch),
    so a resume needs no iterator state: ``order(step)`` -> the index of that step's batch."""

    def __init__(self, batches: int, seed: int):
        self.batches, self.seed = batches, seed
        self._epoch, self._order = -1, []

    def __call__(self, step: int) -> int:
        import torch

        epoch, k = divmod(step, self.batches)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1000003 + epoch)
            self._order, self._epoch = torch.randperm(self.batches, generator=g).tolist(), epoch
        return self._order[k]


class TaskModule(Protocol):
    """What ``registry.task_module(name)`` returns (a module; see this file's docstring)."""

    def build_model(self, config: dict): ...

    def evaluate(self, model: str | None, data: str, device: str = "auto", **options) -> dict: ...


def no_validation(why: str) -> str:
    """The warning every task gives at the start of a run with nothing to validate on (``why``)."""
    return f"lstm: warning: no validation {why}, so the run keeps its last weights as its best"


def stored_data_config(resumed: dict | None, data_cfg):
    """The data config a resumed run was started with (it decides every batch), else ``data_cfg``."""
    if resumed is None or not dataclasses.is_dataclass(data_cfg):
        return data_cfg
    return type(data_cfg)(**resumed["train_state"]["data_config"])


def check_start_flags(given: dict, stored: dict, init: bool, resume: bool, tunable: tuple[str, ...] = ()) -> dict:
    """Model and data flags the user typed (``given``: name -> value) against a run that starts
    from stored weights (``stored``: its config and data config merged). With ``resume``, the run
    continues as it was stored, so any flag that differs is an error; with ``init``, the flags in
    ``tunable`` (dropout, say) apply to the new run and are returned, and any other that differs
    (a layer size) is an error. The error says the stored value."""
    if not (init or resume):
        return {}
    applied = {}
    via = given.get("via", {})  # sizes set by a typed --preset, not typed themselves
    for name, value in given.items():
        if name == "via" or name not in stored or stored[name] == value:
            continue
        flag = "--" + name.replace("_", "-")
        if init and not resume and name in tunable:
            applied[name] = value
            continue
        why = "--resume continues the run as it was started" if resume else "the --init weights fix it"
        if name in via:
            raise UsageError(f"{via[name]} cannot apply: {why}, with {flag} {stored[name]} ({via[name]} "
                             f"sets {flag} {value})", hint=f"leave out {via[name].split()[0]}")
        raise UsageError(f"{flag} {value} cannot apply: {why}, with {flag} {stored[name]}",
                         hint=f"leave out {flag}")
    return applied


def train_task(task: str, out: str, cfg, make_job: Callable[[dict | None, Any, Any], Job], data_cfg=None,
               given: dict | None = None, tunable: tuple[str, ...] = (), init: str | None = None,
               resume: str | None = None, threads: int = 0):
    """What every task's ``train`` ends in: pin threads; load ``--resume`` (its stored config and
    data config win, but for the length) or ``--init`` weights; check the model and data flags the
    user typed (``given``) against them (:func:`check_start_flags`); seed the initial weights;
    build the job with ``make_job(start, data_cfg, cfg)``, where ``start`` is the checkpoint to
    start from (None for a fresh model; its config has the ``tunable`` flags applied) and ``cfg``
    the TrainConfig the run will use; run the trainer. Returns the trainer's summary."""
    import torch

    from lstm_cli.core import registry
    from lstm_cli.core.runtime import set_threads
    from lstm_cli.core.trainer import fit, load_resume

    set_threads(threads)
    resumed = None
    if resume:
        resumed, cfg = load_resume(resume, task, cfg)
    start = resumed or (registry.load(init, task) if init else None)
    if start is not None:
        stored = {**start["config"], **(resumed["train_state"].get("data_config", {}) if resumed else {})}
        applied = check_start_flags(given or {}, stored, init=resumed is None, resume=resumed is not None,
                                    tunable=tunable)
        start = dict(start, config={**start["config"], **applied})
    torch.manual_seed(cfg.random_seed)  # the initial weights
    try:
        job = make_job(start, stored_data_config(resumed, data_cfg), cfg)
    except (RuntimeError, MemoryError) as e:  # a weight matrix alone larger than the memory
        said = re.search(r"can't allocate memory: you tried to allocate (\d+) bytes", str(e))
        if not (said or isinstance(e, MemoryError)):
            raise
        size = f" (one of its weight matrices alone: {int(said.group(1)) / 2**30:,.1f} GB)" if said else ""
        raise UsageError(f"the model does not fit in memory{size}",
                         hint="choose a smaller model (its sizes: see --help)") from None
    return fit(job, cfg, out, resume=resumed)

"""Task name -> task module and CLI module; model name -> shipped checkpoint
(``checkpoints/manifest.json``).

Adding a task is its module under ``lstm_cli/tasks/`` (core/task.py says what it provides), its
``cli/<command>.py``, and one line in :data:`TASKS`; a task outside this package registers itself
with :func:`register` from a module named in ``LSTM_CLI_PLUGINS``. Adding a shipped model is one
checkpoint file and its manifest entry (``lstm export --name``). Nothing here imports torch, so
``lstm models`` and ``--help`` stay instant.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from lstm_cli.core.errors import CheckpointError, UnknownModelError, UsageError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Task:
    module: str  # the task module: model, job, train(), evaluate() (core/task.py)
    cli: str  # its CLI module: the user's command, `lstm train NAME` and `lstm eval` options (cli/train.py)
    default_model: str | None  # the shipped model used when --model is not given
    summary: str  # one line, shown by `lstm train --help`


TASKS: dict[str, Task] = {
    "text": Task("lstm_cli.tasks.text", "lstm_cli.cli.generate", "obama",
                 "Character-level language model (char-rnn) on any UTF-8 text."),
    "translate": Task("lstm_cli.tasks.translate", "lstm_cli.cli.translate", "en-fr",
                      "Encoder-decoder with attention on sentence pairs; trains its own sentencepiece tokenizer."),
    "compose": Task("lstm_cli.tasks.compose", "lstm_cli.cli.compose", "bach",
                    "Music event by event (MIDI files in, MIDI out), Performance RNN's encoding in beats."),
    "caption": Task("lstm_cli.tasks.caption", "lstm_cli.cli.caption", "shapes",
                    "A CNN encoder and an attending LSTM decoder describe images (Show, Attend and Tell)."),
    "write": Task("lstm_cli.tasks.write", "lstm_cli.cli.write", "hershey",
                  "Handwriting synthesis (Graves 2013): pen strokes from text, through a soft window over the letters."),
    "read": Task("lstm_cli.tasks.read", "lstm_cli.cli.read", "hershey-reader",
                 "Handwriting recognition (Graves 2009): text from pen strokes, a bidirectional LSTM trained with CTC."),
    "sequences": Task("lstm_cli.tasks.columns", "lstm_cli.cli.predict", "sequences",
                      "The next element of number or letter sequences (lstm predict): an LSTM over aligned digit columns."),
}
PLUGINS_ENV = "LSTM_CLI_PLUGINS"  # comma-separated modules that call register() when imported


def register(name: str, task: Task) -> None:
    """Add (or replace) a task: the one line a task outside this package needs."""
    TASKS[name] = task


def load_plugins() -> None:
    """Import the modules named in ``$LSTM_CLI_PLUGINS``; each registers its task(s)."""
    for name in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise UsageError(f"{PLUGINS_ENV}: cannot import '{name}': {e}") from None


def task(name: str) -> Task:
    if name not in TASKS:
        raise UsageError(f"unknown task '{name}'" + _suggest(name, TASKS), hint=f"tasks: {', '.join(TASKS)}")
    return TASKS[name]


def task_module(name: str):
    return importlib.import_module(task(name).module)


def cli_module(name: str):
    return importlib.import_module(task(name).cli)


def checkpoints_dir() -> Path:
    """Inside the package after ``pip install .`` (the wheel carries them as lstm_cli/checkpoints),
    else the repository's top-level ``checkpoints/`` (editable install, source tree)."""
    here = Path(__file__).resolve().parent.parent  # lstm_cli/
    for d in (here / "checkpoints", here.parent / "checkpoints"):
        if (d / MANIFEST).is_file():
            return d
    return here.parent / "checkpoints"


def manifest(directory: Path | None = None) -> dict[str, dict]:
    path = (directory or checkpoints_dir()) / MANIFEST
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def variant(task_name: str, kind: str) -> str | None:
    """The shipped model of ``task_name`` named after its default and ``kind`` (``hershey-print``:
    the writer of one hand), or None where none is shipped."""
    name = f"{task(task_name).default_model}-{kind}"
    return name if manifest().get(name, {}).get("task") == task_name else None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve(model: str, task_name: str | None = None) -> Path:
    """A shipped model's name (verified against its sha256) or a path to a checkpoint file."""
    models = manifest()
    if model in models:
        entry = models[model]
        if task_name is not None and entry.get("task") != task_name:  # exit 4, as for a file
            raise CheckpointError(f"'{model}' is a '{entry.get('task')}' model, not a '{task_name}' model",
                                  hint="see: lstm models")
        path = checkpoints_dir() / entry["file"]
        if not path.is_file():
            raise UnknownModelError(f"shipped model '{model}' is listed but its file {path} is missing",
                                    hint=f"rebuild it: {entry.get('recipe', 'make checkpoints')}")
        if sha256_file(path) != entry["sha256"]:
            raise CheckpointError(f"{path} does not match the sha256 in the manifest; refusing to load it",
                                  hint=f"rebuild it: {entry.get('recipe', 'make checkpoints')}")
        return path
    path = Path(model).expanduser()
    if path.exists():
        return path
    names = {k: v for k, v in models.items() if task_name is None or v.get("task") == task_name}
    raise UnknownModelError(f"no model named '{model}' and no such file" + _suggest(model, names),
                            hint="see: lstm models")


def load(model: str | None, task_name: str, arrays: bool = False) -> dict:
    """Resolve and load a checkpoint of ``task_name`` (its default model when ``model`` is None);
    ``arrays``: its weights as numpy arrays, without torch (``checkpoint.load``)."""
    from lstm_cli.core import checkpoint

    name = model or task(task_name).default_model
    if name is None:
        raise UsageError(f"task '{task_name}' has no shipped model yet", hint="pass --model PATH")
    return checkpoint.load(resolve(name, task_name), task=task_name, arrays=arrays)


def task_of(model: str | None, default: str = "text") -> str:
    """The task of a shipped model or checkpoint file (``default`` when no model is named)."""
    from lstm_cli.core import checkpoint

    if model is None:
        return default
    entry = manifest().get(model)
    if entry is not None:
        return entry["task"]
    return checkpoint.load(resolve(model))["task"]


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""

"""Task name -> task module; model name -> shipped checkpoint (``checkpoints/manifest.json``).

Adding a task is one module under ``lstm_cli/tasks/`` and one line in :data:`TASKS`; adding a
shipped model is one checkpoint file and its manifest entry (``lstm export --name``).
Nothing here imports torch, so ``lstm models`` and ``--help`` stay instant.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path

from lstm_cli.core.errors import CheckpointError, UnknownModelError, UsageError

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Task:
    module: str  # the task module
    default_model: str | None  # the shipped model used when --model is not given
    summary: str


TASKS: dict[str, Task] = {
    "text": Task("lstm_cli.tasks.text", "obama", "character-level text (char-rnn): train, generate, eval"),
    "translate": Task("lstm_cli.tasks.translate", "en-fr", "encoder-decoder with attention: train, translate, eval"),
}


def task(name: str) -> Task:
    if name not in TASKS:
        raise UsageError(f"unknown task '{name}'" + _suggest(name, TASKS), hint=f"tasks: {', '.join(TASKS)}")
    return TASKS[name]


def task_module(name: str):
    return importlib.import_module(task(name).module)


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


def load(model: str | None, task_name: str) -> dict:
    """Resolve and load a checkpoint of ``task_name`` (its default model when ``model`` is None)."""
    from lstm_cli.core import checkpoint

    name = model or task(task_name).default_model
    if name is None:
        raise UsageError(f"task '{task_name}' has no shipped model yet", hint="pass --model PATH")
    return checkpoint.load(resolve(name, task_name), task=task_name)


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


def export(src: str, out: str, name: str | None = None, eval_data: str | None = None, data_source: str = "",
           licence: str = "", description: str = "", recipe: str = "", storage: str = "float32",
           calibrate: str | None = None) -> dict:
    """Strip resume state, fit the softmax temperature on ``calibrate`` (held-out data; tasks with a
    ``calibrate`` function), store the weights as ``storage`` (checkpoint.compress: float16 or int8
    for smaller files; tasks always compute in float32), write ``out`` atomically, measure *that
    file* on the held-out data, record the metric and provenance and, with ``name``, its entry in
    the manifest beside it. Returns the entry."""
    from lstm_cli.core import checkpoint
    from lstm_cli.core.fileio import atomic_open

    ckpt = checkpoint.strip(checkpoint.load(resolve(src)))
    if calibrate:
        module = task_module(ckpt["task"])
        if not hasattr(module, "calibrate"):
            raise UsageError(f"--calibrate is not available for '{ckpt['task']}' models")
        ckpt = module.calibrate(ckpt, calibrate)
    ckpt = checkpoint.compress(ckpt, storage)
    meta = ckpt["meta"]
    meta.pop("train_config", None)
    meta.update({k: v for k, v in (("data_source", data_source), ("licence", licence),
                                     ("description", description)) if v})
    checkpoint.save(ckpt, out)
    if eval_data:
        metrics = task_module(ckpt["task"]).evaluate(out, eval_data)
        name_ = metrics["metric"]
        meta["metric"] = {"name": name_, "value": metrics[name_], "data": eval_data,
                          "details": {k: v for k, v in metrics.items() if k not in ("metric", name_, "model")}}
        checkpoint.save(ckpt, out)
    out_path = Path(out)
    entry = {"file": out_path.name, "sha256": sha256_file(out_path), "task": ckpt["task"],
             "parameters": meta["parameters"], "steps": meta.get("steps"),
             "train_seconds": meta.get("train_seconds"), "metric": meta.get("metric", {}),
             "description": description, "data": data_source, "licence": licence, "recipe": recipe,
             "bytes": out_path.stat().st_size}
    if "calibration" in meta:
        entry["calibration"] = meta["calibration"]
    if name:
        import fcntl

        # Read-modify-write under a lock, so parallel exports (make -j) cannot lose an entry.
        with open(out_path.parent / ".manifest.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = manifest(out_path.parent)
            entries[name] = entry
            with atomic_open(out_path.parent / MANIFEST, "w") as f:
                f.write(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    return entry

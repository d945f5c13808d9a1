"""``lstm export``: a trained checkpoint made ready to ship: resume state stripped, optionally
calibrated and stored smaller, measured on held-out data, listed in a manifest."""

from __future__ import annotations

import json
from pathlib import Path

from lstm_cli.core import registry
from lstm_cli.core.errors import UsageError


def export(src: str, out: str, name: str | None = None, eval_data: str | None = None, data_source: str = "",
           licence: str = "", description: str = "", recipe: str = "", storage: str = "float32",
           calibrate: str | None = None, details: str | None = None, hands: str | None = None,
           styles: str | None = None) -> dict:
    """Strip resume state, fit the softmax temperature on ``calibrate`` (held-out data; tasks with a
    ``calibrate`` function), store the weights as ``storage`` (checkpoint.compress: float16 or int8
    for smaller files; tasks always compute in float32), write ``out`` atomically, measure *that
    file* on the held-out data, record the metric and provenance and, with ``name``, its entry in
    the manifest beside it. ``details``: a JSON file of further held-out measurements of the same
    weights by a task's own command (``lstm predict --score --json``), kept in the metric's
    details. ``hands``: lines that name their hand, to fit a hand head on (tasks with a
    ``fit_hands`` function: readers), on the weights as stored. ``styles``: samples to keep as the
    model's styles (tasks with a ``keep_styles`` function: writers). Returns the entry."""
    from lstm_cli.core import checkpoint
    from lstm_cli.core.fileio import atomic_open

    if details:
        from lstm_cli.core.errors import InputError

        try:
            extra = json.loads(Path(details).read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"--details {details}: not a readable JSON file ({e})") from None
    ckpt = checkpoint.strip(checkpoint.load(registry.resolve(src)))
    module = registry.task_module(ckpt["task"])
    for flag, given, fn in (("--calibrate", calibrate, "calibrate"), ("--hands", hands, "fit_hands"),
                            ("--styles", styles, "keep_styles")):
        if given and not hasattr(module, fn):
            raise UsageError(f"{flag} is not available for '{ckpt['task']}' models")
    if calibrate:
        ckpt = module.calibrate(ckpt, calibrate)
    if styles:
        ckpt = module.keep_styles(ckpt, styles)
    ckpt = checkpoint.compress(ckpt, storage)
    if hands:  # fitted to what the stored weights compute
        ckpt = module.fit_hands(ckpt, hands)
    meta = ckpt["meta"]
    meta.pop("train_config", None)
    meta.update({k: v for k, v in (("data_source", data_source), ("licence", licence),
                                     ("description", description)) if v})
    out_path = Path(out)
    if eval_data:  # measured on the file as stored, written beside OUT first: a failure leaves no OUT
        measured = out_path.with_name(f".{out_path.name}.measured")
        try:
            checkpoint.save(ckpt, measured)
            metrics = registry.task_module(ckpt["task"]).evaluate(str(measured), eval_data)
        finally:
            measured.unlink(missing_ok=True)
        name_ = metrics["metric"]
        meta["metric"] = {"name": name_, "value": metrics[name_], "data": eval_data,
                          "details": {k: v for k, v in metrics.items() if k not in ("metric", name_, "model")}}
    if details:
        meta.setdefault("metric", {}).setdefault("details", {})[Path(details).stem.split(".")[-1]] = extra
    checkpoint.save(ckpt, out)
    entry = {"file": out_path.name, "sha256": registry.sha256_file(out_path), "task": ckpt["task"],
             "parameters": meta["parameters"], "steps": meta.get("steps"),
             "train_seconds": meta.get("train_seconds"), "metric": meta.get("metric", {}),
             "description": description, "data": data_source, "licence": licence, "recipe": recipe,
             "bytes": out_path.stat().st_size}
    for record in ("calibration", "hands"):
        if record in meta:
            entry[record] = meta[record]
    if name:
        import fcntl

        # Read-modify-write under a lock, so parallel exports (make -j) cannot lose an entry.
        with open(out_path.parent / ".manifest.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = registry.manifest(out_path.parent)
            entries[name] = entry
            with atomic_open(out_path.parent / registry.MANIFEST, "w") as f:
                f.write(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    return entry

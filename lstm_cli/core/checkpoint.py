"""The one checkpoint format: save (atomic), load (safe), describe.

A checkpoint is one self-describing file written by ``torch.save`` and read back with
``weights_only=True``, so loading never executes code. It holds only tensors and plain data::

    {
      "format": "lstm-cli", "format_version": 1,
      "task": "text",                      # which task module builds the model
      "config": {...},                     # the model config as a plain dict (task dataclass, asdict)
      "vocab": ...,                        # tokenizer/vocabulary as plain data (chars, or sentencepiece bytes)
      "state_dict": {name: tensor},        # the weights
      "meta": {parameters, steps, metric, data, created, package_version, ...},
      "train_state": {...},                # only in training checkpoints: optimizer, RNG, step, carry
      "scales": {name: tensor},            # only in int8-stored checkpoints (see :func:`compress`)
    }

Shipped checkpoints have ``train_state`` stripped (:func:`strip`) and may store their weights
smaller (:func:`compress`); :func:`load` always returns float weights, so tasks never see the
difference. ``load(..., arrays=True)`` reads the same file without torch, its tensors as numpy
arrays (:func:`_read_arrays`): ``lstm write`` samples in numpy and so need not import torch
(a second of its two).
"""

from __future__ import annotations

import datetime as _dt
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

from lstm_cli import __version__
from lstm_cli.core.errors import CheckpointError, UnknownModelError
from lstm_cli.core.fileio import atomic_open

FORMAT = "lstm-cli"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("task", "config", "vocab", "state_dict", "meta")


def make(task: str, config: dict, vocab: Any, state_dict: dict, meta: dict | None = None) -> dict:
    """Assemble a checkpoint dict; ``meta`` gains the fields every checkpoint carries."""
    import torch

    meta = dict(meta or {})
    meta.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    meta["package_version"] = __version__
    meta["torch_version"] = torch.__version__.split("+")[0]
    meta["parameters"] = int(sum(t.numel() for t in state_dict.values()))
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "task": task, "config": dict(config),
            "vocab": vocab, "state_dict": state_dict, "meta": meta}


def save(ckpt: dict, path: str | os.PathLike) -> None:
    """Write atomically: a kill mid-save leaves the previous file at ``path`` intact."""
    import torch

    with atomic_open(path, "wb") as f:
        torch.save(ckpt, f)


def weights_into(model, ckpt: dict):
    """Load ``ckpt``'s weights into ``model`` (built from its config); weights that do not fit
    that config (an edited or foreign file) are a :class:`CheckpointError`, not torch's pages of
    size mismatches. Returns the model."""
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError, TypeError) as e:
        first = next((line.strip() for line in str(e).splitlines()[1:] if line.strip()), str(e))
        raise _unfit(first) from None
    return model


def arrays_fit(ckpt: dict, shapes: dict) -> dict:
    """:func:`weights_into` for weights read as arrays (``load(arrays=True)``): ``ckpt``'s weights,
    each checked to have the shape its config gives it (``shapes``: name -> shape) and none
    missing or left over; else the same :class:`CheckpointError`."""
    sd = ckpt["state_dict"]
    for name in sorted(set(shapes) | set(sd)):
        if name not in sd or name not in shapes:
            raise _unfit(f"{'missing' if name in shapes else 'unexpected'} {name}")
        if tuple(sd[name].shape) != tuple(shapes[name]):
            raise _unfit(f"{name}: {tuple(sd[name].shape)} where the config gives {tuple(shapes[name])}")
    return sd


def _unfit(first: str) -> CheckpointError:
    return CheckpointError(f"the checkpoint's weights do not fit the model its config describes ({first[:120]})",
                           hint="was it edited, or made by another program?")


def strip(ckpt: dict) -> dict:
    """A copy without resume state, as shipped."""
    return {k: v for k, v in ckpt.items() if k != "train_state"}


STORAGE = ("float32", "float16", "int8")
INT8_MIN_SIZE = 4096  # smaller tensors (biases, small matrices) stay float16


def compress(ckpt: dict, storage: str) -> dict:
    """Store the weights smaller, for shipping. ``float16``: every float tensor in half precision.
    ``int8``: matrices of at least INT8_MIN_SIZE entries as int8 with one float16 scale per row
    (symmetric, w ~= q * max|row| / 127), the rest float16; about a quarter of float32."""
    import torch

    if storage not in STORAGE:
        raise ValueError(f"unknown storage {storage!r}")
    if storage == "float32":
        return ckpt
    sd, scales = {}, {}
    for name, t in ckpt["state_dict"].items():
        if not t.is_floating_point():
            sd[name] = t
        elif storage == "int8" and t.dim() == 2 and t.numel() >= INT8_MIN_SIZE:
            scale = t.float().abs().amax(dim=1).clamp_min(1e-12) / 127  # (rows,)
            sd[name] = torch.round(t.float() / scale[:, None]).to(torch.int8)
            scales[name] = scale.half()
        else:
            sd[name] = t.half()
    out = {**ckpt, "state_dict": sd, "meta": {**ckpt["meta"], "stored_as": storage}}
    if scales:
        out["scales"] = scales
    return out


def _expand(obj: dict) -> dict:
    """Float32 weights from a compressed checkpoint (see :func:`compress`): torch tensors, or
    numpy arrays where read by :func:`_read_arrays`."""
    scales = obj.pop("scales", None) or {}

    def f32(v):
        return v.float() if hasattr(v, "float") else v.astype("float32")

    def floating(v):
        return v.is_floating_point() if hasattr(v, "is_floating_point") else v.dtype.kind == "f"

    obj["state_dict"] = {k: (f32(v) * f32(scales[k])[:, None]) if k in scales else
                         (f32(v) if floating(v) else v) for k, v in obj["state_dict"].items()}
    return obj


class _Refused(Exception):
    """A global outside :data:`_SAFE_STORAGES` and the few others a checkpoint holds."""


# torch's storage classes in a checkpoint's pickle -> the numpy dtype of their bytes (little-endian)
_SAFE_STORAGES = {"FloatStorage": "<f4", "HalfStorage": "<f2", "DoubleStorage": "<f8", "LongStorage": "<i8",
                  "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1", "ByteStorage": "u1",
                  "BoolStorage": "?", "BFloat16Storage": "<u2"}


def _read_arrays(path: Path) -> dict:
    """A checkpoint written by ``torch.save`` (a zip: the pickle, each storage's bytes in a file
    of its own) read without torch, every tensor a numpy array (bfloat16 widened to float32).
    Only what ``torch.load(weights_only=True)`` allows of what checkpoints hold is rebuilt:
    OrderedDict, bytes (``_codecs.encode``), storages and ``_rebuild_tensor_v2``; any other
    global is refused (:class:`_Refused`), so reading never executes code."""
    import codecs
    import collections
    import zipfile

    import numpy as np

    with zipfile.ZipFile(path) as z:
        pkl = next(n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
        root = pkl[: -len("data.pkl")]

        def storage(pid):
            kind, dtype, key, _, numel = pid
            if kind != "storage" or dtype not in _SAFE_STORAGES.values():  # as find_class gave it
                raise _Refused(str(pid))
            raw = np.frombuffer(z.read(f"{root}data/{key}"), dtype=np.dtype(dtype), count=numel)
            if dtype == "<u2":  # bfloat16: the top half of a float32
                raw = (raw.astype(np.uint32) << 16).view(np.float32)
            return raw

        def rebuild(data, offset, size, stride, *_):
            size, stride = tuple(size), tuple(stride)
            # a view only within its storage (as_strided checks nothing): else the file is damaged
            last = offset + sum((n - 1) * st for n, st in zip(size, stride)) if all(size) else offset - 1
            if (len(size) != len(stride) or offset < 0 or min(size, default=0) < 0 or min(stride, default=0) < 0
                    or last >= len(data)):
                raise ValueError("a tensor outside its storage")
            if not size:
                return np.array(data[offset])
            view = np.lib.stride_tricks.as_strided(data[offset:], size, [s * data.itemsize for s in stride])
            return np.array(view)

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if (module, name) == ("collections", "OrderedDict"):
                    return collections.OrderedDict
                if (module, name) == ("_codecs", "encode"):
                    return codecs.encode
                if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                    return rebuild
                if module == "torch" and name in _SAFE_STORAGES:
                    return _SAFE_STORAGES[name]
                raise _Refused(f"{module}.{name}")

            def persistent_load(self, pid):
                return storage(pid)

        with z.open(pkl) as f:
            return Unpickler(f).load()


def load(path: str | os.PathLike, task: str | None = None, arrays: bool = False) -> dict:
    """Load safely and validate; every failure is one :class:`CheckpointError` line. ``arrays``:
    without torch, the weights as numpy arrays (:func:`_read_arrays`; a file that is not a zip,
    as the oldest torch files, goes through torch and is converted)."""
    path = Path(path)
    if not path.exists():
        raise UnknownModelError(f"no such checkpoint file: {path}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes), not a checkpoint")
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] != b"PK" and head[:1] != b"\x80":
        raise CheckpointError(f"{path} is not a checkpoint (not a torch file)")
    try:
        if arrays and head[:2] == b"PK":
            obj = _read_arrays(path)
        else:
            import torch

            with warnings.catch_warnings():  # e.g. torch's "Detected pickle protocol 4" on a plain pickle
                warnings.simplefilter("ignore")
                obj = torch.load(path, map_location="cpu", weights_only=True)
            if arrays and isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
                for key in ("state_dict", "scales"):
                    if isinstance(obj.get(key), dict):
                        obj[key] = {k: v.numpy() if hasattr(v, "numpy") else v for k, v in obj[key].items()}
    except _Refused:
        raise CheckpointError(f"refusing to load {path}: it contains code or objects outside "
                              "the safe set (weights_only)",
                              hint="only load checkpoints from sources you trust") from None
    except pickle.UnpicklingError as e:
        if "unsupported operand" in str(e).lower():  # a pickle protocol torch.save never writes
            raise CheckpointError(f"{path} is a plain pickle file, not an lstm-cli checkpoint") from None
        if "weights_only" in str(e).lower() or "unsupported global" in str(e).lower():
            raise CheckpointError(f"refusing to load {path}: it contains code or objects outside "
                                  "the safe set (weights_only)",
                                  hint="only load checkpoints from sources you trust") from None
        raise CheckpointError(f"{path} is corrupt or truncated ({size} bytes)") from None
    except Exception:  # torch raises RuntimeError/EOFError/zipfile errors on damaged files
        raise CheckpointError(f"{path} is corrupt or truncated ({size} bytes)") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a torch file but not an lstm-cli checkpoint",
                              hint="a bare state dict has no config or vocabulary to rebuild the model")
    version = obj.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path} uses checkpoint format v{version}; this lstm-cli "
                              f"{__version__} reads up to v{FORMAT_VERSION}", hint="upgrade lstm-cli")
    missing = [k for k in REQUIRED_KEYS if k not in obj]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}: not a complete checkpoint")
    if task is not None and obj["task"] != task:
        raise CheckpointError(f"{path} is a '{obj['task']}' model, not a '{task}' model",
                              hint=f"pick a '{task}' model (see: lstm models)")
    return _expand(obj)


def describe(ckpt: dict, path: str | os.PathLike | None = None) -> dict:
    """What ``lstm info`` prints: everything but the tensors. ``path`` (the file's) lets it say
    where a run's best weights keep their training state."""
    from lstm_cli.core.trainer import last_path

    meta = ckpt["meta"]
    out = {"task": ckpt["task"], "format_version": ckpt["format_version"]}
    out.update({k: v for k, v in meta.items()})
    out["config"] = ckpt["config"]
    if "train_state" in ckpt:
        out["training_state"] = "yes (resumable with --resume)"
    elif path is not None and last_path(path).is_file():
        out["training_state"] = f"no: the best weights of a run; its training state is in {last_path(path)}"
    else:
        out["training_state"] = "no (exported for shipping, or the best weights of a run)"
    return out

"""Device, precision and thread choices shared by training, evaluation and sampling."""

from __future__ import annotations

import os

from lstm_cli.core.errors import DeviceError, UsageError

DEVICES = ("auto", "cpu", "cuda")


def pick_device(name: str = "auto"):
    """``auto`` takes CUDA when a GPU is usable, else the CPU; ``cuda`` without one is an error."""
    import torch

    if name not in DEVICES:
        raise UsageError(f"unknown device '{name}'", hint="use auto, cpu or cuda")
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise DeviceError("--device cuda asked for, but no CUDA GPU is usable here",
                              hint="use --device cpu (or auto)")
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def bf16_supported(device) -> bool:
    """bf16 autocast pays off on GPUs that have it and on CPUs with avx512_bf16 or AMX."""
    import torch

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # an exotic build without oneDNN
        return False


def set_threads(n: int | None, default: int = 0) -> None:
    """Pin torch's intra-op threads (``n``, else ``LSTM_THREADS``, else ``default``; 0 leaves torch's
    own). Work at batch 1 passes ``default=1``: beside one busy process, two threads ran it 2-4
    times slower than one (and idle no faster)."""
    import torch

    if not n:
        env = os.environ.get("LSTM_THREADS", "").strip() or str(default)
        cores = os.cpu_count() or 1
        if not env.isdigit():
            raise UsageError(f"LSTM_THREADS={env}: not a number of threads (0 to {cores}, the CPUs here)",
                             hint="0 or unset leaves torch's default")
        n = int(env)
        if n > cores:  # a recipe's setting on a smaller machine: use what there is, and say so
            import sys

            print(f"lstm: warning: LSTM_THREADS={n}, but this machine has {cores} CPUs: using {cores}",
                  file=sys.stderr)
            n = cores
    if n > 0:
        torch.set_num_threads(n)

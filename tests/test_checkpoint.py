"""The one checkpoint format: round trip, safe load, corrupt/foreign files, atomic save."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import ROOT
from lstm_cli.core import checkpoint
from lstm_cli.core.errors import CheckpointError, UnknownModelError


def make_ckpt(task="text", **extra):
    sd = {"w": torch.arange(6, dtype=torch.float32).view(2, 3)}
    c = checkpoint.make(task, {"hidden": 3}, "abc\n", sd, {"steps": 7})
    c.update(extra)
    return c


def test_round_trip(tmp_path):
    p = tmp_path / "m.pt"
    checkpoint.save(make_ckpt(), p)
    c = checkpoint.load(p, task="text")
    assert torch.equal(c["state_dict"]["w"], torch.arange(6.0).view(2, 3))
    assert c["config"] == {"hidden": 3} and c["vocab"] == "abc\n"
    meta = c["meta"]
    assert meta["parameters"] == 6 and meta["steps"] == 7 and meta["package_version"]
    assert c["format_version"] == checkpoint.FORMAT_VERSION
    info = checkpoint.describe(c)
    assert info["task"] == "text" and "state_dict" not in info


def test_strip_removes_training_state(tmp_path):
    c = make_ckpt(train_state={"step": 3, "optimizer": {}})
    assert "train_state" not in checkpoint.strip(c)


class Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_malicious_pickle_is_refused_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "evil.pt"
    torch.save({"format": "lstm-cli", "payload": Evil()}, p)
    with pytest.raises(CheckpointError, match="safe set"):
        checkpoint.load(p)
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("content,match", [
    (b"", "empty"),
    (b"just some text\n", "not a checkpoint"),
    (b"PK\x03\x04garbage" * 10, "corrupt or truncated"),
])
def test_bad_files(tmp_path, content, match):
    p = tmp_path / "bad.pt"
    p.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        checkpoint.load(p)


def test_truncated_file(tmp_path):
    p = tmp_path / "m.pt"
    checkpoint.save(make_ckpt(), p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        checkpoint.load(p)


def test_foreign_torch_file(tmp_path):
    p = tmp_path / "sd.pt"
    torch.save({"w": torch.zeros(2)}, p)  # a bare state dict
    with pytest.raises(CheckpointError, match="not an lstm-cli checkpoint"):
        checkpoint.load(p)


def test_other_task_and_newer_format(tmp_path):
    p = tmp_path / "m.pt"
    checkpoint.save(make_ckpt(task="translate"), p)
    with pytest.raises(CheckpointError, match="'translate' model, not a 'text'"):
        checkpoint.load(p, task="text")
    newer = make_ckpt()
    newer["format_version"] = checkpoint.FORMAT_VERSION + 1
    checkpoint.save(newer, p)
    with pytest.raises(CheckpointError, match="format v2; .* reads up to v1"):
        checkpoint.load(p)


def test_missing_file(tmp_path):
    with pytest.raises(UnknownModelError):
        checkpoint.load(tmp_path / "none.pt")


def test_failed_save_keeps_previous(tmp_path, monkeypatch):
    p = tmp_path / "m.pt"
    checkpoint.save(make_ckpt(), p)
    before = p.read_bytes()

    def broken_save(obj, f):
        f.write(b"PK partial")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of writing

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(make_ckpt(), p)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["m.pt"]  # no temp file left behind


def test_kill_during_saves_leaves_loadable_file(tmp_path):
    """SIGKILL a process that saves a large checkpoint over and over: the file always loads."""
    p = tmp_path / "m.pt"
    code = ("import torch\nfrom lstm_cli.core import checkpoint\n"
            "sd = {'w': torch.randn(2_000_000)}\n"
            "c = checkpoint.make('text', {}, 'ab', sd, {})\n"
            f"checkpoint.save(c, {str(p)!r})\nprint('ready', flush=True)\n"
            f"while True:\n    checkpoint.save(c, {str(p)!r})\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(0.7)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert checkpoint.load(p)["state_dict"]["w"].numel() == 2_000_000


def test_compressed_storage_round_trip(tmp_path):
    """int8 keeps every weight within half a quantisation step of its row's scale; load gives float32."""
    torch.manual_seed(0)
    sd = {"big": torch.randn(64, 128), "bias": torch.randn(64), "ids": torch.arange(5)}
    ck = checkpoint.make("text", {"vocab_size": 3}, "abc", sd, {})
    for storage in ("float16", "int8"):
        checkpoint.save(checkpoint.compress(ck, storage), tmp_path / f"{storage}.pt")
        back = checkpoint.load(tmp_path / f"{storage}.pt")
        assert "scales" not in back and back["meta"]["stored_as"] == storage
        assert back["state_dict"]["big"].dtype == torch.float32 and torch.equal(back["state_dict"]["ids"], sd["ids"])
        step = sd["big"].abs().amax(1, keepdim=True) / 127 if storage == "int8" else 1e-2
        assert ((back["state_dict"]["big"] - sd["big"]).abs() <= step / 2 + 1e-3).all()
        assert torch.allclose(back["state_dict"]["bias"], sd["bias"], atol=1e-2)
    assert (tmp_path / "int8.pt").stat().st_size < (tmp_path / "float16.pt").stat().st_size


def test_arrays_are_read_without_torch_as_torch_reads_them(tmp_path, monkeypatch):
    """load(arrays=True) (lstm write's path: no torch) gives what torch.load gives, as numpy: every
    storage kind a checkpoint holds (float32/16, bfloat16, int8 with its scales, int64, bool,
    bytes, a strided view), and refuses what weights_only refuses, running nothing."""
    import numpy as np

    torch.manual_seed(0)
    big = torch.randn(64, 128)
    sd = {"big": big, "bias": torch.randn(64), "ids": torch.arange(5), "mask": torch.tensor([True, False]),
          "bf": torch.randn(3, 4).bfloat16(), "view": torch.randn(6, 5).t(), "one": torch.tensor(2.5)}
    ck = checkpoint.make("text", {"vocab_size": 3}, {"spm": b"\x00bytes\xff"}, sd, {})
    for storage in ("float32", "float16", "int8"):
        p = tmp_path / f"{storage}.pt"
        checkpoint.save(checkpoint.compress(ck, storage), p)
        want, got = checkpoint.load(p), checkpoint.load(p, arrays=True)
        assert got.keys() == want.keys() and got["vocab"] == want["vocab"] and got["meta"] == want["meta"]
        for k, v in want["state_dict"].items():
            a = got["state_dict"][k]
            assert isinstance(a, np.ndarray) and a.shape == tuple(v.shape), k
            np.testing.assert_array_equal(a, v.float().numpy() if v.dtype == torch.bfloat16 else v.numpy())
    monkeypatch.chdir(tmp_path)
    torch.save({"format": "lstm-cli", "payload": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="safe set"):
        checkpoint.load(tmp_path / "evil.pt", arrays=True)
    assert not (tmp_path / "PWNED").exists()
    (tmp_path / "bad.pt").write_bytes(b"PK\x03\x04garbage" * 10)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        checkpoint.load(tmp_path / "bad.pt", arrays=True)


def test_arrays_refuse_a_tensor_that_reaches_past_its_storage(tmp_path):
    """A damaged (or crafted) file whose tensor claims more than its storage holds is one error
    line, never a read of memory past the storage (numpy's as_strided checks nothing)."""
    import collections
    import io
    import pickle
    import zipfile

    class Storage:  # stands for a storage of 4 float32 values, key "0"
        pass

    class Tensor:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (Storage(), 0, (1000,), (1,), False, collections.OrderedDict())

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", torch.FloatStorage, "0", "cpu", 4) if isinstance(obj, Storage) else None

    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump({"format": "lstm-cli", "format_version": 1, "task": "text", "config": {},
                                   "vocab": "", "meta": {}, "state_dict": {"w": Tensor()}})
    with zipfile.ZipFile(tmp_path / "m.pt", "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/data/0", bytes(16))
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        checkpoint.load(tmp_path / "m.pt", arrays=True)

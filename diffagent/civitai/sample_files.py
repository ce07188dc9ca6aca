"""The files the bundled Civitai server serves: one tiny model file per sample version, in the
layout Civitai serves (LDM single-file checkpoints, kohya LoRAs, one LyCORIS LoCon), written from
the tiny pipelines (`tiny.files`) and hashed, so the sample's `files[].hashes` are the real ones.

    served = write_sample_files(tiny_dir, out_dir)   # {version id: ServedFile}
    source = CivitaiSource.sample(facts=facts_of(served))
    CivitaiServer(source, downloads=served)
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


def write_sample_files(
    tiny_dir: Path, out: Path, only: set[int] | None = None, progress: bool = True
) -> dict[int, ServedFile]:
    """Write (or reuse) every served version's file (or those in `only`) under `out`;
    {version id: ServedFile}."""
    from diffagent.store.base import file_sha256
    from diffagent.tiny.files import write_version_file

    specs = [spec for spec in served_versions() if only is None or spec.version_id in only]
    served: dict[int, ServedFile] = {}
    for spec in tqdm(specs, desc="sample files", unit="file", disable=not progress):
        path = out / f"{spec.version_id}-{spec.file_name}"
        if not path.exists():
            write_version_file(tiny_dir, spec.version_id, spec.kind, spec.architecture, path, spec.locon)
        served[spec.version_id] = ServedFile(
            path, spec.file_name, file_sha256(path), path.stat().st_size, spec.requires_key
        )
    return served


def facts_of(served: dict[int, ServedFile]) -> FileFacts:
    return {version_id: (file.sha256, file.size) for version_id, file in served.items()}

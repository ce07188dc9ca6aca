"""Model files laid out where each tool looks for them, under the names the exports use.

`lay_out(store, version_ids, layout, into, hub_endpoint)` fetches every file the answers' exports
name (the versions' files and, for a checkpoint whose architecture has them, its companions from
the architecture table: Flux's T5-XXL, CLIP-L and VAE, SD 3.5's three text encoders) into the verified
content-addressed store, then puts each under `into/<folder>/<name>`:

- comfyui: models/checkpoints, models/diffusion_models (transformer-only files, UNETLoader),
  models/loras, models/text_encoders, models/vae (ComfyUI folder_paths' default folders);
- a1111 and forge: models/Stable-diffusion (Forge loads a Flux transformer file from there too),
  models/Lora, models/VAE, models/text_encoder (Forge's `Module N` / forge_additional_modules);
- diffusers: all in `into` itself, beside the exported script (which loads `from_single_file(name)`
  and `load_lora_weights(".", weight_name=name)`; the rest of a Flux pipeline comes from its config
  folder, so no companions).

Each file is hard-linked from the store (no second copy, and it survives cleaning the cache); where
a hard link cannot be made (another file system, a file system without them) it is copied. Not
symlinked: a link into the cache breaks when the cache is cleaned or the models folder is mounted
into a container without it. A file already there with the same bytes is kept; one with other bytes
is refused, naming it, never overwritten.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from diffagent.store.base import file_sha256
from diffagent.store.civitai_store import CivitaiModelStore
from diffagent.store.layout import file_layout
from schemas.architectures import HubFile, architecture_for

# Tool -> file role -> folder under the tool's root.
_A1111 = {
    "checkpoint": "models/Stable-diffusion",
    "transformer": "models/Stable-diffusion",
    "lora": "models/Lora",
    "text_encoder": "models/text_encoder",
    "vae": "models/VAE",
}
TOOL_FOLDERS: dict[str, dict[str, str]] = {
    "comfyui": {
        "checkpoint": "models/checkpoints",
        "transformer": "models/diffusion_models",
        "lora": "models/loras",
        "text_encoder": "models/text_encoders",
        "vae": "models/vae",
    },
    "a1111": _A1111,
    "forge": _A1111,
    "diffusers": dict.fromkeys(_A1111, "."),
}
LAYOUTS: tuple[str, ...] = tuple(TOOL_FOLDERS)
# Layouts whose tool loads the companions itself from their own files (diffusers takes them from
# the pipeline's config folder).
COMPANION_LAYOUTS = frozenset({"comfyui", "a1111", "forge"})


@dataclass(frozen=True)
class PlacedFile:
    path: str  # where it now is, under `into`
    name: str  # the file name the exports use
    sha256: str
    format: str  # the key layout (store.layout): ldm-checkpoint, kohya-lora, flux-transformer, ...
    role: str  # checkpoint, transformer, lora, text_encoder, vae
    source: str  # "civitai:<version id>" or the hub URL
    placed: str  # hardlink, copy or existing


@dataclass(frozen=True)
class _Wanted:
    role: str
    name: str
    version_id: int | None = None
    hub: HubFile | None = None


def _wanted(store: CivitaiModelStore, version_ids: Iterable[int], layout: str) -> list[_Wanted]:
    wanted: dict[tuple[str, str], _Wanted] = {}
    for version_id in version_ids:
        version = store.version_file(version_id)
        if not version.file_name or Path(version.file_name).name != version.file_name:
            raise ValueError(f"version {version_id}: file name {version.file_name!r} is not a plain name")
        architecture = architecture_for(version.base_model)
        if version.kind == "LORA":
            role = "lora"
        elif version.kind == "Checkpoint":
            # The folder of the node ComfyUI's export loads it with: UNETLoader's for a transformer
            # alone, CheckpointLoaderSimple's for a file with its VAE (SD 3.5's, text encoders apart).
            unet = architecture.export.comfyui_model_loader == "UNETLoader"
            role = "transformer" if unet else "checkpoint"
        else:
            raise ValueError(f"version {version_id} is a {version.kind!r}; only Checkpoint and LORA lay out")
        wanted.setdefault((role, version.file_name), _Wanted(role, version.file_name, version_id))
        if version.kind == "Checkpoint" and layout in COMPANION_LAYOUTS:
            for companion in architecture.companions:
                key = (companion.kind, companion.file)
                wanted.setdefault(key, _Wanted(companion.kind, companion.file, hub=companion.source))
    return list(wanted.values())


def place(source: Path, target: Path, sha256: str) -> str:
    """Put the store's `source` at `target`: "hardlink", "copy" or "existing" (same bytes there)."""
    if target.exists():
        if os.path.samefile(source, target) or file_sha256(target) == sha256:
            return "existing"
        raise FileExistsError(f"{target} exists with other bytes than {source.name}; move it away first")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        os.link(source, temporary)
        how = "hardlink"
    except OSError:  # another device (EXDEV), or no hard links on this file system
        shutil.copyfile(source, temporary)
        how = "copy"
    os.replace(temporary, target)
    return how


def lay_out(
    store: CivitaiModelStore, version_ids: Iterable[int], layout: str, into: Path, hub_endpoint: str
) -> list[PlacedFile]:
    """Fetch and place every file the versions' exports name (see the module's docstring)."""
    from diffagent.store.hub import fetch_hub_file

    if layout not in TOOL_FOLDERS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    placed = []
    for wanted in _wanted(store, version_ids, layout):
        if wanted.hub is not None:
            stored, sha256, source = fetch_hub_file(store, wanted.hub, hub_endpoint)
        else:
            assert wanted.version_id is not None
            stored, sha256 = store.fetch(wanted.version_id)
            source = f"civitai:{wanted.version_id}"
        target = Path(into) / TOOL_FOLDERS[layout][wanted.role] / wanted.name
        how = place(stored, target, sha256)
        placed.append(
            PlacedFile(str(target), wanted.name, sha256, file_layout(target), wanted.role, source, how)
        )
    return placed


def as_json(placed: list[PlacedFile]) -> list[dict[str, str]]:
    return [asdict(file) for file in placed]

"""The raw layer as one view over the base crawl and every incremental recrawl after it.

`<out>/raw/` holds the first crawl; each recrawl writes its own complete raw layer under
`<out>/increments/inc-0001/raw/`, ... Nothing is ever overwritten, so earlier data is never lost.
Read together, a later layer's record of a model (refreshed stats, new versions) replaces an
earlier one; images and by-hash answers are the union of all layers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from diffagent.dabench.crawl import load_hash_answers, load_raw_models
from diffagent.storage import ArtifactStore
from schemas.civitai import Model

INCREMENTS = "increments"


def increment_names(store: ArtifactStore) -> list[str]:
    return [name.rsplit("/", 1)[-1] for name in store.list(INCREMENTS) if "/inc-" in name]


def raw_layers(store: ArtifactStore) -> list[ArtifactStore]:
    """The base crawl, then each increment in order."""
    return [store] + [store.child(f"{INCREMENTS}/{name}") for name in increment_names(store)]


def crawl_finished(layer: ArtifactStore) -> bool:
    state = layer.read_json("raw/state.json")
    if not state or not state.get("models_finished"):
        return False
    return all(v.get("finished") for v in state.get("versions", {}).values())


def merged_models(store: ArtifactStore) -> list[Model]:
    """Every model once, as the newest layer saw it, in first-seen order."""
    models: dict[int, Model] = {}
    for layer in raw_layers(store):
        for model in load_raw_models(layer):
            models[model.id] = model
    return list(models.values())


def merged_hash_answers(store: ArtifactStore) -> dict[str, dict[str, Any] | None]:
    answers: dict[str, dict[str, Any] | None] = {}
    for layer in raw_layers(store):
        for key, value in load_hash_answers(layer).items():
            if value is not None or key not in answers:
                answers[key] = value
    return answers


def raw_image_reader(store: ArtifactStore) -> Callable[[int], Iterator[str]]:
    """`images_of(version_id)`: that version's raw image JSON, one page file at a time."""
    files: dict[int, list[tuple[ArtifactStore, str]]] = {}
    for layer in raw_layers(store):
        for name in layer.list("raw/images", ".parquet"):
            version = int(name.rsplit("/", 1)[-1].split("-", 1)[0].removeprefix("v"))
            files.setdefault(version, []).append((layer, name))

    def images_of(version_id: int) -> Iterator[str]:
        for layer, name in files.get(version_id, []):
            yield from layer.read_table(name).column("raw_json").to_pylist()

    return images_of


def raw_fingerprint_parts(store: ArtifactStore) -> list[Any]:
    parts: list[Any] = []
    for layer in raw_layers(store):
        files = []
        for folder in ("raw/models", "raw/images", "raw/hashes"):
            for name in layer.list(folder, ".parquet"):
                files.append((name, layer.fs.size(layer.path(name))))
        parts.append([layer.root_url.rsplit("/", 1)[-1], layer.read_json("raw/state.json"), files])
    return json.loads(json.dumps(parts, default=str))

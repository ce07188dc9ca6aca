"""An in-memory Civitai source: raw model records plus a hash index, queried like the API.

`CivitaiSource` answers the questions the local server is asked (`/models` pages, a version, a
hash look-up, a version's images) from either the bundled sample or files in the format of
shared/data/civitai (`*.jsonl[.gz]` of `GET /models/{id}` answers and a hash-index JSONL).
It holds the records as captured; `today_*` functions turn them into today's response shapes.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Integer nsfwLevel bit values used by today's API for the 2023 level names.
NSFW_LEVELS = {"None": 1, "Soft": 2, "Mature": 4, "X": 8}
NESTED_IMAGE_CAP = 10  # today's /models nests at most 10 images per version


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def encode_cursor(position: int) -> str:
    """Opaque cursor, like today's API (older data used plain numbers)."""
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"invalid cursor {cursor!r}") from error
    if not text.startswith("pos:") or not text[4:].isdigit():
        raise ValueError(f"invalid cursor {cursor!r}")
    return int(text[4:])


def _values(raw: list[str] | None) -> set[str]:
    """Query values given repeated (`types=A&types=B`) or comma-joined (`types=A,B`)."""
    out: set[str] = set()
    for item in raw or []:
        out.update(part.strip() for part in item.split(",") if part.strip())
    return out


@dataclass
class CivitaiSource:
    models: list[dict[str, Any]]
    hash_index: list[dict[str, Any]] = field(default_factory=list)
    modern_stats: bool = False  # serve 2023 ratings as today's thumbs-up counts

    def __post_init__(self) -> None:
        self.models = sorted(self.models, key=lambda m: int(m["id"]))
        self._versions: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        for model in self.models:
            for version in model.get("modelVersions") or []:
                self._versions[int(version["id"])] = (model, version)
        self._by_hash: dict[str, int] = {}
        self._index_versions: dict[int, list[dict[str, Any]]] = {}
        for row in self.hash_index:
            self._by_hash.setdefault(str(row["hash"]).upper(), int(row["version_id"]))
            self._index_versions.setdefault(int(row["version_id"]), []).append(row)
        for version_id, (_, version) in self._versions.items():
            for file in version.get("files") or []:
                for value in (file.get("hashes") or {}).values():
                    self._by_hash.setdefault(str(value).upper(), version_id)

    @classmethod
    def from_files(
        cls, models_path: Path, hash_index_path: Path | None = None, **kwargs: Any
    ) -> CivitaiSource:
        index = list(read_jsonl(hash_index_path)) if hash_index_path else []
        return cls(list(read_jsonl(models_path)), index, **kwargs)

    @classmethod
    def sample(cls, facts: dict[int, tuple[str, int]] | None = None, **kwargs: Any) -> CivitaiSource:
        """The bundled sample; `facts` ({version id: (SHA256, size)}) of the files served for it."""
        from diffagent.civitai.sample import build_sample

        models, index = build_sample(facts=facts)
        return cls(models, index, **kwargs)

    def add_models(self, models: Iterable[dict[str, Any]]) -> None:
        """Models published after a crawl (for incremental recrawl tests)."""
        self.models = self.models + list(models)
        self.__post_init__()

    # -- queries ---------------------------------------------------------------------------
    def list_models(
        self, types: list[str] | None, base_models: list[str] | None, sort: str | None
    ) -> list[dict[str, Any]]:
        wanted_types, wanted_bases = _values(types), _values(base_models)
        selected = []
        for model in self.models:
            if wanted_types and model.get("type") not in wanted_types:
                continue
            bases = {v.get("baseModel") for v in model.get("modelVersions") or []}
            if wanted_bases and not bases & wanted_bases:
                continue
            selected.append(model)
        if sort == "Newest":
            selected.sort(key=lambda m: -int(m["id"]))
        return [self.today_model(m) for m in selected]

    def model(self, model_id: int) -> dict[str, Any] | None:
        for model in self.models:
            if int(model["id"]) == model_id:
                return self.today_model(model)
        return None

    def version(self, version_id: int) -> dict[str, Any] | None:
        if version_id in self._versions:
            model, version = self._versions[version_id]
            answer = self.today_version(version)
            answer["modelId"] = model["id"]
            answer["model"] = {
                "name": model.get("name"),
                "type": model.get("type"),
                "nsfw": model.get("nsfw", False),
                "poi": model.get("poi", False),
            }
            return answer
        rows = self._index_versions.get(version_id)
        return _version_from_index(rows) if rows else None

    def version_by_hash(self, value: str) -> dict[str, Any] | None:
        version_id = self._by_hash.get(value.upper())
        return None if version_id is None else self.version(version_id)

    def images(self, version_id: int, with_meta: bool) -> list[dict[str, Any]]:
        if version_id not in self._versions:
            return []
        _, version = self._versions[version_id]
        out = []
        for image in version.get("images") or []:
            item = {k: v for k, v in image.items() if k != "meta"}
            level = image.get("nsfw") if isinstance(image.get("nsfw"), str) else "None"
            item["nsfwLevel"] = level
            item["nsfw"] = level != "None"
            item["modelVersionId"] = version_id
            item["meta"] = copy.deepcopy(image.get("meta")) if with_meta else None
            out.append(item)
        return out

    # -- today's shapes --------------------------------------------------------------------
    def today_model(self, model: dict[str, Any]) -> dict[str, Any]:
        answer = {k: v for k, v in model.items() if k != "modelVersions"}
        answer["stats"] = self._stats(model.get("stats") or {})
        answer["modelVersions"] = [self.today_version(v) for v in model.get("modelVersions") or []]
        return answer

    def today_version(self, version: dict[str, Any]) -> dict[str, Any]:
        answer = {k: copy.deepcopy(v) for k, v in version.items() if k != "images"}
        answer["stats"] = self._stats(version.get("stats") or {})
        nested = []
        for image in (version.get("images") or [])[:NESTED_IMAGE_CAP]:
            item = {k: v for k, v in image.items() if k not in ("meta", "nsfw")}
            level = image.get("nsfw") if isinstance(image.get("nsfw"), str) else "None"
            item["nsfwLevel"] = NSFW_LEVELS.get(level, 1)
            item["hasMeta"] = image.get("meta") is not None
            nested.append(item)
        answer["images"] = nested
        return answer

    def _stats(self, stats: dict[str, Any]) -> dict[str, Any]:
        if not self.modern_stats:
            return dict(stats)
        # Today: rating fields are 0 and thumbs carry the signal.
        count = int(float(stats.get("ratingCount") or 0))
        rating = float(stats.get("rating") or 0)
        up = round(count * max(rating - 1, 0) / 4)
        return {**stats, "rating": 0, "ratingCount": 0, "thumbsUpCount": up, "thumbsDownCount": count - up}

    def cursor_page(self, items: list[Any], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
        start = decode_cursor(cursor) if cursor else 0
        page = items[start : start + limit]
        end = start + len(page)
        return page, encode_cursor(end) if end < len(items) else None


def _version_from_index(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A `/model-versions` answer for a checkpoint known only from the hash index."""
    first = rows[0]
    hashes = {row["hash_type"]: row["hash"] for row in rows}
    name = first["file_name"]
    return {
        "id": first["version_id"],
        "modelId": first["model_id"],
        "name": first.get("version_name") or "",
        "baseModel": first.get("base_model"),
        "trainedWords": [],
        "model": {
            "name": first.get("model_name"),
            "type": first.get("model_type"),
            "nsfw": bool(first.get("nsfw")),
            "poi": False,
        },
        "files": [
            {
                "id": first.get("file_id"),
                "name": name,
                "type": first.get("file_type") or "Model",
                "metadata": {"format": "SafeTensor" if name.endswith(".safetensors") else "PickleTensor"},
                "hashes": hashes,
                "primary": True,
                "downloadUrl": f"https://civitai.com/api/download/models/{first['version_id']}",
            }
        ],
        "images": [],
        "downloadUrl": f"https://civitai.com/api/download/models/{first['version_id']}",
    }

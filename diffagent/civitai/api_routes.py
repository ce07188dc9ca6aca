"""The REST API v1 routes of the local Civitai server (`local_server.CivitaiServer`): one request's
path and query -> (status, JSON body), the way Civitai answers it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from diffagent.civitai.local_api_2026 import sorted_images
from diffagent.civitai.source import CivitaiSource

if TYPE_CHECKING:
    from diffagent.civitai.local_server import ServerStats

API_PREFIX = "/api/v1"


def _int_param(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name, [str(default)])[0]
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {raw!r}")
    return int(raw)


def route(
    source: CivitaiSource, path: str, query: dict[str, list[str]], stats: ServerStats
) -> tuple[int, Any]:
    """(status, JSON body) for one API request, the way Civitai answers it."""
    if not path.startswith(API_PREFIX):
        return 404, {"error": f"no route {path}"}
    parts = [p for p in path[len(API_PREFIX) :].split("/") if p]
    if parts == ["models"]:
        stats.requests["models"] += 1
        limit = _int_param(query, "limit", 100, 1, 100)
        if "page" in query:
            page = _int_param(query, "page", 1, 1, 10**6)
            if "query" in query:
                return 400, {"error": "Cannot use page param with query search. Use cursor-based pagination."}
            if page * limit > 1000:
                return 429, {"error": "You've requested too many pages, please use cursors instead"}
        items = source.list_models(query.get("types"), query.get("baseModels"), query.get("sort", [None])[0])
        page_items, next_cursor = source.cursor_page(items, query.get("cursor", [None])[0], limit)
        return 200, {"items": page_items, "metadata": {"nextCursor": next_cursor}}
    if len(parts) == 2 and parts[0] == "models" and parts[1].isdigit():
        stats.requests["model"] += 1
        model = source.model(int(parts[1]))
        return (200, model) if model else (404, {"error": f"No model with id {parts[1]}"})
    if len(parts) == 3 and parts[:2] == ["model-versions", "by-hash"]:
        stats.requests["by-hash"] += 1
        version = source.version_by_hash(parts[2])
        return (200, version) if version else (404, {"error": f"Model not found for hash {parts[2]}"})
    if len(parts) == 2 and parts[0] == "model-versions" and parts[1].isdigit():
        stats.requests["model-version"] += 1
        version = source.version(int(parts[1]))
        return (200, version) if version else (404, {"error": f"No version with id {parts[1]}"})
    if parts == ["images"]:
        stats.requests["images"] += 1
        limit = _int_param(query, "limit", 100, 1, 200)
        version_ids = query.get("modelVersionId")
        if not version_ids or not version_ids[0].isdigit():
            raise ValueError(f"modelVersionId is required, got {version_ids!r}")
        with_meta = query.get("withMeta", ["false"])[0].lower() == "true"
        items = sorted_images(source.images(int(version_ids[0]), with_meta), query.get("sort", [None])[0])
        page_items, next_cursor = source.cursor_page(items, query.get("cursor", [None])[0], limit)
        stats.images_served[int(version_ids[0])] += len(page_items)
        return 200, {"items": page_items, "metadata": {"nextCursor": next_cursor}}
    return 404, {"error": f"no route {path}"}

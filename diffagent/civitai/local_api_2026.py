"""What the local Civitai server answers the way the 2026 API does, kept apart from `local_server`.

- `POST /api/v1/model-versions/by-hash/ids`: a JSON array of up to 10,000 SHA256 hashes (64 hex,
  any case) -> `[{"modelVersionId", "modelId", "hash"}]` for the files that have one; 400 for
  anything else (civitai/civitai `src/pages/api/v1/model-versions/by-hash/ids.ts`).
- `/images?sort=`: Civitai's `ImageSort` values; "Most Reactions" orders by the sum of an image's
  reaction counts (`stats.*Count`, comments aside), highest first, stably.
- Download refusals (`src/pages/api/download/models/[modelVersionId].ts`): 401 login required or
  downloads disabled, 403 early access (with its `deadline`), no access, or a token without the
  scope, 410 archived, 429 quota. A version gets one from the server's fault map, or from its own
  record: an active `paidAccess` (early access until `endsAt`, or permanent: no access), a model
  whose `mode` is "Archived".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from diffagent.civitai.client import BULK_HASHES_MAX, IMAGE_SORTS
from diffagent.civitai.source import CivitaiSource

if TYPE_CHECKING:
    from diffagent.civitai.local_server import CivitaiServer

BULK_BY_HASH_PATH = "/api/v1/model-versions/by-hash/ids"
_SHA256 = re.compile(r"^[0-9A-Fa-f]{64}$")
REACTIONS = ("likeCount", "heartCount", "laughCount", "cryCount")

# Download refusal kinds -> (status, JSON body, headers), in Civitai's words.
DOWNLOAD_REFUSALS: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "login": (
        401,
        {
            "error": "Unauthorized",
            "message": "The creator of this asset requires you to be logged in to download it",
        },
        {},
    ),
    "downloads_disabled": (
        401,
        {"error": "Unauthorized", "message": "The creator of this asset has disabled downloads on this file"},
        {},
    ),
    "no_access": (403, {"error": "You do not have access to download this file"}, {}),
    "scope": (403, {"error": "Your API key does not have the required scope for this action"}, {}),
    "archived": (410, {"error": "Model archived, not available for download"}, {}),
    "quota": (
        429,
        {
            "error": "We've noticed an unusual amount of downloading from your account. "
            "Contact support@civitai.com or come back later."
        },
        {"Retry-After": "120"},
    ),
}
EARLY_ACCESS = "early_access"  # 403 with the gate's deadline, built per version


@dataclass
class Api2026:
    """How the local server speaks the 2026 API: `bulk_by_hash` False answers 405 to the bulk
    endpoint, like a server from before it; `download_faults` maps a version id to the refusal
    kind (`DOWNLOAD_REFUSALS`, or "early_access") its download answers with."""

    bulk_by_hash: bool = True
    download_faults: dict[int, str] = field(default_factory=dict)


def post_answer(state: CivitaiServer, path: str, raw: bytes) -> tuple[int, Any] | str:
    """(status, JSON body) of a POST to the local server, or the name of an injected fault."""
    if path == BULK_BY_HASH_PATH:
        with state._lock:
            state.stats.requests["by-hash-ids"] += 1
    if path != BULK_BY_HASH_PATH or not state.api_2026.bulk_by_hash:
        return (405, {"error": f"no POST route {path}"}) if path.startswith("/api/v1/") else (404, {})
    fault = state.draw_fault(path)
    if fault is not None and fault != "slow":
        return fault
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        body = None
    return bulk_by_hash(state.source, body)


def bulk_by_hash(source: CivitaiSource, body: Any) -> tuple[int, Any]:
    """(status, JSON body) of `POST /model-versions/by-hash/ids`."""
    if not isinstance(body, list) or not all(isinstance(h, str) and _SHA256.match(h) for h in body):
        return 400, {"error": "Request must include an array of SHA256 Hashes. Invalid hash"}
    if len(body) > BULK_HASHES_MAX:
        return 400, {"error": "Request must include an array of SHA256 Hashes. Too many hashes"}
    wanted = {h.upper() for h in body}
    found: dict[tuple[int, str], int] = {}  # (version id, hash) -> model id: one row per file
    for model in source.models:
        for version in model.get("modelVersions") or []:
            for file in version.get("files") or []:
                sha256 = str((file.get("hashes") or {}).get("SHA256", "")).upper()
                if sha256 in wanted:
                    found[(int(version["id"]), sha256)] = int(model["id"])
    for row in source.hash_index:  # checkpoints known only from the index
        if row.get("hash_type") == "SHA256" and str(row["hash"]).upper() in wanted:
            found.setdefault((int(row["version_id"]), str(row["hash"]).upper()), int(row["model_id"]))
    return 200, [
        {"modelVersionId": version_id, "modelId": model_id, "hash": sha256}
        for (version_id, sha256), model_id in sorted(found.items())
    ]


def sorted_images(items: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """A version's images in the order `/images?sort=` gives them; raises ValueError on a bad sort."""
    if sort is None:
        return items
    if sort not in IMAGE_SORTS:
        raise ValueError(f"sort must be one of {list(IMAGE_SORTS)}, got {sort!r}")
    if sort == "Most Reactions":
        return sorted(items, key=lambda image: -reaction_count(image))
    if sort == "Newest":
        return sorted(items, key=lambda image: -int(image.get("id") or 0))
    return items


def reaction_count(image: dict[str, Any]) -> int:
    stats = image.get("stats") or {}
    return sum(int(stats.get(name) or 0) for name in REACTIONS)


def download_refusal(
    state: CivitaiServer, version_id: int, has_key: bool
) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    """(status, JSON body, headers) when the download of `version_id` is refused, else None.
    "login" refuses only a request without a key, as Civitai does (it is the no-session case)."""
    source, kind = state.source, state.api_2026.download_faults.get(version_id)
    version = source.version(version_id) or {}
    paid = version.get("paidAccess")
    if kind is None and isinstance(paid, dict):
        kind = "no_access" if paid.get("permanent") or not paid.get("endsAt") else EARLY_ACCESS
    model = source.model(int(version["modelId"])) if version.get("modelId") is not None else None
    if kind is None and (model or {}).get("mode") == "Archived":
        kind = "archived"
    if kind is None or (kind == "login" and has_key):
        return None
    if kind == EARLY_ACCESS:
        deadline = (paid or {}).get("endsAt") if isinstance(paid, dict) else None
        body = {
            "error": "Early Access",
            "deadline": deadline or "2026-12-31T00:00:00.000Z",
            "message": "This asset is in Early Access. You can use Buzz access it now!",
        }
        return 403, body, {}
    if kind not in DOWNLOAD_REFUSALS:
        raise ValueError(f"unknown download fault {kind!r}; known {[*DOWNLOAD_REFUSALS, EARLY_ACCESS]}")
    status, body, headers = DOWNLOAD_REFUSALS[kind]
    return status, dict(body), dict(headers)

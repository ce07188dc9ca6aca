"""Model-file downloads the way Civitai serves them, for the local server.

`GET /api/download/models/{versionId}` answers 401 without a key for a file that needs one
(Bearer header or `?token=`), else a 307 redirect to a signed, expiring URL; the signed URL
answers the bytes with `Content-Disposition: attachment; filename="..."`, a `Content-Length` and
Range support (206), which is what a resuming downloader needs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from diffagent.civitai.sample_files import ServedFile

DOWNLOAD_PREFIX = "/api/download/models/"
SIGNED_PREFIX = "/storage/"
SIGNED_URL_SECONDS = 3600


@dataclass
class Downloads:
    files: Mapping[int, ServedFile]
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    def signature(self, path: str, expires: int) -> str:
        return hmac.new(self.secret, f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()

    def redirect(self, version_id: int, has_key: bool) -> tuple[int, dict[str, str], dict | None]:
        """(status, headers, JSON body) for `/api/download/models/{version_id}`."""
        served = self.files.get(version_id)
        if served is None:
            return 404, {}, {"error": f"No file for model version {version_id}"}
        if served.requires_key and not has_key:
            return 401, {}, {"error": "Unauthorized", "message": "This model requires an API key to download"}
        path = f"{SIGNED_PREFIX}{version_id}/{quote(served.file_name)}"
        expires = int(time.time()) + SIGNED_URL_SECONDS
        location = f"{path}?expires={expires}&signature={self.signature(path, expires)}"
        return 307, {"Location": location}, None

    def signed_file(self, path: str, query: Mapping[str, list[str]]) -> ServedFile | None:
        """The file a signed URL names, or None when its signature is wrong or expired."""
        expires = query.get("expires", ["0"])[0]
        signature = query.get("signature", [""])[0]
        if not expires.isdigit() or int(expires) < time.time():
            return None
        if not hmac.compare_digest(signature, self.signature(path, int(expires))):
            return None
        version = path[len(SIGNED_PREFIX) :].split("/", 1)[0]
        return self.files.get(int(version)) if version.isdigit() else None


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a `Range: bytes=a-[b]` header, or None for the whole file."""
    if not header or not header.startswith("bytes="):
        return None
    start_text, _, end_text = header[len("bytes=") :].partition("-")
    if not start_text.isdigit():
        return None
    end = int(end_text) if end_text.isdigit() else size - 1
    return int(start_text), min(end, size - 1)

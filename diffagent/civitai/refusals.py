"""Why Civitai refused a model download, in one clear sentence, and `paidAccess` on versions.

The statuses and bodies are those of civitai/civitai `src/pages/api/download/models/[modelVersionId].ts`
(2026): 401 without a session when the creator requires login (or has disabled downloads), 403 for
early access (`{"error": "Early Access", "deadline": ...}`), for no access to a paid file, or for
a token whose scope lacks `ModelsRead`, 410 for an archived model and 429 for the per-user or
per-IP download quota. The same words serve `models fetch` errors and DABench reject reasons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

KEY_HINT = "set CIVITAI_API_KEY (or DIFFAGENT_CIVITAI_API_KEY)"
SCOPE_NEEDED = "ModelsRead"  # the token scope that browses and downloads models


@dataclass(frozen=True)
class Refusal:
    code: str  # login_required | key_refused | downloads_disabled | early_access | no_access | ...
    reason: str  # the sentence a user reads


def _body(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"error": text[:200]}
    return value if isinstance(value, dict) else {"error": str(value)[:200]}


def download_refusal(status: int, text: str, retry_after: str | None, has_key: bool) -> Refusal | None:
    """The refusal a download answer means, or None for a status that is not one."""
    body = _body(text)
    words = f"{body.get('error', '')} {body.get('message', '')}".strip()
    if status == 401:
        if "disabled downloads" in words:
            return Refusal("downloads_disabled", "downloads disabled: the creator has turned off downloads")
        if has_key:
            return Refusal(
                "key_refused", "login required, and the key was not accepted: check CIVITAI_API_KEY"
            )
        return Refusal("login_required", f"{KEY_HINT}: login required")
    if status == 403:
        if "early access" in words.lower():
            deadline = body.get("deadline")
            return Refusal("early_access", f"early access until {deadline or 'a date Civitai did not give'}")
        if "scope" in words.lower():
            return Refusal(
                "token_scope",
                f"token refused for scope: the key lacks {SCOPE_NEEDED} (browse and download models)",
            )
        if "do not have access" in words:
            return Refusal("no_access", "no access: the file is paid or restricted to some users")
        return Refusal("forbidden", f"forbidden: {words or 'no reason given'}")
    if status == 410:
        return Refusal("archived", "archived: the model is no longer available for download")
    if status == 429:
        if retry_after and retry_after.strip().isdigit():
            return Refusal("quota", f"quota: retry after {int(retry_after)} s")
        return Refusal("quota", "quota: retry later (Civitai gave no Retry-After)")
    return None


def paid_access_refusal(paid_access: Any) -> Refusal | None:
    """A version's `paidAccess` (`{"permanent", "endsAt"}`; null when ungated) as a reject reason."""
    if not isinstance(paid_access, dict):
        return None
    ends = paid_access.get("endsAt")
    if ends and not paid_access.get("permanent"):
        return Refusal("paid_access", f"early access until {ends}")
    return Refusal("paid_access", "paid access: downloads only after a purchase")

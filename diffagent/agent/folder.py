"""What an agent folder must agree with: the catalog it was trained on, and its sibling retriever."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from diffagent.catalog import Catalog

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
CATALOG_MODELS = "catalog_models.json"


def check_catalog(agent_dir: Path, manifest: dict, catalog: Catalog) -> None:
    """Fail unless `catalog` is the training catalog or a superset of it (models added since)."""
    trained = manifest.get("catalog_fingerprint")
    if trained is None or trained == catalog.fingerprint:
        return
    models_file = agent_dir / CATALOG_MODELS
    missing = None
    if models_file.exists():
        missing = [m for m in json.loads(models_file.read_text()) if m not in catalog]
    if missing == []:
        log.warning("catalog %s grew since training (agent trained on %s)", catalog.fingerprint, trained)
        return
    detail = f"; {len(missing)} trained models are missing, e.g. {missing[:3]}" if missing else ""
    raise ValueError(
        f"catalog fingerprint {catalog.fingerprint} does not match the agent's {trained} "
        f"(agent {agent_dir}, catalog {catalog.source}){detail}"
    )


def sibling_retriever(agent_dir: Path) -> Path | None:
    """RUN/retriever for an agent folder RUN/<stage> (what sftA-train writes), if it exists."""
    candidate = Path(agent_dir).parent / "retriever"
    return candidate if (candidate / MANIFEST).exists() else None

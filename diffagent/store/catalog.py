"""The catalog's entries for the model stores, read by the one loader (`agent.catalog.load_catalog`)."""

from __future__ import annotations

from pathlib import Path

from schemas.dabench import CatalogEntry


def load_catalog(path: str | Path) -> list[CatalogEntry]:
    """The entries of a DABench folder or catalog.parquet (a path or fsspec URL)."""
    from diffagent.catalog import load_catalog as load

    return list(load(path, samples=False).values())

"""Reading a DABench catalog (catalog.parquet) into CatalogEntry rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from schemas.dabench import CatalogEntry


def catalog_file(path: Path) -> Path:
    """A DABench directory or a catalog.parquet file -> the parquet file."""
    path = Path(path)
    candidate = path / "catalog.parquet" if path.is_dir() else path
    if not candidate.is_file():
        raise ValueError(f"no catalog at {path} (expected a DABench directory or a catalog.parquet file)")
    return candidate


def load_catalog(path: Path) -> list[CatalogEntry]:
    return [CatalogEntry(**row) for row in pq.read_table(catalog_file(path)).to_pylist()]


def find_entry(entries: list[CatalogEntry], version_id: int) -> CatalogEntry | None:
    return next((entry for entry in entries if entry.version_id == version_id), None)

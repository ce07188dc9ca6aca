"""Fixtures of the serve tests: a DABench with preview images and a retrieval-only agent."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from schemas.dabench import CATALOG_SCHEMA
from tests.agent.conftest import agent, agent_dir, dabench, embeddings_cache, tiny_llm, write_dabench  # noqa: F401


def preview(version_id: int) -> str:
    """A small SVG as a data URL: a real image the browser renders without any network."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='90' height='120'>"
        f"<rect width='90' height='120' fill='#{version_id * 2654435761 % 0xFFFFFF:06x}'/></svg>"
    )
    return "data:image/svg+xml," + quote(svg)


def write_preview_dabench(folder: Path) -> Path:
    """The agent tests' DABench, with previews on every entry but the last (which shows none)."""
    write_dabench(folder)
    rows = pq.read_table(folder / "catalog.parquet").to_pylist()
    for row in rows[:-1]:
        row["preview_url"] = preview(row["version_id"])
    pq.write_table(pa.Table.from_pylist(rows, schema=CATALOG_SCHEMA), folder / "catalog.parquet")
    return folder


@pytest.fixture(scope="session")
def preview_dabench(tmp_path_factory) -> Path:
    return write_preview_dabench(tmp_path_factory.mktemp("preview-dabench"))


@pytest.fixture(scope="session")
def retrieval_agent(preview_dabench, embeddings_cache):  # noqa: F811
    from diffagent.agent import load_agent

    return load_agent(None, preview_dabench)

"""The catalog the agent chooses from: loading with validation, a fingerprint, and look-ups.

A catalog is a DABench folder (catalog.parquet, plus instructions for sample settings) or a
catalog.parquet file. Validation compares the file against `schemas.dabench.CATALOG_SCHEMA` and
names every missing column or wrong type, so a stale or foreign file fails at load, not mid-request.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA
from schemas.t2i import (
    DEFAULT_CFG,
    DEFAULT_SAMPLER,
    DEFAULT_SIZE,
    DEFAULT_STEPS,
    MAX_CFG,
    MAX_SIDE,
    MAX_STEPS,
    MIN_CFG,
    MIN_SIDE,
    MIN_STEPS,
    SAMPLERS,
    SIDE_MULTIPLE,
)

# Columns the agent reads; the rest of CatalogEntry may be absent without harm.
REQUIRED_CATALOG_COLUMNS = ("model", "model_id", "version_id", "type", "base_model", "model_description")
SETTING_COLUMNS = (
    "model",
    "base_checkpoint",
    "width",
    "height",
    "sampling_method",
    "sampling_steps",
    "cfg_scale",
)


def _compatible(actual: pa.DataType, expected: pa.DataType) -> bool:
    if actual == expected:
        return True
    if pa.types.is_integer(expected):
        return pa.types.is_integer(actual)
    if pa.types.is_floating(expected):
        return pa.types.is_floating(actual) or pa.types.is_integer(actual)
    if pa.types.is_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    return False


def validate_columns(schema: pa.Schema, expected: pa.Schema, required: tuple[str, ...], where: str) -> None:
    """Raise ValueError naming every missing column and every column of the wrong type."""
    problems = []
    for name in required:
        if name not in schema.names:
            problems.append(f"missing column {name!r}")
            continue
        actual, wanted = schema.field(name).type, expected.field(name).type
        if not _compatible(actual, wanted):
            problems.append(f"column {name!r} has type {actual}, expected {wanted}")
    if problems:
        raise ValueError(f"{where} does not match the DABench contract: " + "; ".join(problems))


def catalog_fingerprint(models: list[str], version_ids: list[int]) -> str:
    """sha256 over the sorted `model<TAB>version_id` lines, first 16 hex digits.

    Order-independent, so re-sorting a catalog keeps its fingerprint; any added, removed or renamed
    entry changes it.
    """
    lines = sorted(f"{m}\t{v}" for m, v in zip(models, version_ids, strict=True))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


@dataclass
class SampleSettings:
    """The most common generation settings among one model's sample images."""

    width: int
    height: int
    sampling_method: str
    sampling_steps: int
    cfg_scale: float
    base_checkpoint: str | None = None


@dataclass
class Catalog:
    entries: list[dict]
    fingerprint: str
    sample_prompts: dict[str, list[str]] = field(default_factory=dict)
    sample_settings: dict[str, SampleSettings] = field(default_factory=dict)
    source: str = ""
    # The sft rows behind sample_prompts: prompt, negative_prompt and SETTING_COLUMNS (retrieval
    # builds model vectors and prompt-conditioned parameters from them).
    sample_rows: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_model = {e["model"]: e for e in self.entries}
        if len(self.by_model) != len(self.entries):
            dupes = [m for m, n in Counter(e["model"] for e in self.entries).items() if n > 1]
            raise ValueError(f"catalog {self.source} has duplicate model identifiers: {dupes[:5]}")
        popular = sorted(self.entries, key=lambda e: -int(e.get("download_count") or 0))
        self.checkpoints: dict[str, list[str]] = {}
        for entry in popular:
            if entry["type"] == "Checkpoint":
                self.checkpoints.setdefault(entry["base_model"], []).append(entry["model"])
        # A LoRA is selectable only if its architecture has a Checkpoint to run it on.
        self.selectable = [
            e["model"]
            for e in self.entries
            if e["type"] == "Checkpoint" or self.checkpoints.get(e["base_model"])
        ]

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, model: object) -> bool:
        return model in self.by_model

    def base_checkpoints_for(self, model: str) -> list[str]:
        """Checkpoints a LoRA may run on (same base_model, most downloaded first); [] for a Checkpoint."""
        entry = self.by_model[model]
        if entry["type"] != "LORA":
            return []
        return self.checkpoints.get(entry["base_model"], [])

    def settings_for(self, model: str) -> SampleSettings:
        """The model's most common sample settings, or the paper's defaults for its architecture."""
        entry = self.by_model[model]
        found = self.sample_settings.get(model)
        bases = self.base_checkpoints_for(model)
        if found is None:
            width, height = DEFAULT_SIZE.get(entry["base_model"], (512, 512))
            found = SampleSettings(width, height, DEFAULT_SAMPLER, DEFAULT_STEPS, DEFAULT_CFG)
        base = found.base_checkpoint if found.base_checkpoint in bases else (bases[0] if bases else None)
        return SampleSettings(
            found.width, found.height, found.sampling_method, found.sampling_steps, found.cfg_scale, base
        )


def _valid_setting(row: dict) -> bool:
    return (
        MIN_SIDE <= row["width"] <= MAX_SIDE
        and MIN_SIDE <= row["height"] <= MAX_SIDE
        and row["width"] % SIDE_MULTIPLE == 0
        and row["height"] % SIDE_MULTIPLE == 0
        and row["sampling_method"] in SAMPLERS
        and MIN_STEPS <= row["sampling_steps"] <= MAX_STEPS
        and MIN_CFG <= row["cfg_scale"] <= MAX_CFG
    )


def most_common_settings(rows: list[dict]) -> dict[str, SampleSettings]:
    """Per model, the mode of each setting over its valid sample rows (ties: first seen wins)."""
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        if _valid_setting(row):
            grouped.setdefault(row["model"], []).append(row)

    def mode(values: list) -> object:
        return Counter(values).most_common(1)[0][0]

    settings = {}
    for model, group in grouped.items():
        width, height = mode([(r["width"], r["height"]) for r in group])
        bases = [r["base_checkpoint"] for r in group if r.get("base_checkpoint")]
        settings[model] = SampleSettings(
            width=int(width),
            height=int(height),
            sampling_method=str(mode([r["sampling_method"] for r in group])),
            sampling_steps=int(mode([r["sampling_steps"] for r in group])),
            cfg_scale=float(mode([round(float(r["cfg_scale"]), 1) for r in group])),
            base_checkpoint=str(mode(bases)) if bases else None,
        )
    return settings


def _instructions_file(folder: Path) -> Path | None:
    # The SFT split only: eval prompts must not leak into retrieval's sample prompts.
    for candidate in (folder / "splits" / "sft.parquet", folder / "instructions.parquet"):
        if candidate.exists():
            return candidate
    return None


def load_catalog(path: str | Path, instructions: str | Path | None = None) -> Catalog:
    """Load and validate a catalog from a DABench folder or a catalog.parquet file.

    Sample prompts and settings come from `instructions` if given, else from the folder's
    splits/sft.parquet (or instructions.parquet); a bare catalog file works without them.
    """
    path = Path(path)
    file = path / "catalog.parquet" if path.is_dir() else path
    if not file.exists():
        raise FileNotFoundError(f"no catalog at {file}")
    table = pq.read_table(file)
    validate_columns(table.schema, CATALOG_SCHEMA, REQUIRED_CATALOG_COLUMNS, f"catalog {file}")
    entries = table.to_pylist()
    if not entries:
        raise ValueError(f"catalog {file} is empty")
    fingerprint = catalog_fingerprint([e["model"] for e in entries], [e["version_id"] for e in entries])
    catalog = Catalog(entries=entries, fingerprint=fingerprint, source=str(file))

    instructions_file = Path(instructions) if instructions else _instructions_file(file.parent)
    if instructions_file is not None:
        rows_table = pq.read_table(instructions_file)
        validate_columns(
            rows_table.schema,
            INSTRUCTION_SCHEMA,
            ("prompt", *SETTING_COLUMNS),
            f"instructions {instructions_file}",
        )
        columns = ["prompt", *SETTING_COLUMNS]
        if "negative_prompt" in rows_table.schema.names:
            columns.append("negative_prompt")
        rows = [r for r in rows_table.select(columns).to_pylist() if r["model"] in catalog]
        for row in rows:
            row["negative_prompt"] = row.get("negative_prompt") or ""
        catalog.sample_rows = rows
        for row in rows:
            catalog.sample_prompts.setdefault(row["model"], []).append(row["prompt"])
        catalog.sample_settings = most_common_settings(rows)
    return catalog

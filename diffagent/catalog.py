"""The catalog the agent chooses from: the one loader, a fingerprint, and look-ups.

A catalog is a DABench folder (catalog.parquet, plus instructions for sample settings) or a
catalog.parquet file, at a local path or any fsspec URL (`s3://bucket/dabench`). Validation
compares the file against `schemas.dabench.CATALOG_SCHEMA` and names every missing column or wrong
type, so a stale or foreign file fails at load, not mid-request. `Catalog` is a read-only mapping
`model -> CatalogEntry` (typed access), keeping the Parquet rows as dicts in `entries`/`by_model`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa

from diffagent.answers.lora_usage import usual_lora_use
from diffagent.answers.repair import default_parameters, repair_base
from diffagent.answers.validity import PARAMETER_KEYS, REQUIRED_PARAMETER_KEYS, valid_parameters
from diffagent.storage import read_parquet
from schemas.compatibility import LEVELS, Compatibility, compatibility, lora_base_levels, lora_bases
from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA, CatalogEntry
from schemas.t2i import DEFAULT_CLIP_SKIP

# Columns a CatalogEntry cannot do without (published_at may be absent).
REQUIRED_CATALOG_COLUMNS = tuple(name for name, f in CatalogEntry.model_fields.items() if f.is_required())
SETTING_COLUMNS = ("model", "base_checkpoint", *REQUIRED_PARAMETER_KEYS)
# Read when the instructions have them (older DABench versions do not).
OPTIONAL_COLUMNS = (
    "negative_prompt",
    *(k for k in PARAMETER_KEYS if k not in REQUIRED_PARAMETER_KEYS),
    "lora_weight",
    "trigger_words",
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
    if pa.types.is_list(expected):
        return pa.types.is_list(actual) or pa.types.is_large_list(actual)
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
    clip_skip: int = DEFAULT_CLIP_SKIP
    # A LoRA's usual use: its samples' median weight, the trained words they used (most used first).
    lora_weight: float | None = None
    trigger_words: tuple[str, ...] = ()

    def parameters(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in PARAMETER_KEYS}


@dataclass(eq=False)
class Catalog(Mapping[str, CatalogEntry]):
    """The models an agent chooses from: `catalog[model]` is its typed `CatalogEntry`."""

    entries: list[dict]
    fingerprint: str
    sample_prompts: dict[str, list[str]] = field(default_factory=dict)
    sample_settings: dict[str, SampleSettings] = field(default_factory=dict)
    source: str = ""
    # The sft rows behind sample_prompts: prompt, negative_prompt and SETTING_COLUMNS (retrieval
    # builds model vectors and prompt-conditioned parameters from them).
    sample_rows: list[dict] = field(default_factory=list)

    @classmethod
    def from_entries(cls, entries: Iterable[CatalogEntry | Mapping[str, Any]], source: str = "") -> Catalog:
        """A catalog (without sample settings) from entries, e.g. a filtered part of another one."""
        rows = [e.model_dump() if isinstance(e, CatalogEntry) else dict(e) for e in entries]
        fingerprint = catalog_fingerprint([r["model"] for r in rows], [r["version_id"] for r in rows])
        return cls(entries=rows, fingerprint=fingerprint, source=source)

    def __post_init__(self) -> None:
        self.by_model = {e["model"]: e for e in self.entries}
        if len(self.by_model) != len(self.entries):
            dupes = [m for m, n in Counter(e["model"] for e in self.entries).items() if n > 1]
            raise ValueError(f"catalog {self.source} has duplicate model identifiers: {dupes[:5]}")
        self._typed = {model: CatalogEntry.model_validate(row) for model, row in self.by_model.items()}
        popular = sorted(self._typed.values(), key=lambda e: -e.download_count)  # stable: ties keep order
        # Every Checkpoint, most downloaded first: a LoRA's bases are the ones it can load on.
        self.checkpoint_models = [e.model for e in popular if e.type == "Checkpoint"]
        self._bases: dict[str, list[str]] = {}
        # A LoRA is selectable only if the catalog has a Checkpoint it can run on; the others, why not.
        self.unselectable: dict[str, str] = {
            e.model: self._no_base_reason(e)
            for e in self._typed.values()
            if e.type != "Checkpoint" and not self.base_checkpoints_for(e.model)
        }
        self.selectable = [model for model in self._typed if model not in self.unselectable]

    def _no_base_reason(self, entry: CatalogEntry) -> str:
        bases = lora_bases(entry.base_model)
        wanted = ", ".join(bases) if bases else "none (no architecture renders it)"
        return (
            f"LoRA {entry.model!r} ({entry.base_model}) has no Checkpoint in the catalog to run on; "
            f"it runs on base models: {wanted}"
        )

    def __getitem__(self, model: str) -> CatalogEntry:
        return self._typed[model]

    def __iter__(self) -> Iterator[str]:
        return iter(self._typed)

    def __len__(self) -> int:
        return len(self._typed)

    def __contains__(self, model: object) -> bool:
        return model in self._typed

    def __repr__(self) -> str:
        return f"Catalog({self.source!r}, {len(self)} models, fingerprint {self.fingerprint})"

    def part(self, keep: Iterable[str], source: str) -> Catalog:
        """The catalog of the `keep` models only, with their sample prompts, settings and rows."""
        models = set(keep)
        part = Catalog.from_entries([row for row in self.entries if row["model"] in models], source)
        part.sample_prompts = {m: p for m, p in self.sample_prompts.items() if m in models}
        part.sample_settings = {m: s for m, s in self.sample_settings.items() if m in models}
        # The rows too: an untrained retriever over the part builds its model vectors from them.
        part.sample_rows = [row for row in self.sample_rows if row["model"] in models]
        return part

    def base_checkpoints_for(self, model: str) -> list[str]:
        """Checkpoints a LoRA can run on (`schemas.compatibility`): those of its own base model first,
        then of a close line, then partial ones; most downloaded first within each. [] for a Checkpoint."""
        entry = self._typed[model]
        if entry.type != "LORA":
            return []
        if entry.base_model not in self._bases:
            level = {name: LEVELS.index(found) for name, found in lora_base_levels(entry.base_model).items()}
            found = [m for m in self.checkpoint_models if self._typed[m].base_model in level]
            # sorted is stable: within one level the download order holds
            self._bases[entry.base_model] = sorted(found, key=lambda m: level[self._typed[m].base_model])
        return self._bases[entry.base_model]

    def base_levels(self, model: str) -> dict[str, int]:
        """A LoRA's loadable Checkpoints -> rank of their compatibility (0: its own base model's,
        `schemas.compatibility.LEVELS`), best first; {} for a Checkpoint."""
        levels = lora_base_levels(self._typed[model].base_model)
        return {m: LEVELS.index(levels[self._typed[m].base_model]) for m in self.base_checkpoints_for(model)}

    def compatibility(self, model: str, base_checkpoint: str) -> Compatibility | None:
        """How well LoRA `model` runs on catalog Checkpoint `base_checkpoint` (None: it cannot)."""
        return compatibility(self._typed[model].base_model, self._typed[base_checkpoint].base_model)

    def settings_for(self, model: str) -> SampleSettings:
        """The model's most common sample settings, or the paper's defaults for its architecture;
        a LoRA's base by `answers.repair_base` (its samples' base, else the most downloaded)."""
        found = self.sample_settings.get(model)
        params = found.parameters() if found else default_parameters(self._typed[model].base_model)
        return SampleSettings(**params, base_checkpoint=repair_base(self, model, None)[0])


def most_common_settings(rows: list[dict]) -> dict[str, SampleSettings]:
    """Per model, the mode of each setting over its valid sample rows (ties: first seen wins)."""
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        if valid_parameters(row):
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
            clip_skip=int(mode([r.get("clip_skip") or DEFAULT_CLIP_SKIP for r in group])),
            **usual_lora_use(group),
        )
    return settings


def _read_table(fs: Any, file: str) -> pa.Table:
    # Through Arrow, not pandas: pandas would turn a null string into NaN.
    with fs.open(file, "rb") as handle:
        return read_parquet(handle)


def _instructions_file(fs: Any, folder: str) -> str | None:
    # The SFT split only: eval prompts must not leak into retrieval's sample prompts.
    for candidate in (f"{folder}/splits/sft.parquet", f"{folder}/instructions.parquet"):
        if fs.isfile(candidate):
            return candidate
    return None


def load_catalog(
    path: str | Path,
    instructions: str | Path | None = None,
    samples: bool = True,
    storage_options: dict[str, Any] | None = None,
) -> Catalog:
    """Load and validate a catalog from a DABench folder or a catalog.parquet file (path or URL).

    Sample prompts and settings come from `instructions` if given, else from the folder's
    splits/sft.parquet (or instructions.parquet); a bare catalog file works without them, and
    `samples=False` skips them (the renderer needs the entries only).
    """
    url = str(path).rstrip("/")
    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    folder_given = fs.isdir(root)
    file = f"{root}/catalog.parquet" if folder_given else root
    where = f"{url}/catalog.parquet" if folder_given else url
    if not fs.isfile(file):
        raise FileNotFoundError(
            f"no catalog at {where} (expected a DABench folder or a catalog.parquet file)"
        )
    table = _read_table(fs, file)
    validate_columns(table.schema, CATALOG_SCHEMA, REQUIRED_CATALOG_COLUMNS, f"catalog {where}")
    entries = table.to_pylist()
    if not entries:
        raise ValueError(f"catalog {where} is empty")
    catalog = Catalog.from_entries(entries, source=where)
    if not samples:
        return catalog
    if instructions is not None:
        rows_fs, rows_file = fsspec.core.url_to_fs(str(instructions), **(storage_options or {}))
    else:
        rows_fs, rows_file = fs, _instructions_file(fs, file.rsplit("/", 1)[0])
    if rows_file is not None:
        rows_table = _read_table(rows_fs, rows_file)
        validate_columns(
            rows_table.schema, INSTRUCTION_SCHEMA, ("prompt", *SETTING_COLUMNS), f"instructions {rows_file}"
        )
        columns = ["prompt", *SETTING_COLUMNS]
        columns += [name for name in OPTIONAL_COLUMNS if name in rows_table.schema.names]
        rows = [r for r in rows_table.select(columns).to_pylist() if r["model"] in catalog]
        for row in rows:
            row["negative_prompt"] = row.get("negative_prompt") or ""
        catalog.sample_rows = rows
        for row in rows:
            catalog.sample_prompts.setdefault(row["model"], []).append(row["prompt"])
        catalog.sample_settings = most_common_settings(rows)
    return catalog

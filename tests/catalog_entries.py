"""One factory for the `CatalogEntry` rows the tests build."""

from __future__ import annotations

from schemas.dabench import CatalogEntry


def catalog_entry(model: str, **overrides) -> CatalogEntry:
    """A valid entry from placeholder values, so each test names only the fields it is about."""
    fields = dict(
        model_id=1,
        version_id=1,
        type="Checkpoint",
        base_model="SD 1.5",
        model_description="d",
        description_source="fallback",
        trained_words=[],
        tags=[],
        model_name="m",
        version_name="v",
        download_count=1,
        thumbs_up_count=1,
        rating=5.0,
        rating_count=1,
        file_name="m.safetensors",
        sha256="0" * 64,
        sample_count=1,
    )
    fields |= overrides
    fields.setdefault("download_url", f"https://civitai.com/api/download/models/{fields['version_id']}")
    return CatalogEntry(model=model, **fields)

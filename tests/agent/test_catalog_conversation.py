"""Catalog validation and fingerprint; the conversation format and answer assembly."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from diffagent.agent import (
    ANSWER_KEYS,
    assemble_api,
    build_messages,
    catalog_fingerprint,
    format_answer,
    load_catalog,
    parse_answer,
)
from diffagent.catalog import most_common_settings


def test_fingerprint_is_order_independent_and_changes_with_entries():
    """Sorted lines 'a\\t1', 'b\\t2' hash the same in either order; renaming b changes the hash."""
    one = catalog_fingerprint(["a", "b"], [1, 2])
    assert one == catalog_fingerprint(["b", "a"], [2, 1])
    assert one != catalog_fingerprint(["a", "c"], [1, 2])
    assert len(one) == 16


def test_missing_and_mistyped_columns_are_named(dabench, tmp_path):
    table = pq.read_table(dabench / "catalog.parquet").drop_columns(["model_description"])
    table = table.set_column(
        table.schema.get_field_index("version_id"),
        "version_id",
        pa.array([str(v) for v in table["version_id"].to_pylist()]),
    )
    pq.write_table(table, tmp_path / "catalog.parquet")
    with pytest.raises(ValueError) as error:
        load_catalog(tmp_path / "catalog.parquet")
    message = str(error.value)
    assert "missing column 'model_description'" in message
    assert "column 'version_id' has type string, expected int64" in message


def test_most_common_settings_hand_example():
    """Rows for m: sizes (512,768) x2 and (512,512) x1 -> (512,768); steps 20,30,30 -> 30;
    cfg 7.04 rounds to 7.0 and ties with 7.0 -> 7.0; an invalid row (width 500) is ignored."""
    base = {"model": "m", "base_checkpoint": None, "sampling_method": "Euler a"}
    rows = [
        {**base, "width": 512, "height": 768, "sampling_steps": 20, "cfg_scale": 7.04},
        {**base, "width": 512, "height": 768, "sampling_steps": 30, "cfg_scale": 7.0},
        {**base, "width": 512, "height": 512, "sampling_steps": 30, "cfg_scale": 5.0},
        {**base, "width": 500, "height": 512, "sampling_steps": 99, "cfg_scale": 9.0},
    ]
    got = most_common_settings(rows)["m"]
    assert (got.width, got.height, got.sampling_steps, got.cfg_scale) == (512, 768, 30, 7.0)


def test_catalog_lookups(dabench):
    catalog = load_catalog(dabench)
    assert catalog.base_checkpoints_for("Pixel Art XL") == ["Juggernaut XL"]
    assert catalog.base_checkpoints_for("Watercolor Style") == ["Realistic Vision", "Anime Pastel Dream"]
    # Its samples were shown on Anime Pastel Dream (the mode), not on the most downloaded one.
    assert catalog.settings_for("Watercolor Style").base_checkpoint == "Anime Pastel Dream"
    assert "Cyber Neon, v2.0" in catalog.sample_prompts


def test_messages_and_answer_round_trip(dabench):
    messages = build_messages({"prompt": " a cat\x07 ", "negative_prompt": "blurry"})
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"] == "Prompt: a cat\nNegative prompt: blurry"
    with pytest.raises(ValueError, match="empty prompt"):
        build_messages("   ")
    row = {
        "model": "Cyber Neon, v2.0",
        "type": "LORA",
        "base_model": "SD 1.5",
        "base_checkpoint": "Realistic Vision",
        "width": 512,
        "height": 768,
        "sampling_method": "Euler a",
        "sampling_steps": 30,
        "cfg_scale": 7.0,
    }
    text = format_answer(row)
    assert text.startswith('{"model": "Cyber Neon, v2.0", "type": "LORA"')
    assert "description" not in text
    parsed = parse_answer("noise " + text + " trailing {")
    assert list(parsed) == list(ANSWER_KEYS) and parsed == row
    assert parse_answer("no json here") is None
    api = assemble_api(parsed, load_catalog(dabench))
    assert api.model_description == "Cyber Neon, v2.0: a LORA for cyberpunk city at night, neon signs, rain."
    assert (api.version_id, api.base_checkpoint_version_id) == (1005, 1000)


def test_assemble_rejects_hallucinations_and_repairs_parameters(dabench):
    catalog = load_catalog(dabench)
    with pytest.raises(ValueError, match="'Made Up' is not in the catalog"):
        assemble_api({"model": "Made Up"}, catalog)
    bad = {
        "model": "Pixel Art XL",
        "base_checkpoint": "Realistic Vision",
        "width": 999,
        "height": 1024,
        "sampling_method": "Magic",
        "sampling_steps": 30,
        "cfg_scale": 7.0,
    }
    with pytest.raises(ValueError):
        assemble_api(bad, catalog)
    api = assemble_api(bad, catalog, repair=True)
    # 999 is a number: moved to the nearest multiple of 8 (round(999 / 8) * 8 = 1000). "Magic" is
    # no sampler: Pixel Art XL's samples' mode, DPM++ 2M Karras (index 3 is odd). Realistic Vision
    # is SD 1.5: the LoRA's samples' base, Juggernaut XL.
    assert (api.width, api.sampling_method, api.base_checkpoint) == (1000, "DPM++ 2M Karras", "Juggernaut XL")
    assert api.sampling_steps == 30

"""Pure pieces of the pipeline, each against hand-worked values."""

from __future__ import annotations

import pytest

from diffagent.dabench.prompts import parse_size, strip_html, strip_network_tags
from diffagent.dabench.quality import QualityThresholds, quality_reject_reason
from diffagent.dabench.samplers import normalise_sampler
from diffagent.dabench.split import split_assignment, split_sizes
from schemas.civitai import Stats


@pytest.mark.parametrize(
    ("sampler", "scheduler", "expected"),
    [
        ("DPM++ 2M Karras", None, "DPM++ 2M Karras"),
        ("euler a", None, "Euler a"),
        ("DPM++ 2M Karras Test", None, "DPM++ 2M Karras"),
        ("DPM++ 2M alt Karras", None, "DPM++ 2M Karras"),
        ("dpmpp_2m", "karras", "DPM++ 2M Karras"),
        ("dpmpp_2m_sde_gpu", "normal", "DPM++ 2M SDE"),
        ("euler_ancestral", None, "Euler a"),
        ("k_euler_a", None, "Euler a"),
        ("uni_pc", None, "UniPC"),
        ("DPM adaptive", None, "DPM adaptive"),
        ("LCM", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_normalise_sampler(sampler, scheduler, expected):
    assert normalise_sampler(sampler, scheduler) == expected


def test_strip_network_tags():
    assert strip_network_tags("<lora:setsuna:0.6>, green hair, <LYCO:x:1>, smile") == "green hair, smile"
    assert strip_network_tags("a cat <lora:a:1>") == "a cat"
    assert strip_network_tags("<lora:only:1>") == ""
    assert strip_network_tags("no tags (at:1.2)") == "no tags (at:1.2)"


def test_parse_size():
    assert parse_size("512x768") == (512, 768)
    assert parse_size(" 1024 x 1024 ") == (1024, 1024)
    assert parse_size("512x") is None and parse_size(None) is None and parse_size("big") is None


def test_strip_html():
    assert strip_html("<p>Hello&amp;<b>bye</b></p><ul><li>one</li></ul>") == "Hello& bye\none"


def test_quality_handles_2023_and_today_stats():
    thresholds = QualityThresholds()
    old_good = Stats.model_validate({"downloadCount": 5000, "ratingCount": 40, "rating": 4.8})
    old_bad = Stats.model_validate({"downloadCount": 5000, "ratingCount": 40, "rating": 2.1})
    today_good = Stats.model_validate(
        {"downloadCount": 900, "ratingCount": 0, "rating": 0, "thumbsUpCount": 88, "thumbsDownCount": 2}
    )
    today_bad = Stats.model_validate({"downloadCount": 900, "thumbsUpCount": 5, "thumbsDownCount": 20})
    few = Stats.model_validate({"downloadCount": "12", "ratingCount": "40", "rating": "5"})
    assert quality_reject_reason(old_good, thresholds) is None
    assert quality_reject_reason(today_good, thresholds) is None
    assert quality_reject_reason(old_bad, thresholds) == "low_rating"
    assert quality_reject_reason(today_bad, thresholds) == "low_rating"
    assert quality_reject_reason(few, thresholds) == "low_downloads"


def test_split_sizes_are_exact():
    assert split_sizes(100) == {"sft": 80, "rrhf": 10, "eval": 10}
    assert split_sizes(449) == {"sft": 361, "rrhf": 44, "eval": 44}
    assert split_sizes(0) == {"sft": 0, "rrhf": 0, "eval": 0}


def test_split_is_deterministic_and_groups_prompts():
    prompts = [f"prompt {i // 5}" for i in range(200)]  # 40 prompts, 5 images each
    ids = list(range(200))
    first = split_assignment(prompts, ids, seed=1)
    assert first == split_assignment(prompts, ids, seed=1)
    assert first != split_assignment(prompts, ids, seed=2)
    assert first.count("eval") == 20 and first.count("rrhf") == 20 and first.count("sft") == 160
    # With group sizes dividing the cut points, no prompt spans two splits.
    for group in range(40):
        assert len({first[i] for i in range(group * 5, group * 5 + 5)}) == 1
    # Input order does not matter.
    reversed_assignment = split_assignment(prompts[::-1], ids[::-1], seed=1)
    assert reversed_assignment[::-1] == first


def test_incremental_split_keeps_old_pairs_in_place():
    from diffagent.dabench.split import incremental_assignment

    prompts = [f"p{i % 30}" for i in range(100)]
    first = split_assignment(prompts, list(range(100)), seed=0)
    previous = dict(zip(range(100), first, strict=True))
    grown_prompts = prompts + [f"new {i}" for i in range(50)] + ["p3"] * 10
    grown_ids = list(range(100)) + list(range(1000, 1060))
    grown = incremental_assignment(previous, grown_prompts, grown_ids, seed=0)
    assert grown[:100] == first
    assert (grown.count("sft"), grown.count("rrhf"), grown.count("eval")) == (128, 16, 16)
    # A pair dropped from the data set frees its place; the partition stays exact.
    shrunk_previous = {i: s for i, s in previous.items() if s != "eval"}
    again = incremental_assignment(shrunk_previous, grown_prompts, grown_ids, seed=0)
    assert (again.count("sft"), again.count("rrhf"), again.count("eval")) == (128, 16, 16)


def test_drifted_civitai_records_parse():
    from schemas.civitai import Image, Model

    image = Image.model_validate(
        {
            "id": "12",
            "nsfwLevel": 1,
            "meta": {
                "id": 12,
                "meta": {"prompt": "a cat", "steps": "30", "cfgScale": "7.5", "Model": {"name": "X"}},
            },
        }
    )
    assert image.id == 12 and image.is_sfw
    assert image.meta.prompt == "a cat" and image.meta.steps == 30 and image.meta.cfg_scale == 7.5
    assert image.meta.model == "X"
    assert not Image.model_validate({"id": 1, "nsfwLevel": "Soft"}).is_sfw
    assert not Image.model_validate({"id": 1, "nsfw": True}).is_sfw
    assert Image.model_validate({"id": 1, "meta": None}).meta is None
    assert Image.model_validate({"id": 1, "meta": {"hashes": {"model": "abc"}}}).meta.model_hash == "abc"
    model = Model.model_validate(
        {
            "id": "5",
            "nsfw": "false",
            "tags": [{"name": "anime"}, "cute"],
            "stats": {"downloadCount": "10", "rating": "4.5", "thumbsUpCount": None},
            "modelVersions": [{"id": 9, "files": "junk", "trainedWords": None}],
        }
    )
    assert model.id == 5 and not model.nsfw and model.tags == ["anime", "cute"]
    assert model.stats.download_count == 10 and model.stats.rating == 4.5 and model.stats.thumbs_up_count == 0
    assert model.model_versions[0].files == [] and model.model_versions[0].primary_safetensors() is None


def test_arrow_schemas_come_from_the_row_models():
    import pyarrow as pa

    from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA, CatalogEntry, InstructionRow

    assert INSTRUCTION_SCHEMA.names == list(InstructionRow.model_fields)
    assert INSTRUCTION_SCHEMA.field("base_checkpoint").nullable
    assert not INSTRUCTION_SCHEMA.field("prompt").nullable
    assert INSTRUCTION_SCHEMA.field("cfg_scale").type == pa.float64()
    assert CATALOG_SCHEMA.field("trained_words").type == pa.list_(pa.string())
    assert CATALOG_SCHEMA.names == list(CatalogEntry.model_fields)

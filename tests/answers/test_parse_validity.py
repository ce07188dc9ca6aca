"""The one parser and the validity rules read off schemas.t2i, on hand-worked cases."""

from __future__ import annotations

import json

import jsonschema
import pytest

from diffagent.agent.conversation import format_answer
from diffagent.answers import ANSWER_KEYS, answer_json_schema, invalid_parameters, parse_answer
from diffagent.answers.validity import NUMERIC_BOUNDS, same_architecture
from schemas.t2i import MAX_CFG, MAX_SIDE, MIN_SIDE, SAMPLERS, SIDE_MULTIPLE, T2IApi

ROW = {
    "model": "pixel_art_lora",
    "type": "LORA",
    "base_model": "SD 1.5",
    "base_checkpoint": "dreamshaper_8",
    "width": 512,
    "height": 768,
    "sampling_method": "Euler a",
    "sampling_steps": 30,
    "cfg_scale": 7.5,
}


def test_parse_answer_takes_the_first_complete_object() -> None:
    # "{broken" fails at its own "{"; the next "{" starts a complete object with a nested one.
    text = 'Sure {broken {"model": "a", "extra": {"b": 1}} then {"model": "second"}'
    assert parse_answer(text) == {"model": "a", "extra": {"b": 1}}
    assert parse_answer('[1, 2] {"model": "x"}') == {"model": "x"}  # a list is not the answer
    assert parse_answer('{"model": "cut off') is None
    assert parse_answer("") is None and parse_answer(None) is None and parse_answer("} {") is None
    assert parse_answer({"model": "m"}) == {"model": "m"}  # parsed fields pass through
    assert parse_answer("noise " + format_answer(ROW) + " trailing {") == ROW


def test_invalid_parameters_hand_worked() -> None:
    """width 500 is no multiple of 8; "7" is a string, not a CFG; 30.0 is not an integer step
    count; "Euler A" is not a sampler (case matters); height missing."""
    fields = {"width": 500, "sampling_method": "Euler A", "sampling_steps": 30.0, "cfg_scale": "7"}
    assert invalid_parameters(fields) == {"width", "height", "sampling_method", "sampling_steps", "cfg_scale"}
    assert invalid_parameters(ROW) == set()
    assert invalid_parameters({**ROW, "cfg_scale": 7}) == set()  # an int is a valid float
    assert invalid_parameters({**ROW, "width": True}) == {"width"}  # a bool is no size
    assert invalid_parameters(None) == {"width", "height", "sampling_method", "sampling_steps", "cfg_scale"}


def test_bounds_come_from_the_schema() -> None:
    sizes = NUMERIC_BOUNDS["width"].values()
    assert (sizes[0], sizes[-1], len(sizes)) == (MIN_SIDE, MAX_SIDE, (2048 - 256) // 8 + 1)
    assert all(side % SIDE_MULTIPLE == 0 for side in sizes)
    assert NUMERIC_BOUNDS["sampling_steps"].values() == list(range(1, 151))
    cfgs = NUMERIC_BOUNDS["cfg_scale"].values()
    assert (cfgs[0], cfgs[1], cfgs[-1], len(cfgs)) == (1.0, 1.1, MAX_CFG, 291)  # 1.0 .. 30.0 in tenths


def test_same_architecture() -> None:
    assert same_architecture("SD 1.5", "SD 1.5") and not same_architecture("SD 1.5", "SDXL 1.0")


def test_answer_json_schema_is_the_pydantic_rules() -> None:
    schema = answer_json_schema(["pixel_art_lora", "dreamshaper_8"], ["dreamshaper_8"])
    assert list(schema["properties"]) == list(ANSWER_KEYS) == schema["required"]
    width = schema["properties"]["width"]
    assert (width["minimum"], width["maximum"], width["multipleOf"]) == (MIN_SIDE, MAX_SIDE, SIDE_MULTIPLE)
    assert schema["properties"]["sampling_method"]["enum"] == list(SAMPLERS)
    assert schema["properties"]["type"]["enum"] == ["Checkpoint", "LORA"]
    jsonschema.validate(json.loads(format_answer(ROW)), schema)
    for bad in (
        {"width": 999},
        {"model": "made_up"},
        {"base_checkpoint": "juggernaut_xl"},
        {"sampling_method": "Magic"},
        {"cfg_scale": 31},
        {"extra": 1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**ROW, **bad}, schema)
    # Everything the schema accepts is a valid T2I API once the catalog adds the ids.
    T2IApi(**ROW, model_id=3, version_id=30)

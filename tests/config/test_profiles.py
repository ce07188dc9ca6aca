"""Profiles and the config parts: merging, nesting, validation, help, worked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from diffagent.config.cli import config_field, option_help, parse_sets
from diffagent.config.dabench import DabenchBuildConfig
from diffagent.config.evaluate import EvaluateConfig
from diffagent.config.profiles import deep_merge, load_profile, nested, profile_names, profile_section
from diffagent.config.sfta import SftaTrainConfig


def test_deep_merge_and_nested_by_hand() -> None:
    base = {"sft": {"max_steps": 40, "learning_rate": 0.003}, "k": 2, "tags": [1, 2]}
    over = {"sft": {"max_steps": 8}, "tags": [3]}
    assert deep_merge(base, over) == {"sft": {"max_steps": 8, "learning_rate": 0.003}, "k": 2, "tags": [3]}
    assert base["sft"]["max_steps"] == 40  # not changed in place
    assert nested({"sft.max_steps": 4, "rollout.k": 3, "out": "o"}) == {
        "sft": {"max_steps": 4},
        "rollout": {"k": 3},
        "out": "o",
    }
    assert parse_sets(["sft.lora_r=8", "rollout.models={device: cpu}", "refresh_cache=true"]) == {
        "sft": {"lora_r": 8},
        "rollout": {"models": {"device": "cpu"}},
        "refresh_cache": True,
    }


def test_shipped_profiles_are_valid_for_every_flow() -> None:
    assert {"default", "tiny"} <= set(profile_names())
    required = {
        SftaTrainConfig: {"data": "d", "out": "o", "base_model": "b"},
        DabenchBuildConfig: {"out": "o"},
        EvaluateConfig: {"data": "d", "agents": "a", "out": "o"},
    }
    for profile in profile_names():
        for model, values in required.items():
            model.model_validate({**values, "profile": profile})


def test_a_given_value_wins_over_the_profile_which_wins_over_the_default() -> None:
    config = SftaTrainConfig.model_validate(
        {"data": "d", "out": "o", "profile": "tiny", "sft": {"max_steps": 8}, "rollout": {"k": 5}}
    )
    assert config.sft.max_steps == 8  # given
    assert config.sft.learning_rate == 0.003  # the tiny profile
    assert config.sft.lora_r == 16  # the field's default
    assert (config.rollout.k, config.rollout.batch_size) == (5, 2)
    assert config.weights == "tiny" and config.base_model is None
    default = SftaTrainConfig(data="d", out="o", base_model="b")
    assert (default.rollout.k, default.rrhf.max_length, default.rrhf.max_prompt_length) == (10, 1024, 768)
    # A dumped config validates to itself: explicit values are never overridden by the profile.
    assert SftaTrainConfig.model_validate(config.model_dump(mode="json")) == config


def test_bad_values_name_the_field() -> None:
    with pytest.raises(ValidationError, match="rrhf.bogus"):
        SftaTrainConfig.model_validate({"data": "d", "out": "o", "base_model": "b", "rrhf": {"bogus": 1}})
    with pytest.raises(ValidationError, match="temperature must be > 0"):
        SftaTrainConfig.model_validate(
            {"data": "d", "out": "o", "base_model": "b", "candidates": {"temperature": 0}}
        )
    with pytest.raises(ValidationError, match="base_model is required"):
        SftaTrainConfig(data="d", out="o")
    with pytest.raises(ValidationError, match="unknown base models \\['SD 9'\\]"):
        DabenchBuildConfig(out="o", base_models=["SD 9"])
    with pytest.raises(ValidationError, match="must include 'baseline'"):
        EvaluateConfig(data="d", agents="a", out="o", systems=["diffagent_rrhf"])
    with pytest.raises(ValidationError, match="unknown profile 'huge'"):
        EvaluateConfig(data="d", agents="a", out="o", profile="huge")


def test_a_profile_file(tmp_path: Path) -> None:
    file = tmp_path / "mine.yaml"
    file.write_text("weights: tiny\nsftA-train:\n  rollout: {k: 7}\n")
    config = SftaTrainConfig(data="d", out="o", profile=str(file))
    assert config.rollout.k == 7 and config.weights == "tiny"
    bad = tmp_path / "bad.yaml"
    bad.write_text("sfta: {}\n")
    with pytest.raises(ValueError, match="unknown sections \\['sfta'\\]"):
        load_profile(str(bad))


def test_help_comes_from_the_field_and_names_the_profiles() -> None:
    kind, help_text, default = config_field(SftaTrainConfig, "rollout.k")
    assert (kind, help_text, default) == (int, "Renders per response.", 10)
    assert option_help(SftaTrainConfig, "rollout.k") == "Renders per response. (default 10; tiny profile 2)"
    # RRHFParams's own help, read through the config: Eq. 10's weights are settable.
    assert config_field(SftaTrainConfig, "rrhf.ce_weight")[1] == "Weight of L_ce (paper Eq. 9) in Eq. 10."
    assert profile_section("tiny", "sftA-train")["rollout"] == {"k": 2, "batch_size": 2}


def test_the_trainer_arguments_come_from_the_rrhf_settings() -> None:
    from diffagent.rrhf.rrhf_config import RRHFConfig

    config = SftaTrainConfig(data="d", out="o", profile="tiny", rrhf={"ce_weight": 0.5, "rank_weight": 2.0})
    arguments = config.rrhf.to_training_arguments("/tmp/unused", use_cpu=True, bf16=False)
    assert isinstance(arguments, RRHFConfig)
    assert (arguments.max_length, arguments.max_prompt_length) == (512, 384)  # the tiny profile
    assert (arguments.ce_weight, arguments.rank_weight, arguments.max_steps) == (0.5, 2.0, 12)
    # RRHFConfig's defaults are RRHFParams's: one place (they had drifted to 512/384 vs 1024/768).
    plain = RRHFConfig(output_dir="/tmp/unused")
    assert (plain.max_length, plain.max_prompt_length, plain.learning_rate) == (1024, 768, 2e-5)

"""The sftA-train stages as JSON deployment parameters (`pipeline.stage_to_json` /
`stage_from_json`): what an `sfta-stage` run rebuilds is the parent's stage, key included."""

from __future__ import annotations

import json

import pytest

from diffagent.agent.sft import SFTParams
from diffagent.retriever.train import RetrieverConfig
from diffagent.rrhf import pipeline
from diffagent.rrhf.candidates import CandidateParams
from diffagent.rrhf.train import RRHFParams
from diffagent.stagecache import Stage
from tests.rrhf.conftest import write_dabench


def pool_stages(data: str, root: str) -> list[Stage]:
    """One of each pool stage, with settings off their defaults (an int where a float is typed:
    JSON keeps it an int, and so must the round trip, or the key would change)."""
    return [
        pipeline.RetrieverStage(root, data, "some/embedder", RetrieverConfig(epochs=3, temperature=5)),
        pipeline.SFTStage(root, data, "meta-llama/Llama-2-7b-hf", SFTParams(epochs=3, batch_size=2), True),
        pipeline.CandidatesStage(
            root,
            data,
            "f" * 24,
            CandidateParams(num_samples=2, temperature=1),
            4,
            2,
            {"SD 1.5": "dreamshaper_8"},
        ),
        pipeline.RRHFStage(root, "a" * 24, "b" * 24, RRHFParams(max_steps=12, full=True), use_cpu=True),
    ]


def test_every_pool_stage_survives_json(tmp_path) -> None:
    data = str(write_dabench(tmp_path / "data"))
    stages = pool_stages(data, str(tmp_path / "run"))
    assert sorted(stage.name for stage in stages) == sorted(pipeline.POOL_STAGES)
    for stage in stages:
        fields = json.loads(json.dumps(pipeline.stage_to_json(stage)))  # as a deployment sends it
        assert fields["root"] == str(tmp_path / "run")
        rebuilt = pipeline.stage_from_json(stage.name, fields)
        assert rebuilt == stage and type(rebuilt) is type(stage)
        assert rebuilt.key() == stage.key()
    sft = pipeline.stage_from_json("sft", pipeline.stage_to_json(stages[1]))
    assert isinstance(sft.params, SFTParams) and sft.params.epochs == 3 and type(sft.params.epochs) is int


def test_bad_stage_json_names_the_bad_value(tmp_path) -> None:
    with pytest.raises(ValueError, match="'rollouts'"):
        pipeline.stage_from_json("rollouts", {"root": "r"})
    fields = pipeline.stage_to_json(pipeline.SFTStage("r", "d", "m"))
    fields["params"]["warmup"] = 1
    with pytest.raises(ValueError, match=r"SFTParams fields \['warmup'\]"):
        pipeline.stage_from_json("sft", fields)

"""End to end: `diffagent train sfta --profile tiny` and its stage cache (issue 10's acceptance).

k=2, then k=3 on the same data: SFT and candidates are Cached, rollouts and RRHF recompute, and
rollouts.parquet has 3 renders per response; an identical third run is all Cached; going back to
k=2 with other candidate settings recomputes candidates onwards (never reusing k=3's files).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.rrhf.conftest import STAGES, cached, quick_sfta_settings, train_sfta, train_sfta_cli, write_dabench


def renders_per_response(run: Path) -> set[int]:
    return {len(row["image_scores"]) for row in pq.read_table(run / "rollouts.parquet").to_pylist()}


def records(run: Path) -> dict[str, bytes]:
    return {stage: (run / "stages" / f"{stage}.json").read_bytes() for stage in STAGES}


def test_first_run_trains_every_stage(tiny_sfta_run) -> None:
    _, run, printed = tiny_sfta_run
    assert cached(printed) == dict.fromkeys(STAGES, False)
    assert renders_per_response(run) == {2}
    rows = pq.read_table(run / "rollouts.parquet").to_pylist()
    per_prompt = {r["prompt_id"]: 0 for r in rows}
    for row in rows:
        per_prompt[row["prompt_id"]] += 1
    assert len(per_prompt) == 2 and min(per_prompt.values()) >= 3  # min_responses
    manifest = json.loads((run / "rrhf" / "manifest.json").read_text())
    assert manifest["stage"] == "rrhf" and len(manifest["losses"]) == 4


def test_the_run_trains_a_retriever_that_its_agents_use(tiny_sfta_run) -> None:
    """RUN/retriever is a trained retriever (validated on the rrhf split), and an agent loaded
    from RUN/rrhf ranks with it rather than with the untrained one."""
    from diffagent.agent import load_agent

    data, run, printed = tiny_sfta_run
    manifest = json.loads((run / "retriever" / "manifest.json").read_text())
    assert manifest["trained"] is True and manifest["config"]["epochs"] == 3
    assert printed["retriever"]["counts"]["weights"]["dense"] == 1.0
    agent = load_agent(run / "rrhf", catalog=data, device="cpu")
    assert agent.retriever.manifest["trained"] is True
    [[answer]] = agent.select(["a watercolor painting of a cat"], selector="retrieval")
    assert answer.api is not None and answer.api.model in agent.catalog


def test_k2_then_k3_reuses_sft_and_candidates_then_nothing_recomputes(tiny_sfta_run, tmp_path) -> None:
    data, trained, first = tiny_sfta_run
    run = tmp_path / "run"
    shutil.copytree(trained, run)  # the stage cache lives in the run folder and travels with it

    second = train_sfta(data, run, **quick_sfta_settings(k=3))
    assert cached(second) == {
        "retriever": True,
        "sft": True,
        "candidates": True,
        "rollouts": False,
        "rrhf": False,
    }
    assert renders_per_response(run) == {3}
    assert second["sft"]["fingerprint"] == first["sft"]["fingerprint"]
    assert pq.read_table(run / "rollouts.parquet").num_rows == first["rollouts"]["counts"]["rows"]

    before = records(run)
    third = train_sfta(data, run, **quick_sfta_settings(k=3))
    assert cached(third) == dict.fromkeys(STAGES, True)
    assert records(run) == before

    # Back to k=2 (whose cache entry exists) with other candidate settings: k=2's entry must not
    # be served over the k=3 files now on disk, and new candidates recompute what follows.
    fourth = train_sfta(data, run, **quick_sfta_settings(k=2, num_samples=1))
    assert cached(fourth) == {
        "retriever": True,
        "sft": True,
        "candidates": False,
        "rollouts": False,
        "rrhf": False,
    }
    assert renders_per_response(run) == {2}
    assert fourth["candidates"]["counts"]["params"]["num_samples"] == 1


def test_a_deleted_output_recomputes_its_stage_only(tiny_sfta_run, tmp_path) -> None:
    data, trained, _ = tiny_sfta_run
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    (run / "candidates.parquet").unlink()
    again = train_sfta(data, run, **quick_sfta_settings(k=2))
    # Seeded generation writes the same bytes again, so everything after candidates stays Cached.
    assert cached(again) == {
        "retriever": True,
        "sft": True,
        "candidates": False,
        "rollouts": True,
        "rrhf": True,
    }
    assert records(run)["rrhf"] == (trained / "stages" / "rrhf.json").read_bytes()


def test_unknown_profile() -> None:
    from diffagent.config.sfta import SftaTrainConfig

    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        SftaTrainConfig(data="d", out="o", profile="huge")


@pytest.mark.slow
def test_train_sfta_cli_k2_then_k3(tmp_path) -> None:
    """The acceptance as a user runs it: the CLI twice with the full tiny profile, then again."""
    data, run = write_dabench(tmp_path / "data"), tmp_path / "run"
    first = train_sfta_cli(data, run, "--k", "2")
    assert cached(first) == dict.fromkeys(STAGES, False) and renders_per_response(run) == {2}
    second = train_sfta_cli(data, run, "--k", "3")
    assert cached(second) == {
        "retriever": True,
        "sft": True,
        "candidates": True,
        "rollouts": False,
        "rrhf": False,
    }
    assert renders_per_response(run) == {3}
    assert cached(train_sfta_cli(data, run, "--k", "3")) == dict.fromkeys(STAGES, True)

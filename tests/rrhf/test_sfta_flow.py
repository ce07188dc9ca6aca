"""End to end: the sftA-train flow on tiny models, and its stage cache (issue 10's acceptance).

k=2, then k=3 on the same data: SFT and candidates are Cached, rollouts and RRHF recompute, and
rollouts.parquet has 3 renders per response; an identical third run is all Cached; going back to
k=2 with other candidate settings recomputes candidates onwards (never reusing k=3's files).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from diffagent.rrhf.pipeline import profile_settings
from diffagent.runflow import run_flow
from tests.rrhf.conftest import write_dabench

STAGES = ("sft", "candidates", "rollouts", "rrhf")


def quick_settings(k: int, **candidates) -> dict:
    """The tiny profile with fewer steps and prompts, so the test stays quick."""
    settings = profile_settings("tiny", None)
    settings["sft"]["max_steps"] = 8
    settings["rrhf"]["max_steps"] = 3
    settings["candidates"].update(candidates)
    return {**settings, "max_prompts": 2, "k": k}


def renders_per_response(run: Path) -> set[int]:
    return {len(row["image_scores"]) for row in pq.read_table(run / "rollouts.parquet").to_pylist()}


def cached(results: dict) -> dict[str, bool]:
    return {stage: results[stage]["cached"] for stage in STAGES}


def test_stages_recompute_only_what_their_settings_change(tmp_path) -> None:
    data, run = str(write_dabench(tmp_path / "data")), tmp_path / "run"
    first = run_flow("sftA-train", data=data, out=str(run), profile="tiny", **quick_settings(2))
    assert cached(first) == dict.fromkeys(STAGES, False)
    assert renders_per_response(run) == {2}
    responses = pq.read_table(run / "rollouts.parquet").num_rows
    assert responses >= 2 * 3  # two prompts, at least min_responses each
    manifest = json.loads((run / "rrhf" / "manifest.json").read_text())
    assert manifest["stage"] == "rrhf" and len(manifest["losses"]) == 3

    second = run_flow("sftA-train", data=data, out=str(run), profile="tiny", **quick_settings(3))
    assert cached(second) == {"sft": True, "candidates": True, "rollouts": False, "rrhf": False}
    assert renders_per_response(run) == {3}
    assert pq.read_table(run / "rollouts.parquet").num_rows == responses
    assert second["sft"]["fingerprint"] == first["sft"]["fingerprint"]

    records = {stage: (run / "stages" / f"{stage}.json").read_bytes() for stage in STAGES}
    third = run_flow("sftA-train", data=data, out=str(run), profile="tiny", **quick_settings(3))
    assert cached(third) == dict.fromkeys(STAGES, True)
    assert {stage: (run / "stages" / f"{stage}.json").read_bytes() for stage in STAGES} == records

    # Back to k=2 with other candidate settings: k=2's earlier cache entry must not be served
    # over the k=3 files now on disk.
    fourth = run_flow(
        "sftA-train", data=data, out=str(run), profile="tiny", **quick_settings(2, num_samples=1)
    )
    assert cached(fourth) == {"sft": True, "candidates": False, "rollouts": False, "rrhf": False}
    assert renders_per_response(run) == {2}
    assert fourth["candidates"]["counts"]["params"]["num_samples"] == 1


def test_a_deleted_output_is_recomputed_and_refresh_forces_every_stage(tmp_path) -> None:
    data, run = str(write_dabench(tmp_path / "data")), tmp_path / "run"
    settings = quick_settings(2)
    run_flow("sftA-train", data=data, out=str(run), profile="tiny", **settings)
    (run / "candidates.parquet").unlink()
    again = run_flow("sftA-train", data=data, out=str(run), profile="tiny", **settings)
    # Same bytes again (seeded generation): everything after candidates stays cached.
    assert cached(again) == {"sft": True, "candidates": False, "rollouts": True, "rrhf": True}
    forced = run_flow("sftA-train", data=data, out=str(run), profile="tiny", refresh_cache=True, **settings)
    assert cached(forced) == dict.fromkeys(STAGES, False)


def test_train_sfta_cli_tiny(tmp_path) -> None:
    """`diffagent train sfta --profile tiny` as a user runs it (its own Prefect server)."""
    data, run = write_dabench(tmp_path / "data"), tmp_path / "run"
    command = [str(Path(sys.executable).parent / "diffagent"), "train", "sfta", "--data", str(data)]
    command += ["--out", str(run), "--profile", "tiny", "--max-prompts", "2"]
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    # A subprocess: Prefect's log handlers outlive an in-process CLI runner's streams.
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    assert [printed[stage]["cached"] for stage in STAGES] == [False] * 4
    assert renders_per_response(run) == {2}
    losses = json.loads((run / "rrhf" / "manifest.json").read_text())["losses"]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("profile", ["huge"])
def test_unknown_profile_is_one_line(profile) -> None:
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        profile_settings(profile, None)

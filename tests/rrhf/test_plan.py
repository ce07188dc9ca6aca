"""The rollout cost plan: counts against a hand-worked example, the run-folder plan, `--plan`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from diffagent.rrhf.plan import ImageCosts, count_plan, plan_for_run, plan_markdown
from tests.rrhf.conftest import write_dabench


def test_counts_hand_worked() -> None:
    """3 prompts with 3, 3, 2 responses, k = 2, batches of 2 prompts, 3 scorers, 4 checkpoints.
    responses 8; renders 2 x 8 = 16; scorer calls 3 x 16 = 48; batches ceil(3/2) = 2.
    Per job (1 batch a run): 2 runs, scorer loads 3 x 2 = 6; batch 0 holds 6 responses, batch 1
    holds 2: pipeline loads at most min(6, 4) + min(2, 4) = 6; model loads 12.
    Per batch of 2 jobs: 1 run, scorer loads 3, pipeline loads at most min(8, 4) = 4; model loads 7.
    Costs 1.8 s a render, 0.2 s a scored image, 30 s a load, per job:
    (16 x 2.0 + 12 x 30) / 3600 = 392 / 3600 h."""
    costs = ImageCosts(render_s=1.8, score_s=0.2, load_s=30)
    per_job = count_plan([3, 3, 2], k=2, batch_size=2, jobs_per_run=1, checkpoints=4, costs=costs)
    assert (per_job.responses, per_job.renders, per_job.scorer_calls) == (8, 16, 48)
    assert (per_job.batches, per_job.runs, per_job.scorer_loads, per_job.pipeline_loads) == (2, 2, 6, 6)
    assert per_job.model_loads == 12 and not per_job.exact
    assert per_job.gpu_hours == pytest.approx(392 / 3600)

    batched = count_plan([3, 3, 2], k=2, batch_size=2, jobs_per_run=2, checkpoints=4)
    assert (batched.runs, batched.scorer_loads, batched.pipeline_loads, batched.model_loads) == (1, 3, 4, 7)
    assert batched.gpu_hours is None and batched.renders == per_job.renders


def test_known_pipelines_are_exact() -> None:
    plan = count_plan([2, 2, 2], k=1, batch_size=1, jobs_per_run=2, pipelines_per_run=[2, 1])
    assert plan.exact and (plan.runs, plan.pipeline_loads, plan.model_loads) == (2, 3, 9)
    with pytest.raises(ValueError, match="3 pipeline counts for 2 runs"):
        count_plan([2, 2, 2], k=1, batch_size=1, jobs_per_run=2, pipelines_per_run=[1, 1, 1])


def test_the_papers_scale() -> None:
    """4,000 prompts x 6 responses x k = 10: 240,000 renders and 720,000 scorer calls."""
    plan = count_plan([6] * 4000, k=10, batch_size=4, jobs_per_run=8)
    assert (plan.renders, plan.scorer_calls, plan.batches, plan.runs) == (240_000, 720_000, 1000, 125)
    assert "| renders (at most) | 240000 |" in plan_markdown(plan)


def test_plan_of_a_run_folder_before_candidates(tmp_path: Path) -> None:
    """The small DABench: 3 rrhf prompts; tiny candidates (2 samples + 2 groups x 1 beam) + the
    reference = 5 responses a prompt at most; its catalog has 3 checkpoints and 2 base models."""
    data = write_dabench(tmp_path / "data")
    candidates = {"num_samples": 2, "num_beam_groups": 2}
    plan, source = plan_for_run(str(data), str(tmp_path / "run"), 2, 2, 8, None, candidates)
    assert "no candidates yet" in source
    assert (plan.prompts, plan.responses, plan.renders, plan.batches, plan.runs) == (3, 15, 30, 2, 1)
    assert plan.pipeline_loads == 5  # min(15 responses, 3 checkpoints + 2 base models)
    assert not (tmp_path / "run").exists()


def test_cli_plan_prints_counts_without_rendering(tmp_path: Path) -> None:
    data, run = write_dabench(tmp_path / "data"), tmp_path / "run"
    command = [str(Path(sys.executable).parent / "diffagent"), "train", "sfta", "--data", str(data)]
    command += ["--out", str(run), "--profile", "tiny", "--plan", "--render-s", "0.5", "--jobs-per-run", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    # tiny: 4 prompts at most (3 in the split), k = 2, batches of 2 prompts, one batch a run.
    expected = ["| prompts | 3 |", "| renders (at most) | 30 |"]
    expected += ["| batches (part files) | 2 |", "| runs | 2 |"]
    for line in expected:
        assert line in done.stdout, done.stdout
    assert "| GPU hours | 0.00 |" in done.stdout  # 30 renders x 0.5 s
    assert not run.exists()  # nothing trained, rendered or written


def test_the_plan_reports_the_policy_cost_the_rrhf_stage_measured(tmp_path: Path) -> None:
    """Before RRHF has run the measured rows are '-'; after, the RRHF stage record's figures."""
    import json

    from diffagent.rrhf.plan import PeakMemory, policy_cost

    data, run = write_dabench(tmp_path / "data"), tmp_path / "run"
    before, _ = plan_for_run(str(data), str(run), k=2, batch_size=2, jobs_per_run=1)
    assert (before.policy_parameters, before.rrhf_s_per_step, before.rrhf_peak_memory_gb) == (
        None,
        None,
        None,
    )
    assert "| RRHF seconds per step (measured) | - |" in plan_markdown(before)
    import time

    with PeakMemory() as peak:
        ballast = bytearray(50_000_000)  # 50 MB held while the probe samples
        time.sleep(0.5)
    del ballast
    # 12 steps in 30 s: 2.5 s a step.
    manifest = {"steps": 12, "train_runtime_s": 30.0, "policy_parameters": 134_515_008}
    cost = policy_cost(manifest, peak)
    assert (cost["steps"], cost["s_per_step"], cost["policy_parameters"]) == (12, 2.5, 134_515_008)
    assert cost["peak_rss_gb"] >= 0.05
    (run / "stages").mkdir(parents=True)
    (run / "stages" / "rrhf.json").write_text(json.dumps({"stage": "rrhf", "counts": {"policy": cost}}))
    after, _ = plan_for_run(str(data), str(run), k=2, batch_size=2, jobs_per_run=1)
    assert (after.policy_parameters, after.rrhf_s_per_step) == (134_515_008, 2.5)
    assert after.rrhf_peak_memory_gb == cost["peak_rss_gb"]
    table = plan_markdown(after)
    assert "| policy parameters (measured) | 134,515,008 |" in table
    assert "| RRHF seconds per step (measured) | 2.50 |" in table

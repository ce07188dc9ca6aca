"""bench/gpu_check.py --smoke runs the whole GPU check on tiny shapes (this machine has no GPU):
every part reports, through our renderer, scorers, agent and rollout."""

from __future__ import annotations

import json

import pytest

from bench.gpu_check import REPORT_KEYS, main


def test_gpu_check_smoke_reports_every_part(tmp_path) -> None:
    out = tmp_path / "report.json"
    report = main(["--smoke", "--out", str(out), "--work-dir", str(tmp_path)])
    assert json.loads(out.read_text()) == report
    assert tuple(report) == REPORT_KEYS and report["smoke"] and report["device"] == "cpu"
    renders = {(row["architecture"], row["batch"]) for row in report["renders"]}
    assert renders == {("sd1", 1), ("sd1", 2), ("sdxl", 1), ("sdxl", 2)}
    for row in report["renders"]:
        assert row["ours_s"] > 0 and row["bare_s"] > 0
        assert row["ratio"] == pytest.approx(row["ours_s"] / row["bare_s"], rel=1e-2)  # of rounded values
    assert set(report["scorers"]) == {"clip_score", "image_reward", "hps_v2"}
    assert all(entry["images_per_s"] > 0 for entry in report["scorers"].values())
    llm = report["llm"]
    assert llm["transformers"]["all_answers_in_catalog"] and llm["transformers"]["p50_latency_s"] > 0
    assert llm["vllm"] == "needs CUDA"
    rollout = report["rollout"]
    assert rollout["rows"] == rollout["prompts"] * rollout["responses"] and rollout["rewards_finite"]
    families = {row["architecture"]: row for row in report["families"]}
    expected = {"sd1", "sdxl", "flux", "z-image", "qwen-image", "flux2", "sd3", "chroma", "auraflow"}
    assert expected <= set(families)
    for row in families.values():
        assert "error" not in row, row
        assert row["dtype"] == "float32" and row["not_blank"] and row["lora_changes_image"], row
    assert families["z-image"]["pipeline"] == "ZImagePipeline"

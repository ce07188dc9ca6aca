"""`diffagent dabench build --max-images-per-version 20` on the bundled sample: at most 20 images
with a prompt a version (most-reacted first, counted at the server), creator and community images
marked, LoRA bases resolved in bulk, paid versions rejected with their reason."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from diffagent.civitai.local_server import CivitaiServer
from diffagent.civitai.sample_community import CROWD_CHECKPOINT, CROWD_LORA, EARLY_ACCESS_ENDS, EARLY_BIRD
from diffagent.civitai.source import CivitaiSource
from diffagent.cli import app
from tests.dabench.contract import read

CROWD, LORA = CROWD_CHECKPOINT * 100, CROWD_LORA * 100
# The crowd versions' 45 images, most-reacted first, are the sample's image indices 0, 1, 2, ...;
# indices 4 and 13 have no prompt. A budget of 20 takes 0-19 (18 prompts), then 20-21.
TAKEN = [i for i in range(22) if i not in (4, 13)]
BY_CREATOR = [i for i in TAKEN if i % 3 == 0]  # 0, 3, 6, 9, 12, 15, 18, 21


@pytest.fixture(scope="module")
def budget_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("budget-build")
    with CivitaiServer(CivitaiSource.sample()) as server:
        args = ["dabench", "build", "--civitai-url", server.url, "--out", str(out), "--no-llm"]
        result = CliRunner().invoke(
            app, [*args, "--max-images-per-version", "20", "--set", "show_progress=false"]
        )
    assert result.exit_code == 0, result.output
    return out, server.stats, json.loads(result.output[result.output.index("{") :])


def test_each_version_is_fetched_up_to_its_budget_of_prompts(budget_build):
    _, stats, _ = budget_build
    assert stats.images_served[CROWD] == len(TAKEN) + 2 == 22  # 20 with a prompt, 2 without
    assert stats.images_served[LORA] == 22
    assert max(stats.images_served.values()) == 22
    assert stats.images_served[10100] == 12, "a version under its budget gives every image"


def test_the_most_reacted_images_are_kept_and_marked_creator_or_community(budget_build):
    out, _, counts = budget_build
    pairs = read(out, "instructions.parquet")
    for version_id in (CROWD, LORA):
        mine = pairs[pairs["version_id"] == version_id]
        offset = 0 if version_id == CROWD else 45
        assert sorted(mine["image_id"] - 950_000 - offset) == TAKEN
        creator = mine[mine["image_source"] == "creator"]
        assert sorted(creator["image_id"] - 950_000 - offset) == BY_CREATOR
        assert set(mine["image_source"]) == {"creator", "community"}
    filtered = counts["filter"]
    assert filtered["pairs_creator"] + filtered["pairs_community"] == filtered["pairs"] == len(pairs)
    assert filtered["pairs_unknown"] == 0
    assert filtered["pairs_community"] >= 24  # 12 on each crowd version, more elsewhere


def test_lora_bases_named_by_sha256_resolve_in_one_bulk_request(budget_build):
    out, stats, _ = budget_build
    assert stats.requests["by-hash-ids"] == 1  # only the crowd LoRA's images carry full SHA256
    lora = read(out, "instructions.parquet").query(f"version_id == {LORA}")
    assert lora["base_checkpoint_version_id"].notna().all()


def test_paid_versions_are_rejected_with_their_reason(budget_build):
    out, _, _ = budget_build
    rejects: pd.DataFrame = read(out, "rejects.parquet")
    versions = rejects[rejects["image_id"].isna() & (rejects["reason"] == "paid_access")]
    assert dict(zip(versions["version_id"], versions["detail"], strict=True)) == {
        EARLY_BIRD * 100: f"early access until {EARLY_ACCESS_ENDS}",
        EARLY_BIRD * 100 + 1: "paid access: downloads only after a purchase",
    }
    images = rejects[rejects["image_id"].notna() & (rejects["reason"] == "paid_access")]
    assert len(images) == 6  # the three images of each paid version

"""Training a retriever on a small DABench with the real MiniLM, saving, loading and selecting."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from diffagent.agent import load_agent
from diffagent.retriever import load_retriever
from diffagent.retriever.train import RetrieverConfig, train_retriever
from tests.agent.conftest import write_dabench


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dabench(tmp_path_factory.mktemp("dabench"))


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("retriever") / "retriever"
    manifest = train_retriever(data, out, config=RetrieverConfig(epochs=3))
    return out, manifest


def test_manifest_records_what_the_choices_rest_on(trained, data):
    out, manifest = trained
    saved = json.loads((out / "manifest.json").read_text())
    assert saved["catalog_fingerprint"] == load_agent(None, catalog=data).catalog.fingerprint
    assert saved["config"]["epochs"] == 3 and saved["pairs"] == {"sft": 18, "rrhf": 18}
    assert len(saved["head"]["valid_objective"]) == 4  # epoch 0 (the centroids) + 3
    assert set(saved["validation"]) >= {"dense", "lexical", "triggers", "bm25", "centroids", "fused"}
    assert saved["weights"]["dense"] == 1.0
    assert (out / "model_matrix.npy").exists() and (out / "samples.npz").exists()
    # The reranker saw every sft row ranked by a retriever fitted on the other folds.
    reranking = saved["reranker"]
    assert reranking["queries"] == 18 and len(reranking["valid_objective"]) == 40
    assert reranking["kept"] == (out / "reranker.npz").exists() == ("reranked" in saved["validation"])
    # The settings read the rrhf samples after the sft ones; only the sft ones vote.
    loaded = load_retriever(out, load_agent(None, catalog=data).catalog)
    assert loaded.samples.voters == 18 and len(loaded.samples.model_index) == 36
    assert (loaded.reranker is not None) == reranking["kept"]
    # The fused ranking never scores below the anchor signal on validation (weights start at 0).
    fused, dense = saved["validation"]["fused"], saved["validation"]["dense"]
    assert fused["top1"] + fused["top5"] >= dense["top1"] + dense["top5"]


def test_trained_selector_names_the_theme_model_with_its_settings(trained, data):
    out, _ = trained
    agent = load_agent(None, catalog=data, retriever=out)
    (first, second), (pixel, *_) = agent.select(
        [
            {"prompt": "a photo of a woman, cinematic lighting", "negative_prompt": "lowres, blurry"},
            "pixel art sprite of a knight, 8-bit retro",
        ],
        top_k=2,
        selector="retrieval",
    )[0:2]
    assert first.api.model == "Realistic Vision" and first.score >= second.score
    assert pixel.api.model == "Pixel Art XL"
    # Settings from its nearest sft samples: SDXL size, its sampler/steps/CFG, a catalog SDXL base.
    assert (pixel.api.width, pixel.api.sampling_steps, pixel.api.base_checkpoint) == (
        1024,
        28,
        "Juggernaut XL",
    )
    assert pixel.api.sampling_method == "DPM++ 2M Karras" and pixel.api.cfg_scale == 7.0


def test_saved_folder_round_trips(trained, data):
    out, _ = trained
    agent = load_agent(None, catalog=data)
    first = load_retriever(out, agent.catalog)
    again = load_retriever(out, agent.catalog, embedder=first.embedder)
    prompts, negatives = ["watercolor flowers", "neon city"], ["", "blurry"]
    assert first.rank(prompts, negatives, 3)[0] == again.rank(prompts, negatives, 3)[0]
    assert np.array_equal(first.dense, again.dense) and first.weights == again.weights
    # The samples' n-gram vectors (the settings' similarity) are kept with the lexical signal.
    assert (out / "samples_lexical.npz").exists() == bool(first.weights.get("lexical"))
    features = first.features(prompts, negatives)
    np.testing.assert_allclose(
        first.settings_similarity(features, prompts, negatives),
        again.settings_similarity(features, prompts, negatives),
    )


def test_a_catalog_without_the_trained_models_is_refused(trained, tmp_path):
    out, _ = trained
    other = write_dabench(tmp_path / "other", models=[("Only One", "Checkpoint", "SD 1.5", "a cat")])
    with pytest.raises(ValueError, match="none of its"):
        load_agent(None, catalog=other, retriever=out).select(["a cat"], selector="retrieval")


def test_a_part_of_the_catalog_ranks_among_its_models(trained, data):
    """One architecture's part of the training catalog (what evaluation asks per architecture):
    only its models are ranked, with their own vectors and sample settings."""
    out, _ = trained
    full = load_agent(None, catalog=data).catalog
    sdxl = [m for m, entry in full.items() if entry.base_model == "SDXL 1.0"]
    part = load_retriever(out, full.part(sdxl, source="sdxl"))
    assert part.models == sdxl and part.dense.shape[0] == len(sdxl)
    (ranked,), features = part.rank(["pixel art sprite of a knight, 8-bit"], [""], 2)
    assert part.models[ranked[0][0]] == "Pixel Art XL"
    assert part.settings(features[0], ranked[0][0])["width"] == 1024
    lexical = part.samples.lexical
    assert lexical is None or lexical.shape[0] == len(part.samples.model_index) < len(full.sample_rows)


def test_untrained_retriever_uses_prompt_and_negative(data):
    agent = load_agent(None, catalog=data)
    ((top,),) = agent.select(
        [{"prompt": "cyberpunk city at night, neon signs", "negative_prompt": "lowres, blurry"}],
        selector="retrieval",
    )
    assert top.api.model == "Cyber Neon, v2.0"
    assert agent.retriever.manifest["trained"] is False and agent.retriever.dense.shape[1] == 2 * 384


def test_cli_trains_then_selects_and_finds_the_run_retriever(trained, data, tmp_path):
    """`select --retriever DIR` answers from the trained folder; an agent in RUN/sft finds
    RUN/retriever on its own (what sftA-train writes)."""
    out, _ = trained
    command = [sys.executable, "-m", "diffagent.cli"]
    result = subprocess.run(
        [
            *command,
            "select",
            "pixel art sprite, 8-bit",
            "--catalog",
            str(data),
            "--selector",
            "retrieval",
            "--retriever",
            str(out),
            "--top-k",
            "2",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    answers = json.loads(result.stdout)
    assert [a["api"]["model"] for a in answers][0] == "Pixel Art XL"
    bad = subprocess.run(
        [*command, "train", "retriever", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "missing" in bad.stderr
    seeded = tmp_path / "seeded"
    subprocess.run(
        [*command, "train", "retriever", "--data", str(data), "--out", str(seeded), "--epochs", "1"]
        + ["--folds", "0", "--seed", "7"],
        capture_output=True,
        check=True,
    )
    assert json.loads((seeded / "manifest.json").read_text())["config"]["seed"] == 7
    from diffagent.agent.selector import sibling_retriever

    run = tmp_path / "run"
    shutil.copytree(out, run / "retriever")
    (run / "sft").mkdir()
    assert sibling_retriever(run / "sft") == run / "retriever"
    assert sibling_retriever(tmp_path / "elsewhere" / "sft") is None


def test_sample_ngrams_survive_saving_and_a_part_of_the_catalog(trained, data, tmp_path):
    """With the lexical signal kept, the samples' n-gram vectors are saved beside the samples and
    stay row-aligned with them in a part of the catalog: a query that copies one sft sample word
    for word finds that sample nearest, in the full catalog and in its architecture's part."""
    from diffagent.retriever.build import sample_labels
    from diffagent.retriever.lexical import CharCentroids
    from diffagent.retriever.model import Retriever
    from diffagent.retriever.params import SampleTable
    from diffagent.retriever.train import split_rows

    out, _ = trained
    full = load_agent(None, catalog=data).catalog
    base = load_retriever(out, full)
    rows, labels = sample_labels(split_rows(data, "sft"), base.models)
    lexical = CharCentroids.fit(
        [r["prompt"] for r in rows], [r["negative_prompt"] for r in rows], labels, len(base.models)
    )
    table = base.samples
    sft = slice(0, table.voters)  # the saved table holds the sft samples, then the rrhf ones
    assert table.voters == len(rows) < len(table.model_index)
    kept = Retriever(
        base.models,
        base.dense,
        base.bias,
        {**base.weights, "lexical": 1.0},
        SampleTable(
            table.vectors[sft], table.model_index[sft], table.settings[sft], lexical=lexical.fitted_features
        ),
        base.embedder,
        base.entries,
        lexical,
        base.manifest,
    )
    kept.save_pretrained(tmp_path / "kept")
    assert (tmp_path / "kept" / "samples_lexical.npz").exists()
    sdxl = [m for m, entry in full.items() if entry.base_model == "SDXL 1.0"]
    copied = next(i for i, r in enumerate(rows) if r["model"] in sdxl)
    prompt, negative = [rows[copied]["prompt"]], [rows[copied]["negative_prompt"]]
    for catalog in (full, full.part(sdxl, source="sdxl")):
        loaded = load_retriever(tmp_path / "kept", catalog)
        assert loaded.samples.lexical.shape[0] == len(loaded.samples.model_index)
        features = loaded.features(prompt, negative)
        similarity = loaded.settings_similarity(features, prompt, negative)
        ngrams = similarity - loaded.sample_similarity(features)  # the n-gram cosines alone
        for scores in (similarity, ngrams):
            nearest = int(np.argmax(scores[0]))
            assert loaded.samples.settings[nearest] == table.settings[copied]
            assert loaded.models[loaded.samples.model_index[nearest]] == rows[copied]["model"]
        assert ngrams.max() == pytest.approx(2.0, abs=1e-4)  # unit prompt and negative vectors


def test_an_sft_split_of_one_prompt_trains_without_a_reranker(tmp_path):
    import pyarrow.parquet as pq

    data = write_dabench(tmp_path / "dabench")
    sft = pq.read_table(data / "splits" / "sft.parquet").slice(0, 1)
    pq.write_table(sft, data / "splits" / "sft.parquet")
    manifest = train_retriever(data, tmp_path / "retriever", config=RetrieverConfig(epochs=1))
    assert manifest["reranker"] == {"kept": False, "skipped": "the 1 sft prompts fill fewer than two folds"}
    assert not (tmp_path / "retriever" / "reranker.npz").exists()
    assert "reranked" not in manifest["validation"]

"""`diffagent evaluate`: argument checks, and the whole flow on a tiny `train sfta` run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from diffagent.cli import app

DATA = Path(__file__).parent / "data"  # tiny prompt files in the COCO captions and PartiPrompts layouts


def test_help_names_the_issue_options() -> None:
    result = CliRunner().invoke(app, ["evaluate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--data", "--agents", "--coco", "--parti", "--n", "--out", "--profile"):
        assert option in result.output


def test_bad_seeds_and_profile_exit_2(tmp_path: Path) -> None:
    base = ["evaluate", "--data", str(tmp_path), "--agents", str(tmp_path), "--out", str(tmp_path / "e")]
    result = CliRunner().invoke(app, [*base, "--seeds", "0,x"])
    assert result.exit_code == 2 and "--seeds" in result.output
    result = CliRunner().invoke(app, [*base, "--profile", "huge"])
    assert result.exit_code == 2 and "huge" in result.output


def test_evaluate_flow_end_to_end_on_a_tiny_run(tiny_sfta_run, tmp_path: Path) -> None:
    """The evaluate flow on the session's tiny `train sfta` run, with the bundled tiny COCO and
    PartiPrompts files: every selector answers every prompt, every system renders, the unified
    score is normalised within each prompt, and the report, plots and sheet are written."""
    from diffagent.evaluate.run import SELECTIONS
    from diffagent.runflow import run_flow
    from diffagent.score.unified import METRICS, unified_image_scores

    data, run, _ = tiny_sfta_run
    out = tmp_path / "eval"
    settings = dict(
        data=str(data),
        agents=str(run),
        out=str(out),
        coco=str(DATA / "coco_captions_tiny.json"),
        parti=str(DATA / "parti_prompts_tiny.tsv"),
        n=2,
        profile="tiny",
        seeds=[0, 1],
        study_pairs=2,
    )
    result = run_flow("evaluate", **settings)
    assert result["report"] == str(out / "report.md")
    report = (out / "report.md").read_text()
    for name in (
        "Baseline",
        "Baseline*",
        "DiffAgent#",
        "DiffAgent-SFT",
        "DiffAgent-RRHF",
        "Table 1. Hallucination",
    ):
        assert name in report
    prompts = pd.read_parquet(out / "prompts.parquet")
    assert prompts.groupby("dataset").size().to_dict() == {"coco": 2, "dabench": 1, "parti": 2}
    answers = pd.read_parquet(out / "answers.parquet")
    # COCO and Parti prompts are asked for both architectures, the one DABench prompt (SDXL) once.
    per_architecture = answers.groupby("architecture")["prompt_id"].nunique().to_dict()
    assert per_architecture == {"SD 1.5": 4, "SDXL 1.0": 5}
    asked = answers.groupby(["architecture", "prompt_id"]).apply(
        lambda g: sorted(zip(g["selector"], g["constrained"], strict=True))
    )
    assert all(pairs == sorted(SELECTIONS) for pairs in asked)
    scores = pd.read_parquet(out / "scores.parquet")
    assert set(scores["seed"]) == {0, 1} and set(scores["system"]) >= {"baseline", "diffagent_rrhf"}
    for _, group in scores.groupby(["architecture", "dataset", "prompt_id"]):
        expected = unified_image_scores({m: group[m].tolist() for m in METRICS})
        assert group["unified"].tolist() == pytest.approx(expected)
    # Table 1's rows must be what the one classifier says of each recorded answer (constrained
    # ones included: the trie alone does not make the recorded flag right).
    from diffagent.answers import parse_answer
    from diffagent.catalog import load_catalog
    from diffagent.evaluate.systems import check_answer

    catalog = load_catalog(data)
    assert answers["constrained"].any() and (~answers["constrained"]).any()
    for row in answers.itertuples():
        reason = check_answer(parse_answer(row.raw), catalog, row.architecture)
        assert (row.hallucinated, row.reason) == (bool(reason), reason), row
    for name in ("unified.png", "hallucination.png", "study/sheet.html"):
        assert (out / name).stat().st_size > 0
    _check_selection_and_latency(out, run, report, prompts, answers)

    # A render that failed (its outputs gone) reruns alone: the selection stage is Cached, its
    # answers file untouched, and the report comes out again.
    selected = (out / "stages" / "answers.parquet").stat().st_mtime_ns
    (out / "stages" / "scores.parquet").unlink()
    again = run_flow("evaluate", **settings)
    assert again == result
    assert (out / "stages" / "answers.parquet").stat().st_mtime_ns == selected
    assert (out / "stages" / "scores.parquet").exists()
    assert pd.read_parquet(out / "scores.parquet").equals(scores)


def _check_selection_and_latency(out: Path, run: Path, report: str, prompts, answers) -> None:
    """Table 3 from the answers and the DABench truth; every selector's cold start apart."""
    import json

    from diffagent.evaluate.run import SELECTIONS
    from schemas.evaluation import SelectionRow

    assert "Table 3. Selection" in report and "Cold start (s)" in report
    selection = pd.read_parquet(out / "selection.parquet")
    assert list(selection.columns) == list(SelectionRow.model_fields)
    assert len(json.loads((out / "selection.json").read_text())) == len(selection)
    truth = prompts.set_index("prompt_id")["reference_model"]
    overall = selection[selection["group"] == "all"].set_index(["architecture", "selector", "constrained"])
    dabench = answers[answers["dataset"] == "dabench"]
    assert len(overall) == len(dabench) == len(SELECTIONS)
    for row in dabench.itertuples():  # one DABench prompt: each share is that one answer's hit
        figures = overall.loc[(row.architecture, row.selector, row.constrained)]
        assert figures["prompts"] == 1 and figures["top1"] == float(row.model == truth[row.prompt_id])
        if row.selector in ("retrieval", "retrieval_base", "hybrid"):  # they rank: top-5 is read
            assert row.ranked[0] == row.model and figures["top5"] == float(truth[row.prompt_id] in row.ranked)
        else:
            assert row.ranked is None and pd.isna(figures["top5"]), "one answer: top-5 is n/a"
    for _, group in answers.groupby(["architecture", "selector", "constrained"]):
        assert group["cold_start_s"].nunique() == 1 and (group["cold_start_s"] > 0).all()
    trained = (run / "retriever" / "manifest.json").exists()
    assert ("the run's trained retriever" in report) == trained

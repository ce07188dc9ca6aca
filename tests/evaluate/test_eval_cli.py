"""`diffagent evaluate`: argument checks, and (slow) the whole flow on a tiny `train sfta` run."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from diffagent.cli import app


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


@pytest.mark.slow
def test_tiny_end_to_end(dabench_dir: Path, tmp_path: Path, coco_path: Path, parti_path: Path) -> None:
    """train sfta --profile tiny, then evaluate --profile tiny --n 3 with the real COCO and Parti files."""
    run = os.environ.get("DIFFAGENT_EVAL_RUN")  # reuse a finished tiny run to save minutes
    data = Path(os.environ.get("DIFFAGENT_EVAL_DATA", dabench_dir))
    runner = CliRunner()
    if not run:
        run = str(tmp_path / "run")
        trained = runner.invoke(
            app, ["train", "sfta", "--data", str(data), "--out", run, "--profile", "tiny"]
        )
        assert trained.exit_code == 0, trained.output
    out = tmp_path / "eval"
    args = [
        "evaluate",
        "--data",
        str(data),
        "--agents",
        run,
        "--coco",
        str(coco_path),
        "--parti",
        str(parti_path),
        "--n",
        "3",
        "--out",
        str(out),
        "--profile",
        "tiny",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    for name in (
        "Baseline",
        "Baseline*",
        "DiffAgent#",
        "DiffAgent-SFT",
        "DiffAgent-RRHF",
        "DABench",
        "COCO Caption",
        "Parti Prompts",
        "Table 1. Hallucination",
    ):
        assert name in report
    scores = pd.read_parquet(out / "scores.parquet")
    assert set(scores["seed"]) == {0, 1, 2} and scores["unified"].between(0, 1).all()
    answers = pd.read_parquet(out / "answers.parquet")
    # Table 1's rows must be what the one classifier says of each recorded answer (constrained
    # ones included: the trie alone does not make the recorded flag right).
    from diffagent.agent.catalog import load_catalog
    from diffagent.answers import parse_answer
    from diffagent.evaluate.systems import check_answer

    catalog = load_catalog(data)
    assert answers["constrained"].any() and (~answers["constrained"]).any()
    for row in answers.itertuples():
        reason = check_answer(parse_answer(row.raw), catalog, row.architecture)
        assert (row.hallucinated, row.reason) == (bool(reason), reason), row
    for name in ("unified.png", "hallucination.png", "study/sheet.html"):
        assert (out / name).exists()

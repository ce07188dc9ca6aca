"""Tables, report, plots and the user-study sheet from synthetic score tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from diffagent.evaluate import tables
from diffagent.evaluate.plots import plot_hallucination, plot_unified
from diffagent.evaluate.report import RunFacts, build_report
from diffagent.evaluate.sheet import study_pairs, tally_choices, write_sheet
from tests.evaluate.eval_fixtures import answer_row, score_row, synthetic_run


def _two_prompts() -> pd.DataFrame:
    """Baseline: p1 seeds [0.2, 0.4] -> 0.3, p2 [0.6, 0.6] -> 0.6; RRHF: p1 [0.5, 0.7] -> 0.6, p2 -> 0.6."""
    rows = []
    for system, values in {
        "baseline": [[0.2, 0.4], [0.6, 0.6]],
        "diffagent_rrhf": [[0.5, 0.7], [0.6, 0.6]],
    }.items():
        for p, seeds in enumerate(values):
            for seed, value in enumerate(seeds):
                rows.append(
                    score_row("SD 1.5", "coco", f"p{p}", system, seed, value, fallback=(p == 1 and seed == 0))
                )
    return pd.DataFrame(rows)


def test_system_scores_average_seeds_then_prompts() -> None:
    """Baseline (0.3 + 0.6) / 2 = 0.45 -> 45.0; RRHF (0.6 + 0.6) / 2 -> 60.0. Fallback: 1 of 2 prompts."""
    summary = tables.system_scores(_two_prompts()).set_index("system")
    assert summary.loc["baseline", "unified"] == pytest.approx(45.0)
    assert summary.loc["diffagent_rrhf", "unified"] == pytest.approx(60.0)
    assert summary.loc["diffagent_rrhf", "fallback"] == 0.5 and summary.loc["baseline", "prompts"] == 2


def test_against_baseline_paired_difference_ci_and_win_rate() -> None:
    """Per-prompt differences: p1 0.6 - 0.3 = 0.3, p2 0 -> mean 0.15 (15.0).

    Bootstrap of [0.3, 0]: resample means 0, 0.15, 0.3, so the 95% CI is [0, 30]. Win rate: one
    win, one tie -> (1 + 0.5) / 2 = 0.75.
    """
    row = tables.against_baseline(_two_prompts(), resamples=4000).iloc[0]
    assert row["system"] == "diffagent_rrhf" and row["prompts"] == 2
    assert (row["delta"], row["low"], row["high"]) == pytest.approx((15.0, 0.0, 30.0))
    assert row["win_rate"] == 0.75


def test_hallucination_table_by_selector_and_decoding() -> None:
    """RRHF unconstrained: 1 of 4 hallucinated -> 0.25; constrained: 0 of 4."""
    answers = pd.DataFrame(
        [answer_row("SD 1.5", "coco", f"p{i}", "rrhf", False, i == 0) for i in range(4)]
        + [answer_row("SD 1.5", "coco", f"p{i}", "rrhf", True, False) for i in range(4)]
    )
    table = tables.hallucination(answers).set_index("label")
    assert table.loc["RRHF", "error"] == 0.25 and table.loc["RRHF (constrained)", "error"] == 0.0


def test_report_names_every_system_data_set_and_table(tmp_path: Path) -> None:
    answers, scores = synthetic_run()
    facts = RunFacts(seeds=[0, 1, 2], prompts={"dabench": 4, "coco": 4, "parti": 4}, expansion="none")
    report = build_report(answers, scores, facts, plots=["unified.png"], resamples=500)
    text = report.markdown
    for name in (
        "Baseline",
        "Baseline*",
        "DiffAgent#",
        "DiffAgent-SFT",
        "DiffAgent-RRHF",
        "Retrieval-only",
        "Hybrid",
    ):
        assert f"| {name} |" in text
    for name in ("DABench", "COCO Caption", "Parti Prompts", "Table 1. Hallucination", "Table 2.", "95% CI"):
        assert name in text
    assert "used as they are, not expanded" in text and "![unified.png](unified.png)" in text
    assert text.index("SD XL CLIP Score") < text.index("SD 1.5 CLIP Score"), "the paper's column order"
    assert "| SD 1.5 | COCO Caption |" in report.table1 and "26.9 / 15.5" in report.table1
    # Table 2: 3 data sets x 9 systems rows under a 2-line header.
    assert len(report.table2.splitlines()) == 2 + 3 * 9


def test_plots_are_pngs(tmp_path: Path) -> None:
    answers, scores = synthetic_run()
    for path in (
        plot_unified(tables.system_scores(scores), tmp_path / "unified.png"),
        plot_hallucination(tables.hallucination(answers), tmp_path / "hallucination.png"),
    ):
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and Path(path).stat().st_size > 5000


def test_sheet_pairs_are_balanced_shuffled_and_tallied(tmp_path: Path) -> None:
    rows = []
    for dataset in ("dabench", "coco", "parti"):
        for p in range(5):
            for system in ("baseline", "diffagent_rrhf"):
                image = tmp_path / f"{dataset}{p}{system}.png"
                image.write_bytes(f"png {dataset} {p} {system}".encode())
                rows.append(
                    score_row("SD 1.5", dataset, f"{dataset}-{p}", system, 0, 0.5, image_path=str(image))
                )
    pairs = study_pairs(pd.DataFrame(rows), "diffagent_rrhf", per_architecture=7, seed=0)
    assert pairs.groupby("dataset").size().to_dict() == {"coco": 2, "dabench": 3, "parti": 2}
    sheet = write_sheet(pairs, "diffagent_rrhf", tmp_path / "study", seed=0)
    page = Path(sheet).read_text()
    assert page.count('class="pair"') == 7 and page.count('type="radio"') == 7 * 2 * 3
    key = json.loads(page.split('type="application/json">')[1].split("</script>")[0])
    lefts = [k["left_system"] for k in key]
    assert 0 < lefts.count("baseline") < 7, "order is randomised per pair"
    first = key[0]
    left_bytes = (tmp_path / "study" / first["left_image"]).read_bytes().decode()
    assert left_bytes.endswith(first["left_system"]), "the key maps each side to its system"
    saved = tmp_path / "choices.json"
    saved.write_text(
        json.dumps(
            {
                "rater": "a",
                "choices": [
                    {"question": "relevance", "winner": "diffagent_rrhf"},
                    {"question": "relevance", "winner": "tie"},
                    {"question": "relevance", "winner": "baseline"},
                    {"question": "preference", "winner": "diffagent_rrhf"},
                ],
            }
        )
    )
    tally = tally_choices([saved], "diffagent_rrhf")
    assert (
        tally["relevance"]["win_rate_ties_half"] == 0.5
        and tally["relevance"]["win_rate_ties_excluded"] == 0.5
    )
    assert tally["preference"]["win_rate_ties_half"] == 1.0

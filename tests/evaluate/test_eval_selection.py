"""Table 3 (selection against DABench's source models) on a hand-worked case, and the latency
table's cold start and per-prompt timings with the real retrieval agent."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from diffagent.evaluate import tables
from diffagent.evaluate.agents import agent_selector, architecture_agent
from diffagent.evaluate.markdown import latency_markdown, selection_markdown
from diffagent.evaluate.pipeline import WARM_UP, select_timed
from diffagent.evaluate.prompts import dabench_prompts
from diffagent.evaluate.selection import selection_frame
from schemas.evaluation import SelectionRow
from tests.evaluate.eval_fixtures import answer_row

# Every DABench eval image of the fixture: DPM++ 2M Karras, 25 steps, CFG 6.5, 512x512.
TRUTH = {
    "sampling_method": "DPM++ 2M Karras",
    "sampling_steps": 25,
    "cfg_scale": 6.5,
    "width": 512,
    "height": 512,
}


def _raw(model: str | None, **changes) -> str:
    return "Here: " + json.dumps({"model": model, **TRUTH, **changes})


def _hand_worked_answers() -> pd.DataFrame:
    """SD 1.5 prompts: dabench-1 dreamshaper_8 (Checkpoint, seen in sft), dabench-2 pixelArt_lora
    (LORA, unseen), dabench-3 revAnimated_v122 (Checkpoint, unseen).

    Retrieval: d1 first dreamshaper_8 (hit, all settings right); d2 first revAnimated, pixelArt
    second (top-5 hit; Euler a, 30 steps (5 off: agrees), CFG 7.5 (1 off: agrees), 512x768);
    d3 first dreamshaper_8, no revAnimated among two (miss; 31 steps, CFG 8.0, right size).
    -> top-1 1/3, top-5 2/3; seen 1/1, 1/1; unseen 0/2, 1/2; Checkpoint 1/2, 1/2; LORA 0/1, 1/1;
    sampler, steps, CFG, size each 2/3.
    SFT (one unconstrained answer): d1 pixelArt_lora with steps "many" (miss; steps disagree),
    d2 pixelArt_lora (hit, all agree), d3 no JSON (miss, nothing agrees). -> top-1 1/3, top-5 n/a;
    seen 0/1; unseen 1/2; Checkpoint 0/2; LORA 1/1; sampler 2/3, steps 1/3, CFG 2/3, size 2/3.
    A COCO answer has no truth and is left out.
    """
    retrieval = [
        ("dabench-1", "dreamshaper_8", ["dreamshaper_8", "revAnimated_v122", "pixelArt_lora"], {}),
        (
            "dabench-2",
            "revAnimated_v122",
            ["revAnimated_v122", "pixelArt_lora", "dreamshaper_8"],
            {"sampling_method": "Euler a", "sampling_steps": 30, "cfg_scale": 7.5, "height": 768},
        ),
        (
            "dabench-3",
            "dreamshaper_8",
            ["dreamshaper_8", "pixelArt_lora"],
            {"sampling_steps": 31, "cfg_scale": 8.0},
        ),
    ]
    rows = [
        answer_row("SD 1.5", "dabench", pid, "retrieval", True, False, model=m, ranked=r, raw=_raw(m, **c))
        for pid, m, r, c in retrieval
    ]
    rows += [
        answer_row("SD 1.5", "dabench", "dabench-1", "sft", False, False, model="pixelArt_lora",
                   raw=_raw("pixelArt_lora", sampling_steps="many")),
        answer_row("SD 1.5", "dabench", "dabench-2", "sft", False, False, model="pixelArt_lora",
                   raw=_raw("pixelArt_lora")),
        answer_row("SD 1.5", "dabench", "dabench-3", "sft", False, True, model=None, raw="no json"),
        answer_row("SD 1.5", "coco", "coco-1", "sft", False, False, raw=_raw("dreamshaper_8")),
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _prompts(dabench_dir: Path) -> pd.DataFrame:
    return pd.DataFrame([p.model_dump() for p in dabench_prompts(dabench_dir, None)])


def test_prompts_carry_the_source_image_as_truth(dabench_dir: Path) -> None:
    prompts = _prompts(dabench_dir).set_index("prompt_id")
    assert prompts.loc["dabench-1", "reference_in_sft"] and not prompts.loc["dabench-2", "reference_in_sft"]
    assert prompts.loc["dabench-2", "reference_type"] == "LORA"
    first = prompts.loc["dabench-1"]
    assert (first.reference_sampler, first.reference_steps, first.reference_cfg) == (
        "DPM++ 2M Karras",
        25,
        6.5,
    )
    assert (first.reference_width, first.reference_height) == (512, 512)


def test_selection_figures_hand_worked(dabench_dir: Path) -> None:
    frame = selection_frame(_prompts(dabench_dir), _hand_worked_answers())
    assert list(frame.columns) == list(SelectionRow.model_fields)
    got = frame.set_index(["selector", "group"])
    third, two = pytest.approx(1 / 3), pytest.approx(2 / 3)
    retrieval = {
        "all": (third, two),
        "seen": (1.0, 1.0),
        "unseen": (0.0, 0.5),
        "Checkpoint": (0.5, 0.5),
        "LORA": (0.0, 1.0),
    }
    for group, (top1, top5) in retrieval.items():
        assert (got.loc[("retrieval", group), "top1"], got.loc[("retrieval", group), "top5"]) == (top1, top5)
    assert [got.loc[("retrieval", "all"), k] for k in ("sampler", "steps", "cfg", "size")] == [two] * 4
    sft = {"all": third, "seen": 0.0, "unseen": 0.5, "Checkpoint": 0.0, "LORA": 1.0}
    for group, top1 in sft.items():
        assert got.loc[("sft", group), "top1"] == top1 and pd.isna(got.loc[("sft", group), "top5"])
    assert [got.loc[("sft", "all"), k] for k in ("sampler", "steps", "cfg", "size")] == [two, third, two, two]
    assert got.loc[("sft", "all"), "prompts"] == 3, "the COCO answer has no truth"
    table = selection_markdown(frame)
    assert (
        "| SD 1.5 | Retrieval-only | 33.3 / 66.7 | 100.0 / 100.0 | 0.0 / 50.0 | 50.0 / 50.0 | 0.0 / 100.0 |"
        in table
    )
    assert (
        "| SD 1.5 | SFT | 33.3 / n/a | 0.0 / n/a | 50.0 / n/a | 0.0 / n/a | 100.0 / n/a | 66.7 | 33.3 |"
        in table
    )
    assert table.index("Retrieval-only") < table.index("| SFT |")
    assert "All 3, Seen in SFT 1, Unseen in SFT 2, Checkpoint 2, LoRA 1" in table


def test_latency_table_reports_the_cold_start_apart() -> None:
    answers = pd.DataFrame(
        [answer_row("SD 1.5", "coco", f"p{i}", "retrieval", True, False, latency_s=0.1, cold_start_s=5.0)
         for i in range(4)]
    )  # fmt: skip
    latency = tables.latency(answers).iloc[0]
    assert (latency["cold_start"], latency["mean"], latency["answers"]) == (5.0, pytest.approx(0.1), 4)
    header = latency_markdown(tables.latency(answers)).splitlines()[0]
    assert (
        header.index("Cold start (s)")
        < header.index("p50 (s)")
        < header.index("p95 (s)")
        < header.index("Mean")
    )


def test_each_prompt_is_timed_on_its_own_after_a_cold_call(dabench_dir: Path) -> None:
    """The real retrieval agent over the SD 1.5 part: a warm-up instruction (no evaluated prompt,
    so no prompt reuses its cached query) is asked first, the cold start, then every prompt
    alone; in batches of 2 the batches follow the warm-up call."""
    from diffagent.agent.selector import load_agent

    agent = architecture_agent(load_agent(None, dabench_dir), "SD 1.5", trained_retriever=False)
    assert agent.catalog.sample_rows, "the part keeps its sft rows: the untrained retriever needs them"
    retrieval = agent_selector(agent, "retrieval_base", True)
    calls: list[list[str]] = []

    def select(instructions):
        calls.append([i.prompt for i in instructions])
        return retrieval(instructions)

    prompts = [p for p in dabench_prompts(dabench_dir, None) if p.base_model == "SD 1.5"]
    texts = [p.prompt for p in prompts]
    answers = select_timed(select, prompts)
    assert calls == [[WARM_UP.prompt], *[[t] for t in texts]] and WARM_UP.prompt not in texts
    assert len({a.cold_start_s for a, _ in answers}) == 1 and answers[0][0].cold_start_s > 0
    assert all(a.latency_s > 0 for a, _ in answers)
    for answer, raw in answers:
        assert answer.ranked and answer.ranked[0] == answer.fields["model"] == json.loads(raw)["model"]
        assert len(answer.ranked) == len(set(answer.ranked)) <= 5
    calls.clear()
    select_timed(select, prompts, batch_size=2)
    assert calls == [[WARM_UP.prompt], texts[:2], texts[2:]]
    calls.clear()
    warm = select_timed(select, prompts, cold_start_s=2.5)  # already warm: no first call
    assert calls == [[t] for t in texts] and {a.cold_start_s for a, _ in warm} == {2.5}

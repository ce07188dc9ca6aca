"""Calibrate an agent folder on the rrhf (validation) split: tune the hybrid, pick the default selector.

1. The hybrid's settings: every rrhf prompt's shortlist is scored once per reader and size (the
   names reader once at the largest size: a smaller shortlist is its head), then each (reader,
   shortlist size, llm_weight) is read off those scores; the best top-1 wins, ties going to the
   smaller shortlist, the names reader and then the smaller weight (cheaper, and closer to the
   retriever, which needs no trained weights). The LLM is kept only when that win is real: in at
   least `ADOPT_SHARE` of bootstrap resamples of the prompts the chosen setting beats the
   retriever's own order (weight 0); otherwise the weight is 0 (a best-of-many pick on a few
   hundred prompts finds a few points by chance: on the dev capture a +4 point rrhf pick of a
   76-step SmolLM2 was -8 points on eval). Then the parameter source
   (retriever's nearest samples or the LLM's constrained decoding) with the higher mean parameter
   agreement at the chosen models.
2. The default selector: the one of llm (constrained, whole catalog), retrieval and the tuned
   hybrid with the best rrhf top-1; ties go to the cheaper (retrieval, then hybrid, then llm).

Both land in the agent's manifest (`hybrid`, `default_selector`, `calibration` with every figure),
where `selector.default_selector` and `HybridSettings.of` read them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from diffagent.agent.hybrid import HYBRID_KEY, HybridSettings, llm_parameters, score_shortlists
from diffagent.retriever.metrics import AGREEMENT_KEYS, parameter_agreement, selection_summary

SHORTLIST_SIZES = (5, 10, 30)
LLM_WEIGHTS = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 11))
ADOPT_SHARE = 0.95  # bootstrap resamples in which the LLM's pick must beat the retriever's order
RESAMPLES = 1000
COST_ORDER = ("retrieval", "hybrid", "llm")  # cheapest first: the tie-break of the default
DEFAULT_KEY = "default_selector"
CALIBRATION_KEY = "calibration"


def instruction_rows(data: str | Path, split: str, max_prompts: int | None) -> list[dict]:
    """The first `max_prompts` rows of a DABench split (all of them without a limit)."""
    import pandas as pd

    rows = pd.read_parquet(Path(data) / "splits" / f"{split}.parquet").to_dict("records")
    return rows[:max_prompts] if max_prompts else rows


def mean_agreement(apis: list[Any], rows: list[dict]) -> float:
    """Mean over rows and `AGREEMENT_KEYS` of `parameter_agreement` (1.0: every setting agrees)."""
    votes = [v for api, row in zip(apis, rows, strict=True) for v in parameter_agreement(api, row).values()]
    return float(np.mean(votes)) if votes else 0.0


def bootstrap_win_share(
    candidate: list[bool], baseline: list[bool], resamples: int = RESAMPLES, seed: int = 0
) -> float:
    """Share of bootstrap resamples of the prompts (drawn with replacement) in which `candidate`
    hits more prompts than `baseline`; ties are not wins.

    Example: candidate [1, 0], baseline [0, 1]: a resample wins only when it draws the first prompt
    twice, 1 in 4."""
    if len(candidate) != len(baseline) or not candidate:
        raise ValueError(f"{len(candidate)} candidate hits for {len(baseline)} baseline hits")
    difference = np.asarray(candidate, dtype=np.int64) - np.asarray(baseline, dtype=np.int64)
    draws = np.random.default_rng(seed).integers(0, len(difference), size=(resamples, len(difference)))
    return float(np.mean(difference[draws].sum(axis=1) > 0))


def readers(agent: Any) -> tuple[str, ...]:
    """The hybrid readers `agent` can use: `names` with a policy whose model is at hand
    (transformers), `cards` when its folder has a chooser (`chooser.py`)."""
    from diffagent.agent.chooser import CHOOSER_DIR

    found = ("names",) if hasattr(agent.backend, "model") else ()
    has_chooser = agent.folder is not None and (Path(agent.folder) / CHOOSER_DIR).is_dir()
    return (*found, "cards") if has_chooser else found


def scored_grid(agent: Any, items: list, sizes: tuple[int, ...]) -> tuple[dict[tuple[str, int], list], Any]:
    """Each (reader, size)'s scored shortlists: `names` scores once at the largest size (a smaller
    shortlist is its head), `cards` reads each size's shortlist anew (at most 26 letters)."""
    from diffagent.agent.chooser import LABELS

    tables: dict[tuple[str, int], list] = {}
    features = None
    for reader in readers(agent):
        if reader == "names":
            scored, features = score_shortlists(agent, items, max(sizes), reader=reader)
            tables.update({(reader, size): scored for size in sizes})
            continue
        for size in (s for s in sizes if s <= len(LABELS)):
            tables[(reader, size)], features = score_shortlists(agent, items, size, reader=reader)
    if features is None:
        raise ValueError("the hybrid has no reader here: a transformers policy or a chooser is needed")
    return tables, features


def tune_hybrid(
    agent: Any, rows: list[dict], sizes: tuple[int, ...] = SHORTLIST_SIZES, weights: tuple = LLM_WEIGHTS
) -> tuple[HybridSettings, dict]:
    """The best `HybridSettings` on `rows` (see the module docstring), and the grid's top-1 rates
    (keys reader/size/weight)."""
    from diffagent.agent.conversation import as_instruction
    from diffagent.agent.selector import texts

    items = [as_instruction(r) for r in rows]
    tables, features = scored_grid(agent, items, sizes)

    def hits(reader: str, size: int, weight: float) -> list[bool]:
        # A prompt whose shortlist is empty (nothing selectable) is a miss.
        tops = [[m for m, _ in s.fused(weight, size)[:1]] for s in tables[(reader, size)]]
        return [top == [r["model"]] for top, r in zip(tops, rows, strict=True)]

    grid: dict[str, float] = {}
    best: tuple | None = None
    for reader, size in sorted(tables, key=lambda key: (key[1], readers(agent).index(key[0]))):
        for weight in sorted(weights):
            top1 = float(np.mean(hits(reader, size, weight)))
            grid[f"{reader}/{size}/{weight}"] = top1
            if best is None or top1 > best[0]:
                best = (top1, reader, size, weight)
    _, reader, size, weight = best
    win_share = (
        bootstrap_win_share(hits(reader, size, weight), hits(reader, size, 0.0)) if weight > 0 else 0.0
    )
    if win_share < ADOPT_SHARE:  # the retriever's own order: the shortlist size no longer matters
        reader, size, weight = readers(agent)[0], min(sizes), 0.0
    picks = [s.fused(weight, size)[:1] for s in tables[(reader, size)]]
    similarity = agent.retriever.settings_similarity(features, *texts(items))
    by_retrieval = [
        agent.retrieval_answer(pick[0][0], pick[0][1], feature, near).api
        for pick, feature, near in zip(picks, features, similarity, strict=True)
    ]
    by_llm = [row[0].api for row in llm_parameters(agent, items, picks)]
    agreement = {"retrieval": mean_agreement(by_retrieval, rows), "llm": mean_agreement(by_llm, rows)}
    parameters = "llm" if agreement["llm"] > agreement["retrieval"] else "retrieval"
    tuning = {"top1_grid": grid, "llm_win_share": win_share, "parameter_agreement": agreement}
    return HybridSettings(size, weight, parameters, reader), tuning


def selector_figures(agent: Any, rows: list[dict], selector: str, k: int = 5) -> dict[str, float]:
    """top-1, top-k and parameter agreement of one selector on `rows`, and seconds per prompt."""
    started = time.perf_counter()
    answers = agent.select(rows, top_k=k, selector=selector)
    seconds = (time.perf_counter() - started) / len(rows)
    # k >= 2 for the summary: with k == 1 its top1 and top-k counters are one key, counted twice.
    summary = selection_summary([[a.api for a in ranked] for ranked in answers], rows, max(k, 2))
    if k == 1:
        summary.pop("top2")
    return {**summary, "s_per_prompt": seconds}


def choose_default(top1: dict[str, float]) -> str:
    """The selector with the best top-1; ties go to the cheaper one (`COST_ORDER`).

    Example: {llm 0.40, retrieval 0.55, hybrid 0.55} -> retrieval; hybrid 0.57 -> hybrid."""
    return max(COST_ORDER, key=lambda s: (top1.get(s, -1.0), -COST_ORDER.index(s)))


def calibrate(
    agent_dir: str | Path,
    data: str | Path,
    retriever: str | Path | None = None,
    max_prompts: int | None = None,
    split: str = "rrhf",
) -> dict:
    """Tune the hybrid and choose the default selector of `agent_dir` on `split`; the manifest is
    rewritten with both and the figures. Returns the calibration record."""
    from diffagent.agent.selector import MANIFEST, load_agent

    folder = Path(agent_dir)
    if not (folder / MANIFEST).exists():
        raise ValueError(f"{agent_dir} is not a local agent folder: no {MANIFEST}")
    agent = load_agent(folder, data, retriever=retriever)
    rows = instruction_rows(data, split, max_prompts)
    if not rows:
        raise ValueError(f"split {split!r} of {data} has no rows")
    started = time.perf_counter()
    settings, tuning = tune_hybrid(agent, rows)
    agent.hybrid = settings
    # top-1 decides, so one answer each (the llm's top-5 is a beam search over the whole catalog)
    figures = {s: selector_figures(agent, rows, s, k=1) for s in COST_ORDER}
    default = choose_default({s: f["top1"] for s, f in figures.items()})
    record = {
        "split": split,
        "prompts": len(rows),
        "retriever": str(retriever) if retriever else None,
        "selectors": figures,
        **tuning,
        "seconds": round(time.perf_counter() - started, 1),
        "agreement_keys": list(AGREEMENT_KEYS),
    }
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest.update({HYBRID_KEY: settings.as_dict(), DEFAULT_KEY: default, CALIBRATION_KEY: record})
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    return {HYBRID_KEY: settings.as_dict(), DEFAULT_KEY: default, CALIBRATION_KEY: record}

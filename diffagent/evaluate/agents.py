"""The real agents as evaluation selectors: DiffAgent-SFT and -RRHF from a `train sfta` run.

The paper trained one agent per architecture, each knowing only that architecture's catalog. Our
agents are trained on the whole catalog, so for the constrained, retrieval and hybrid selectors we
emulate the paper's setting by giving the agent the architecture's part of the catalog (same
weights, a trie and retrieval index over that part only). Unconstrained generation cannot be
restricted; its answers are checked against the architecture's catalog (an answer naming a model of
the other architecture counts as a hallucination there, reason `wrong_architecture`).

Retrieval is asked twice: `retrieval` is the agent's own retriever (RUN/retriever, trained, when
the run has one: what `select --agent RUN/rrhf` gives a user) and `retrieval_base` the untrained
one built from the catalog's sft samples. Each selector gets its own copy of the part-catalog agent,
so each one's cold start includes its own index build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from diffagent.answers import parse_answer
from diffagent.evaluate.pipeline import Reply, SelectFn
from schemas.t2i import Instruction

RUN_AGENTS: tuple[str, ...] = ("sft", "rrhf")
RANKED_K = 5  # candidates a ranking selector (retrieval, hybrid) is asked for: the top-5 hit rate
RETRIEVAL_SELECTORS: tuple[str, ...] = ("retrieval", "retrieval_base")
RANKING_SELECTORS: tuple[str, ...] = (*RETRIEVAL_SELECTORS, "hybrid")


def load_run_agents(run_dir: str | Path, data_dir: str | Path) -> dict[str, Any]:
    """{"sft": Agent, "rrhf": Agent} from RUN/sft and RUN/rrhf (a local path or an fsspec URL),
    checked against DIR's catalog."""
    from diffagent.agent.selector import MANIFEST, load_agent
    from diffagent.storage import ArtifactStore

    run = ArtifactStore(str(run_dir))
    agents = {}
    for name in RUN_AGENTS:
        if not run.exists(f"{name}/{MANIFEST}"):
            raise ValueError(
                f"no {name} agent at {run.url(name)}; `diffagent train sfta --out {run_dir}` writes it"
            )
        agents[name] = load_agent(run.url(name), data_dir)
    return agents


def architecture_agent(agent: Any, architecture: str, trained_retriever: bool = True) -> Any:
    """The same agent (same weights, through `Backend.for_catalog`) choosing only among
    `architecture`'s catalog entries. Returns None when the catalog has no entry of that architecture.
    `trained_retriever=False`: with the untrained retriever, whatever retriever the agent has.
    """
    from diffagent.agent.selector import Agent
    from diffagent.answers import same_architecture

    full = agent.catalog
    models = [m for m, entry in full.items() if same_architecture(entry.base_model, architecture)]
    if not models:
        return None
    part = full.part(models, source=f"{full.source} [{architecture}]")
    backend = agent.backend.for_catalog(part) if agent.backend is not None else None
    retriever = agent.retriever_source if trained_retriever else None
    # The hybrid keeps the settings its agent was calibrated with (`agent/calibrate.py`).
    return Agent(
        part,
        backend,
        agent._embedder,
        agent.manifest,
        retriever=retriever,
        hybrid=agent.hybrid,
        folder=agent.folder,
        chooser=agent._chooser,
    )


def agent_selector(agent: Any, selector: str, constrained: bool) -> SelectFn:
    """A `SelectFn` over `agent.select`: answer fields (from the API, or parsed from the raw text on
    the unconstrained path) and the raw answer as JSON text; retrieval and the hybrid also give
    their ranked models (the LLM selectors decode one greedy answer, so they rank none)."""
    ranks = selector in RANKING_SELECTORS
    mode = "retrieval" if selector in RETRIEVAL_SELECTORS else "llm" if selector in RUN_AGENTS else selector

    def select(instructions: list[Instruction]) -> list[Reply]:
        top_k = RANKED_K if ranks else 1
        results = agent.select(instructions, top_k=top_k, constrained=constrained, selector=mode)
        answers = []
        for ranked in results:
            best = ranked[0]
            if not constrained:
                answers.append(Reply(parse_answer(best.text or ""), best.text or ""))
                continue
            if best.api is None:
                raise ValueError(f"constrained {selector} selection returned no API: {best!r}")
            fields = best.api.model_dump(exclude={"model_description"})
            models = [s.api.model for s in ranked if s.api is not None] if ranks else None
            answers.append(Reply(fields, json.dumps(fields), models))
        return answers

    return select


def build_selectors(
    agents: dict[str, Any], architectures: list[str]
) -> dict[tuple[str, str, bool], SelectFn]:
    """Every (architecture, selector, constrained) the systems need, from the SFT and RRHF agents.

    Unconstrained selectors are one callable per agent, shared by both architectures, so each
    prompt is generated once. Retrieval and hybrid use the RRHF agent (retrieval needs no weights),
    each through its own part-catalog agent. Architectures without catalog entries are left out.
    """
    selectors: dict[tuple[str, str, bool], SelectFn] = {}
    unconstrained = {name: agent_selector(agents[name], name, False) for name in RUN_AGENTS}
    for architecture in architectures:
        part = {name: architecture_agent(agents[name], architecture) for name in RUN_AGENTS}
        if part["rrhf"] is None:
            continue
        for name in RUN_AGENTS:
            selectors[(architecture, name, False)] = unconstrained[name]
            selectors[(architecture, name, True)] = agent_selector(part[name], name, True)
        rrhf = agents["rrhf"]
        for selector in ("retrieval", "hybrid"):
            own = architecture_agent(rrhf, architecture)
            selectors[(architecture, selector, True)] = agent_selector(own, selector, True)
        untrained = architecture_agent(rrhf, architecture, trained_retriever=False)
        selectors[(architecture, "retrieval_base", True)] = agent_selector(untrained, "retrieval_base", True)
    return selectors

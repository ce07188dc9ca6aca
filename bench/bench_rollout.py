"""Rollout dispatch at fleet scale, on this CPU with tiny models (issue 13).

1. The same rollout plan dispatched through a real Prefect server (`prefect server start` on
   loopback) and a process worker, per job (one `rrhf-rollout` run per batch, the old way) and
   per batch of `--jobs-per-run` jobs grouped by checkpoint: runs started, model loads (model
   sets built, scorers and pipelines loaded, as each run reports them), wall time; side by side
   with ratios. Each mode has its own render cache, so neither reuses the other's images.
2. The plan's counts at the paper's scale (4,000 rrhf prompts x 6 responses x k = 10), per job
   and per batch.

    python bench/bench_rollout.py [--prompts 8] [--jobs-per-run 4] [--concurrency 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.processes import executable, free_port, run, start, stop, wait_until_answers  # noqa: E402

POOL = "bench-rollout"
MODELS = ("dreamshaper_8", "realistic_vision", "pixel_art_lora", "juggernaut_xl")


def prefect_env(root: Path) -> tuple[dict[str, str], int]:
    """(environment, port) of a Prefect server of our own (SQLite under `root`), for this process
    and its children."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DIFFAGENT_"))}
    env.update(
        PREFECT_HOME=str(root / "home"),
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{root / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        DO_NOT_TRACK="1",
        PWD=str(Path(__file__).resolve().parents[1]),
        DIFFAGENT_TINY_DIR=str(root / "tiny-models"),
    )
    return env, port


def bench_items(prompts: int) -> list[Any]:
    """`prompts` prompts on the tiny catalog's models in turn; the reconstruction adds the base
    model's default API, so each has two responses."""
    from diffagent.catalog import Catalog
    from diffagent.rrhf.reconstruct import reconstruct_candidates
    from diffagent.rrhf.rollout import PromptResponses
    from tests.rrhf.conftest import small_catalog

    catalog = Catalog.from_entries(small_catalog())
    items = []
    for i in range(prompts):
        apis, _ = reconstruct_candidates([f'{{"model": "{MODELS[i % len(MODELS)]}"}}'], catalog, "SD 1.5")
        items.append(PromptResponses(f"p{i}", f"bench prompt {i}", "", [a.model for a in apis], apis))
    return items


def dispatch(items: list[Any], root: Path, name: str, data: Path, jobs_per_run: int) -> dict[str, Any]:
    from diffagent.rrhf.dispatch import dispatch_rollouts
    from diffagent.rrhf.rollout import plan_batches
    from diffagent.rrhf.rollout_models import RolloutModelsSpec

    spec = RolloutModelsSpec.for_profile("tiny", str(data), str(root / name / "render-cache"))
    jobs, _ = plan_batches(items, root / name / "rollouts", batch_size=1, k=1)
    started = time.perf_counter()
    report = dispatch_rollouts(jobs, spec, 1, work_pool=POOL, jobs_per_run=jobs_per_run, timeout_s=1800)
    report["wall_s"] = round(time.perf_counter() - started, 2)
    report["jobs"] = len(jobs)
    report["model_loads"] = report["scorer_loads"] + report["pipeline_loads"]
    return report


def paper_scale(jobs_per_run: int) -> dict[str, Any]:
    from diffagent.rrhf.plan import count_plan

    def plan(per_run: int) -> dict[str, Any]:
        return count_plan([6] * 4000, k=10, batch_size=4, jobs_per_run=per_run).to_json()

    return {"per_job": plan(1), "per_batch": plan(jobs_per_run)}


def side_by_side(per_job: dict[str, Any], per_batch: dict[str, Any], names: list[str]) -> str:
    lines = [f"{'':<18}{'per job':>12}{'per batch':>12}{'ratio':>10}"]
    for name in names:
        a, b = per_job[name], per_batch[name]
        ratio = f"{a / b:.2f}x" if b else "-"
        lines.append(f"{name:<18}{a:>12}{b:>12}{ratio:>10}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=8, help="prompts (one batch each), 2 responses each")
    parser.add_argument("--jobs-per-run", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2, help="the pool's concurrent runs (GPUs)")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-rollout-"))
    env, port = prefect_env(root)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("PREFECT_", "DIFFAGENT_"))})
    from diffagent.tiny import ensure_tiny_models
    from tests.rrhf.conftest import write_dabench

    ensure_tiny_models()
    data = write_dabench(root / "data")
    prefect = executable("prefect")
    command = [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    server = start(command, env, root / "server.log")
    worker = None
    try:
        wait_until_answers(f"{env['PREFECT_API_URL']}/health", server, root / "server.log", timeout_s=180)
        run([prefect, "work-pool", "create", POOL, "--type", "process", "--overwrite"], env, 120)
        run([prefect, "work-pool", "set-concurrency-limit", POOL, str(args.concurrency)], env, 60)
        run([prefect, "--no-prompt", "deploy", "flows/rrhf_rollout.py:rrhf_rollout",
             "--name", f"rrhf-rollout-{POOL}", "--pool", POOL], env, 180)  # fmt: skip
        worker = start([prefect, "worker", "start", "--pool", POOL], env, root / "worker.log")
        items = bench_items(args.prompts)
        per_job = dispatch(items, root, "per-job", data, 1)
        per_batch = dispatch(items, root, "per-batch", data, args.jobs_per_run)
    finally:
        if worker is not None:
            stop(worker)
        stop(server)
    result = {
        "prompts": args.prompts,
        "jobs_per_run": args.jobs_per_run,
        "pool_concurrency": args.concurrency,
        "per_job": per_job,
        "per_batch": per_batch,
        "paper_scale": paper_scale(args.jobs_per_run),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    names = ["runs", "model_set_builds", "scorer_loads", "pipeline_loads", "model_loads", "wall_s"]
    print(f"Tiny rollout, {args.prompts} batches of 1 prompt x 2 responses, k = 1, pool concurrency "
          f"{args.concurrency}:")  # fmt: skip
    print(side_by_side(per_job, per_batch, names))
    paper = result["paper_scale"]
    print("\nPaper scale (4,000 prompts x 6 responses x k = 10, batches of 4 prompts); pipeline loads")
    print("are bounds (one per response at most) until the candidates exist:")
    counts = ["renders", "scorer_calls", "batches", "runs", "scorer_loads", "pipeline_loads", "model_loads"]
    print(side_by_side(paper["per_job"], paper["per_batch"], counts))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

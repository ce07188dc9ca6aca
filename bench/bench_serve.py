"""Throughput and latency of a real `diffagent serve` on loopback (issue 12's benchmark).

For each selector (retrieval; hybrid with a tiny LM agent trained in two steps) and each
concurrency (1, 8, 32): `--requests` POST /v1/select with real DABench prompts (the eval split,
each made unique so the embedder's query cache never answers; `--prompts repeated` sends the eval
prompts over and over after a warm-up pass, so the cache answers and what is left is the serving
stack itself: HTTP, validation, batching, ranking), then req/s, client-side p50/p95/p99
latency, the mean batch size (from /metrics), and the 5xx and other non-200 counts. Concurrency 1
is the baseline of the req/s ratio. During the retrieval run at the highest concurrency a new
catalog version is published (latest.json) and the server must swap it in without a failed request.

    python bench/bench_serve.py [--catalog /work/dev-dabench] [--requests 2000] [--selectors retrieval,hybrid]
        [--prompts unique|repeated] [--no-swap]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow.parquet as pq

SWAP_AT = 0.25  # share of the run after which the new catalog version is published


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_version(source: Path, target: Path) -> None:
    """The catalog and SFT split of `source` as a DABench version folder."""
    (target / "splits").mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "catalog.parquet", target / "catalog.parquet")
    shutil.copy(source / "splits" / "sft.parquet", target / "splits" / "sft.parquet")


def publish(folder: Path, version: str) -> None:
    (folder / "latest.json").write_text(json.dumps({"version": version, "path": f"versions/{version}"}))


def start_server(catalog: Path, log: Path, agent: Path | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "diffagent.cli", "serve", "--catalog", str(catalog), "--port", str(port)]
    command += ["--follow-interval-s", "0.5", "--max-batch", "64", "--no-access-log"]
    if agent is not None:
        command += ["--agent", str(agent)]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    with log.open("wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"diffagent serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def batch_totals(url: str) -> tuple[float, float]:
    text = httpx.get(f"{url}/metrics").text
    total = float(re.search(r"^diffagent_batch_size_sum ([\d.e+]+)$", text, re.M).group(1))
    count = float(re.search(r"^diffagent_batch_size_count ([\d.e+]+)$", text, re.M).group(1))
    return total, count


async def load(url: str, prompts: list[str], concurrency: int, selector: str, on_progress=None) -> dict:
    """`concurrency` clients on keep-alive connections, each sending its next prompt when answered.

    aiohttp, not httpx: the client shares this machine's cores with the server, and at 32
    connections httpx's pool spent more CPU per request than the server did."""
    import aiohttp

    latencies, statuses = [], []
    next_index = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < len(prompts):
            prompt = prompts[next_index]
            next_index += 1
            started = time.perf_counter()
            async with session.post(
                f"{url}/v1/select", json={"prompt": prompt, "selector": selector}
            ) as answer:
                await answer.read()
                latencies.append(time.perf_counter() - started)
                statuses.append(answer.status)
            if on_progress is not None:
                await on_progress(len(statuses))

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "requests": len(statuses),
        "req_s": len(statuses) / wall,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "5xx": sum(1 for s in statuses if s >= 500),
        "non_200": sum(1 for s in statuses if s != 200),
    }


class SwapTrigger:
    """Publishes catalog version v0002 once `at` of the run's requests are answered."""

    def __init__(self, folder: Path | None, total: int, at: float = SWAP_AT) -> None:
        self.folder, self.threshold, self.done = folder, at * total, False

    async def __call__(self, answered: int) -> None:
        if self.folder is not None and not self.done and answered >= self.threshold:
            self.done = True
            publish(self.folder, "v0002")


def run_selector(url, selector, prompts, concurrencies, swap_folder=None, warm=None) -> list[dict]:
    """`warm`: prompts sent before every measured run, which then asks `prompts` (repeated mode).
    Without it every run's prompts get a suffix of their own: the query cache keeps thousands of
    texts, so a run that asked what the previous one did would be answered from it."""
    rows = []
    for concurrency in concurrencies:
        asked = prompts if warm is not None else [f"{p} [c{concurrency}]" for p in prompts]
        warm_up = warm if warm is not None else [f"{p}, warm-up" for p in asked[: concurrency * 2]]
        asyncio.run(load(url, warm_up, concurrency, selector))
        before = batch_totals(url)
        swap = swap_folder is not None and concurrency == max(concurrencies)
        trigger = SwapTrigger(swap_folder if swap else None, len(asked))
        row = asyncio.run(load(url, asked, concurrency, selector, trigger))
        after = batch_totals(url)
        row["mean_batch"] = (after[0] - before[0]) / max(after[1] - before[1], 1)
        row.update(selector=selector, concurrency=concurrency, prompts="repeated" if warm else "unique")
        if swap:
            row["swapped_to"] = httpx.get(f"{url}/health").json()["catalog_version"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def warm_embeddings(*folders: Path) -> None:
    """Embed each catalog once here (the matrix cache is keyed by fingerprint): server start-up and
    swaps then load it."""
    from diffagent.catalog import load_catalog
    from diffagent.retriever.build import untrained_retriever
    from diffagent.retriever.embedder import Embedder

    embedder = Embedder()
    for folder in folders:
        untrained_retriever(load_catalog(folder), embedder)


def print_table(results: list[dict], baseline: int) -> None:
    header = (
        "selector",
        "prompts",
        "conc",
        "req/s",
        "x c=1",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "batch",
        "5xx",
        "!200",
    )
    print(" ".join(f"{h:>9}" for h in header))
    for row in results:
        base = next(r for r in results if r["selector"] == row["selector"] and r["concurrency"] == baseline)
        cells = [
            row["selector"],
            row["prompts"],
            row["concurrency"],
            f"{row['req_s']:.1f}",
            f"{row['req_s'] / base['req_s']:.2f}",
        ]
        cells += [f"{row[k]:.1f}" for k in ("p50", "p95", "p99", "mean_batch")] + [row["5xx"], row["non_200"]]
        note = f"  swapped to {row['swapped_to']}" if "swapped_to" in row else ""
        print(" ".join(f"{c:>9}" for c in cells) + note)


def tiny_agent(catalog: Path, out: Path) -> Path:
    from diffagent.agent.sft import SFTParams, train_sft
    from diffagent.tiny.llm import write_tiny_llm

    llm = write_tiny_llm(out / "llm")
    return train_sft(catalog, str(llm), out / "agent", params=SFTParams(max_steps=2, batch_size=4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=Path("/work/dev-dabench"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--selectors", default="retrieval,hybrid")
    parser.add_argument("--no-swap", action="store_true", help="no catalog swap during the last run")
    parser.add_argument(
        "--prompts",
        choices=("unique", "repeated"),
        default="unique",
        help="unique: every request a new text (the encoder runs each time); repeated: the eval prompts "
        "over and over after one warm-up pass (the query cache answers: the serving stack alone)",
    )
    parser.add_argument("--hybrid-requests", type=int, default=None, help="default: --requests")
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    source = args.catalog
    if (source / "latest.json").exists():
        source = source / json.loads((source / "latest.json").read_text())["path"]
    eval_prompts = pq.read_table(source / "splits" / "eval.parquet").column("prompt").to_pylist()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        copy_version(source, work / "dabench" / "versions" / "v0001")
        # v0002 holds the same entries: its retrieval matrix is a cache hit, so the swap is a load
        # that finishes under load (re-embedding 2,300 texts on this shared CPU takes minutes).
        # tests/serve/test_hotswap.py swaps in a catalog that really differs.
        copy_version(source, work / "dabench" / "versions" / "v0002")
        warm_embeddings(work / "dabench" / "versions" / "v0001")
        for selector in args.selectors.split(","):
            count = args.requests if selector == "retrieval" else (args.hybrid_requests or args.requests)
            warm = None
            if args.prompts == "unique":
                prompts = [f"{eval_prompts[i % len(eval_prompts)]} ({i})" for i in range(count)]
            else:
                prompts, warm = [eval_prompts[i % len(eval_prompts)] for i in range(count)], eval_prompts
            agent = (
                tiny_agent(work / "dabench" / "versions" / "v0001", work / "tiny")
                if selector != "retrieval"
                else None
            )
            publish(work / "dabench", "v0001")
            process, url = start_server(work / "dabench", work / f"serve-{selector}.log", agent)
            try:
                swap = work / "dabench" if selector == "retrieval" and not args.no_swap else None
                results += run_selector(url, selector, prompts, concurrencies, swap, warm)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    print()
    print_table(results, concurrencies[0])


if __name__ == "__main__":
    main()

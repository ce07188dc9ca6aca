"""DABench benchmarks, measured side by side in one run (this machine is noisy: read the ratios).

1. Filter -> describe (offline) -> split over a synthetic raw layer of N images (default 1,000,000):
   images/s and the peak memory of the process that ran the stages.
   Aim: >= 1M images a minute on 2 cores, under 2 GB.
2. Crawl rate against the local Civitai server next to the rate at which the same server answers a
   plain client asking the same URLs, as a ratio. Aim: the crawler is not the bottleneck (ratio ~1).

    python bench/bench_dabench.py [--images 1000000] [--skip-crawl]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyarrow as pa

from diffagent.storage import ArtifactStore
from schemas.dabench import RAW_IMAGE_SCHEMA, RAW_MODEL_SCHEMA

IMAGES_PER_VERSION = 200
SAMPLERS = ["DPM++ 2M Karras", "Euler a", "dpmpp_2m", "DDIM", "DPM++ 2M Karras Test"]


def write_synthetic_raw(root: Path, images: int) -> None:
    """A finished crawl's raw layer: Checkpoints and LoRAs, 200 images per version, some rejects."""
    store = ArtifactStore(str(root))
    versions = max(images // IMAGES_PER_VERSION, 1)
    models = []
    for index in range(versions):
        model_id, version_id = 1000 + index, 100000 + index
        kind = "LORA" if index % 3 else "Checkpoint"
        base = "SDXL 1.0" if index % 4 == 0 else "SD 1.5"
        if index < 2:  # the checkpoints every LoRA's images name by hash
            kind, base = "Checkpoint", ("SD 1.5", "SDXL 1.0")[index]
        file = {
            "name": f"m{index}.safetensors",
            "type": "Model",
            "primary": True,
            "metadata": {"format": "SafeTensor"},
            "hashes": {"AutoV2": f"{index:010X}", "SHA256": f"{index:064X}"},
            "downloadUrl": f"https://civitai.com/api/download/models/{version_id}",
        }
        models.append(
            {
                "id": model_id,
                "name": f"Synthetic {index}",
                "type": kind,
                "nsfw": False,
                "tags": ["style"],
                "description": "<p>A synthetic model.</p>",
                "stats": {"downloadCount": 5000, "ratingCount": 10, "rating": 4.8},
                "modelVersions": [
                    {
                        "id": version_id,
                        "name": "v1",
                        "baseModel": base,
                        "files": [file],
                        "trainedWords": ["tok"],
                        "images": [],
                    }
                ],
            }
        )
    rows = [
        {"page_index": 1, "model_id": m["id"], "fetched_at": "", "raw_json": json.dumps(m)} for m in models
    ]
    store.write_table("raw/models/page-00001.parquet", pa.Table.from_pylist(rows, schema=RAW_MODEL_SCHEMA))
    hashes = []
    for base_index in range(2):
        answer = dict(models[base_index]["modelVersions"][0])
        answer.update(
            modelId=models[base_index]["id"],
            model={"name": f"Synthetic {base_index}", "type": "Checkpoint", "nsfw": False},
        )
        hashes.append({"hash": f"{base_index:010X}", "found": True, "raw_json": json.dumps(answer)})
    from schemas.dabench import HASH_RESOLUTION_SCHEMA

    store.write_table("raw/hashes/all.parquet", pa.Table.from_pylist(hashes, schema=HASH_RESOLUTION_SCHEMA))
    image_id = 0
    for index, model in enumerate(models):
        version = model["modelVersions"][0]
        base_hash = f"{0 if version['baseModel'] == 'SD 1.5' else 1:010X}"
        size = "1024x1024" if version["baseModel"] == "SDXL 1.0" else "512x768"
        texts = []
        for _ in range(IMAGES_PER_VERSION):
            image_id += 1
            sampler = SAMPLERS[image_id % len(SAMPLERS)]
            nsfw = "Mature" if image_id % 17 == 0 else "None"
            texts.append(
                f'{{"id": {image_id}, "nsfw": "{nsfw}", "nsfwLevel": "{nsfw}", "width": 1024, '
                f'"height": 1536, "meta": {{"prompt": "<lora:s{index}:0.7>, a photo of subject '
                f"{image_id % 977}, style {index}, "
                f'masterpiece", "negativePrompt": "lowres, bad hands", "sampler": "{sampler}", '
                f'"steps": {20 + image_id % 20}, "cfgScale": {5 + image_id % 5}, "seed": {image_id}, '
                f'"Size": "{size}", "Model hash": "{base_hash}"}}}}'
            )
        table = pa.table(
            {
                "version_id": [version["id"]] * len(texts),
                "page_index": [1] * len(texts),
                "image_id": list(range(image_id - len(texts) + 1, image_id + 1)),
                "fetched_at": [""] * len(texts),
                "raw_json": texts,
            },
            schema=RAW_IMAGE_SCHEMA,
        )
        store.write_table(f"raw/images/v{version['id']}-p00001.parquet", table)
    store.write_json("raw/state.json", {"synthetic": images})


def measure_stages(root: Path) -> dict:
    """Run filter -> describe -> split in this process (their plain functions, no cache);
    returns time and peak memory."""
    from diffagent.dabench import stages
    from diffagent.dabench.derive import FilterParams

    store = ArtifactStore(str(root))
    started = time.perf_counter()
    filter_stage = stages.FilterStage(store.root_url, stages.raw_fingerprint(store), FilterParams())
    filtered = stages.run_filter(filter_stage)
    describe = stages.DescribeStage(store.root_url, filter_stage.outputs_fingerprint(), show_progress=False)
    stages.run_describe(describe, None)
    split = stages.run_split(stages.SplitStage(store.root_url, describe.outputs_fingerprint()))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "peak_mb": peak_mb,
        "images": filtered["images"],
        "pairs": split["instructions"],
    }


def bench_filter(images: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        write_synthetic_raw(Path(folder), images)
        print(f"synthetic raw layer: {images:,} images written in {time.perf_counter() - started:.1f}s")
        # A fresh process, so the peak memory is the stages' own.
        code = "import json,sys; from bench.bench_dabench import measure_stages; from pathlib import Path; "
        code += "print(json.dumps(measure_stages(Path(sys.argv[1]))))"
        root = Path(__file__).resolve().parents[1]
        result = subprocess.run(
            [sys.executable, "-c", code, folder], capture_output=True, text=True, cwd=root, check=True
        )
        measured = json.loads(result.stdout.strip().splitlines()[-1])
    rate = measured["images"] / measured["seconds"]
    print(
        f"filter->split: {measured['images']:,} images -> {measured['pairs']:,} pairs in "
        f"{measured['seconds']:.1f}s = {rate:,.0f} images/s "
        f"({rate * 60 / 1e6:.2f}M images/min; aim >= 1.00), "
        f"peak memory {measured['peak_mb']:,.0f} MB (aim < 2048)"
    )


async def _plain_client(urls: list[str], concurrency: int) -> float:
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient() as client:

        async def get(url: str) -> None:
            async with semaphore:
                (await client.get(url)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(get(url) for url in urls))
        return time.perf_counter() - started


def scaled_sample(copies: int):
    """The bundled sample repeated `copies` times under fresh ids."""
    from diffagent.civitai.sample import build_sample, renumbered
    from diffagent.civitai.source import CivitaiSource

    models, index = build_sample()
    scaled = [m for copy_number in range(copies) for m in renumbered(models, copy_number * 10_000)]
    return CivitaiSource(scaled, index)


def bench_crawl(concurrency: int = 8, copies: int = 10) -> None:
    from diffagent.civitai.local_server import CivitaiServer
    from diffagent.dabench import stages
    from diffagent.dabench.crawl import CrawlParams

    source = scaled_sample(copies)
    urls: list[str] = []
    with CivitaiServer(source) as server, tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        params = CrawlParams(models_page_size=20, images_page_size=4)
        stages.run_crawl(
            ArtifactStore(folder), server.url, params, concurrency=concurrency, show_progress=False
        )
        crawl_seconds = time.perf_counter() - started
        requests = sum(server.stats.requests.values())
        # The same number of requests, the same kinds, by a client that does nothing with them.
        for version in list(source._versions)[:requests]:
            urls.append(f"{server.url}/images?modelVersionId={version}&limit=4&withMeta=true")
        urls = (urls * (requests // max(len(urls), 1) + 1))[:requests]
        plain_seconds = asyncio.run(_plain_client(urls, concurrency))
    crawl_rate, plain_rate = requests / crawl_seconds, requests / plain_seconds
    print(
        f"crawl: {requests} requests at {crawl_rate:,.0f} req/s; plain client: {plain_rate:,.0f} req/s; "
        f"crawler/plain = {crawl_rate / plain_rate:.2f} (aim ~1: the server, not the crawler, limits)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--skip-crawl", action="store_true")
    args = parser.parse_args()
    bench_filter(args.images)
    if not args.skip_crawl:
        bench_crawl()


if __name__ == "__main__":
    main()

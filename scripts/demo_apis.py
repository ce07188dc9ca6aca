"""For `make demo`: one LoRA and its base checkpoint per architecture from a DABench build, as T2I
API files (`api-<arch>-lora.json`, `api-<arch>-checkpoint.json`) for `diffagent render`; prints
the version ids to fetch, space-separated. Every architecture of the table with a LoRA pair in the
build takes part (the bundled sample has one of each family: sd1, sdxl, flux, sd3, z-image,
qwen-image, flux2, flux2-klein-4b); the others are left out, named on stderr."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq

from schemas.architectures import ARCHITECTURES
from schemas.t2i import T2IApi, architecture_of

PARAMETERS = ("width", "height", "sampling_method", "sampling_steps", "cfg_scale", "clip_skip")


def main(dabench: Path, out: Path) -> None:
    catalog = {row["version_id"]: row for row in pq.read_table(dabench / "catalog.parquet").to_pylist()}
    pairs = pq.read_table(dabench / "instructions.parquet").to_pylist()
    out.mkdir(parents=True, exist_ok=True)
    fetch: list[int] = []
    for architecture in ARCHITECTURES:
        lora = next(
            (p for p in pairs if p["type"] == "LORA" and architecture_of(p["base_model"]) == architecture),
            None,
        )
        if lora is None:
            print(f"no LoRA of {architecture} in {dabench}: not rendered", file=sys.stderr)
            continue
        base = catalog[lora["base_checkpoint_version_id"]]
        params = {key: lora[key] for key in PARAMETERS}
        api = T2IApi(
            model=lora["model"], type="LORA", base_model=lora["base_model"], base_checkpoint=base["model"],
            model_id=lora["model_id"], version_id=lora["version_id"],
            base_checkpoint_version_id=base["version_id"], **params,
        )  # fmt: skip
        checkpoint = T2IApi(
            model=base["model"], type="Checkpoint", base_model=base["base_model"], model_id=base["model_id"],
            version_id=base["version_id"], **params,
        )  # fmt: skip
        (out / f"api-{architecture}-lora.json").write_text(api.model_dump_json(indent=2))
        (out / f"api-{architecture}-checkpoint.json").write_text(checkpoint.model_dump_json(indent=2))
        fetch += [lora["version_id"], base["version_id"]]
    print(" ".join(str(version_id) for version_id in dict.fromkeys(fetch)))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

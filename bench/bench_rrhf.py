"""RRHF benchmarks on CPU with tiny models.

1. RRHF step time (forward + backward of Eq. 10) with all n responses in one padded forward against
   one forward per response, side by side, with the ratio.
2. With `--run RUN` (a finished `diffagent train sfta` folder): wall time per stage and the share of
   the whole spent in the rollout stage (rendering + scoring).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def step_times(n: int, response_len: int, prompt_len: int, repeats: int) -> dict[str, float]:
    from transformers import LlamaConfig, LlamaForCausalLM

    from diffagent.rrhf.loss import gather_token_logprobs, rrhf_loss
    from diffagent.rrhf.rrhf_trainer import RRHFCollator

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
    )
    model = LlamaForCausalLM(config)
    example = {
        "prompt_input_ids": torch.randint(3, 512, (prompt_len,)).tolist(),
        "response_input_ids": [torch.randint(3, 512, (response_len - i,)).tolist() for i in range(n)],
        "rewards": torch.rand(n).tolist(),
    }
    batch = RRHFCollator(0)([example])

    def batched() -> None:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        logprobs, mask = gather_token_logprobs(logits, batch["labels"])
        rrhf_loss(logprobs, mask, batch["rewards"]).loss.backward()

    def one_by_one() -> None:
        parts, masks, width = [], [], batch["input_ids"].shape[1] - 1
        for row in range(n):
            length = int(batch["attention_mask"][row].sum())
            lp, m = gather_token_logprobs(
                model(input_ids=batch["input_ids"][row : row + 1, :length]).logits,
                batch["labels"][row : row + 1, :length],
            )
            parts.append(torch.nn.functional.pad(lp, (0, width - lp.shape[1])))
            masks.append(torch.nn.functional.pad(m, (0, width - m.shape[1]), value=False))
        rrhf_loss(torch.cat(parts), torch.cat(masks), batch["rewards"]).loss.backward()

    results = {}
    for name, fn in (("batched_s", batched), ("per_response_s", one_by_one)):
        fn()  # warm-up
        start = time.perf_counter()
        for _ in range(repeats):
            model.zero_grad()
            fn()
        results[name] = (time.perf_counter() - start) / repeats
    results["ratio_per_response_over_batched"] = results["per_response_s"] / results["batched_s"]
    return results


def stage_times(run: Path) -> dict[str, float]:
    stages = {
        s: json.loads((run / "stages" / f"{s}.json").read_text())["wall_s"]
        for s in ("sft", "candidates", "rollouts", "rrhf")
        if (run / "stages" / f"{s}.json").exists()
    }
    total = sum(stages.values())
    return {
        **stages,
        "total_s": total,
        "rollout_share": stages.get("rollouts", 0.0) / total if total else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6, help="responses per prompt")
    parser.add_argument("--response-len", type=int, default=80)
    parser.add_argument("--prompt-len", type=int, default=120)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--run", type=Path, default=None, help="a finished sfta run folder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report = {"rrhf_step": step_times(args.n, args.response_len, args.prompt_len, args.repeats)}
    if args.run:
        report["stages"] = stage_times(args.run)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

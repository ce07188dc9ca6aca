"""Split pairs 8:1:1 into sft / rrhf / eval: exact sizes, deterministic for a seed.

Grouping: by prompt. Civitai creators reuse one prompt across many images (and models), and a
pair whose prompt also sits in the training split would make evaluation a memory test. Pairs are
ordered by a seeded hash of their normalised prompt (image id breaks ties), so images sharing a
prompt are contiguous, and the order is cut at exact sizes: eval = n // 10, rrhf = n // 10, sft
the rest. Only the (at most two) prompt groups straddling a cut can span two splits; grouping by
model instead would leave evaluation with models the agent never saw, which is not the task.
"""

from __future__ import annotations

import hashlib

SPLITS = ("sft", "rrhf", "eval")


def prompt_key(prompt: str) -> str:
    return " ".join(prompt.lower().split())


def split_sizes(n: int) -> dict[str, int]:
    """Exact 8:1:1 sizes: sft + rrhf + eval == n, rrhf == eval == n // 10."""
    tenth = n // 10
    return {"sft": n - 2 * tenth, "rrhf": tenth, "eval": tenth}


def split_assignment(prompts: list[str], image_ids: list[int], seed: int = 0) -> list[str]:
    """The split name of each pair, in input order."""
    if len(prompts) != len(image_ids):
        raise ValueError(f"{len(prompts)} prompts but {len(image_ids)} image ids")

    def order_key(index: int) -> tuple[str, int]:
        digest = hashlib.blake2b(f"{seed}\x00{prompt_key(prompts[index])}".encode(), digest_size=8)
        return digest.hexdigest(), image_ids[index]

    order = sorted(range(len(prompts)), key=order_key)
    sizes = split_sizes(len(prompts))
    names = ["eval"] * sizes["eval"] + ["rrhf"] * sizes["rrhf"] + ["sft"] * sizes["sft"]
    assignment = [""] * len(prompts)
    for position, index in enumerate(order):
        assignment[index] = names[position]
    return assignment

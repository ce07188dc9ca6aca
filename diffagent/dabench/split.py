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


def incremental_assignment(
    previous: dict[int, str], prompts: list[str], image_ids: list[int], seed: int = 0
) -> list[str]:
    """A split for a grown data set that keeps every surviving pair where an earlier version put it.

    Sizes stay exact 8:1:1 over the new total. New pairs (in seeded prompt-hash order) join the
    split already holding their prompt when it has room, else the split furthest below its size.
    Only if old pairs were dropped so that a split now exceeds its size does an old pair move
    (the last ones in hash order), so that the partition stays exact.
    """
    n = len(prompts)
    if n != len(image_ids):
        raise ValueError(f"{n} prompts but {len(image_ids)} image ids")
    sizes = split_sizes(n)

    def order_key(index: int) -> tuple[str, int]:
        digest = hashlib.blake2b(f"{seed}\x00{prompt_key(prompts[index])}".encode(), digest_size=8)
        return digest.hexdigest(), image_ids[index]

    order = sorted(range(n), key=order_key)
    assignment = [previous.get(image_id, "") for image_id in image_ids]
    counts = {name: 0 for name in SPLITS}
    for index in order:
        name = assignment[index]
        if name in counts:
            if counts[name] >= sizes[name]:
                assignment[index] = ""  # surplus: reassigned below
            else:
                counts[name] += 1
        else:
            assignment[index] = ""
    prompt_home = {prompt_key(prompts[i]): assignment[i] for i in order if assignment[i]}
    for index in order:
        if assignment[index]:
            continue
        home = prompt_home.get(prompt_key(prompts[index]))
        if home and counts[home] < sizes[home]:
            name = home
        else:
            name = max(SPLITS, key=lambda s: (sizes[s] - counts[s]) / max(sizes[s], 1))
        assignment[index] = name
        counts[name] += 1
        prompt_home.setdefault(prompt_key(prompts[index]), name)
    return assignment

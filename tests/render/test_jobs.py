"""Checkpoint-grouped job scheduling."""

from __future__ import annotations

from diffagent.render.cache import png_bytes
from diffagent.render.jobs import RenderJob, order_jobs, render_jobs
from diffagent.render.renderer import Renderer
from diffagent.render.settings import RenderSettings
from tests.render.conftest import make_api


def test_order_jobs_by_hand():
    """Jobs arrive as A0 B0 L0 A1 B1 L1 (L = LoRA on A's checkpoint).

    Checkpoint ranks: A -> 0, B -> 1, L's base (A) -> 0. LoRA ranks: none -> 0, L -> 1.
    Sorted by (checkpoint, lora, call, index): A0 A1 (0,0), L0 L1 (0,1), B0 B1 (1,0)
    -> indices [0, 3, 2, 5, 1, 4].
    """
    a, b, lora = make_api(1), make_api(2), make_api(3, "LORA", base_id=1)
    jobs = [RenderJob(api, "p", "", seed) for seed in (0, 1) for api in (a, b, lora)]
    assert order_jobs(jobs) == [0, 3, 2, 5, 1, 4]


def test_grouped_loads_each_checkpoint_once(tiny_store):
    """One pipeline slot. Naive order A0 B0 L0 A1 B1 L1 loads A, B, A (for L), -, B, A = 5
    (A1 follows L0 on the same base); grouped loads A then B = 2."""
    apis = [make_api(1), make_api(2), make_api(3, "LORA", base_id=1)]
    jobs = [RenderJob(api, "a cat", "", seed) for seed in (0, 1) for api in apis]
    grouped = render_jobs(Renderer(tiny_store, RenderSettings(max_pipelines=1)), jobs, progress=False)
    naive = render_jobs(
        Renderer(tiny_store, RenderSettings(max_pipelines=1)), jobs, grouped=False, progress=False
    )
    assert grouped.model_loads == 2 and naive.model_loads == 5
    assert grouped.rendered == naive.rendered == 6
    # results come back in job order whatever the render order
    for job, image in zip(jobs, grouped.images, strict=True):
        alone = Renderer(tiny_store).render(job.api, job.prompt, job.negative_prompt, [job.seed])[0]
        assert abs(int(alone.getpixel((5, 5))[0]) - int(image.getpixel((5, 5))[0])) <= 2
    assert png_bytes(grouped.images[0]) != png_bytes(grouped.images[1])

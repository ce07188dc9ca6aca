"""Every A1111 sampler maps to a diffusers scheduler that renders."""

from __future__ import annotations

import numpy as np
import pytest

from diffagent.render.architectures import architecture_of_pipeline, pipeline_class_name, scheduler_spec
from diffagent.render.renderer import Renderer
from diffagent.render.samplers import SAMPLER_MAP, carried_shift, make_scheduler
from diffagent.render.settings import RenderSettings
from schemas.t2i import SAMPLERS
from tests.render.conftest import make_api


def test_mapping_covers_every_sampler_and_explains_the_approximate_ones():
    assert set(SAMPLER_MAP) == set(SAMPLERS)
    approximate = {name for name, spec in SAMPLER_MAP.items() if not spec.exact}
    assert {"DPM adaptive", "DPM fast", "DPM++ 2S a"} <= approximate
    assert all(SAMPLER_MAP[name].note for name in approximate)


def test_karras_and_sde_variants(tiny_pipelines):
    from diffusers import StableDiffusionPipeline

    config = StableDiffusionPipeline.from_pretrained(tiny_pipelines / "sd15").scheduler.config
    karras = make_scheduler("DPM++ 2M Karras", config)
    assert type(karras).__name__ == "DPMSolverMultistepScheduler" and karras.config.use_karras_sigmas
    sde = make_scheduler("DPM++ 2M SDE Karras", config)
    assert sde.config.algorithm_type == "sde-dpmsolver++" and sde.config.use_karras_sigmas
    plain = make_scheduler("DPM++ 2M", dict(karras.config))
    assert plain.config.use_karras_sigmas  # why the renderer keeps each pipeline's original config
    with pytest.raises(ValueError, match="'Euler z'"):
        make_scheduler("Euler z", config)


def test_every_sampler_renders(tiny_store):
    renderer = Renderer(tiny_store, RenderSettings(max_pipelines=1))
    for sampler in SAMPLERS:
        image = renderer.render(make_api(sampler=sampler, steps=3), "a cat", "", [0])[0]
        pixels = np.asarray(image)
        assert pixels.shape == (256, 256, 3) and pixels.std() > 0, sampler
    assert renderer.model_loads == 1


def test_one_architecture_table_for_renderer_and_export() -> None:
    """render.architectures is the table both read: Pony renders with SDXL's pipeline, Flux's
    "Euler" is flow-matching Euler while SD's is the discrete one, and unknown names are named."""
    assert pipeline_class_name("Pony") == "StableDiffusionXLPipeline"
    assert pipeline_class_name("Flux.1 S") == "FluxPipeline"
    assert architecture_of_pipeline("FluxPipeline") == "flux"
    assert scheduler_spec("Euler", "flux").scheduler == "FlowMatchEulerDiscreteScheduler"
    assert scheduler_spec("Euler", "sdxl").scheduler == "EulerDiscreteScheduler"
    with pytest.raises(ValueError, match="'Euler A'"):
        scheduler_spec("Euler A", "sd1")
    with pytest.raises(ValueError, match="'sd2'"):
        scheduler_spec("Euler", "sd2")


def test_a_sampler_swap_keeps_the_pipelines_static_flow_shift():
    """HiDream-I1 Full ships UniPC at flow_shift 3: its Euler steps at shift 3 (Euler's default is 1);
    Euler's shift reaches UniPC as flow_shift; under dynamic shifting (Flux.1) `mu` decides."""
    unipc = {"_class_name": "UniPCMultistepScheduler", "flow_shift": 3.0, "use_flow_sigmas": True}
    unipc["prediction_type"] = "flow_prediction"
    euler = make_scheduler("Euler", unipc, "hidream")
    assert type(euler).__name__ == "FlowMatchEulerDiscreteScheduler" and euler.config.shift == 3.0
    shifted_euler = {"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 6.0}
    back = make_scheduler("UniPC", shifted_euler, "hidream")
    assert type(back).__name__ == "UniPCMultistepScheduler" and back.config.flow_shift == 6.0
    dynamic = {"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 3.0, "use_dynamic_shifting": True}
    assert make_scheduler("UniPC", dynamic, "flux").config.flow_shift == 1.0
    assert carried_shift({"shift": 2.0}, ("shift", "num_train_timesteps")) == {}

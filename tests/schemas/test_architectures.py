"""The one architecture table: Flux.1 S is FLUX.1-schnell everywhere (answer, store, render
settings, evaluation), Flux.1 D FLUX.1-dev; every base model has its facts."""

from __future__ import annotations

import pytest

from diffagent.answers import default_api
from diffagent.catalog import Catalog
from diffagent.evaluate.models import render_settings_for
from diffagent.profiles import load_renderer
from diffagent.render import RenderSettings
from schemas.architectures import (
    BASE_MODELS,
    DEFAULT_BASE_MODELS,
    SOURCES,
    architecture_for,
    base_setting,
    config_setting,
    defaults_for,
    takes_distilled_guidance,
)
from schemas.t2i import BASE_MODEL_VERSION_ID
from tests.rrhf.conftest import catalog_entry

SCHNELL, DEV = "black-forest-labs/FLUX.1-schnell", "black-forest-labs/FLUX.1-dev"
CATALOG = Catalog.from_entries([catalog_entry("flux_real", 7, "Checkpoint", "Flux.1 D")])


@pytest.fixture
def default_sources(monkeypatch):
    """No DIFFAGENT_*_CONFIG / _BASE in the environment (tests/render's tiny fixture sets some)."""
    for source in SOURCES:
        for field in (f"{source.setting}_config", f"{source.setting}_base"):
            monkeypatch.delenv(f"DIFFAGENT_{field.upper()}", raising=False)


def test_flux_schnell_answer_renders_schnell_at_its_settings(tmp_path, default_sources) -> None:
    """The default Flux.1 S answer names FLUX.1-schnell, with 4 steps and no guidance, and the real
    store resolves it to FLUX.1-schnell (not dev); Flux.1 D to FLUX.1-dev. Nothing downloads."""
    renderer = load_renderer("default", catalog=[], settings=RenderSettings(), store_dir=tmp_path / "m")
    for base_model, hub_id, steps, cfg in (("Flux.1 S", SCHNELL, 4, 1.0), ("Flux.1 D", DEV, 20, 3.5)):
        api = default_api(base_model, CATALOG)
        assert (api.model, api.version_id, api.sampling_steps, api.cfg_scale) == (hub_id, 0, steps, cfg)
        resolved = renderer.store.resolve(api.version_id, "Checkpoint", api.base_model)
        assert resolved.pretrained == hub_id
    assert renderer.settings.config_sources()["Flux.1 S"] == SCHNELL, "schnell files load schnell's config"
    assert not (tmp_path / "m").exists()


def test_settings_and_evaluation_name_each_flux_base(monkeypatch, default_sources) -> None:
    assert base_setting("Flux.1 S") == "flux_schnell_base"
    assert config_setting("Flux.1 S") == "flux_schnell_config"
    assert (base_setting("Pony"), base_setting("SD 1.4")) == ("sdxl_base", "sd15_base")
    monkeypatch.setenv("DIFFAGENT_FLUX_SCHNELL_BASE", "/models/schnell")
    assert RenderSettings().base_sources()["Flux.1 S"] == "/models/schnell"
    monkeypatch.delenv("DIFFAGENT_FLUX_SCHNELL_BASE")
    chosen = {"Flux.1 D": "/models/dev", "Flux.1 S": "/models/schnell", "SD 1.5": "flux_real"}
    sources = render_settings_for("default", CATALOG, chosen).base_sources()
    assert (sources["Flux.1 D"], sources["Flux.1 S"]) == ("/models/dev", "/models/schnell")
    with pytest.raises(ValueError, match="'Pony'"):
        render_settings_for("default", CATALOG, {"Pony": "/models/pony"})


def test_every_base_model_has_its_facts() -> None:
    sdxl = ("SDXL 1.0", "Pony", "Illustrious", "NoobAI", "SDXL 0.9")
    sd3 = ("SD 3.5 Large", "SD 3.5 Large Turbo", "SD 3.5 Medium", "SD 3")
    klein = ("Flux.2 Klein 4B", "Flux.2 Klein 4B-base", "Flux.2 Klein 9B", "Flux.2 Klein 9B-base")
    issue_25 = ("ZImageTurbo", "ZImageBase", "Qwen", "Flux.2 D", *klein, "Chroma", "AuraFlow", "Pony V7")
    issue_25 += ("HiDream",)
    flux = ("Flux.1 D", "Flux.1 S", "Flux.1 Krea")
    assert ("SD 1.4", "SD 1.5", *sdxl, *flux, *sd3, *issue_25) == BASE_MODELS
    assert DEFAULT_BASE_MODELS == {
        "SD 1.5": "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "SDXL 1.0": "stabilityai/stable-diffusion-xl-base-1.0",
        "Flux.1 D": DEV,
        "Flux.1 S": SCHNELL,
        "Flux.1 Krea": "black-forest-labs/FLUX.1-Krea-dev",
        "SD 3.5 Large": "stabilityai/stable-diffusion-3.5-large",
        "SD 3.5 Large Turbo": "stabilityai/stable-diffusion-3.5-large-turbo",
        "SD 3.5 Medium": "stabilityai/stable-diffusion-3.5-medium",
        "SD 3": "stabilityai/stable-diffusion-3-medium-diffusers",
        "ZImageTurbo": "Tongyi-MAI/Z-Image-Turbo",
        "ZImageBase": "Tongyi-MAI/Z-Image",
        "Qwen": "Qwen/Qwen-Image",
        "Flux.2 D": "black-forest-labs/FLUX.2-dev",
        "Flux.2 Klein 4B": "black-forest-labs/FLUX.2-klein-4B",
        "Flux.2 Klein 4B-base": "black-forest-labs/FLUX.2-klein-base-4B",
        "Flux.2 Klein 9B": "black-forest-labs/FLUX.2-klein-9B",
        "Flux.2 Klein 9B-base": "black-forest-labs/FLUX.2-klein-base-9B",
        "Chroma": "lodestones/Chroma1-HD",
        "AuraFlow": "fal/AuraFlow-v0.3",
        "Pony V7": "purplesmartai/pony-v7-base",
        "HiDream": "HiDream-ai/HiDream-I1-Full",
    }
    flux = architecture_for("Flux.1 S")
    assert (flux.pipeline_class, flux.gpu_dtype, flux.transformer_class) == (
        "FluxPipeline",
        "bfloat16",
        "FluxTransformer2DModel",
    )
    assert flux.forge_modules == ("t5xxl_fp16.safetensors", "clip_l.safetensors", "ae.safetensors")
    assert flux.export.comfyui_model_loader == "UNETLoader"
    assert flux.export.comfyui_latent == "EmptySD3LatentImage"
    assert architecture_for("Illustrious").pipeline_class == "StableDiffusionXLPipeline"
    assert takes_distilled_guidance("Flux.1 D") and not takes_distilled_guidance("Flux.1 S")
    assert defaults_for("SD 1.4").width == 512 and BASE_MODEL_VERSION_ID == 0
    with pytest.raises(ValueError, match="'Flux.2'"):
        architecture_for("Flux.2")

"""Flux.2 (FLUX.2 [dev] and the Klein 4B / 9B families) through the real load paths: a transformer-only
checkpoint in BFL's single-file names (`from_single_file` converts it), an ai-toolkit LoRA
(`load_lora_weights` converts it), guidance as each takes it, and the architecture rule between
Klein sizes that share a pipeline class."""

from __future__ import annotations

import pytest
import torch
from diffusers import Flux2Transformer2DModel
from diffusers.loaders.single_file_utils import convert_flux2_transformer_checkpoint_to_diffusers
from safetensors.torch import load_file

from diffagent.exports import ExportInputs, export
from diffagent.render import RenderSettings
from diffagent.render.cache import png_bytes
from diffagent.render.renderer import Renderer
from diffagent.store.tiny_store import TinyModelStore
from diffagent.tiny.flux2 import flux2_transformer, transformer_to_bfl
from schemas.architectures import architecture_of, defaults_for, takes_distilled_guidance
from tests.catalog_entries import catalog_entry
from tests.render.conftest import make_api

TINY = {"max_pipelines": 1, "render_size": 64, "render_max_steps": 2}
# BFL's flux2 model names (flux2-dev.safetensors, flux-2-klein-4b.safetensors), written out by hand.
TOP_KEYS = {
    "img_in.weight",
    "txt_in.weight",
    "time_in.in_layer.weight",
    "time_in.out_layer.weight",
    "double_stream_modulation_img.lin.weight",
    "double_stream_modulation_txt.lin.weight",
    "single_stream_modulation.lin.weight",
    "final_layer.linear.weight",
    "final_layer.adaLN_modulation.1.weight",
}
GUIDANCE_KEYS = {"guidance_in.in_layer.weight", "guidance_in.out_layer.weight"}  # FLUX.2 [dev] only
DOUBLE_BLOCK_KEYS = {
    f"{stream}_{name}"
    for stream in ("img", "txt")
    for name in (
        "attn.qkv.weight",
        "attn.proj.weight",
        "attn.norm.query_norm.scale",
        "attn.norm.key_norm.scale",
        "mlp.0.weight",
        "mlp.2.weight",
    )
}
SINGLE_BLOCK_KEYS = {"linear1.weight", "linear2.weight", "norm.query_norm.scale", "norm.key_norm.scale"}
FAMILIES = [("Flux.2 D", 31), ("Flux.2 Klein 4B", 33), ("Flux.2 Klein 9B", 35)]


def _api(version_id: int, base_model: str, kind: str = "Checkpoint", **fields):
    defaults = defaults_for(base_model)
    fields = {"sampler": defaults.sampling_method, "cfg_scale": defaults.cfg_scale, **fields}
    return make_api(version_id, kind, base_model=base_model, **fields)


@pytest.mark.parametrize(("base_model", "guidance"), [("Flux.2 D", True), ("Flux.2 Klein 4B", False)])
def test_checkpoint_is_in_bfls_layout_and_converts_back_exactly(tiny_store, base_model, guidance) -> None:
    path = tiny_store.resolve(21, "Checkpoint", base_model).path
    tensors = load_file(str(path))
    expected = TOP_KEYS | (GUIDANCE_KEYS if guidance else set())
    expected |= {f"double_blocks.0.{key}" for key in DOUBLE_BLOCK_KEYS}
    expected |= {f"single_blocks.0.{key}" for key in SINGLE_BLOCK_KEYS}
    assert set(tensors) == expected
    converted = convert_flux2_transformer_checkpoint_to_diffusers(dict(tensors))
    folder = tiny_store.tiny_dir / architecture_of(base_model)
    loaded = Flux2Transformer2DModel.from_single_file(str(path), config=str(folder), subfolder="transformer")
    assert set(converted) == set(loaded.state_dict())
    assert all(torch.equal(converted[key], value) for key, value in loaded.state_dict().items())


def test_bfl_layout_round_trips_every_tensor_with_two_blocks_each() -> None:
    torch.manual_seed(0)
    model = flux2_transformer(32, heads=2, guidance=True)
    state = {key: value.detach().clone() for key, value in model.state_dict().items()}
    converted = convert_flux2_transformer_checkpoint_to_diffusers(transformer_to_bfl(state))
    assert set(converted) == set(state)
    assert [key for key in state if not torch.equal(converted[key], state[key])] == []


@pytest.mark.parametrize(("base_model", "version_id"), FAMILIES)
def test_checkpoint_and_lora_render_reproducibly_and_the_lora_changes_the_image(
    tiny_store, base_model, version_id
) -> None:
    checkpoint = _api(version_id, base_model)
    lora = _api(version_id + 1, base_model, "LORA", base_id=version_id)
    first = Renderer(tiny_store, RenderSettings(**TINY))
    plain = first.render(checkpoint, "a red fox", "", [0])[0]
    styled = first.render(lora, "a red fox", "", [0])[0]
    pipeline = "Flux2Pipeline" if base_model == "Flux.2 D" else "Flux2KleinPipeline"
    assert type(next(iter(first.pipelines._pipelines.values()))).__name__ == pipeline
    assert plain.size == (64, 64)
    assert png_bytes(plain) != png_bytes(styled)
    again = Renderer(tiny_store, RenderSettings(**TINY))
    assert png_bytes(again.render(checkpoint, "a red fox", "", [0])[0]) == png_bytes(plain)
    assert png_bytes(again.render(lora, "a red fox", "", [0])[0]) == png_bytes(styled)
    keys = load_file(str(tiny_store.resolve(version_id + 1, "LORA", base_model).path)).keys()
    assert "diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight" in keys
    assert "diffusion_model.single_blocks.0.linear1.lora_B.weight" in keys


def test_klein_base_takes_cfg_and_a_base_lora_loads_on_the_distilled_model(tiny_pipelines, tmp_path) -> None:
    base = defaults_for("Flux.2 Klein 4B-base")
    assert (base.cfg_scale, base.sampling_steps) == (4.0, 50)
    catalog = [
        catalog_entry(f"m{version}", model_id=version, version_id=version, type=kind, base_model=name)
        for version, kind, name in (
            (50, "Checkpoint", "Flux.2 Klein 4B-base"),
            (51, "Checkpoint", "Flux.2 Klein 4B"),
            (52, "LORA", "Flux.2 Klein 4B-base"),
        )
    ]
    renderer = Renderer(TinyModelStore(tiny_pipelines, tmp_path, catalog=catalog), RenderSettings(**TINY))
    guided = renderer.render(_api(50, "Flux.2 Klein 4B-base"), "a red fox")[0]
    unguided = renderer.render(_api(50, "Flux.2 Klein 4B-base", cfg_scale=1.0), "a red fox")[0]
    assert png_bytes(guided) != png_bytes(unguided)
    on_distilled = renderer.render(_api(52, "Flux.2 Klein 4B-base", "LORA", base_id=51), "a red fox")[0]
    assert on_distilled.size == (64, 64)


def test_a_klein_4b_lora_is_refused_on_a_klein_9b_checkpoint_naming_both(tiny_pipelines, tmp_path) -> None:
    """Both load with Flux2KleinPipeline: the rule reads the checkpoint's base model, not the class."""
    catalog = [
        catalog_entry("m40", model_id=40, version_id=40, type="Checkpoint", base_model="Flux.2 Klein 9B"),
        catalog_entry("m41", model_id=41, version_id=41, type="LORA", base_model="Flux.2 Klein 4B"),
    ]
    store = TinyModelStore(tiny_pipelines, tmp_path, catalog=catalog)
    pattern = r"'Flux.2 Klein 4B' \(flux2-klein-4b\).*'Flux.2 Klein 9B'.*is flux2-klein-9b"
    with pytest.raises(ValueError, match=pattern):
        Renderer(store).render(_api(41, "Flux.2 Klein 4B", "LORA", base_id=40), "a cat", "", [0])


@pytest.mark.parametrize("format", ["a1111", "a1111-api"])
@pytest.mark.parametrize("base_model", ["Flux.2 D", "Flux.2 Klein 9B"])
def test_a1111_exports_refuse_flux2_naming_it(format: str, base_model: str) -> None:
    inputs = ExportInputs(_api(31, base_model), "flux2.safetensors", "", None, "a red fox")
    with pytest.raises(ValueError, match=rf"A1111 and Forge cannot load '{base_model}' \(flux2"):
        export(format, inputs)


def test_civitai_names_map_to_the_three_flux2_architectures() -> None:
    assert architecture_of("Flux.2 D") == "flux2" and takes_distilled_guidance("Flux.2 D")
    assert {architecture_of(f"Flux.2 Klein 4B{suffix}") for suffix in ("", "-base")} == {"flux2-klein-4b"}
    assert {architecture_of(f"Flux.2 Klein 9B{suffix}") for suffix in ("", "-base")} == {"flux2-klein-9b"}
    distilled = defaults_for("Flux.2 Klein 9B")
    assert (distilled.sampling_steps, distilled.cfg_scale) == (4, 1.0)

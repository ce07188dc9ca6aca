"""The flow-matching DiT families of 2025-26 in the architecture table: Z-Image, Qwen-Image,
Flux.2 [dev] and Flux.2 [klein] 4B / 9B (`schemas.architectures` puts them in its one table)."""

from __future__ import annotations

from schemas.architecture_types import (
    Architecture,
    ArchitectureDefaults,
    BaseSource,
    CivitaiBaseModel,
    Companion,
    ExportFacts,
    HubFile,
)
from schemas.samplers import flow_schedulers_taking

_FLUX = ArchitectureDefaults(
    width=1024, height=1024, sampling_method="Euler", sampling_steps=20, cfg_scale=3.5
)
# Z-Image: Civitai's own generator defaults (developer.civitai.com, orchestration recipe "zimage"):
# Turbo is step-distilled to 9 steps without CFG (CFG 1; diffusers' guidance_scale 0), the base model
# takes CFG 4 at 20 steps. Flow-matching Euler, 1024x1024 (the model cards').
_Z_IMAGE_TURBO = ArchitectureDefaults(
    width=1024, height=1024, sampling_method="Euler", sampling_steps=9, cfg_scale=1.0
)
_Z_IMAGE_BASE = _Z_IMAGE_TURBO.model_copy(update={"sampling_steps": 20, "cfg_scale": 4.0})
# The newer pipelines set custom sigmas (and `mu`) on their schedulers: the flow-matching solvers
# whose `set_timesteps` does not take them run as flow-matching Euler (tests/render: every sampler
# renders on every family).
_Z_IMAGE_SCHEDULERS = flow_schedulers_taking(("Euler",), "ZImagePipeline's timesteps fit no other solver")
_QWEN_IMAGE_SCHEDULERS = flow_schedulers_taking(
    ("Euler", "UniPC"), "QwenImagePipeline sets custom sigmas, which this solver does not take"
)
_FLUX2_SCHEDULERS = flow_schedulers_taking(
    ("Euler", "DPM++ 2M", "UniPC"), "Flux.2's pipelines set custom sigmas, which this solver does not take"
)
# Qwen-Image: its model card's and diffusers' example, 50 steps at true CFG 4, 1328x1328 (its 1:1).

# Flux.2: FLUX.2 [dev] is guidance-distilled (guidance 4 at 28 steps, its model card's trade-off);
# the Klein models are step-distilled to 4 steps without CFG, their -base models take true CFG 4
# at 50 steps (BFL's model cards, diffusers' example). ComfyUI loads all three with UNETLoader and
# CLIPLoader type "flux2", Flux.2's 128-channel latent; no A1111 or lllyasviel Forge support.
_FLUX2_EXPORT = ExportFacts(
    comfyui_model_loader="UNETLoader",
    comfyui_clip_loader="CLIPLoader",
    comfyui_clip_type="flux2",
    comfyui_latent="EmptyFlux2LatentImage",
    comfyui_schedulers={"normal": "simple"},
    takes_clip_skip=False,
    a1111=False,
)
_FLUX2_VAE = Companion(
    "vae",
    "flux2-vae.safetensors",
    "vae",
    "vae",
    HubFile("Comfy-Org/flux2-dev", "split_files/vae/flux2-vae.safetensors"),
)
_KLEIN = _FLUX.model_copy(update={"sampling_steps": 4, "cfg_scale": 1.0})
_KLEIN_BASE = _FLUX.model_copy(update={"sampling_steps": 50, "cfg_scale": 4.0})


def _klein(size: str, names: tuple[str, str], repos: tuple[str, str], encoder: Companion) -> Architecture:
    """A Flux.2 [klein] size: the distilled model and its -base one share weights' shapes, so a
    LoRA loads on both; 4B and 9B differ in widths (and text encoder), so each is its own."""
    distilled, base = names
    return Architecture(
        name=f"flux2-klein-{size}",
        pipeline_class="Flux2KleinPipeline",
        base_models=(
            CivitaiBaseModel(distilled, BaseSource(f"flux2_klein_{size}", f"black-forest-labs/{repos[0]}")),
            CivitaiBaseModel(
                base, BaseSource(f"flux2_klein_base_{size}", f"black-forest-labs/{repos[1]}"), _KLEIN_BASE
            ),
        ),
        defaults=_KLEIN,
        schedulers=_FLUX2_SCHEDULERS,
        gpu_dtype="bfloat16",
        # diffusers' Klein pipeline guides against the empty prompt: no negative prompt to pass.
        takes_negative_prompt=False,
        transformer_class="Flux2Transformer2DModel",
        companions=(encoder, _FLUX2_VAE),
        export=_FLUX2_EXPORT,
    )


FLOW_FAMILIES: tuple[Architecture, ...] = (
    Architecture(
        name="z-image",
        pipeline_class="ZImagePipeline",
        base_models=(
            CivitaiBaseModel("ZImageTurbo", BaseSource("zimage_turbo", "Tongyi-MAI/Z-Image-Turbo")),
            CivitaiBaseModel("ZImageBase", BaseSource("zimage", "Tongyi-MAI/Z-Image"), _Z_IMAGE_BASE),
        ),
        defaults=_Z_IMAGE_TURBO,
        schedulers=_Z_IMAGE_SCHEDULERS,
        gpu_dtype="bfloat16",  # Tongyi-MAI's weights and examples are bfloat16
        cfg_offset=-1.0,
        transformer_class="ZImageTransformer2DModel",
        companions=(
            Companion(
                "qwen3 text encoder",
                "qwen_3_4b.safetensors",
                "text_encoder",
                "text_encoder",
                HubFile("Comfy-Org/z_image_turbo", "split_files/text_encoders/qwen_3_4b.safetensors"),
            ),
            # Flux.1's autoencoder
            Companion(
                "vae",
                "ae.safetensors",
                "vae",
                "vae",
                HubFile("Comfy-Org/z_image_turbo", "split_files/vae/ae.safetensors"),
            ),
        ),
        # ComfyUI: UNETLoader + CLIPLoader type "lumina2" (Z-Image is a Lumina-2-style single-stream
        # DiT); no A1111 or lllyasviel Forge support.
        export=ExportFacts(
            comfyui_model_loader="UNETLoader",
            comfyui_clip_loader="CLIPLoader",
            comfyui_clip_type="lumina2",
            comfyui_latent="EmptySD3LatentImage",
            comfyui_schedulers={"normal": "simple"},
            takes_clip_skip=False,
            a1111=False,
        ),
    ),
    Architecture(
        name="qwen-image",
        pipeline_class="QwenImagePipeline",
        # Civitai's "Qwen 2" and "Qwen 3" are hosted API models without weights (not image families).
        base_models=(CivitaiBaseModel("Qwen", BaseSource("qwen_image", "Qwen/Qwen-Image")),),
        defaults=ArchitectureDefaults(
            width=1328, height=1328, sampling_method="Euler", sampling_steps=50, cfg_scale=4.0
        ),
        schedulers=_QWEN_IMAGE_SCHEDULERS,
        gpu_dtype="bfloat16",  # Qwen's weights and examples are bfloat16
        cfg_argument="true_cfg_scale",
        empty_negative_prompt="",
        transformer_class="QwenImageTransformer2DModel",
        companions=(
            Companion(
                "qwen2.5-vl text encoder",
                "qwen_2.5_vl_7b_fp8_scaled.safetensors",
                "text_encoder",
                "text_encoder",
                HubFile(
                    "Comfy-Org/Qwen-Image_ComfyUI",
                    "split_files/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors",
                ),
            ),
            Companion(
                "vae",
                "qwen_image_vae.safetensors",
                "vae",
                "vae",
                HubFile("Comfy-Org/Qwen-Image_ComfyUI", "split_files/vae/qwen_image_vae.safetensors"),
            ),
        ),
        # ComfyUI: UNETLoader + CLIPLoader type "qwen_image" (its templates also shift the schedule
        # with ModelSamplingAuraFlow 3.1); no A1111 or lllyasviel Forge support.
        export=ExportFacts(
            comfyui_model_loader="UNETLoader",
            comfyui_clip_loader="CLIPLoader",
            comfyui_clip_type="qwen_image",
            comfyui_latent="EmptySD3LatentImage",
            comfyui_schedulers={"normal": "simple"},
            takes_clip_skip=False,
            a1111=False,
        ),
    ),
    Architecture(
        name="flux2",
        pipeline_class="Flux2Pipeline",
        base_models=(
            CivitaiBaseModel(
                "Flux.2 D", BaseSource("flux2_dev", "black-forest-labs/FLUX.2-dev"), distilled_guidance=True
            ),
        ),
        defaults=_FLUX.model_copy(update={"sampling_steps": 28, "cfg_scale": 4.0}),
        schedulers=_FLUX2_SCHEDULERS,
        gpu_dtype="bfloat16",
        takes_negative_prompt=False,
        transformer_class="Flux2Transformer2DModel",
        companions=(
            Companion(
                "mistral text encoder",
                "mistral_3_small_flux2_bf16.safetensors",
                "text_encoder",
                "text_encoder",
                HubFile(
                    "Comfy-Org/flux2-dev", "split_files/text_encoders/mistral_3_small_flux2_bf16.safetensors"
                ),
            ),
            _FLUX2_VAE,
        ),
        export=_FLUX2_EXPORT,
    ),
    _klein(
        "4b",
        ("Flux.2 Klein 4B", "Flux.2 Klein 4B-base"),
        ("FLUX.2-klein-4B", "FLUX.2-klein-base-4B"),
        Companion(
            "qwen3 text encoder",
            "qwen_3_4b.safetensors",
            "text_encoder",
            "text_encoder",
            HubFile("Comfy-Org/flux2-klein-4B", "split_files/text_encoders/qwen_3_4b.safetensors"),
        ),
    ),
    _klein(
        "9b",
        ("Flux.2 Klein 9B", "Flux.2 Klein 9B-base"),
        ("FLUX.2-klein-9B", "FLUX.2-klein-base-9B"),
        Companion(
            "qwen3 text encoder",
            "qwen_3_8b_fp8mixed.safetensors",
            "text_encoder",
            "text_encoder",
            HubFile("Comfy-Org/flux2-klein-9B", "split_files/text_encoders/qwen_3_8b_fp8mixed.safetensors"),
        ),
    ),
)

"""More image families in the architecture table (issue 25): Chroma (`schemas.architectures` puts
them in its one table, after the Flux.1, SD 3 and flow-matching families)."""

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

# Flux.1's T5-XXL and autoencoder, the files ComfyUI's Flux examples link (the VAE from the ungated
# FLUX.1-schnell repository); Chroma, pruned from FLUX.1 [schnell], reads the same two.
FLUX1_T5 = Companion(
    "t5 text encoder",
    "t5xxl_fp16.safetensors",
    "text_encoder",
    "text_encoder_2",
    HubFile("comfyanonymous/flux_text_encoders", "t5xxl_fp16.safetensors"),
)
FLUX1_CLIP = Companion(
    "clip text encoder",
    "clip_l.safetensors",
    "text_encoder",
    "text_encoder",
    HubFile("comfyanonymous/flux_text_encoders", "clip_l.safetensors"),
)
FLUX1_VAE = Companion(
    "vae", "ae.safetensors", "vae", "vae", HubFile("black-forest-labs/FLUX.1-schnell", "ae.safetensors")
)

# Chroma (lodestones): FLUX.1 [schnell] pruned to 8.9B (one small approximator in place of the
# per-block modulation, no CLIP) and de-distilled: true CFG with a negative prompt. Defaults from
# Chroma1-HD's card and diffusers' example: 40 steps at CFG 3, 1024x1024. ChromaPipeline sets
# custom sigmas and `mu`, as Flux.1's does.
_CHROMA = ArchitectureDefaults(
    width=1024, height=1024, sampling_method="Euler", sampling_steps=40, cfg_scale=3.0
)
_CHROMA_SCHEDULERS = flow_schedulers_taking(
    ("Euler", "UniPC"), "ChromaPipeline sets custom sigmas, which this solver does not take"
)

MORE_FAMILIES: tuple[Architecture, ...] = (
    Architecture(
        name="chroma",
        pipeline_class="ChromaPipeline",
        base_models=(CivitaiBaseModel("Chroma", BaseSource("chroma", "lodestones/Chroma1-HD")),),
        defaults=_CHROMA,
        schedulers=_CHROMA_SCHEDULERS,
        gpu_dtype="bfloat16",  # lodestones' weights and diffusers' example are bfloat16
        transformer_class="ChromaTransformer2DModel",
        # Chroma's pipeline names its T5 `text_encoder` (Flux.1's is `text_encoder_2`).
        companions=(
            Companion("t5 text encoder", FLUX1_T5.file, "text_encoder", "text_encoder", FLUX1_T5.source),
            FLUX1_VAE,
        ),
        # ComfyUI: UNETLoader + CLIPLoader type "chroma" (its Chroma example); lllyasviel's Forge
        # loads Chroma (backend/diffusion_engine/chroma.py) with T5 and ae as its modules, no clip skip.
        export=ExportFacts(
            comfyui_model_loader="UNETLoader",
            comfyui_clip_loader="CLIPLoader",
            comfyui_clip_type="chroma",
            comfyui_latent="EmptySD3LatentImage",
            comfyui_schedulers={"normal": "simple"},
            a1111_schedules={"Automatic": "Simple", "Uniform": "Simple"},
            takes_clip_skip=False,
        ),
    ),
)

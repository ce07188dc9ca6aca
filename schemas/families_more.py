"""More image families in the architecture table (issue 25): Chroma, AuraFlow / Pony V7 and HiDream
(`schemas.architectures` puts them in its one table, after the Flux.1, SD 3 and flow-matching
families)."""

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
from schemas.samplers import FLOW_SCHEDULERS, flow_schedulers_taking

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

# AuraFlow (fal) and Pony V7 (PurpleSmartAI's fine-tune of it): an MMDiT with true CFG, Pile-T5-XL
# text encoder and SDXL's 4-channel VAE. AuraFlow v0.3's card renders 50 steps at CFG 3.5, 1024x1024;
# Pony V7's card gives no diffusers call, so it takes the same (unverified). AuraFlowPipeline passes
# no custom sigmas: every flow-matching solver takes its timesteps.
_AURAFLOW = ArchitectureDefaults(
    width=1024, height=1024, sampling_method="Euler", sampling_steps=50, cfg_scale=3.5
)
# Companions from fal's ungated diffusers repository. UNVERIFIED paths (the fp16 variant names of its
# text_encoder/ and vae/ folders; pony-v7-base's vae/ holds `diffusion_pytorch_model.fp16.safetensors`),
# and the file names are ours: ComfyUI's AuraFlow example loads fal's all-in-one checkpoint instead.
_AURAFLOW_COMPANIONS = (
    Companion(
        "pile-t5 text encoder",
        "auraflow_pile_t5xl_fp16.safetensors",
        "text_encoder",
        "text_encoder",
        HubFile("fal/AuraFlow-v0.3", "text_encoder/model.fp16.safetensors"),
    ),
    Companion(
        "vae",
        "auraflow_vae_fp16.safetensors",
        "vae",
        "vae",
        HubFile("fal/AuraFlow-v0.3", "vae/diffusion_pytorch_model.fp16.safetensors"),
    ),
)

# HiDream-I1 (HiDream.ai): a 17B sparse (mixture-of-experts) DiT with four text encoders (long-context
# CLIP-L and CLIP-G, T5-XXL, Llama-3.1-8B-Instruct) and Flux.1's autoencoder; true CFG with a
# negative prompt. Civitai has one base model name, "HiDream", for three published variants; its
# default API is HiDream-I1-Full's: 50 steps at CFG 5, 1024x1024 (model card, diffusers' example),
# with flow-matching UniPC, the scheduler its repository's config names (shift 3 in HiDream's
# inference script). Dev and Fast are
# distilled without CFG (model cards: guidance_scale 0, CFG 1 here) and ship FlowMatchLCMScheduler
# (HiDream.ai, SimpleTuner PR 1407), for which no canonical sampler exists: nearest, Euler.
# HiDreamImagePipeline renders a fixed area (1024x1024 for the real VAE): width and height set
# the aspect ratio only. It passes `mu` to the scheduler (UniPC excepted), which DPM++ and Heun
# do not take.
_HIDREAM_FULL = ArchitectureDefaults(
    width=1024, height=1024, sampling_method="UniPC", sampling_steps=50, cfg_scale=5.0
)
HIDREAM_VARIANTS: dict[str, ArchitectureDefaults] = {
    "HiDream-ai/HiDream-I1-Full": _HIDREAM_FULL,
    "HiDream-ai/HiDream-I1-Dev": _HIDREAM_FULL.model_copy(
        update={"sampling_method": "Euler", "sampling_steps": 28, "cfg_scale": 1.0}
    ),
    "HiDream-ai/HiDream-I1-Fast": _HIDREAM_FULL.model_copy(
        update={"sampling_method": "Euler", "sampling_steps": 16, "cfg_scale": 1.0}
    ),
}
_HIDREAM_SCHEDULERS = flow_schedulers_taking(
    ("Euler", "UniPC"), "HiDreamImagePipeline passes `mu`, which this solver does not take"
)


def _hidream_encoder(role: str, file: str, component: str) -> Companion:
    """A text encoder ComfyUI's HiDream example loads, from Comfy-Org's ungated repackaging."""
    source = HubFile("Comfy-Org/HiDream-I1_ComfyUI", f"split_files/text_encoders/{file}")
    return Companion(role, file, "text_encoder", component, source)


# ComfyUI's HiDream examples (QuadrupleCLIPLoader's clip_name1..4, in this order). The Llama is
# repackaged from meta-llama/Llama-3.1-8B-Instruct, a gated repository; Comfy-Org's copy is not.
# The VAE is Flux.1's `ae.safetensors`, the same file.
_HIDREAM_COMPANIONS = (
    _hidream_encoder("long clip-l text encoder", "clip_l_hidream.safetensors", "text_encoder"),
    _hidream_encoder("long clip-g text encoder", "clip_g_hidream.safetensors", "text_encoder_2"),
    _hidream_encoder("t5 text encoder", "t5xxl_fp8_e4m3fn_scaled.safetensors", "text_encoder_3"),
    _hidream_encoder("llama text encoder", "llama_3.1_8b_instruct_fp8_scaled.safetensors", "text_encoder_4"),
    FLUX1_VAE,
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
    Architecture(
        name="auraflow",
        pipeline_class="AuraFlowPipeline",
        base_models=(
            CivitaiBaseModel("AuraFlow", BaseSource("auraflow", "fal/AuraFlow-v0.3")),
            # Civitai's PonyV7 ecosystem has AuraFlow as parent; an AuraFlow LoRA runs on Pony V7
            # partially (schemas.compatibility), not the other way.
            CivitaiBaseModel("Pony V7", BaseSource("pony_v7", "purplesmartai/pony-v7-base")),
        ),
        defaults=_AURAFLOW,
        schedulers=FLOW_SCHEDULERS,
        gpu_dtype="bfloat16",  # what Pony V7's card loads it in
        transformer_class="AuraFlowTransformer2DModel",
        companions=_AURAFLOW_COMPANIONS,
        # ComfyUI: UNETLoader for a transformer-only file; CLIPLoader recognises Pile-T5-XL by its
        # weights whatever the type (UNVERIFIED for this ComfyUI version); no A1111 or Forge support.
        export=ExportFacts(
            comfyui_model_loader="UNETLoader",
            comfyui_clip_loader="CLIPLoader",
            comfyui_clip_type="stable_diffusion",
            takes_clip_skip=False,
            a1111=False,
        ),
    ),
    Architecture(
        name="hidream",
        pipeline_class="HiDreamImagePipeline",
        # HiDream.ai's repositories are MIT and ungated, but hold no Llama (UNVERIFIED): diffusers'
        # example passes meta-llama's gated Llama-3.1-8B-Instruct as text_encoder_4 / tokenizer_4,
        # so a render needs DIFFAGENT_HIDREAM_CONFIG set to a folder with them.
        base_models=(CivitaiBaseModel("HiDream", BaseSource("hidream", "HiDream-ai/HiDream-I1-Full")),),
        defaults=_HIDREAM_FULL,
        schedulers=_HIDREAM_SCHEDULERS,
        gpu_dtype="bfloat16",  # HiDream.ai's weights and diffusers' example are bfloat16
        # Civitai's checkpoints are the transformer alone (Comfy-Org's split files), in HiDream's own
        # names, which are diffusers' (convert_hidream_transformer_to_diffusers strips a prefix only).
        transformer_class="HiDreamImageTransformer2DModel",
        companions=_HIDREAM_COMPANIONS,
        # ComfyUI: UNETLoader + QuadrupleCLIPLoader (no type input: comfy_extras/nodes_hidream.py)
        # + VAELoader, EmptySD3LatentImage, as its examples; they also shift the schedule with
        # ModelSamplingSD3 (3 for Full, 6 for Dev), which this export leaves out. No A1111 or
        # lllyasviel Forge support.
        export=ExportFacts(
            comfyui_model_loader="UNETLoader",
            comfyui_clip_loader="QuadrupleCLIPLoader",
            comfyui_latent="EmptySD3LatentImage",
            comfyui_schedulers={"normal": "simple"},
            takes_clip_skip=False,
            a1111=False,
        ),
    ),
)

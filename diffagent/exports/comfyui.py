"""ComfyUI API-format workflow: the JSON that ComfyUI's `POST /prompt` takes as `{"prompt": ...}`.

Node id -> {"class_type", "inputs"}; a link is `[node id, output index]`. Stock nodes only:
CheckpointLoaderSimple (outputs MODEL 0, CLIP 1, VAE 2), LoraLoader (MODEL 0, CLIP 1),
CLIPTextEncode, EmptyLatentImage, KSampler, VAEDecode, SaveImage; for Flux.1 UNETLoader,
DualCLIPLoader, VAELoader, FluxGuidance and EmptySD3LatentImage in place of the SD ones.
"""

from __future__ import annotations

import json
from typing import Any

from diffagent.exports.inputs import ExportInputs
from diffagent.render.architectures import TAKES_NEGATIVE_PROMPT, takes_distilled_guidance
from schemas.samplers import COMFYUI_SAMPLERS as COMFY_SAMPLERS
from schemas.t2i import architecture_of

FILENAME_PREFIX = "diffagent"

# A Civitai Flux.1 checkpoint is the transformer alone (render.architectures.TRANSFORMER_ONLY_FILES):
# ComfyUI loads it with UNETLoader from models/diffusion_models, and the text encoders and VAE
# from their own folders, under the names ComfyUI's Flux examples download them as.
FLUX_TEXT_ENCODERS = ("t5xxl_fp16.safetensors", "clip_l.safetensors")
FLUX_VAE = "ae.safetensors"
# Flux.1 is guidance-distilled: the answer's cfg_scale is its guidance (a FluxGuidance node; none
# for schnell, which has no guidance embedding), the sampler's own CFG stays 1 (so the negative
# conditioning is unused), and ComfyUI's Flux examples schedule with `simple`.
FLUX_SCHEDULERS = {"normal": "simple"}


class Graph:
    """Nodes numbered "1", "2", ... in the order they are added; `add` returns the new node's id."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}

    def add(self, class_type: str, **inputs: Any) -> str:
        node = str(len(self.nodes) + 1)
        self.nodes[node] = {"class_type": class_type, "inputs": inputs}
        return node


def workflow(inputs: ExportInputs) -> dict[str, dict[str, Any]]:
    api = inputs.api
    architecture = architecture_of(api.base_model)
    flux = architecture == "flux"
    graph = Graph()
    if flux:
        unet = graph.add("UNETLoader", unet_name=inputs.checkpoint_file, weight_dtype="default")
        encoders = graph.add(
            "DualCLIPLoader", clip_name1=FLUX_TEXT_ENCODERS[0], clip_name2=FLUX_TEXT_ENCODERS[1], type="flux"
        )
        model, clip, vae = [unet, 0], [encoders, 0], [graph.add("VAELoader", vae_name=FLUX_VAE), 0]
    else:
        checkpoint = graph.add("CheckpointLoaderSimple", ckpt_name=inputs.checkpoint_file)
        model, clip, vae = [checkpoint, 0], [checkpoint, 1], [checkpoint, 2]
    if inputs.lora_file is not None:
        lora = graph.add(
            "LoraLoader",
            model=model,
            clip=clip,
            lora_name=inputs.lora_file,
            strength_model=inputs.lora_weight,
            strength_clip=inputs.lora_weight,
        )
        model, clip = [lora, 0], [lora, 1]
    positive = [graph.add("CLIPTextEncode", text=inputs.prompt, clip=clip), 0]
    negative_text = inputs.negative_prompt if TAKES_NEGATIVE_PROMPT[architecture] else ""
    negative = [graph.add("CLIPTextEncode", text=negative_text, clip=clip), 0]
    sampler_name, scheduler = COMFY_SAMPLERS[api.sampling_method]
    cfg = api.cfg_scale
    if takes_distilled_guidance(api.base_model):
        positive = [graph.add("FluxGuidance", conditioning=positive, guidance=api.cfg_scale), 0]
    if flux:
        cfg, scheduler = 1.0, FLUX_SCHEDULERS.get(scheduler, scheduler)
    latent = graph.add(
        "EmptySD3LatentImage" if flux else "EmptyLatentImage",
        width=api.width,
        height=api.height,
        batch_size=1,
    )
    sampled = graph.add(
        "KSampler",
        seed=inputs.seed,
        steps=api.sampling_steps,
        cfg=cfg,
        sampler_name=sampler_name,
        scheduler=scheduler,
        denoise=1.0,
        model=model,
        positive=positive,
        negative=negative,
        latent_image=[latent, 0],
    )
    image = graph.add("VAEDecode", samples=[sampled, 0], vae=vae)
    graph.add("SaveImage", filename_prefix=FILENAME_PREFIX, images=[image, 0])
    return graph.nodes


def workflow_json(inputs: ExportInputs) -> str:
    return json.dumps(workflow(inputs), indent=2, ensure_ascii=False)

"""ComfyUI API-format workflow: the JSON that ComfyUI's `POST /prompt` takes as `{"prompt": ...}`.

Node id -> {"class_type", "inputs"}; a link is `[node id, output index]`. Stock nodes only:
CheckpointLoaderSimple (outputs MODEL 0, CLIP 1, VAE 2), CLIPSetLastLayer (CLIP 0), LoraLoader
(MODEL 0, CLIP 1), CLIPTextEncode, EmptyLatentImage, KSampler, VAEDecode, SaveImage; for Flux.1
UNETLoader, DualCLIPLoader, VAELoader, FluxGuidance and EmptySD3LatentImage in place of the SD ones;
for SD 3.5 the checkpoint's MODEL and VAE with TripleCLIPLoader's CLIP (each family's loaders are
the architecture table's ExportFacts).
A clip skip above 1 is CLIPSetLastLayer on the checkpoint's CLIP, `stop_at_clip_layer` = -clip
skip (-1 is the last layer, A1111's clip skip 1; ComfyUI takes -24..-1). The positive text is the
prompt with the LoRA's trigger words; the LoRA's weight is both of LoraLoader's strengths.
"""

from __future__ import annotations

from typing import Any

from diffagent.exports.inputs import ExportInputs, prompt_with_trigger_words
from schemas.architectures import Architecture, architecture_for, takes_distilled_guidance
from schemas.samplers import COMFYUI_SAMPLERS as COMFY_SAMPLERS

FILENAME_PREFIX = "diffagent"

# The file input of each model loader node (ComfyUI nodes.py INPUT_TYPES), and its other inputs.
MODEL_LOADER_INPUTS: dict[str, tuple[str, dict[str, Any]]] = {
    "CheckpointLoaderSimple": ("ckpt_name", {}),
    "UNETLoader": ("unet_name", {"weight_dtype": "default"}),
}

# The architecture table (schemas.architectures) says how each family loads: a Civitai Flux.1
# checkpoint is the transformer alone, loaded with UNETLoader from models/diffusion_models, and its
# companions (text encoders, VAE) with their own loaders, from their own folders, under the table's
# names. Flux.1 is guidance-distilled: the answer's cfg_scale is its guidance (a FluxGuidance node;
# none for schnell, which has no guidance embedding), the sampler's own CFG stays 1 (so the
# negative conditioning is unused), and its scheduler names are the table's (`simple`).


class Graph:
    """Nodes numbered "1", "2", ... in the order they are added; `add` returns the new node's id."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}

    def add(self, class_type: str, **inputs: Any) -> str:
        node = str(len(self.nodes) + 1)
        self.nodes[node] = {"class_type": class_type, "inputs": inputs}
        return node


def _loaders(graph: Graph, architecture: Architecture, checkpoint_file: str) -> tuple[list, list, list]:
    """[node, output] links of the MODEL, CLIP and VAE: from the checkpoint, or from the companions."""
    facts = architecture.export
    file_input, extra = MODEL_LOADER_INPUTS[facts.comfyui_model_loader]
    loader = graph.add(facts.comfyui_model_loader, **{file_input: checkpoint_file}, **extra)
    model, clip, vae = [loader, 0], [loader, 1], [loader, 2]  # CheckpointLoaderSimple's outputs
    encoders = architecture.companions_of("text_encoder")
    if facts.comfyui_clip_loader and encoders:
        # ComfyUI's CLIPLoader takes one `clip_name`; DualCLIPLoader and TripleCLIPLoader `clip_name1`,
        # `clip_name2`... (TripleCLIPLoader has no `type`: it reads the encoders from their weights).
        if len(encoders) == 1:
            names = {"clip_name": encoders[0].file}
        else:
            names = {f"clip_name{index}": companion.file for index, companion in enumerate(encoders, start=1)}
        type_input = {"type": facts.comfyui_clip_type} if facts.comfyui_clip_type else {}
        clip = [graph.add(facts.comfyui_clip_loader, **names, **type_input), 0]
    for companion in architecture.companions_of("vae"):
        vae = [graph.add(facts.comfyui_vae_loader, vae_name=companion.file), 0]
    return model, clip, vae


def workflow(inputs: ExportInputs) -> dict[str, dict[str, Any]]:
    api = inputs.api
    architecture = architecture_for(api.base_model)
    facts = architecture.export
    graph = Graph()
    model, clip, vae = _loaders(graph, architecture, inputs.checkpoint_file)
    if facts.takes_clip_skip and api.clip_skip > 1:
        clip = [graph.add("CLIPSetLastLayer", clip=clip, stop_at_clip_layer=-api.clip_skip), 0]
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
    positive = [graph.add("CLIPTextEncode", text=prompt_with_trigger_words(inputs), clip=clip), 0]
    guided = architecture.takes_negative_prompt  # classifier-free guidance; Flux: none (CFG 1)
    negative_text = inputs.negative_prompt if guided else ""
    negative = [graph.add("CLIPTextEncode", text=negative_text, clip=clip), 0]
    sampler_name, scheduler = COMFY_SAMPLERS[api.sampling_method]
    scheduler = facts.comfyui_schedulers.get(scheduler, scheduler)
    if facts.comfyui_guidance_node and takes_distilled_guidance(api.base_model):
        positive = [graph.add(facts.comfyui_guidance_node, conditioning=positive, guidance=api.cfg_scale), 0]
    latent = graph.add(facts.comfyui_latent, width=api.width, height=api.height, batch_size=1)
    sampled = graph.add(
        "KSampler",
        seed=inputs.seed,
        steps=api.sampling_steps,
        cfg=api.cfg_scale if guided else 1.0,
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

"""Per-version model files in the layouts Civitai serves, made from the tiny pipelines.

`write_version_file(tiny_dir, version_id, kind, architecture, path, locon=False)` writes:
- a Checkpoint (sd1, sdxl): the tiny pipeline with its UNet perturbed by noise seeded from the
  version id, as one LDM single-file `.safetensors` (`tiny.ldm`);
- a Checkpoint (flux): the perturbed FluxTransformer2DModel alone (how most Flux checkpoints on
  Civitai ship, text encoders and VAE left out), in diffusers' key names, which
  `from_single_file` loads without conversion. Not in BFL's layout (`tiny.flux.transformer_to_bfl`,
  tested against diffusers' converter): that converter hard-codes Flux.1's widths (inner 3072),
  which a tiny model cannot have (see the note in `tiny.flux`);
- a Checkpoint (z-image, qwen-image, flux2, flux2-klein-*): the perturbed transformer alone in the
  family's original single-file names (`_original_layouts`: Tongyi-MAI's, BFL's; Qwen-Image's are
  diffusers' own), which diffusers'
  `from_single_file` converts back;
- a Checkpoint (sd3): the perturbed SD3Transformer2DModel in Stability's single-file keys
  (`tiny.sd3`), its LoRA in diffusers' SD 3 layout (the one diffusers 0.42.1 loads);
- a Checkpoint (chroma): the perturbed transformer in diffusers' names (`tiny.chroma`: Chroma's
  converter hard-codes its 3072 widths, as Flux.1's does);
- a Checkpoint (auraflow): the perturbed transformer in fal's original names (`tiny.auraflow`), its
  LoRA in diffusers' keys (SimpleTuner's, what Pony V7 LoRAs are trained with);
- a Checkpoint (hidream): the perturbed transformer in HiDream's names, which are diffusers' own
  (`tiny.hidream`), its LoRA in ai-toolkit's layout (`diffusion_model.` + diffusers' modules);
- a LORA: a random kohya-layout LoRA (`tiny.kohya`), or a LyCORIS LoCon with `locon`; for the newer
  families the layout their Civitai LoRAs come in (`_lora_layouts`: ai-toolkit's for Z-Image and
  Flux.2, musubi-tuner's for Qwen-Image, kohya's Flux-style one for Chroma).
The same arguments always give the same bytes (seeded CPU noise, sorted keys), so the bundled
Civitai server and the tiny store agree on every file's SHA256.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

# Folder of each architecture's tiny pipeline inside the tiny-models folder.
PIPELINE_FOLDERS = {
    "sd1": "sd15",
    "sdxl": "sdxl",
    "flux": "flux",
    "z-image": "z-image",
    "qwen-image": "qwen-image",
    "flux2": "flux2",
    "flux2-klein-4b": "flux2-klein-4b",
    "flux2-klein-9b": "flux2-klein-9b",
    "sd3": "sd3",
    "chroma": "chroma",
    "auraflow": "auraflow",
    "hidream": "hidream",
}
FLUX2_FAMILIES = ("flux2", "flux2-klein-4b", "flux2-klein-9b")
CHECKPOINT_NOISE = 0.3  # relative to each tensor's std: enough to change images visibly


def _original_layouts() -> dict:
    """Architecture -> diffusers transformer state dict -> the names its Civitai files use."""
    from diffagent.tiny import auraflow, flux2, z_image

    layouts = {"z-image": z_image.transformer_to_original, "auraflow": auraflow.transformer_to_original}
    return layouts | dict.fromkeys(FLUX2_FAMILIES, flux2.transformer_to_bfl)


def _lora_layouts() -> dict:
    """Architecture -> (transformer, seed) -> a LoRA in the layout its Civitai LoRAs use."""
    from diffagent.tiny import auraflow, chroma, flux2, hidream, qwen_image, z_image

    layouts = {"z-image": z_image.ai_toolkit_lora, "qwen-image": qwen_image.musubi_lora}
    layouts |= {"chroma": chroma.kohya_lora, "auraflow": auraflow.diffusers_lora}
    layouts["hidream"] = hidream.ai_toolkit_lora
    return layouts | dict.fromkeys(FLUX2_FAMILIES, flux2.ai_toolkit_lora)


def load_tiny_pipeline(tiny_dir: Path, architecture: str):
    import diffusers

    from schemas.architectures import architecture as table_entry

    if architecture not in PIPELINE_FOLDERS:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {tuple(PIPELINE_FOLDERS)}")
    folder = Path(tiny_dir) / PIPELINE_FOLDERS[architecture]
    extra = {"safety_checker": None, "requires_safety_checker": False} if architecture == "sd1" else {}
    return getattr(diffusers, table_entry(architecture).pipeline_class).from_pretrained(folder, **extra)


def perturb(module: torch.nn.Module, seed: int) -> None:
    """Add seeded noise (CHECKPOINT_NOISE x each tensor's std) to every float tensor, in name order."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, tensor in sorted(module.state_dict(keep_vars=True).items()):
            if tensor.is_floating_point() and tensor.numel() > 1:
                noise = torch.randn(tensor.shape, generator=generator, dtype=torch.float32)
                tensor.add_(CHECKPOINT_NOISE * tensor.float().std() * noise)


def version_tensors(
    tiny_dir: Path, version_id: int, kind: str, architecture: str, locon: bool = False
) -> dict[str, torch.Tensor]:
    from diffagent.tiny.kohya import kohya_lora
    from diffagent.tiny.ldm import pipeline_to_ldm

    pipe = load_tiny_pipeline(tiny_dir, architecture)
    if architecture == "sd3":  # Stability's single-file layout, a diffusers-layout LoRA (tiny.sd3)
        from diffagent.tiny.sd3 import sd3_lora, transformer_to_stability

        if kind == "LORA":
            return sd3_lora(pipe.transformer, seed=version_id)
        perturb(pipe.transformer, version_id)
        return transformer_to_stability(pipe.transformer.state_dict(), pipe.transformer.config.num_layers)
    if kind == "LORA":
        if architecture in _lora_layouts():
            return _lora_layouts()[architecture](pipe.transformer, version_id)
        return kohya_lora(pipe, architecture, seed=version_id, locon=locon)
    if kind != "Checkpoint":
        raise ValueError(f"unknown model kind {kind!r}; expected Checkpoint or LORA")
    if hasattr(pipe, "transformer"):
        perturb(pipe.transformer, version_id)
        state = {key: value.contiguous() for key, value in pipe.transformer.state_dict().items()}
        return _original_layouts().get(architecture, dict)(state)
    perturb(pipe.unet, version_id)
    return pipeline_to_ldm(pipe)


def write_version_file(
    tiny_dir: Path, version_id: int, kind: str, architecture: str, path: Path, locon: bool = False
) -> Path:
    """Write one version's file to `path` atomically (a reader never sees half a file)."""
    from safetensors.torch import save_file

    tensors = version_tensors(tiny_dir, version_id, kind, architecture, locon)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(tensors, str(temporary), metadata={"format": "pt"})
    os.replace(temporary, path)
    return path

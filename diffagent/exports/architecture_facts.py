"""Per-architecture facts the exports need, in one small table.

TO MOVE: this belongs in the one architecture table (`schemas/architectures.py`, being built);
until then it is the only place exports read these facts from, so the move is one import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportFacts:
    # Whether the tools apply clip skip to this architecture's text encoders: A1111 `Clip skip`,
    # ComfyUI `CLIPSetLastLayer`, diffusers `clip_skip` (as `diffagent render` does: SD only).
    takes_clip_skip: bool
    # The setting `diffagent render` reads this architecture's diffusers config folder from
    # (render.settings.RenderSettings): the diffusers script loads single files with the same one.
    config_setting: str
    # Files a checkpoint of this architecture does not contain, under the names the tools know them
    # by (ComfyUI's Flux examples; Forge's `Module N` infotext lines and `forge_additional_modules`
    # are these names): the VAE, then the text encoders in ComfyUI DualCLIPLoader order
    # (clip_name1 = T5-XXL, clip_name2 = CLIP-L).
    vae_file: str | None = None
    text_encoder_files: tuple[str, ...] = ()
    # Hub repositories that need an accepted licence and an access token.
    gated_repos: tuple[str, ...] = ()
    # Whether the diffusers pipeline comes with a safety checker that `render` drops (SD 1.5's
    # blacks out whatever it flags; render.pipelines.load_pipeline passes safety_checker=None).
    has_safety_checker: bool = False


EXPORT_FACTS: dict[str, ExportFacts] = {
    "sd1": ExportFacts(takes_clip_skip=True, config_setting="DIFFAGENT_SD15_CONFIG", has_safety_checker=True),
    "sdxl": ExportFacts(takes_clip_skip=True, config_setting="DIFFAGENT_SDXL_CONFIG"),
    # Flux.1: one T5-XXL and one CLIP-L encoder, no clip skip; FLUX.1-dev is gated, schnell is not.
    "flux": ExportFacts(
        takes_clip_skip=False,
        config_setting="DIFFAGENT_FLUX_CONFIG",
        vae_file="ae.safetensors",
        text_encoder_files=("t5xxl_fp16.safetensors", "clip_l.safetensors"),
        gated_repos=("black-forest-labs/FLUX.1-dev",),
    ),
}


def companion_files(architecture: str) -> tuple[str, ...]:
    """The separate files an architecture's checkpoint needs, VAE first: () for SD."""
    facts = EXPORT_FACTS[architecture]
    return (*([facts.vae_file] if facts.vae_file else []), *facts.text_encoder_files)

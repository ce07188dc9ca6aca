"""Loading diffusers pipelines for resolved checkpoints, with a bounded cache and LoRA swapping."""

from __future__ import annotations

import logging
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import torch

from diffagent.render.settings import RenderSettings
from diffagent.store.base import ResolvedModel, check_lora_architecture
from schemas.architectures import architecture, architecture_of, pipeline_class_name

log = logging.getLogger(__name__)


def pipeline_class(base_model: str):
    """The diffusers pipeline class of a base model's architecture."""
    import diffusers

    return getattr(diffusers, pipeline_class_name(base_model))


def render_device(settings: RenderSettings) -> str:
    return settings.render_device or ("cuda" if torch.cuda.is_available() else "cpu")


def render_dtype(settings: RenderSettings, device: str, architecture_name: str) -> torch.dtype:
    """CUDA: the settings' dtype, else the architecture's half precision (`gpu_dtype`); CPU: float32
    (half precision is slow or absent there)."""
    if not device.startswith("cuda"):
        return torch.float32
    dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
    name = settings.render_dtype or architecture(architecture_name).gpu_dtype
    if name not in dtypes:
        raise ValueError(f"render_dtype {name!r} is not one of {tuple(dtypes)}")
    return dtypes[name]


def load_pipeline(checkpoint: ResolvedModel, settings: RenderSettings, device: str, dtype: torch.dtype):
    """A diffusers folder (or, for an architecture's base model, a hub id) loads with from_pretrained;
    a single .safetensors file with from_single_file and its base model's config folder from the
    settings (SD: the whole LDM checkpoint; Flux: the transformer, the rest from the config folder,
    FLUX.1-schnell's for a Flux.1 S file: it has no guidance embedding)."""
    family = architecture(architecture_of(checkpoint.base_model))
    cls = pipeline_class(checkpoint.base_model)
    extra = {"safety_checker": None, "requires_safety_checker": False} if family.name == "sd1" else {}
    path = Path(checkpoint.path)
    config = settings.config_sources()[checkpoint.base_model]
    if checkpoint.pretrained:
        pipe = cls.from_pretrained(checkpoint.pretrained, dtype=dtype, **extra)
    elif path.is_dir():
        pipe = cls.from_pretrained(path, dtype=dtype, **extra)
    elif path.suffix == ".safetensors" and family.transformer_class:
        import diffusers

        transformer = getattr(diffusers, family.transformer_class).from_single_file(
            str(path), config=config, subfolder="transformer", dtype=dtype
        )
        pipe = cls.from_pretrained(config, transformer=transformer, dtype=dtype)
    elif path.suffix == ".safetensors":
        pipe = cls.from_single_file(str(path), config=config, dtype=dtype, **extra)
    else:
        raise ValueError(f"checkpoint {path} is neither a diffusers folder nor a .safetensors file")
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


@contextmanager
def flat_clip_alias(pipe):
    """Workaround for the duration of one call with clip skip: transformers >= 5.6 flattened
    CLIPTextModel (no `.text_model`), but diffusers 0.42's StableDiffusionPipeline still reads
    `text_encoder.text_model.final_layer_norm` when clip skip is set. Point `text_model` at the
    encoder itself, outside nn.Module's registry, and remove it afterwards: left in place it makes
    peft look for LoRA keys under a `text_model.` prefix that is not there. Drop once diffusers
    reads the flattened model."""
    encoder = getattr(pipe, "text_encoder", None)
    flat = encoder is not None and hasattr(encoder, "final_layer_norm")
    aliased = flat and not hasattr(encoder, "text_model")
    if aliased:
        object.__setattr__(encoder, "text_model", encoder)
    try:
        yield
    finally:
        if aliased:
            del encoder.__dict__["text_model"]


class PipelineCache:
    """At most `max_pipelines` pipelines, keyed by checkpoint hash, least recently used evicted.

    A LoRA is an adapter on its base pipeline: switching LoRAs deletes the old adapter and loads the
    new one, never reloading the base. `loads` counts checkpoint loads (what scheduling minimises).
    """

    def __init__(self, settings: RenderSettings | None = None):
        self.settings = settings or RenderSettings()
        if self.settings.max_pipelines < 1:
            raise ValueError(f"max_pipelines must be >= 1, got {self.settings.max_pipelines}")
        self.device = render_device(self.settings)
        render_dtype(self.settings, self.device, "sd1")  # a bad render_dtype fails here, not at a load
        self._pipelines: OrderedDict[str, object] = OrderedDict()
        # The architecture each pipeline renders, from its checkpoint: one pipeline class can serve
        # several (Flux.2 Klein 4B and 9B both load with Flux2KleinPipeline).
        self._architectures: dict[str, str] = {}
        self._active_lora: dict[str, tuple[str, float] | None] = {}
        self.loads = 0
        self.lora_loads = 0

    def get(self, checkpoint: ResolvedModel, lora: ResolvedModel | None = None, lora_scale: float = 1.0):
        key = checkpoint.sha256
        if key in self._pipelines:
            self._pipelines.move_to_end(key)
        else:
            while len(self._pipelines) >= self.settings.max_pipelines:
                evicted, _ = self._pipelines.popitem(last=False)
                self._active_lora.pop(evicted, None)
                self._architectures.pop(evicted, None)
                if self.device.startswith("cuda"):
                    torch.cuda.empty_cache()
            log.info("loading checkpoint version %s from %s", checkpoint.version_id, checkpoint.path)
            dtype = render_dtype(self.settings, self.device, architecture_of(checkpoint.base_model))
            self._pipelines[key] = load_pipeline(checkpoint, self.settings, self.device, dtype)
            self._architectures[key] = architecture_of(checkpoint.base_model)
            self._active_lora[key] = None
            self.loads += 1
        pipe = self._pipelines[key]
        self._set_lora(key, pipe, lora, lora_scale)
        return pipe

    def _set_lora(self, key: str, pipe, lora: ResolvedModel | None, scale: float) -> None:
        active = self._active_lora.get(key)
        wanted = f"lora_{lora.sha256[:16]}" if lora else None
        if active and active[0] != wanted:
            pipe.delete_adapters([active[0]])
            active = None
        if lora is None:
            self._active_lora[key] = None
            return
        where = f"its base pipeline {type(pipe).__name__}"
        check_lora_architecture(lora, self._architectures[key], where)
        if active is None:
            path = Path(lora.path)
            pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name=wanted)
            self.lora_loads += 1
        if active is None or active[1] != scale:
            pipe.set_adapters([wanted], adapter_weights=[scale])
        self._active_lora[key] = (wanted, scale)

"""Check DiffAgent's A1111 / Forge infotext exports with AUTOMATIC1111's own code.

`--webui DIR` is a checkout of stable-diffusion-webui (checked with v1.10.1, 82a973c0). Its
modules are imported from DIR and run unmodified:

- modules/infotext_utils.py `parse_generation_parameters`: "PNG Info" / paste reading the text;
  with it modules/infotext_versions.py `backcompat` and modules/prompt_parser.py
  `parse_prompt_attention`, which it calls;
- modules/sd_samplers.py `get_sampler_and_scheduler`, the function ui.py's paste fields call
  (through `get_sampler_from_infotext` / `get_scheduler_from_infotext`) to turn `Sampler` and
  `Schedule type` into the two dropdowns, over A1111's own tables: modules/sd_schedulers.py
  `schedulers`, and the samplers of sd_samplers_kdiffusion.py, sd_samplers_timesteps.py
  (+ sd_samplers_timesteps_impl.py, models/diffusion/uni_pc) and sd_samplers_lcm.py, built by
  sd_samplers_common.py `SamplerData`.

Stood in (registered in sys.modules before the import, so nothing of them runs): gradio, lark
(prompt_parser builds its schedule grammar at import; parse_prompt_attention is a regex),
k_diffusion (a stand-in whose every attribute exists: A1111 keeps a k-diffusion sampler only if
its pinned k-diffusion has the function, and it has them all), torchsde (sd_samplers_common
patches its Brownian interval at import), and the webui modules that load
models or the UI: shared (only `opts`, with infotext_styles="Ignore", infotext_skip_pasting=[],
use_old_hires_fix_width_height=False, auto_backcompat=True, hide_samplers=[]), paths,
ui_tempdir, script_callbacks, processing, images, errors, devices, sd_models, sd_vae_approx,
sd_vae_taesd.

What a sampler reads back as: A1111's (sampler, Schedule type) pair, and the sigmas that pair
steps over: the label, or for "Automatic" the sampler's own default (its options' `scheduler`
in A1111's table), else the model's own sigmas ("Uniform"). Expected: our table's A1111 sampler,
and Karras sigmas for a canonical name ending " Karras", else the model's own.

Run: PYTHONPATH=$PWD python bench/a1111_check.py --webui DIR [--catalog DABENCH]
Prints one table and exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from diffagent.exports import ExportInputs, export, export_inputs, export_object  # noqa: E402
from schemas.architectures import architecture_for  # noqa: E402
from schemas.samplers import KARRAS, SAMPLERS, sampler  # noqa: E402

STOOD_IN = (
    "gradio",
    "lark",
    "k_diffusion",
    "k_diffusion.sampling",
    "k_diffusion.external",
    "k_diffusion.utils",
    "torchsde",
    "torchsde._brownian",
    "torchsde._brownian.brownian_interval",
    *(f"modules.{name}" for name in ("shared", "paths", "ui_tempdir", "script_callbacks", "processing")),
    *(
        f"modules.{name}"
        for name in ("images", "errors", "devices", "sd_models", "sd_vae_approx", "sd_vae_taesd")
    ),
)


class Placeholder:
    """Whatever a stood-in module is asked for: callable, subclassable, holding anything."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Placeholder:
        return Placeholder()


class StandIn(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        made = type(name, (Placeholder,), {})
        setattr(self, name, made)
        return made


def options() -> types.SimpleNamespace:
    return types.SimpleNamespace(
        infotext_styles="Ignore",
        infotext_skip_pasting=[],
        use_old_hires_fix_width_height=False,
        auto_backcompat=True,
        hide_samplers=[],
    )


@dataclass(frozen=True)
class A1111:
    parse: Callable[[str], dict[str, Any]]
    sampler_and_schedule: Callable[..., tuple[str, str]]
    sampler_defaults: dict[str, str | None]  # sampler -> its options' scheduler name
    schedule_labels: dict[str, str]  # scheduler name or label -> label


def load_a1111(webui: Path) -> A1111:
    if not (webui / "modules" / "infotext_utils.py").is_file():
        raise SystemExit(f"--webui {webui} has no modules/infotext_utils.py")
    for name in STOOD_IN:
        sys.modules[name] = StandIn(name)
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:  # `import a.b` then `a.b.x`: the parent holds its submodule
            setattr(sys.modules[parent], child, sys.modules[name])
    sys.modules["modules.shared"].opts = options()  # type: ignore[attr-defined]
    sys.modules["modules.shared"].state = Placeholder()  # type: ignore[attr-defined]
    sys.path.insert(0, str(webui))
    infotext_utils = importlib.import_module("modules.infotext_utils")
    sd_samplers = importlib.import_module("modules.sd_samplers")
    schedulers = importlib.import_module("modules.sd_schedulers")
    labels = {s.name: s.label for s in schedulers.schedulers} | {
        s.label: s.label for s in schedulers.schedulers
    }
    defaults = {s.name: s.options.get("scheduler") for s in sd_samplers.all_samplers}
    return A1111(
        infotext_utils.parse_generation_parameters, sd_samplers.get_sampler_and_scheduler, defaults, labels
    )


@dataclass(frozen=True)
class Row:
    what: str
    expected: str
    read: str

    @property
    def ok(self) -> bool:
        return self.expected == self.read


def sigmas(a1111: A1111, name: str, label: str) -> str:
    """The sigmas A1111 steps over for its (sampler, Schedule type) pair."""
    if label != "Automatic":
        return label
    default = a1111.sampler_defaults.get(name)
    return a1111.schedule_labels[default] if default else "Uniform"


def read_pair(a1111: A1111, name: str | None, label: str | None, convert_automatic: bool = True) -> str:
    """What A1111 makes of a Sampler + Schedule type: its sampler and the sigmas it steps over."""
    got_name, got_label = a1111.sampler_and_schedule(name, label, convert_automatic=convert_automatic)
    return f"{got_name} / {sigmas(a1111, got_name, got_label)}"


def answer_rows(a1111: A1111, label: str, inputs: ExportInputs, text: str) -> list[Row]:
    """The fields A1111 parses from one answer's infotext, against the answer's own values."""
    api, read = inputs.api, a1111.parse(text)
    architecture = architecture_for(api.base_model)
    clip_skip = api.clip_skip if architecture.export.takes_clip_skip else 1
    guided = architecture.takes_negative_prompt
    expected = {
        "Clip skip": str(clip_skip),
        "Steps": str(api.sampling_steps),
        "CFG scale": f"{float(api.cfg_scale if guided else 1.0):g}",
        "Seed": str(inputs.seed),
        "Size": f"{api.width}x{api.height}",
    }
    got = {key: str(read.get(key)) for key in ("Clip skip", "Steps", "Seed")}
    got["CFG scale"] = f"{float(read.get('CFG scale', 'nan')):g}"
    got["Size"] = f"{read.get('Size-1')}x{read.get('Size-2')}"
    if not guided:
        expected["Distilled CFG Scale"] = f"{api.cfg_scale:g}"
        got["Distilled CFG Scale"] = f"{float(read.get('Distilled CFG Scale', 'nan')):g}"
    if inputs.checkpoint_sha256:
        expected["Model hash"] = inputs.checkpoint_sha256[:10].lower()
        got["Model hash"] = str(read.get("Model hash"))
    if inputs.lora_file:
        stem = Path(inputs.lora_file).stem
        expected["<lora:>"] = f"<lora:{stem}:{inputs.lora_weight:g}>"
        got["<lora:>"] = expected["<lora:>"] if expected["<lora:>"] in read["Prompt"] else read["Prompt"]
        # What A1111 writes: 12 digits of the AutoV3 Civitai lists, else the catalog's AutoV2.
        short = inputs.lora_autov3[:12] or inputs.lora_sha256[:10]
        if short:
            expected["Lora hashes"] = f"{stem}: {short.lower()}"
            got["Lora hashes"] = str(read.get("Lora hashes"))
        for word in inputs.trigger_words[:1]:
            expected["trigger word"] = word
            got["trigger word"] = word if word in read["Prompt"] else read["Prompt"]
    name, schedule = sampler(api.sampling_method).a1111
    forge_labels = architecture.export.a1111_schedules  # Forge's own (Flux: Simple), read as written
    meant = forge_labels.get(schedule, schedule) if forge_labels else _meant(api.sampling_method)
    expected["sampler"] = f"{name} / {meant}"
    got["sampler"] = read_pair(a1111, read.get("Sampler"), read.get("Schedule type"))
    return [Row(f"{label}: {key}", value, got[key]) for key, value in expected.items()]


def _meant(canonical: str) -> str:
    return KARRAS.strip() if canonical.endswith(KARRAS) else "Uniform"


def sampler_rows(a1111: A1111, base: ExportInputs) -> list[Row]:
    """Every sampler of our table that A1111 has, through the infotext and the API body."""
    rows = []
    for canonical in SAMPLERS:
        name, _ = sampler(canonical).a1111
        if name not in a1111.sampler_defaults:
            rows.append(Row(f"sampler {canonical}", f"{name} in A1111", "absent"))
            continue
        made = export_inputs(
            base.api.model_copy(update={"sampling_method": canonical}),
            _catalog_of_examples(),
            base.prompt,
            base.negative_prompt,
            seed=base.seed,
        )
        expected = f"{name} / {_meant(canonical)}"
        read = a1111.parse(export("a1111", made))
        rows.append(
            Row(
                f"sampler {canonical}",
                expected,
                read_pair(a1111, read.get("Sampler"), read.get("Schedule type")),
            )
        )
        body = export_object("a1111-api", made)
        assert isinstance(body, dict)
        # The API takes the pair as sent; fix_p_invalid_sampler_and_scheduler corrects it like this.
        sent = read_pair(a1111, body["sampler_name"], body["scheduler"], convert_automatic=False)
        rows.append(Row(f"api {canonical}", expected, sent))
    return rows


def _catalog_of_examples() -> Any:
    from tests.exports.examples import CATALOG

    return CATALOG


def example_answers() -> list[tuple[str, ExportInputs]]:
    """tests/exports/examples.py: one answer of each architecture and type A1111 / Forge load."""
    from tests.exports import examples

    return [
        ("SD 1.5 checkpoint", examples.checkpoint_inputs()),
        ("SD 1.5 LoRA, clip skip 2", examples.sd15_lora_inputs(trigger_words=["inkstyle"])),
        ("SDXL LoRA", examples.lora_inputs()),
        ("Pony checkpoint", examples.pony_inputs()),
        ("Flux.1 D checkpoint", examples.flux_checkpoint_inputs()),
        ("Flux.1 D LoRA", examples.flux_lora_inputs()),
    ]


def catalog_answers(catalog: Path, prompt: str) -> list[tuple[str, ExportInputs]]:
    """Real answers: `diffagent select` on a DABench, one per (base model, type) it answers."""
    from diffagent.catalog import load_catalog

    command = [sys.executable, "-m", "diffagent.cli", "select", "--catalog", str(catalog), prompt]
    printed = subprocess.run(
        [*command, "--top-k", "20"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded, picked = load_catalog(str(catalog)), {}
    from schemas.t2i import T2IApi

    for answer in json.loads(printed.stdout):
        api = T2IApi.model_validate(answer["api"])
        picked.setdefault((api.base_model, api.type), api)
    return [
        (f"DABench {base} {kind} ({api.model})", export_inputs(api, loaded, prompt, "lowres", seed=1234))
        for (base, kind), api in picked.items()
        if architecture_for(base).export.a1111
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--webui", type=Path, required=True, help="stable-diffusion-webui checkout")
    parser.add_argument("--catalog", type=Path, help="a DABench folder: also check its real answers")
    parser.add_argument("--prompt", default="a watercolor fox in the snow", help="the prompt for --catalog")
    args = parser.parse_args()
    a1111 = load_a1111(args.webui.resolve())
    answers = example_answers() + (catalog_answers(args.catalog, args.prompt) if args.catalog else [])
    rows = [row for label, made in answers for row in answer_rows(a1111, label, made, export("a1111", made))]
    rows += sampler_rows(a1111, answers[0][1])
    width = max(len(r.what) for r in rows), max(len(r.expected) for r in rows), max(len(r.read) for r in rows)
    print(f"{'answer / sampler':{width[0]}}  {'expected':{width[1]}}  {'A1111 read':{width[2]}}  ok")
    for row in rows:
        mark = "ok" if row.ok else "NO"
        print(f"{row.what:{width[0]}}  {row.expected:{width[1]}}  {row.read:{width[2]}}  {mark}")
    bad = [row for row in rows if not row.ok]
    print(f"{len(rows) - len(bad)} ok, {len(bad)} mismatched")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every sampler survives every export: A1111 reads the infotext (and takes the API body) as the
same sampler and schedule, ComfyUI gets the table's sampler_name + scheduler."""

from __future__ import annotations

import pytest

from diffagent.exports import export, export_inputs, export_object
from schemas.samplers import SAMPLERS, from_a1111, from_comfyui
from tests.exports.a1111_reader import effective_schedule, read_infotext, read_sampler
from tests.exports.examples import CATALOG, checkpoint_inputs, flux_checkpoint_inputs


def _with_sampler(made, sampler: str):
    api = made.api.model_copy(update={"sampling_method": sampler})
    return export_inputs(api, CATALOG, made.prompt, made.negative_prompt, seed=made.seed)


# (canonical name) -> (the infotext's sampler fields, what A1111 1.10's dropdowns show, the sigmas)
SD_EXPECTATIONS = {
    "DPM++ 2M": ("Sampler: DPM++ 2M, Schedule type: Uniform", ("DPM++ 2M", "Uniform"), "Uniform"),
    "DPM++ 2M Karras": ("Sampler: DPM++ 2M Karras", ("DPM++ 2M", "Automatic"), "Karras"),
    "DPM++ 2M SDE": ("Sampler: DPM++ 2M SDE, Schedule type: Uniform", ("DPM++ 2M SDE", "Uniform"), "Uniform"),
    "DPM++ 2M SDE Karras": ("Sampler: DPM++ 2M SDE Karras", ("DPM++ 2M SDE", "Karras"), "Karras"),
    "DPM2 a": ("Sampler: DPM2 a, Schedule type: Uniform", ("DPM2 a", "Uniform"), "Uniform"),
    "LMS Karras": ("Sampler: LMS Karras", ("LMS", "Karras"), "Karras"),
    "Euler a": ("Sampler: Euler a, CFG scale", ("Euler a", "Automatic"), "Uniform"),
    "DDIM": ("Sampler: DDIM, CFG scale", ("DDIM", "Automatic"), "Uniform"),
}


@pytest.mark.parametrize("sampler", sorted(SD_EXPECTATIONS))
def test_a1111_reads_these_samplers_back_as_written_by_hand(sampler):
    text, shown, sigmas = SD_EXPECTATIONS[sampler]
    infotext = export("a1111", _with_sampler(checkpoint_inputs(), sampler))
    assert text in infotext
    read = read_sampler(read_infotext(infotext))
    assert read == shown and effective_schedule(*read) == sigmas


def test_a1111_reads_every_sampler_back_as_the_same_sampler_and_schedule():
    for sampler in SAMPLERS:
        made = _with_sampler(checkpoint_inputs(), sampler)
        read = read_sampler(read_infotext(export("a1111", made)))
        body = export_object("a1111-api", made)
        sent = read_sampler({"Sampler": body["sampler_name"], "Schedule type": body["scheduler"]})
        assert from_a1111(*read) == sampler == from_a1111(*sent), (sampler, read, sent)
        assert effective_schedule(*read) == effective_schedule(*sent), sampler


def test_forge_reads_flux_samplers_with_the_simple_schedule():
    read = read_sampler(read_infotext(export("a1111", flux_checkpoint_inputs())))
    assert read == ("Euler", "Simple")
    karras = read_sampler(
        read_infotext(export("a1111", _with_sampler(flux_checkpoint_inputs(), "DPM++ 2M Karras")))
    )
    assert karras == ("DPM++ 2M", "Automatic") and effective_schedule(*karras) == "Karras"
    for sampler in SAMPLERS:
        made = _with_sampler(flux_checkpoint_inputs(), sampler)
        assert from_a1111(*read_sampler(read_infotext(export("a1111", made)))) == sampler


@pytest.mark.parametrize("inputs", [checkpoint_inputs, flux_checkpoint_inputs])
def test_comfyui_gets_every_sampler_as_its_own_pair(inputs):
    for sampler in SAMPLERS:
        workflow = export_object("comfyui", _with_sampler(inputs(), sampler))
        node = next(n["inputs"] for n in workflow.values() if n["class_type"] == "KSampler")
        assert from_comfyui(node["sampler_name"], node["scheduler"]) == sampler
    workflow = export_object("comfyui", _with_sampler(checkpoint_inputs(), "DPM++ 2M"))
    node = next(n["inputs"] for n in workflow.values() if n["class_type"] == "KSampler")
    assert (node["sampler_name"], node["scheduler"]) == ("dpmpp_2m", "normal")

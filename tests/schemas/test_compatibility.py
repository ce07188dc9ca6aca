"""Compatibility as a hard rule (issue 25, item 2): a LoRA is answered only with a checkpoint its
network loads, ranked by Civitai's ecosystems; every Civitai base-model name has an architecture or
a named reason it is out of scope (item 1)."""

from __future__ import annotations

import pytest

from diffagent.agent.grammar import AnswerGrammar
from diffagent.answers import assemble_api, repair_base
from diffagent.catalog import Catalog
from diffagent.dabench.derive import FilterParams, version_reject
from diffagent.exports.inputs import export_inputs
from diffagent.retriever.params import voted_base
from schemas.base_models import CIVITAI_NAMES, civitai_name, out_of_scope, scope_of
from schemas.civitai import ModelVersion
from schemas.compatibility import compatibility, compatibility_note, lora_bases
from schemas.t2i import T2IApi
from tests.rrhf.conftest import catalog_entry

PARAMS = {"width": 1024, "height": 1024, "sampling_method": "Euler a", "sampling_steps": 20, "cfg_scale": 7.0}


def test_civitai_names_map_to_an_architecture_or_a_reason() -> None:
    assert len(CIVITAI_NAMES) == 99  # basemodel.constants.ts's baseModelRecords, 2026-08
    assert scope_of("Illustrious") == "sdxl"
    assert scope_of("Flux.1 S") == "flux"
    assert scope_of("Wan Video 14B t2v").startswith("out of scope: video")
    assert out_of_scope("ACE Audio").kind == "audio"
    assert out_of_scope("Flux.1 Kontext").kind == "edit_only"
    assert out_of_scope("Nano Banana").kind == "api_only"
    assert out_of_scope("SD 2.1 768").reject_reason == "out_of_scope_unsupported_family"
    assert out_of_scope("SD 3.5").kind == "ambiguous"
    assert out_of_scope("Made Up 9").kind == "unknown"
    assert (civitai_name("Illustrious").ecosystem, civitai_name("Illustrious").parent) == (
        "Illustrious",
        "SDXL",
    )
    assert civitai_name("Pony V7").parent == "AuraFlow"
    assert civitai_name("Flux.2 Klein 4B").parent == "Flux2"
    with pytest.raises(ValueError, match="'Made Up 9'"):
        civitai_name("Made Up 9")


def test_dabench_rejects_out_of_scope_versions_with_their_reason() -> None:
    def reject(base_model: str):
        version = ModelVersion.model_validate({"id": 5, "baseModel": base_model, "files": []})
        return version_reject(version, FilterParams())

    assert reject("Wan Video 14B t2v") == (
        "availability",
        "out_of_scope_video",
        "Wan Video 14B t2v: a video model; DiffAgent answers with an image",
    )
    assert reject("ACE Audio")[1] == "out_of_scope_audio"
    assert reject("Not A Civitai Name") == ("availability", "base_model", "Not A Civitai Name")
    # A base model the table renders but the build leaves out is no scope question.
    version = ModelVersion.model_validate({"id": 5, "baseModel": "Pony", "files": []})
    assert version_reject(version, FilterParams(base_models=("SD 1.5",)))[1] == "base_model"


def test_an_illustrious_lora_ranks_illustrious_then_noobai_then_sdxl() -> None:
    bases = lora_bases("Illustrious")
    assert bases[:2] == ("Illustrious", "NoobAI")
    assert set(bases[2:]) == {"SDXL 1.0", "SDXL 0.9", "Pony"}
    assert compatibility("Illustrious", "NoobAI") == "close"
    assert compatibility("Illustrious", "Pony") == "partial"
    assert compatibility("SD 1.4", "SD 1.5") == "same"
    assert compatibility("SD 1.5", "SDXL 1.0") is None
    assert compatibility("Flux.1 D", "Pony") is None
    assert compatibility("Flux.1 D", "Flux.1 Krea") == "partial"  # Civitai: Flux1 <-> FluxKrea
    # One Civitai ecosystem (SD3), two networks: SD 3's 2B MMDiT and SD 3.5 Large's 8B.
    assert compatibility("SD 3.5 Large Turbo", "SD 3.5 Large") == "same"
    assert compatibility("SD 3", "SD 3.5 Large") is None
    assert compatibility("SD 3.5 Medium", "SD 3.5 Large") is None
    assert compatibility_note("Pony", "SDXL 1.0").startswith(
        "partial: LoRA for Pony on SDXL 1.0 (Civitai: partial support)"
    )
    with pytest.raises(ValueError, match="a LoRA for SD 1.5 cannot run on a checkpoint of Pony"):
        compatibility_note("SD 1.5", "Pony")


CATALOG = Catalog.from_entries(
    [
        catalog_entry("sdxl_base_ft", 1, "Checkpoint", "SDXL 1.0", downloads=900),
        catalog_entry("pony_ckpt", 2, "Checkpoint", "Pony", downloads=800),
        catalog_entry("noob_ckpt", 3, "Checkpoint", "NoobAI", downloads=300),
        catalog_entry("ill_ckpt", 4, "Checkpoint", "Illustrious", downloads=200),
        catalog_entry("sd15_ckpt", 5, "Checkpoint", "SD 1.5", downloads=50),
        catalog_entry("ill_lora", 6, "LORA", "Illustrious"),
        catalog_entry("sd15_lora", 7, "LORA", "SD 1.5"),
        catalog_entry("flux_lora", 8, "LORA", "Flux.1 D"),
    ]
)


def test_an_illustrious_lora_gets_an_illustrious_checkpoint_first() -> None:
    # Not the most downloaded SDXL checkpoint: its own line, then NoobAI, then the partial ones.
    assert CATALOG.base_checkpoints_for("ill_lora") == ["ill_ckpt", "noob_ckpt", "sdxl_base_ft", "pony_ckpt"]
    assert repair_base(CATALOG, "ill_lora", None) == ("ill_ckpt", True)
    assert repair_base(CATALOG, "ill_lora", "pony_ckpt") == ("pony_ckpt", False)  # loads: kept
    api = assemble_api({"model": "ill_lora", "base_checkpoint": "noob_ckpt", **PARAMS}, CATALOG)
    assert api.compatibility.startswith(
        "close: LoRA for Illustrious on NoobAI, a line trained from Illustrious"
    )
    assert CATALOG.base_levels("ill_lora") == {
        "ill_ckpt": 0,
        "noob_ckpt": 1,
        "sdxl_base_ft": 2,
        "pony_ckpt": 2,
    }
    # The samples voted Pony more, but the LoRA's own line wins; bases it cannot load never count.
    votes = [("pony_ckpt", 0.9), ("ill_ckpt", 0.3), ("sd15_ckpt", 5.0)]
    assert voted_base(votes, CATALOG.base_levels("ill_lora")) == "ill_ckpt"
    assert voted_base([("sd15_ckpt", 1.0)], CATALOG.base_levels("ill_lora")) is None


def test_a_lora_of_another_family_is_refused_with_both_names() -> None:
    grammar = AnswerGrammar(CATALOG)
    assert "sd15_ckpt" not in grammar.base_checkpoints("ill_lora")
    assert grammar.base_checkpoints("sd15_lora") == ("sd15_ckpt",)
    with pytest.raises(ValueError, match="a LoRA for SD 1.5 cannot run on a checkpoint of Pony"):
        assemble_api({"model": "sd15_lora", "base_checkpoint": "pony_ckpt", **PARAMS}, CATALOG)
    api = T2IApi(model="sd15_lora", type="LORA", base_model="SD 1.5", base_checkpoint="ill_ckpt",
                 model_id=7, version_id=70, **PARAMS)  # fmt: skip
    with pytest.raises(
        ValueError,
        match="'sd15_lora' on 'ill_ckpt'.*LoRA for SD 1.5 cannot run on a checkpoint of Illustrious",
    ):
        export_inputs(api, CATALOG, "a cat")


def test_a_lora_with_no_loadable_checkpoint_is_not_selectable_and_says_why() -> None:
    assert "flux_lora" not in CATALOG.selectable and "flux_lora" not in AnswerGrammar(CATALOG).models
    assert CATALOG.unselectable == {
        "flux_lora": "LoRA 'flux_lora' (Flux.1 D) has no Checkpoint in the catalog to run on; "
        "it runs on base models: Flux.1 D, Flux.1 S, Flux.1 Krea"
    }

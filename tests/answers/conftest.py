"""A five-entry catalog: two SD 1.5 Checkpoints, an SD 1.5 LoRA, an SDXL Checkpoint and an SDXL
LoRA; the SD 1.5 LoRA's samples were made on the less downloaded Checkpoint."""

from __future__ import annotations

import pytest

from diffagent.catalog import Catalog, SampleSettings
from tests.rrhf.conftest import catalog_entry


def make_catalog(samples: bool = True) -> Catalog:
    catalog = Catalog.from_entries(
        [
            catalog_entry("dreamshaper_8", 1, "Checkpoint", "SD 1.5", downloads=900),
            catalog_entry("realistic_vision", 2, "Checkpoint", "SD 1.5", downloads=500),
            catalog_entry("pixel_art_lora", 3, "LORA", "SD 1.5"),
            catalog_entry("juggernaut_xl", 4, "Checkpoint", "SDXL 1.0"),
            catalog_entry("neon_xl_lora", 5, "LORA", "SDXL 1.0"),
        ]
    )
    if samples:
        catalog.sample_settings["pixel_art_lora"] = SampleSettings(
            512, 768, "DPM++ 2M Karras", 28, 6.5, base_checkpoint="realistic_vision"
        )
    return catalog


@pytest.fixture
def catalog() -> Catalog:
    return make_catalog()

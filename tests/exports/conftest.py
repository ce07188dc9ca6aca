from __future__ import annotations

import pytest

from diffagent.exports.architecture_facts import EXPORT_FACTS


@pytest.fixture(autouse=True)
def _no_config_folders(monkeypatch):
    """Exports read render's DIFFAGENT_*_CONFIG settings (the render tests set them for the whole
    session): the expectations here are for none set, unless a test sets one."""
    for facts in EXPORT_FACTS.values():
        monkeypatch.delenv(facts.config_setting, raising=False)

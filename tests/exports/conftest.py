from __future__ import annotations

import pytest

from schemas.architectures import BASE_MODELS, config_variable


@pytest.fixture(autouse=True)
def _no_config_folders(monkeypatch):
    """Exports read render's DIFFAGENT_*_CONFIG settings (the render tests set them for the whole
    session): the expectations here are for none set, unless a test sets one."""
    for base_model in BASE_MODELS:
        monkeypatch.delenv(config_variable(base_model), raising=False)

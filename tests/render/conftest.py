from __future__ import annotations

import pytest
import torch

from schemas.t2i import T2IApi


@pytest.fixture(scope="session", autouse=True)
def _few_threads():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_pipelines(tmp_path_factory):
    """The tiny pipelines, named as every base model's config folder through the environment
    (DIFFAGENT_SD15_CONFIG, ..., DIFFAGENT_FLUX_SCHNELL_CONFIG), which is how RenderSettings finds
    them for single-file loads."""
    import os

    from diffagent.tiny.diffusion import write_tiny_pipelines
    from diffagent.tiny.files import PIPELINE_FOLDERS
    from schemas.architectures import BASE_MODELS, architecture_of, config_setting

    out = tmp_path_factory.mktemp("tiny-diffusion")
    write_tiny_pipelines(out)
    names = {  # DIFFAGENT_SD15_CONFIG: sd15, ..., DIFFAGENT_FLUX_SCHNELL_CONFIG: flux
        f"DIFFAGENT_{config_setting(name).upper()}": PIPELINE_FOLDERS[architecture_of(name)]
        for name in BASE_MODELS
    }
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: str(out / folder) for name, folder in names.items()})
    yield out
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def tiny_store(tiny_pipelines, tmp_path_factory):
    from diffagent.store.tiny_store import TinyModelStore

    return TinyModelStore(tiny_pipelines, tmp_path_factory.mktemp("tiny-store"))


def make_api(
    version_id=101, type_="Checkpoint", base_model="SD 1.5", base_id=None, sampler="Euler a", steps=2, **kw
):
    fields = dict(
        model=f"model-{version_id}",
        type=type_,
        base_model=base_model,
        base_checkpoint=f"base-{base_id}" if base_id else None,
        width=256,
        height=256,
        sampling_method=sampler,
        sampling_steps=steps,
        cfg_scale=7.0,
        model_id=version_id * 10,
        version_id=version_id,
        base_checkpoint_version_id=base_id,
    )
    fields.update(kw)
    return T2IApi(**fields)

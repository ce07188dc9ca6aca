from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(scope="session", autouse=True)
def _few_threads():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_scorer_dir(tmp_path_factory):
    from diffagent.tiny.scorers import write_tiny_scorers

    out = tmp_path_factory.mktemp("tiny-scorers")
    write_tiny_scorers(out)
    return out


@pytest.fixture(scope="session")
def images():
    return [
        Image.fromarray((np.random.RandomState(i).rand(48, 40, 3) * 255).astype("uint8")) for i in range(3)
    ]


PROMPTS = ["a cat on a mat", "a dog in the rain", "portrait of an old man, oil painting"]

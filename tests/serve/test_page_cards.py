"""The page's cards: one per Civitai model (other versions listed on it), and a LoRA's strength
and trigger words shown as the exports use them."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from diffagent.serve import create_app
from diffagent.serve.page import one_per_model


def selection(model_id: int, version_id: int) -> SimpleNamespace:
    return SimpleNamespace(api=SimpleNamespace(model_id=model_id, version_id=version_id))


def test_one_card_per_model_keeps_the_best_version_first() -> None:
    """Answers (model, version) 7/71, 7/72, 9/90, 7/73, none: model 7's best version 71 with 72 and
    73 listed, then model 9."""
    answers = [
        selection(7, 71),
        selection(7, 72),
        selection(9, 90),
        selection(7, 73),
        SimpleNamespace(api=None),
    ]
    groups = one_per_model(answers)
    assert [(best.api.version_id, [o.api.version_id for o in others]) for best, others in groups] == [
        (71, [72, 73]),
        (90, []),
    ]


def test_a_lora_card_shows_its_strength_and_trigger_words(retrieval_agent) -> None:
    with TestClient(create_app(retrieval_agent)) as client:
        page = client.get("/", params={"prompt": "pixel art knight, 8-bit retro sprite", "top_k": "3"})
    assert page.status_code == 200
    cards = page.text.split('<li class="card"')[1:]
    assert len(cards) == 3
    titles = [card.split("</h3>")[0] for card in cards]
    assert len(set(titles)) == 3  # three models, not versions of one
    lora = next(card for card in cards if "Pixel Art XL" in card.split("</h3>")[0])
    assert "<dt>LoRA strength</dt><dd>1</dd>" in lora and "<dt>Trigger words</dt>" in lora

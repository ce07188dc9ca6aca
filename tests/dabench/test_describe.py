"""Description reconstruction: the LLM path on loopback, its cache, and the offline fallback."""

from __future__ import annotations

from pydantic import SecretStr

from diffagent.dabench.describe import DescriptionInputs, LLMConfig, fallback_description
from diffagent.storage import ArtifactStore
from tests.dabench.conftest import build
from tests.dabench.contract import check_contract, read
from tests.llm_server import ChatServer


def test_llm_descriptions_are_cached_so_a_rerun_makes_no_call(sample_server, tmp_path, caplog):
    store = ArtifactStore(str(tmp_path))
    with ChatServer() as llm_server:
        llm = LLMConfig(llm_server.base_url, "test-model", SecretStr("llm-key-123"), concurrency=3)
        results = build(store, sample_server.url, llm=llm)
        catalog = read(tmp_path, "catalog.parquet")
        assert results["describe"]["counts"]["llm_calls"] == len(catalog) == llm_server.calls
        assert (catalog["description_source"] == "llm").all()
        assert catalog["model_description"].str.contains("images").all()
        assert set(llm_server.authorizations) == {"Bearer llm-key-123"}

        # Same inputs: the stage is Cached; forced to recompute, every answer comes from the cache.
        assert build(store, sample_server.url, llm=llm)["describe"]["cached"]
        again = build(store, sample_server.url, llm=llm, refresh=True)["describe"]
        assert llm_server.calls == len(catalog) and not again["cached"]
        assert again["counts"]["llm_calls"] == 0 and again["counts"]["cache_hits"] == len(catalog)
    assert read(tmp_path, "catalog.parquet").equals(catalog)
    check_contract(tmp_path)
    assert "llm-key-123" not in caplog.text


def test_a_failing_llm_falls_back_and_is_counted(sample_server, tmp_path):
    with ChatServer(fail_first=10**6) as llm_server:
        llm = LLMConfig(llm_server.base_url, "test-model", max_attempts=2)
        results = build(ArtifactStore(str(tmp_path)), sample_server.url, llm=llm)
    catalog = read(tmp_path, "catalog.parquet")
    assert (catalog["description_source"] == "fallback").all()
    assert results["describe"]["counts"]["llm_failures"] == len(catalog)


def test_fallback_description_is_built_from_the_inputs():
    inputs = DescriptionInputs(
        "PixelForge",
        "v1.0",
        "LORA",
        "SD 1.5",
        "Makes pixel art. Loves sprites.",
        ("pixel art",),
        ("pxf",),
        ("a corgi, pixel art",),
    )
    text = fallback_description(inputs)
    assert text == (
        "PixelForge (v1.0) is a SD 1.5 LoRA. Makes pixel art. Loves sprites. Tags: pixel art. "
        "Trigger words: pxf. Example prompts: a corgi, pixel art."
    )
    empty = DescriptionInputs("X", "", "Checkpoint", "SDXL 1.0", "", (), (), ())
    assert fallback_description(empty) == "X is a SDXL 1.0 checkpoint."


def test_offline_descriptions_drop_creator_promotion() -> None:
    from diffagent.dabench.describe import without_promotion

    text = (
        "Anime style LoRA for clean line art. Support me on Patreon!\n"
        "My links: discord.gg/abc. Check https://civitai.com/user/x for more. Works best at 0.8."
    )
    assert without_promotion(text) == "Anime style LoRA for clean line art. Works best at 0.8."
    assert without_promotion("Buy me a coffee at ko-fi.com/me") == ""

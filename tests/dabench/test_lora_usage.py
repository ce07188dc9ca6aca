"""A LoRA image's weight and trigger words, read before its tags are stripped (worked by hand)."""

from __future__ import annotations

from diffagent.dabench.lora_usage import image_lora_weight, lora_tags, used_trigger_words


def test_lora_tags_read_name_and_first_weight() -> None:
    prompt = "<lora:Pixel_Art:0.8>, a fox, <lyco:detail:0.3:0.5>, <lora:bare>, <lora:odd:x>"
    assert lora_tags(prompt) == [("Pixel_Art", 0.8), ("detail", 0.3), ("bare", None), ("odd", None)]


def test_the_weight_comes_from_what_names_this_version() -> None:
    stems = ["PixelArt_v1501"]
    # Civitai's generator names the version itself.
    civitai = [{"type": "lora", "modelVersionId": 1501, "weight": 0.65}]
    assert image_lora_weight("<lora:other:0.3>", 1501, stems, civitai_resources=civitai) == 0.65
    # A1111's tag names the file (a renamed one too: no version suffix, other punctuation).
    prompt = "<lora:Pixel_Art:0.8>, a fox, <lyco:detail:0.3>"
    assert image_lora_weight(prompt, 1501, stems) == 0.8
    assert image_lora_weight("<lora:PixelArt_v1501>, a fox, <lora:x:0.2>", 1501, stems) == 1.0
    # Its `resources` list names the file when the tag is gone.
    resources = [{"type": "lora", "name": "pixelart_v1501", "weight": "0.7"}]
    assert image_lora_weight("a fox", 1501, stems, resources=resources) == 0.7
    # A single tag is this LoRA's; two tags naming other files say nothing; no tag says nothing.
    assert image_lora_weight("<lora:renamed:1.2>, a fox", 1501, stems) == 1.2
    assert image_lora_weight("<lora:aaaa:1.2>, <lora:bbbb:0.4>", 1501, stems) is None
    assert image_lora_weight("a fox", 1501, stems) is None


def test_trigger_words_are_the_trained_words_the_prompt_used() -> None:
    trained = ["pxart, 8bit", "isometric_rooms", "fox"]
    prompt = "PXART, a foxy room, 8bit style"
    # Comma lists split; case ignored; whole words only ("foxy" is not "fox").
    assert used_trigger_words(prompt, trained) == ["pxart", "8bit"]
    assert used_trigger_words("isometric_rooms interior", trained) == ["isometric_rooms"]
    assert used_trigger_words("", trained) == []


def test_a_build_keeps_each_lora_image_s_use_and_answers_hand_it_on(sample_build) -> None:
    """The bundled sample's LoRA images say `<lora:Stem:0.8>` (the crowd sketch LoRA's
    `<lora:crowd_sketch:0.7>`): the pairs keep those weights (their prompts
    stay stripped), and a retrieval answer naming a LoRA carries that strength and its trained
    word, which its A1111 infotext writes into the prompt and the LoRA tag."""
    import pandas as pd

    from diffagent.agent.selector import load_agent
    from diffagent.exports import export, export_inputs

    out, _ = sample_build
    pairs = pd.read_parquet(out / "instructions.parquet")
    loras = pairs[pairs["type"] == "LORA"]
    assert len(loras) > 0 and set(loras["lora_weight"].dropna()) == {0.8, 0.7}
    sketch = loras[loras["model"].str.contains("Crowd Sketch")]
    assert len(sketch) > 0 and set(sketch["lora_weight"]) == {0.7}
    assert not pairs["prompt"].str.contains("<lora:").any()
    assert pairs[pairs["type"] == "Checkpoint"]["lora_weight"].isna().all()

    agent = load_agent(None, out)
    row = loras[loras["lora_weight"] == 0.8].iloc[0]
    prompt = row["prompt"]
    [answers] = agent.select([{"prompt": prompt, "negative_prompt": ""}], top_k=50, selector="retrieval")
    api = next(a.api for a in answers if a.api is not None and a.api.model == row["model"])
    entry = agent.catalog[api.model]
    assert api.lora_weight == 0.8 and api.trigger_words == list(entry.trained_words)
    infotext = export("a1111", export_inputs(api, agent.catalog, prompt))
    first_line = infotext.splitlines()[0]
    assert ":0.8>" in first_line and entry.trained_words[0] in first_line

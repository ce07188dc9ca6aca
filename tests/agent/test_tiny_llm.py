"""The tiny LLM folder loads like real weights and its tokenizer covers any text."""

from __future__ import annotations


def test_tiny_llm_loads_with_auto_classes(tiny_llm):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llm)
    model = AutoModelForCausalLM.from_pretrained(tiny_llm)
    assert model.config.hidden_size == 64 and model.config.num_hidden_layers == 2
    assert 256 < len(tokenizer) <= 600
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|user|>\nhi<|end|>\n<|assistant|>\n"
    for sample in ("Ölgemälde 夜の東京 🐉", '{"cfg_scale": 7.5}'):
        assert tokenizer.decode(tokenizer.encode(sample, add_special_tokens=False)) == sample

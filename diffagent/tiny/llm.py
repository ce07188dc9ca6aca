"""A tiny random-weight causal LM with a real byte-level BPE tokenizer and a chat template.

`write_tiny_llm(out)` writes a folder that `AutoModelForCausalLM` / `AutoTokenizer` load exactly like
real weights, so the agent's code paths (SFT, constrained decoding, serving) run unchanged in tests.
The tokenizer is trained in-process on a small built-in corpus (JSON keys, sampler names, digits,
prompt words): a few hundred tokens, every byte reachable, so any prompt in any script encodes.
"""

from __future__ import annotations

from pathlib import Path

# The same role markers a chat model uses; the template is stored in tokenizer_config.json.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]


def _corpus() -> list[str]:
    """Text the BPE merges are learned from: the answer's JSON skeleton and prompt-like words."""
    from schemas.t2i import MODEL_TYPES, SAMPLERS

    keys = '{"model": "x", "type": "LORA", "base_model": "SD 1.5", "base_checkpoint": null, '
    keys += (
        '"width": 512, "height": 768, "sampling_method": "Euler a", "sampling_steps": 30, "cfg_scale": 7.5}'
    )
    words = (
        "masterpiece best quality portrait of a girl photo realistic anime landscape city night "
        "cinematic lighting detailed fantasy dragon castle forest ocean style painting woman man "
        "Prompt Negative prompt worst quality low quality blurry Realistic Vision DreamShaper"
    )
    numbers = " ".join(str(n) for n in range(0, 2049, 8))
    # The base model names stay the first two: byte-level BPE encodes any name, and a fixed corpus
    # keeps the tiny LLM (and what tests built on it expect) the same as the catalog grows.
    base_models = "SD 1.5 SDXL 1.0"
    return [keys, words, numbers, " ".join(SAMPLERS), base_models, " ".join(MODEL_TYPES)] * 20


def write_tiny_llm(out: Path, vocab_size: int = 512, seed: int = 0) -> Path:
    """Write a tiny LlamaForCausalLM (hidden 64, 2 layers) plus its tokenizer to `out`; returns `out`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: no unknown tokens
        show_progress=False,
    )
    backend.train_from_iterator(_corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<|pad|>",
        bos_token="<|bos|>",
        eos_token="<|eos|>",
        additional_special_tokens=["<|end|>", "<|system|>", "<|user|>", "<|assistant|>"],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    LlamaForCausalLM(config).save_pretrained(out)
    return out

"""Tiny Qwen-family text encoders and their tokenizer, for the families that encode prompts with an
LLM: Z-Image and Flux.2 Klein (Qwen3), Qwen-Image (Qwen2.5-VL).

The tokenizer is a `Qwen2TokenizerFast` (the class those pipelines load) over a byte-level BPE
vocabulary of every byte and no merges, with Qwen's special tokens and a ChatML chat template
(the pipelines format prompts with `apply_chat_template`), so any prompt encodes and nothing is
downloaded.
"""

from __future__ import annotations

QWEN_HIDDEN = 32
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
# ChatML as Qwen's templates write it; `enable_thinking` (Z-Image, Klein pass it) changes nothing here.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_qwen_tokenizer():
    """A Qwen2TokenizerFast: 256 byte tokens, Qwen's special tokens, a ChatML chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import Qwen2TokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {char: index for index, char in enumerate(alphabet)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    tokenizer = Qwen2TokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def qwen3_config(vocab_size: int, hidden: int = QWEN_HIDDEN, layers: int = 2):
    """A Qwen3 config at tiny widths; `layers` as deep as the pipeline's hidden-state taps need."""
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=hidden // 4,
        max_position_embeddings=1024,
        tie_word_embeddings=False,
    )

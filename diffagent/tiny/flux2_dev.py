"""A tiny FLUX.2 [dev]-shaped Flux2Pipeline: the Flux.2 transformer with its guidance embedding
(Flux.2 D is guidance-distilled), a Mistral3ForConditionalGeneration text encoder (Mistral Small
3.2's LLM, as deep as the pipeline's hidden-state taps 10, 20 and 30, beside a one-block Pixtral
vision tower) and its PixtralProcessor: a byte-level BPE tokenizer with Mistral's control tokens
and a chat template for the system + user messages the pipeline sends. Transformer file and LoRA
layouts are Klein's (`tiny.flux2`): BFL's names, ai-toolkit's LoRA keys."""

from __future__ import annotations

import torch

from diffagent.tiny.diffusion import TINY_SEED
from diffagent.tiny.flux2 import flux2_scheduler, flux2_transformer, tiny_flux2_vae

MISTRAL_HIDDEN, MISTRAL_LAYERS = 32, 31  # Flux.2 D stacks hidden states 10, 20 and 30
CONTROL_TOKENS = ("[INST]", "[/INST]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]")
CONTROL_TOKENS += ("[IMG]", "[IMG_BREAK]", "[IMG_END]")
SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>", *CONTROL_TOKENS)
# Mistral's instruct format for messages whose content is a list of typed parts (what Flux.2 sends).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}[SYSTEM_PROMPT]{% else %}[INST]{% endif %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}"
    "{% if message['role'] == 'system' %}[/SYSTEM_PROMPT]{% else %}[/INST]{% endif %}"
    "{% endfor %}"
)


def build_pixtral_processor():
    """A PixtralProcessor over a byte-level BPE vocabulary (Mistral's special tokens, every byte)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PixtralImageProcessor, PixtralProcessor, PreTrainedTokenizerFast

    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for char in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(CONTROL_TOKENS)})
    return PixtralProcessor(
        image_processor=PixtralImageProcessor(),
        tokenizer=tokenizer,
        patch_size=14,
        spatial_merge_size=2,
        chat_template=CHAT_TEMPLATE,
    )


def mistral3_config(vocab_size: int):
    from transformers import Mistral3Config

    text = {
        "model_type": "mistral",
        "vocab_size": vocab_size,
        "hidden_size": MISTRAL_HIDDEN,
        "intermediate_size": 2 * MISTRAL_HIDDEN,
        "num_hidden_layers": MISTRAL_LAYERS,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": MISTRAL_HIDDEN // 4,
        "max_position_embeddings": 1024,
    }
    vision = {
        "model_type": "pixtral",
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "head_dim": 8,
        "patch_size": 14,
        "image_size": 56,
    }
    image_token = SPECIAL_TOKENS.index("[IMG]")
    return Mistral3Config(text_config=text, vision_config=vision, image_token_index=image_token)


def build_tiny_flux2_dev(tokenizer_dir=None):
    """A Flux2Pipeline with FLUX.2 [dev]'s component classes and tiny widths (`tokenizer_dir`
    unused: the processor is built in-process)."""
    from diffusers import Flux2Pipeline
    from transformers import Mistral3ForConditionalGeneration

    torch.manual_seed(TINY_SEED + 7)
    processor = build_pixtral_processor()
    return Flux2Pipeline(
        scheduler=flux2_scheduler(),
        vae=tiny_flux2_vae(),
        text_encoder=Mistral3ForConditionalGeneration(mistral3_config(len(processor.tokenizer))),
        tokenizer=processor,
        transformer=flux2_transformer(MISTRAL_HIDDEN, heads=2, guidance=True),
    )

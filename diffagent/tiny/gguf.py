"""The tiny LLM (`tiny.llm`) as a GGUF file: the same weights and tokenizer in llama.cpp's format, so
the GGUF path of `agent.base_model` runs on a file of a few hundred kilobytes in tests.

Written with the `gguf` package as llama.cpp lays a Llama out: float32 tensors under llama.cpp's
names (the `gguf` package's own name map), the query and key projections in llama.cpp's rotary
order, and the byte-level BPE tokenizer as the metadata transformers' GGUF loader reads back
(`tokenizer.ggml.model` "gpt2": tokens, token types, merges, special ids, chat template).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def llama_cpp_rotary_order(weight: np.ndarray, heads: int) -> np.ndarray:
    """A q or k projection [heads * head_dim, hidden] in llama.cpp's order: within each head, the
    two rotary halves are interleaved (transformers undoes this when it loads a GGUF)."""
    rows = weight.shape[0] // heads // 2
    return weight.reshape(heads, 2, rows, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _tokenizer_metadata(folder: Path) -> tuple[list[str], list[int], list[str], Any]:
    """(tokens by id, token types, merges as "a b", the tokenizer) of a saved byte-level BPE."""
    from gguf import TokenType
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(folder)
    backend = json.loads(loaded.backend_tokenizer.to_str())
    vocab: dict[str, int] = dict(backend["model"]["vocab"])
    special = set()
    for added in backend.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
        if added.get("special"):
            special.add(added["content"])
    tokens = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
    if [vocab[t] for t in tokens] != list(range(len(tokens))):
        raise ValueError(f"the tokenizer in {folder} has gaps in its ids: GGUF lists tokens by position")
    types = [int(TokenType.CONTROL if t in special else TokenType.NORMAL) for t in tokens]
    merges = [m if isinstance(m, str) else " ".join(m) for m in backend["model"]["merges"]]
    return tokens, types, merges, loaded


def write_tiny_gguf(llm_folder: Path, out: Path) -> Path:
    """Write the Llama in `llm_folder` (`write_tiny_llm`'s output) as the GGUF file `out`; returns `out`."""
    import gguf
    from safetensors.numpy import load_file

    llm_folder, out = Path(llm_folder), Path(out)
    config = json.loads((llm_folder / "config.json").read_text())
    if config.get("model_type") != "llama":
        raise ValueError(f"{llm_folder} holds a {config.get('model_type')!r} model; only llama is written")
    tokens, types, merges, tokenizer = _tokenizer_metadata(llm_folder)
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    layers = config["num_hidden_layers"]

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(out, "llama")
    writer.add_name(llm_folder.name)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(layers)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(config["hidden_size"] // heads)
    writer.add_rope_freq_base(float(config.get("rope_theta") or config["rope_parameters"]["rope_theta"]))
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_vocab_size(config["vocab_size"])

    writer.add_tokenizer_model("gpt2")  # llama.cpp's name for byte-level BPE
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokenizer.bos_token_id)
    writer.add_eos_token_id(tokenizer.eos_token_id)
    writer.add_pad_token_id(tokenizer.pad_token_id)
    writer.add_add_bos_token(False)  # the tiny tokenizer adds no BOS; encode_prompt adds it
    writer.add_chat_template(tokenizer.chat_template)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, layers)
    for hf_name, weight in load_file(llm_folder / "model.safetensors").items():
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ValueError(f"no llama.cpp name for tensor {hf_name!r} of {llm_folder}")
        weight = weight.astype(np.float32)
        if hf_name.endswith("q_proj.weight"):
            weight = llama_cpp_rotary_order(weight, heads)
        elif hf_name.endswith("k_proj.weight"):
            weight = llama_cpp_rotary_order(weight, kv_heads)
        writer.add_tensor(name, np.ascontiguousarray(weight))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out

"""Civitai's AutoV3 of a .safetensors file: the SHA256 of its tensor data, without the header.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON header, then the
tensors. Editing the header (metadata) leaves this hash alone, which is why A1111's Lora extension
uses it: it writes the first 12 hex digits into `Lora hashes` (unless the file's metadata carries
`sshs_model_hash`), and Civitai keeps the full hash among a file's hashes as AutoV3.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HEADER_LENGTH_BYTES = 8
A1111_SHORT_HASH_CHARS = 12  # what A1111 writes for a LoRA in `Lora hashes`
CHUNK_BYTES = 1 << 20


def autov3(path: str | Path) -> str:
    """The lower-case hex SHA256 of everything after the safetensors header of `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        length_bytes = file.read(HEADER_LENGTH_BYTES)
        if len(length_bytes) < HEADER_LENGTH_BYTES:
            raise ValueError(f"{path} is no safetensors file: {len(length_bytes)} bytes, no header length")
        header_length = int.from_bytes(length_bytes, "little")
        file.seek(HEADER_LENGTH_BYTES + header_length)
        for chunk in iter(lambda: file.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def a1111_lora_hash(path: str | Path) -> str:
    """The hash A1111 writes for a .safetensors LoRA in `Lora hashes`: AutoV3's first 12 digits."""
    return autov3(path)[:A1111_SHORT_HASH_CHARS]

"""AutoV3 on files small enough to work out by hand."""

from __future__ import annotations

import pytest

from diffagent.store.autov3 import a1111_lora_hash, autov3

# SHA256("abc") and SHA256(""), the FIPS 180-2 test vectors.
SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
SHA256_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_hashes_the_bytes_after_the_header(tmp_path):
    path = tmp_path / "tiny.safetensors"
    path.write_bytes((2).to_bytes(8, "little") + b"{}" + b"abc")
    assert autov3(path) == SHA256_ABC
    assert a1111_lora_hash(path) == "ba7816bf8f01"


def test_a_longer_header_gives_the_same_hash(tmp_path):
    header = b'{"__metadata__":{"ss_output_name":"ink"}}'
    path = tmp_path / "edited.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"abc")
    assert autov3(path) == SHA256_ABC


def test_header_only_file_hashes_nothing(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes((2).to_bytes(8, "little") + b"{}")
    assert autov3(path) == SHA256_EMPTY


def test_refuses_a_file_without_a_header_length(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"abc")
    with pytest.raises(ValueError, match="short.safetensors"):
        autov3(path)

"""A small DABench directory (catalog + splits) written with the contract's Arrow schemas."""

from __future__ import annotations

import json
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA
from tests.evaluate.eval_fixtures import CATALOG, COCO, PARTI, row, write_rows


@pytest.fixture
def dabench_dir(tmp_path: Path) -> Path:
    out = tmp_path / "dabench"
    write_rows(out / "catalog.parquet", CATALOG, CATALOG_SCHEMA)
    sft = [row(100 + i, f"masterpiece, a castle on a hill, style {i}, 8k", "dreamshaper_8") for i in range(6)]
    evaluation = [
        row(1, "a cozy cabin, oil painting, warm light", "dreamshaper_8"),
        row(2, "pixel art knight, 16-bit", "pixelArt_lora", base_checkpoint="dreamshaper_8"),
        row(3, "anime girl, cherry blossoms", "revAnimated_v122"),
        row(4, "photo of a lighthouse, sdxl", "juggernautXL_v9", base="SDXL 1.0"),
        row(5, "anime boy, neon city", "animeXL_lora", base="SDXL 1.0", base_checkpoint="juggernautXL_v9"),
    ]
    write_rows(out / "splits" / "sft.parquet", sft, INSTRUCTION_SCHEMA)
    write_rows(out / "splits" / "rrhf.parquet", sft[:2], INSTRUCTION_SCHEMA)
    write_rows(out / "splits" / "eval.parquet", evaluation, INSTRUCTION_SCHEMA)
    write_rows(out / "instructions.parquet", sft + evaluation, INSTRUCTION_SCHEMA)
    return out


@pytest.fixture
def coco_path() -> Path:
    if not COCO.exists():
        pytest.skip(f"real COCO captions absent at {COCO}")
    return COCO


@pytest.fixture
def parti_path() -> Path:
    if not PARTI.exists():
        pytest.skip(f"real PartiPrompts absent at {PARTI}")
    return PARTI


class _ChatHandler(BaseHTTPRequestHandler):
    """OpenAI-compatible /v1/chat/completions: answers '"Prompt: <user text>, highly detailed"'."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        self.server.requests.append(body)  # type: ignore[attr-defined]
        user = body["messages"][-1]["content"]
        content = "" if "EMPTY" in user else f'"Prompt: {user}, highly detailed, soft light"'
        answer = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def chat_server():
    """A real HTTP server on 127.0.0.1; `.requests` lists the request bodies it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatHandler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def file_server(tmp_path: Path):
    """Serves tmp_path/www over HTTP on 127.0.0.1; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()

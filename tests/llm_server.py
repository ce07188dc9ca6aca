"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for tests.

It answers `/v1/chat/completions` with a description derived from the request (so different
inputs give different answers), counts calls, and can fail the first N calls with a 500.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ChatServer:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls = 0
        self.fail_first = fail_first
        self.authorizations: list[str] = []
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                state.calls += 1
                state.authorizations.append(self.headers.get("Authorization", ""))
                if state.calls <= state.fail_first or not self.path.endswith("/chat/completions"):
                    self._send(500, {"error": {"message": "boom"}})
                    return
                user = body["messages"][-1]["content"]
                inputs = json.loads(user)
                digest = hashlib.sha256(user.encode()).hexdigest()[:8]
                topics = ", ".join(inputs["tags"][:2]) or "general"
                name, base = inputs["model_name"], inputs["base_model"]
                text = f"{name} is a {base} model for {topics} images ({digest})."
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{state.calls}",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": text},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

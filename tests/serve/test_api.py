"""POST /v1/select, /health and /metrics in-process: refusals that name the bad value, defaults, exports."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from diffagent.serve import create_app
from tests.agent.conftest import ADVERSARIAL

# The acceptance battery of bad inputs (issue 12): each must be a 4xx with a message.
BAD_BODIES = [
    ({"prompt": ""}, 422, "prompt: prompt is empty or only whitespace"),
    ({"prompt": " \t\n "}, 422, "empty or only whitespace"),
    ({"prompt": "x" * 5000}, 422, "prompt has 5000 characters; the limit is 4000"),
    ({"prompt": "a\x00cat"}, 422, "control character '\\x00' at 1"),
    ({"prompt": "a cat", "negative_prompt": "\x1b[31m"}, 422, "negative_prompt contains control character"),
    ({"prompt": 42}, 422, "prompt: Input should be a valid string"),
    ({"prompt": ["a cat"]}, 422, "prompt: Input should be a valid string"),
    ({"prompt": "a cat", "top_k": "3"}, 422, "top_k: Input should be a valid integer"),
    ({"prompt": "a cat", "top_k": 1.5}, 422, "top_k"),
    ({"prompt": "a cat", "top_k": 0}, 422, "top_k: Input should be greater than or equal to 1"),
    ({"prompt": "a cat", "top_k": 100_000}, 422, "top_k: Input should be less than or equal to 20"),
    ({"prompt": "a cat", "selector": "magic"}, 422, "unknown selector 'magic'"),
    ({"prompt": "a cat", "temperature": 2, "colour": "red"}, 422, "unknown field 'temperature'"),
    ({"prompt": "a cat", "selector": "llm"}, 422, "selector 'llm' needs an agent"),
    ({}, 422, "prompt: Field required"),
    ([], 422, "Input should be a valid dictionary"),
]


@pytest.fixture(scope="module")
def client(retrieval_agent):
    with TestClient(create_app(retrieval_agent, max_body_bytes=64 * 1024)) as client:
        yield client


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES)
def test_bad_bodies_are_refused_with_a_message(client, body, status, message):
    response = client.post("/v1/select", json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_unknown_fields_are_all_named(client):
    detail = client.post("/v1/select", json={"prompt": "a", "temperature": 2, "colour": 1}).json()["detail"]
    assert "unknown field 'temperature'" in detail and "unknown field 'colour'" in detail


def test_invalid_json_and_oversized_bodies(client):
    response = client.post(
        "/v1/select", content=b'{"prompt": "a cat",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "not valid JSON" in response.json()["detail"]
    big = json.dumps({"prompt": "x" * (10 * 1024 * 1024)}).encode()
    response = client.post("/v1/select", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over the limit of 65536" in response.json()["detail"]

    def chunks():  # no Content-Length: refused while streaming, once the count passes the limit
        for _ in range(200):
            yield b"x" * 1024

    response = client.post("/v1/select", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over the limit" in response.json()["detail"]
    assert client.get("/health").status_code == 200


def test_retrieval_only_server_defaults_to_retrieval(client, retrieval_agent):
    response = client.post("/v1/select", json={"prompt": ADVERSARIAL[3], "top_k": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["selector"] == "retrieval" and body["latency_ms"] > 0 and body["exports"] is None
    assert [a["api"]["model"] in retrieval_agent.catalog for a in body["answers"]] == [True, True]


def test_formats_return_exports(client):
    for fmt, marker in [("a1111", "Steps: "), ("comfyui", '"KSampler"'), ("diffusers", "from_single_file")]:
        response = client.post(f"/v1/select?format={fmt}", json={"prompt": "pixel art knight", "top_k": 2})
        assert response.status_code == 200, response.text
        exports = response.json()["exports"]
        assert len(exports) == 2 and all(marker in e for e in exports)
    workflow = json.loads(
        client.post("/v1/select?format=comfyui", json={"prompt": "pixel art knight"}).json()["exports"][0]
    )
    assert {"CheckpointLoaderSimple", "KSampler", "SaveImage"} <= {n["class_type"] for n in workflow.values()}
    response = client.post("/v1/select?format=png", json={"prompt": "a cat"})
    assert response.status_code == 422 and "unknown format 'png'" in response.json()["detail"]


def test_health_and_metrics(client, retrieval_agent):
    client.post("/v1/select", json={"prompt": "a castle"})
    client.post("/v1/select", json={"prompt": ""})
    health = client.get("/health").json()
    assert health["catalog_fingerprint"] == retrieval_agent.catalog.fingerprint
    assert health["selectors"] == ["retrieval"] and health["default_selector"] == "retrieval"
    assert health["agent"] is None and health["uptime_s"] > 0 and health["catalog_size"] == 6
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'diffagent_http_requests_total{route="/v1/select",status="200"}' in text
    assert 'diffagent_http_requests_total{route="/v1/select",status="422"}' in text
    assert "diffagent_http_request_duration_seconds_bucket" in text and "diffagent_batch_size_count" in text


def test_agent_server_defaults_to_llm(agent):
    with TestClient(create_app(agent)) as client:
        health = client.get("/health").json()
        assert health["default_selector"] == "llm" and health["agent"]["backend"] == "TransformersBackend"
        response = client.post("/v1/select", json={"prompt": "neon city at night"})
        assert response.status_code == 200 and response.json()["selector"] == "llm"
        assert response.json()["answers"][0]["api"]["model"] in agent.catalog

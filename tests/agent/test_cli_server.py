"""`diffagent select` (single, batch, errors) and the HTTP app (validation, batching, real server)."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from diffagent.cli import app
from tests.agent.conftest import ADVERSARIAL

runner = CliRunner()


def test_select_batch_in_input_order(agent_dir, dabench, tmp_path, embeddings_cache):
    prompts = ["pixel art sprite of a knight, 8-bit", "neon cyberpunk street in the rain", *ADVERSARIAL]
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        "\n".join(json.dumps({"prompt": p, "negative_prompt": "blurry"}) for p in prompts) + "\n"
    )
    result = runner.invoke(
        app,
        [
            "select",
            "--batch",
            str(batch),
            "--catalog",
            str(dabench),
            "--selector",
            "retrieval",
            "--top-k",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(prompts) and all(len(line) == 2 for line in lines)
    assert lines[0][0]["api"]["model"] == "Pixel Art XL"
    result = runner.invoke(
        app, ["select", "--batch", str(batch), "--catalog", str(dabench), "--agent", str(agent_dir)]
    )
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == len(prompts) and all(a["api"]["model_description"] for a in answers)


def test_select_exports(dabench, embeddings_cache):
    base = ["select", "--catalog", str(dabench), "--selector", "retrieval", "--seed", "7"]
    result = runner.invoke(app, [*base, "pixel art knight, 8-bit", "--format", "a1111"])
    assert result.exit_code == 0, result.output
    prompt, parameters = result.stdout.rstrip("\n").split("\n")
    assert prompt == "pixel art knight, 8-bit <lora:3:1>"
    assert parameters.startswith(
        "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 7, Size: 1024x1024"
    )
    assert parameters.endswith('Model hash: ababababab, Model: 2, Lora hashes: "3: ababababab"')
    result = runner.invoke(app, [*base, "pixel art knight, 8-bit", "--format", "comfyui"])
    assert result.exit_code == 0, result.output
    workflow = json.loads(result.stdout)
    assert [n["class_type"] for n in workflow.values()] == [
        "CheckpointLoaderSimple",
        "LoraLoader",
        "CLIPTextEncode",
        "CLIPTextEncode",
        "EmptyLatentImage",
        "KSampler",
        "VAEDecode",
        "SaveImage",
    ]
    assert workflow["2"]["inputs"]["lora_name"] == "3.safetensors"
    result = runner.invoke(app, [*base, "a castle", "--format", "diffusers", "--top-k", "2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["rank"] for line in lines] == [1, 2] and "from_single_file" in lines[0]["export"]
    result = runner.invoke(app, [*base, "a castle", "--format", "png"])
    assert result.exit_code == 2 and "unknown --format 'png'" in result.output


def test_select_errors(dabench, tmp_path):
    result = runner.invoke(app, ["select", "  ", "--catalog", str(dabench), "--selector", "retrieval"])
    assert result.exit_code != 0 and "empty" in result.output
    # No agent: the default selector is retrieval, as `serve` answers (a named llm still needs one).
    result = runner.invoke(app, ["select", "a cat", "--catalog", str(dabench)])
    assert result.exit_code == 0 and json.loads(result.stdout)["selector"] == "retrieval"
    result = runner.invoke(app, ["select", "a cat", "--catalog", str(dabench), "--selector", "llm"])
    assert result.exit_code != 0 and "needs --agent" in result.output
    result = runner.invoke(
        app, ["select", "a cat", "--catalog", str(tmp_path / "none.parquet"), "--selector", "retrieval"]
    )
    assert result.exit_code != 0 and "no catalog" in result.output


def test_http_validation_and_answers(agent):
    from fastapi.testclient import TestClient

    from diffagent.serve import create_app

    with TestClient(create_app(agent)) as client:
        assert client.get("/health").json()["catalog_fingerprint"] == agent.catalog.fingerprint
        assert "/v1/select" in client.get("/openapi.json").json()["paths"]
        for body, message in [
            ({"prompt": "  "}, "empty or only whitespace"),
            ({"prompt": "x" * 4001}, "4001 characters"),
            ({"prompt": "a\x00cat"}, "control character"),
            ({"prompt": "cat", "selector": "magic"}, "unknown selector"),
        ]:
            response = client.post("/v1/select", json=body)
            assert response.status_code == 422 and message in response.text
        response = client.post("/v1/select", json={"prompt": ADVERSARIAL[3], "top_k": 2})
        assert response.status_code == 200
        # The trie guarantees catalog models; what can break is the serving path: the answers
        # must be the agent's own, in its order.
        expected = [s.api.model_dump(mode="json") for s in agent.select([ADVERSARIAL[3]], top_k=2)[0]]
        assert [a["api"] for a in response.json()["answers"]] == expected


def test_real_uvicorn_server(agent):
    from diffagent.serve import create_app
    from tests.serve.servers import running_app

    with running_app(create_app(agent)) as url:
        assert httpx.get(f"{url}/health", timeout=60).status_code == 200
        response = httpx.post(
            f"{url}/v1/select", json={"prompt": "夜の東京", "selector": "hybrid"}, timeout=30
        )
        assert response.status_code == 200
        expected = agent.select(["夜の東京"], selector="hybrid")[0][0].api.model_dump(mode="json")
        assert response.json()["answers"][0]["api"] == expected


def test_vllm_backend_without_vllm_says_how_to_get_it(agent_dir, dabench):
    """The vLLM path is an optional GPU extra: without the package the CLI fails with the fix."""
    try:
        import vllm  # noqa: F401

        pytest.skip("vllm is installed: this test covers its absence")
    except ImportError:
        pass
    result = CliRunner().invoke(
        app, ["select", "a corgi", "--agent", str(agent_dir), "--catalog", str(dabench), "--backend", "vllm"]
    )
    assert result.exit_code != 0
    assert "diffagent[vllm]" in result.output

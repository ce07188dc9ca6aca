"""Validate DiffAgent's ComfyUI exports against a real ComfyUI (issue 24's acceptance), on CPU.

For every (architecture, Checkpoint/LoRA) in a DABench capture of the bundled sample, one answer
(a LoRA with clip skip 2 where the sample has one) is exported exactly as `diffagent select
--format comfyui` does (`export_inputs` + `export_object("comfyui")`), its files are laid out with
`diffagent models fetch --layout comfyui`, and the workflow is sent to ComfyUI's `POST /prompt`,
which validates every node, input name, enum value and file name before it queues the prompt.
Queued prompts are then waited on in /history: tiny random weights may or may not run (reported,
not required). Exit 1 if ComfyUI refused any workflow. Prints the ComfyUI commit it ran.

    PYTHONPATH=$PWD .venv/bin/python bench/comfyui_check.py --comfyui ../ComfyUI \
        --python ../comfy-venv/bin/python [--dabench DIR] [--keep DIR]

ComfyUI needs its own virtualenv (its requirements.txt); DiffAgent's interpreter runs this script.
Without --dabench, the bundled sample is served (`diffagent civitai serve`) and a capture built
from it (`dabench build --no-llm`) in a temporary folder; with --dabench, the sample is served on
the port its catalog's download URLs name (the files come from there).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.parquet as pq

from diffagent.catalog import load_catalog
from diffagent.exports import export_inputs, export_object
from schemas.architectures import ARCHITECTURES
from schemas.t2i import T2IApi, architecture_of

ROOT = Path(__file__).resolve().parents[1]
API_FIELDS = (
    *("model", "type", "base_model", "model_id", "version_id", "width", "height", "sampling_method"),
    *("sampling_steps", "cfg_scale", "clip_skip", "lora_weight", "trigger_words", "base_checkpoint"),
    "base_checkpoint_version_id",
)


@dataclass(frozen=True)
class Case:
    api: T2IApi
    prompt: str
    negative_prompt: str


COLUMNS = ("architecture", "type", "version", "clip skip", "CLIPSetLastLayer", "accepted", "executed")


@dataclass
class Row:  # one line of the table: the answer's facts, then what ComfyUI said
    architecture: str
    type: str
    version: str
    clip_skip: str
    clip_layer: str = "-"  # stop_at_clip_layer of the workflow's CLIPSetLastLayer, "-" for none
    accepted: str = "NO"
    executed: str = "-"
    node_errors: str = "-"


def environment() -> dict[str, str]:
    # The bundled server wants a key for one sample model (as Civitai does for some); any will do.
    return {**os.environ, "PYTHONPATH": str(ROOT), "CIVITAI_API_KEY": "sample-key"}


def diffagent(*args: str) -> str:
    """`python -m diffagent.cli ARGS` from this checkout; its stdout. A failure raises naming the command."""
    command = [sys.executable, "-m", "diffagent.cli", *args]
    done = subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def wait_until_up(url: str, process: subprocess.Popen, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited {process.returncode}; see {log}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s; see {log}")


@contextlib.contextmanager
def background(command: list[str], ready_url: str, log: Path, cwd: Path, seconds: float) -> Iterator[None]:
    """Run `command` until the block ends (SIGTERM, then SIGKILL after 20 s), once `ready_url` answers."""
    with contextlib.suppress(OSError), urllib.request.urlopen(ready_url, timeout=2):
        raise RuntimeError(f"something already answers {ready_url}: stop it or choose another port")
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=environment())
        try:
            wait_until_up(ready_url, process, seconds, log)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def sample_port(dabench: Path) -> int:
    """The port of the local server a capture was built against (its download URLs name it)."""
    urls = pq.read_table(dabench / "catalog.parquet", columns=["download_url"]).column(0).to_pylist()
    port = urlparse(next(url for url in urls if url)).port
    if port is None:
        raise ValueError(f"{dabench}: download URL {urls[0]!r} names no port: not a bundled-sample capture")
    return port


def pick_cases(dabench: Path) -> list[Case]:
    """One instruction per (architecture, type), table order; a LoRA/checkpoint with the highest
    clip skip is preferred, so CLIPSetLastLayer is exercised where the sample has it."""
    rows = pq.read_table(dabench / "instructions.parquet").to_pylist()
    rows.sort(key=lambda row: -row["clip_skip"])
    picked: dict[tuple[str, str], dict] = {}
    for row in rows:
        picked.setdefault((architecture_of(row["base_model"]), row["type"]), row)
    cases = []
    for architecture in ARCHITECTURES:
        for kind in ("Checkpoint", "LORA"):
            if row := picked.get((architecture, kind)):
                api = T2IApi(**{key: row[key] for key in API_FIELDS if row[key] is not None})
                cases.append(Case(api, row["prompt"], row["negative_prompt"] or ""))
    return cases


def post(comfy: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(comfy + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def short_errors(reply: dict, workflow: dict) -> str:
    """ComfyUI's refusal in one line: `#node Class.input=value: type` per error, else its message."""
    parts = []
    for node, found in (reply.get("node_errors") or {}).items():
        for error in found.get("errors", []):
            info = error.get("extra_info") or {}
            name = info.get("input_name", "")
            value = f"={info['received_value']!r}" if "received_value" in info else ""
            parts.append(f"#{node} {workflow[node]['class_type']}.{name}{value}: {error['type']}")
    if not parts and reply.get("error"):
        error = reply["error"]
        parts.append(f"{error.get('message', error)} {error.get('details', '')}".strip())
    return "; ".join(parts)


def wait_for_run(comfy: str, prompt_id: str, seconds: float, base: Path) -> str:
    """'ran', 'failed: <node>: <exception>' (paths under `base` shortened) or 'timeout' (then interrupted)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, history = post(comfy, f"/history/{prompt_id}")
        status = history.get(prompt_id, {}).get("status", {})
        if status.get("completed"):
            return "ran"
        if status.get("status_str") == "error":
            for kind, message in status.get("messages", []):
                if kind == "execution_error":
                    said = " ".join(str(message.get("exception_message", "")).replace(f"{base}/", "").split())
                    return f"failed: {message.get('node_type')}: {said[:100]}"
            return "failed"
        time.sleep(1)
    post(comfy, "/interrupt", {})
    return "timeout"


def clip_layer(workflow: dict) -> str:
    nodes = [node for node in workflow.values() if node["class_type"] == "CLIPSetLastLayer"]
    return ",".join(str(node["inputs"]["stop_at_clip_layer"]) for node in nodes) or "-"


def print_table(rows: list[Row]) -> None:
    """Aligned columns; node_errors last, unpadded (it can be long)."""
    lines = [COLUMNS] + [astuple(row)[:-1] for row in rows]
    widths = [max(len(line[column]) for line in lines) for column in range(len(COLUMNS))]
    for line, errors in zip(lines, ["node_errors"] + [row.node_errors for row in rows], strict=True):
        print(" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)), "|", errors)


def lay_out_sample(args: argparse.Namespace, work: Path) -> tuple[Path, list[Case], Path]:
    """Serve the bundled sample (building a capture from it unless --dabench), pick the answers and
    lay their files out for ComfyUI: (DABench folder, answers, ComfyUI base directory)."""
    dabench = args.dabench or work / "dabench"
    port = sample_port(dabench) if args.dabench else args.sample_port
    sample = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "diffagent.cli", "civitai", "serve", "--port", str(port)]
    # The first start writes the tiny models and the sample's files (minutes).
    with background(serve, f"{sample}/api/v1/models?limit=1", work / "civitai.log", ROOT, 1800):
        if args.dabench is None:
            print(f"building a DABench capture of the bundled sample in {dabench}", flush=True)
            build = ["--no-llm", "--out", str(dabench), "--civitai-url", f"{sample}/api/v1"]
            diffagent("dabench", "build", *build, "--set", "show_progress=false")
        cases = pick_cases(dabench)
        versions = [str(v) for c in cases for v in (c.api.version_id, c.api.base_checkpoint_version_id) if v]
        base = work / "comfyui-base"
        (base / "custom_nodes").mkdir(parents=True, exist_ok=True)  # ComfyUI lists it at start
        layout = ["--layout", "comfyui", "--into", str(base), "--store-dir", str(work / "store")]
        diffagent(
            "models",
            "fetch",
            *dict.fromkeys(versions),
            "--catalog",
            str(dabench),
            *layout,
            "--hub-url",
            sample,
        )
    return dabench, cases, base


def check(args: argparse.Namespace, work: Path) -> int:
    git = subprocess.run(
        ["git", "-C", str(args.comfyui), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    print(
        f"ComfyUI {args.comfyui} at commit {git.stdout.strip() or 'unknown (not a git checkout)'}", flush=True
    )
    dabench, cases, base = lay_out_sample(args, work)
    catalog = load_catalog(dabench, samples=False)
    comfy = f"http://127.0.0.1:{args.port}"
    start = [str(args.python), "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(args.port)]
    start += ["--base-directory", str(base), "--disable-auto-launch", "--database-url", "sqlite:///:memory:"]
    rows = []
    with background(start, f"{comfy}/system_stats", work / "comfyui.log", args.comfyui, 600):
        queued = []
        for case in cases:
            api = case.api
            workflow = export_object(
                "comfyui", export_inputs(api, catalog, case.prompt, case.negative_prompt)
            )
            row = Row(architecture_of(api.base_model), api.type, str(api.version_id), str(api.clip_skip))
            row.clip_layer = clip_layer(workflow)
            status, reply = post(comfy, "/prompt", {"prompt": workflow})
            if status == 200 and "prompt_id" in reply:
                row.accepted = "yes"
                queued.append((row, reply["prompt_id"]))
            else:
                row.node_errors = short_errors(reply, workflow)
            rows.append(row)
        for row, prompt_id in queued if args.execute_timeout > 0 else []:
            row.executed = wait_for_run(comfy, prompt_id, args.execute_timeout, base)
    print_table(rows)
    refused = sum(row.accepted != "yes" for row in rows)
    logs = f"logs in {work}" if args.keep else "--keep DIR keeps the logs"
    print(f"{len(rows) - refused} of {len(rows)} workflows accepted; {logs}")
    return 1 if refused else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfyui", type=Path, required=True, help="A ComfyUI checkout (main.py).")
    parser.add_argument("--python", type=Path, required=True, help="The interpreter that runs ComfyUI.")
    parser.add_argument("--dabench", type=Path, help="A DABench capture of the bundled sample.")
    parser.add_argument("--port", type=int, default=8188, help="ComfyUI's port on 127.0.0.1.")
    parser.add_argument(
        "--sample-port", type=int, default=8787, help="The sample server's, without --dabench."
    )
    parser.add_argument(
        "--execute-timeout",
        type=float,
        default=120.0,
        help="Seconds to wait for each accepted workflow to run (0: validate only).",
    )
    parser.add_argument("--keep", type=Path, help="Work folder to keep (default: a temporary one).")
    args = parser.parse_args()
    args.comfyui = args.comfyui.resolve()
    if not (args.comfyui / "main.py").is_file():
        parser.error(f"--comfyui {args.comfyui} has no main.py")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return check(args, args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="comfyui-check-") as work:
        return check(args, Path(work))


if __name__ == "__main__":
    sys.exit(main())

"""Start and stop the real services of the integration tests: by PID, never by name.

Each service starts as the leader of its own session, so its children (the server's API
process, a worker's flow-run process) can be stopped with it. Stopping sends SIGINT, waits, then
SIGKILLs the process group: a Prefect worker can ignore SIGTERM for over 30 s (notes/stack.md).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def executable(name: str) -> str:
    """A console script of this Python environment (`prefect`, `diffagent`)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not installed next to {sys.executable}")
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    try:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        handle.close()  # the child holds its own copy


def stop(process: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGINT, then SIGKILL of its process group after `grace_s`; reaps the process."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    # The group outlives its leader while children run.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def wait_until_answers(url: str, process: subprocess.Popen, log: Path, timeout_s: float) -> float:
    """Seconds until `url` answers 200; fails early if `process` exits."""
    started = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{tail(log)}")
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{url} did not answer within {timeout_s} s:\n{tail(log)}")
        time.sleep(0.5)


def run(command: list[str], env: dict[str, str], timeout_s: float) -> str:
    """Run a CLI command to completion in the repository root; its output, or a failure with it."""
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited with {done.returncode}:\n{output[-4000:]}")
    return output

"""The stage cache: keys from settings and input content, records that guard fixed output names,
and Prefect's Cached state (a real task on this session's Prefect server)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from prefect import task

from diffagent.stagecache import (
    STAGE_TASK,
    Stage,
    artifact_fingerprint,
    fingerprint,
    is_current,
    record_stage,
    run_stage,
    source_fingerprint,
)
from diffagent.stagelock import store_lock
from diffagent.storage import ArtifactStore

RUNS: list[int] = []


@dataclass(frozen=True)
class DoubleStage(Stage):
    """Writes `double.txt` = 2 * the number in `source`; `label` does not change the result."""

    source: str
    factor: int = 2
    label: str = ""
    name: ClassVar[str] = "double"
    outputs: ClassVar[tuple[str, ...]] = ("double.txt",)
    unkeyed: ClassVar[tuple[str, ...]] = ("root", "source", "label")

    def input_files(self) -> dict[str, str]:
        return {"source": self.source}


@task(**STAGE_TASK)
def double_task(stage: DoubleStage) -> dict[str, Any]:
    RUNS.append(stage.factor)
    value = int(Path(stage.source).read_text()) * stage.factor
    stage.store.write_bytes("double.txt", str(value).encode())
    return record_stage(stage, {"value": value})


def test_fingerprint_hand_worked() -> None:
    """sha256 of the canonical JSON '[{"a": 1, "b": [2, 3]}]', first 24 hex digits."""
    import hashlib

    expected = hashlib.sha256(b'[{"a": 1, "b": [2, 3]}]').hexdigest()[:24]
    assert fingerprint({"b": [2, 3], "a": 1}) == expected


def test_artifact_fingerprint_hashes_content_and_names(tmp_path) -> None:
    folder = tmp_path / "agent"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.bin").write_bytes(b"one")
    first = artifact_fingerprint(str(folder))
    (folder / "sub" / "a.bin").touch()  # a new mtime, same bytes
    assert artifact_fingerprint(str(folder)) == first
    (folder / "sub" / "a.bin").rename(folder / "sub" / "b.bin")  # same bytes, another name
    assert artifact_fingerprint(str(folder)) != first
    assert artifact_fingerprint(str(tmp_path / "absent")) is None


def test_key_follows_settings_and_input_content_not_locations(tmp_path) -> None:
    source, copy = tmp_path / "n.txt", tmp_path / "copy.txt"
    source.write_text("21")
    copy.write_text("21")
    stage = DoubleStage(str(tmp_path / "run"), str(source))
    assert stage.key().startswith("double-")
    assert DoubleStage(str(tmp_path / "elsewhere"), str(copy), label="x").key() == stage.key()
    assert DoubleStage(str(tmp_path / "run"), str(source), factor=3).key() != stage.key()
    copy.write_text("22")
    assert DoubleStage(str(tmp_path / "run"), str(copy)).key() != stage.key()


def test_run_stage_is_cached_until_its_inputs_or_outputs_change(tmp_path) -> None:
    source = tmp_path / "n.txt"
    source.write_text("21")
    run = tmp_path / "run"
    stage = DoubleStage(str(run), str(source))
    RUNS.clear()
    first = run_stage(double_task, stage)
    assert (first["cached"], first["counts"], (run / "double.txt").read_text()) == (
        False,
        {"value": 42},
        "42",
    )
    assert is_current(stage) and run_stage(double_task, stage)["cached"] and RUNS == [2]

    tripled = DoubleStage(str(run), str(source), factor=3)
    assert run_stage(double_task, tripled)["counts"] == {"value": 63}
    # factor 2 has a Prefect cache entry, but double.txt now holds factor 3's output: recomputed.
    assert not is_current(stage)
    again = run_stage(double_task, stage)
    assert not again["cached"] and (run / "double.txt").read_text() == "42" and RUNS == [2, 3, 2]

    (run / "double.txt").unlink()
    assert not run_stage(double_task, stage)["cached"] and (run / "double.txt").read_text() == "42"
    assert not run_stage(double_task, stage, refresh=True)["cached"] and RUNS == [2, 3, 2, 2, 2]
    assert run_stage(double_task, stage)["cached"]


def test_a_code_change_in_a_stages_package_changes_its_key_and_no_other(tmp_path, monkeypatch) -> None:
    """Stage A declares a package, stage B a module; editing a file deep in A's package changes A's
    key (in a new process: the code is hashed once per process) and leaves B's as it was."""
    package, module = f"stagecode_{uuid.uuid4().hex[:8]}", f"stagemod_{uuid.uuid4().hex[:8]}"
    (tmp_path / package / "inner").mkdir(parents=True)
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "inner" / "__init__.py").write_text("")
    (tmp_path / package / "inner" / "rule.py").write_text("LIMIT = 1\n")
    (tmp_path / f"{module}.py").write_text("FACTOR = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    @dataclass(frozen=True)
    class StageA(DoubleStage):
        name: ClassVar[str] = "a"
        code: ClassVar[tuple[str, ...]] = (package,)

    @dataclass(frozen=True)
    class StageB(DoubleStage):
        name: ClassVar[str] = "b"
        code: ClassVar[tuple[str, ...]] = (module,)

    source = tmp_path / "n.txt"
    source.write_text("21")
    before = StageA("run", str(source)).key(), StageB("run", str(source)).key()
    (tmp_path / package / "inner" / "rule.py").write_text("LIMIT = 2  # the fix\n")
    source_fingerprint.cache_clear()  # what a new process starts with
    after = StageA("run", str(source)).key(), StageB("run", str(source)).key()
    assert after[0] != before[0] and after[1] == before[1]
    with pytest.raises(ValueError, match="'no_such_stage_code'"):
        source_fingerprint("no_such_stage_code")


INPUT_READS: list[str] = []


@dataclass(frozen=True)
class CountingStage(DoubleStage):
    """DoubleStage that counts how often its inputs are listed for hashing."""

    name: ClassVar[str] = "counting"

    def input_files(self) -> dict[str, str]:
        INPUT_READS.append(self.source)
        return super().input_files()


def test_a_run_hashes_the_stages_inputs_once(tmp_path) -> None:
    """The record check, Prefect's cache key and the record all ask for the key: one hashing."""
    source = tmp_path / "n.txt"
    source.write_text("21")
    stage = CountingStage(str(tmp_path / "run"), str(source))
    INPUT_READS.clear()
    assert run_stage(double_task, stage)["counts"] == {"value": 42}
    assert is_current(stage) and len(INPUT_READS) == 1


EVENTS: list[str] = []
ENTERED, RELEASE = threading.Event(), threading.Event()


@task(**STAGE_TASK)
def gated_task(stage: DoubleStage) -> dict[str, Any]:
    """DoubleStage's work, held open until RELEASE is set."""
    EVENTS.append("enter")
    ENTERED.set()
    RELEASE.wait(60)
    value = int(Path(stage.source).read_text()) * stage.factor
    stage.store.write_bytes("double.txt", str(value).encode())
    EVENTS.append("exit")
    return record_stage(stage, {"value": value})


def test_a_second_run_of_a_stage_waits_for_the_first(tmp_path) -> None:
    """Two threads run one stage on one location: the second waits on the stage's lock while the
    first is inside, then finds its outputs current (Cached) instead of writing them again."""
    source = tmp_path / "n.txt"
    source.write_text("21")
    stage = DoubleStage(str(tmp_path / "run"), str(source))
    EVENTS.clear()
    ENTERED.clear()
    RELEASE.clear()
    results: dict[str, dict] = {}

    def run(label: str) -> None:
        results[label] = run_stage(gated_task, DoubleStage(stage.root, stage.source))

    first = threading.Thread(target=run, args=("first",))
    first.start()
    assert ENTERED.wait(60)
    ENTERED.clear()
    second = threading.Thread(target=run, args=("second",))
    second.start()
    entered_while_held = ENTERED.wait(3)  # without the lock the second run is inside by now
    RELEASE.set()
    first.join(60)
    second.join(60)
    assert not entered_while_held and EVENTS == ["enter", "exit"]
    assert (results["first"]["cached"], results["second"]["cached"]) == (False, True)
    assert results["second"]["counts"] == {"value": 42}


def test_a_stale_lock_is_taken_over_and_a_fresh_one_waited_for(tmp_path) -> None:
    """A lock whose heartbeat is an hour old (its run was killed) is taken at once; while it is
    held, a bounded wait ends in a TimeoutError naming the holder; released, it is gone."""
    store = ArtifactStore(str(tmp_path / "run"))
    store.write_json("stages/locks/double.lock", {"token": "dead", "pid": 1, "heartbeat": time.time() - 3600})
    with store_lock(store, "stages/locks/double.lock") as held:
        assert json.loads(store.read_bytes("stages/locks/double.lock"))["token"] == held["token"] != "dead"
        with (
            pytest.raises(TimeoutError, match=held["token"]),
            store_lock(store, "stages/locks/double.lock", wait_s=0),
        ):
            pass
    assert not store.exists("stages/locks/double.lock")

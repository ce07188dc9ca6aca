"""The stage cache: keys from settings and input content, records that guard fixed output names,
and Prefect's Cached state (a real task on this session's Prefect server)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from prefect import task

from diffagent.stagecache import (
    STAGE_TASK,
    Stage,
    artifact_fingerprint,
    fingerprint,
    is_current,
    record_stage,
    run_stage,
)

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

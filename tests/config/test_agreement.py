"""One definition per setting: the CLI's options, the flows' parameter schemas and prefect.yaml's
deployments all come from, and agree with, the flows' configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from diffagent import runflow
from diffagent.cli import app
from diffagent.commands import dabench, evaluate, sfta
from diffagent.config.cli import option_help
from diffagent.config.profiles import profile_section

REPO = Path(__file__).resolve().parents[2]
COMMANDS = {
    ("train", "sfta"): ("sftA-train", sfta.FLAGS),
    ("dabench", "build"): ("dabench-build", dabench.FLAGS),
    ("evaluate",): ("evaluate", evaluate.FLAGS),
}


def click_command(path: tuple[str, ...]):
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", list(COMMANDS))
def test_cli_options_are_the_config_fields(path: tuple[str, ...]) -> None:
    """Each config-backed option's help is its field's (with the field's and profiles' defaults),
    and its own default is 'not given', so the config's default applies."""
    flow, flags = COMMANDS[path]
    model = runflow.config_model(flow)
    options = {name: p for p in click_command(path).params for name in p.opts}
    for flag, field_path in flags.items():
        option = options[flag]
        assert option.help == option_help(model, field_path), flag
        assert option.default is None, flag
    assert "--config" in options and "--set" in options


@pytest.mark.parametrize("flow", list(runflow.ENTRYPOINTS))
def test_each_flow_takes_its_config_and_prefect_sees_its_fields(flow: str) -> None:
    """The flow's only parameter is its config, and the run form Prefect builds from it has every
    field with the config's default and help."""
    from prefect.flows import load_flow_from_entrypoint
    from prefect.utilities.callables import parameter_schema

    model = runflow.config_model(flow)
    schema = parameter_schema(load_flow_from_entrypoint(runflow.ENTRYPOINTS[flow]).fn).model_dump()
    assert list(schema["properties"]) == ["config"] and schema["required"] == ["config"]
    definition = schema["definitions"][model.__name__]
    expected = model.model_json_schema()["properties"]
    assert set(definition["properties"]) == set(expected)
    for name, prop in expected.items():
        assert definition["properties"][name].get("default") == prop.get("default"), name
        assert definition["properties"][name].get("description") == prop.get("description"), name


def deployments() -> list[dict]:
    return yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]


def flow_of(entrypoint: str) -> str | None:
    return next((name for name, point in runflow.ENTRYPOINTS.items() if point.replace(".", "/", 1)
                 .replace(":", ".py:") == entrypoint), None)  # fmt: skip


def test_every_deployment_sets_a_valid_config() -> None:
    checked = 0
    for deployment in deployments():
        flow = flow_of(deployment["entrypoint"])
        if flow is None:  # sfta-stage and rrhf-rollout: submitted by sftA-train, no parameters
            assert not deployment.get("parameters"), deployment["name"]
            continue
        assert set(deployment["parameters"]) == {"config"}, deployment["name"]
        runflow.config_model(flow).model_validate(deployment["parameters"]["config"])
        checked += 1
    assert checked == 7


def test_demo_deployments_name_profiles_instead_of_copying_them() -> None:
    """A demo deployment sets where its data lives and its profile; no value its profile sets."""
    for deployment in deployments():
        if deployment["name"] != "demo":
            continue
        flow = flow_of(deployment["entrypoint"])
        config = deployment["parameters"]["config"]
        profile = config.get("profile", "default")
        copied = set(config) & set(profile_section(profile, flow))
        assert not copied, f"{flow}/demo copies {copied} from profile {profile!r}"
    demo = {flow_of(d["entrypoint"]): d["parameters"]["config"] for d in deployments() if d["name"] == "demo"}
    assert demo["sftA-train"]["profile"] == demo["evaluate"]["profile"] == "tiny"


def test_the_cli_hands_the_flow_the_config_its_fields_make(monkeypatch, tmp_path: Path) -> None:
    """`train sfta --profile tiny --k 3 --set sft.lora_r=8` runs the flow with exactly the config
    those values make; so do a --config file and the evaluate and dabench commands."""
    received = {}

    def record(name, config=None, **values):
        received[name] = config
        return {}

    monkeypatch.setattr(runflow, "run_flow", record)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "train",
            "sfta",
            "--data",
            "d",
            "--out",
            "o",
            "--profile",
            "tiny",
            "--k",
            "3",
            "--set",
            "sft.lora_r=8",
        ],
    )
    assert result.exit_code == 0, result.output
    model = runflow.config_model("sftA-train")
    expected = model(data="d", out="o", profile="tiny", rollout={"k": 3}, sft={"lora_r": 8})
    assert received["sftA-train"] == expected

    file = tmp_path / "eval.yaml"
    file.write_text("data: d\nagents: a\nout: o\nn: 5\n")
    result = runner.invoke(app, ["evaluate", "--config", str(file), "--seeds", "4,5"])
    assert result.exit_code == 0, result.output
    model = runflow.config_model("evaluate")
    assert received["evaluate"] == model(data="d", agents="a", out="o", n=5, seeds=[4, 5])

    result = runner.invoke(app, ["dabench", "build", "--out", "o", "--min-downloads", "7", "--no-llm"])
    assert result.exit_code == 0, result.output
    model = runflow.config_model("dabench-build")
    assert received["dabench-build"] == model(out="o", quality={"min_downloads": 7})


def test_cli_errors_are_one_line_naming_the_field() -> None:
    result = CliRunner().invoke(app, ["train", "sfta", "--data", "d", "--out", "o", "--set", "rrhf.bogus=1"])
    assert result.exit_code == 2 and "rrhf.bogus" in result.output

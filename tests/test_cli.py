"""The CLI as a user meets it: help, exit codes, one-line errors, and no SDK import for checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from aws_server import RecordingMotoServer
from click.testing import CliRunner
from conftest import QUICKSTART, aws_env, clean_env, run_cli, sdk_modules_after

from smdsl.cli import main

COMMANDS = ["validate", "graph", "definition", "deploy", "run", "models", "diff", "start", "status"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"smdsl {command} " in result.output


def test_top_level_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize("command", ["validate", "graph"])
def test_validate_and_graph_do_not_import_the_sagemaker_sdk(command: str) -> None:
    code = (
        "from smdsl.cli import main\n"
        f"main([{command!r}, {str(QUICKSTART / 'pipeline.py')!r}], standalone_mode=False)\n"
    )
    assert sdk_modules_after(code) == []


def test_a_local_run_does_not_import_the_sagemaker_sdk(tmp_path: Path) -> None:
    code = (
        "from smdsl.cli import main\n"
        f"main(['run', {str(QUICKSTART / 'pipeline.py')!r}, '--local', '--state-dir', "
        f"{str(tmp_path)!r}], standalone_mode=False)\n"
    )
    assert sdk_modules_after(code) == []
    assert list((tmp_path / "runs" / "quickstart").glob("*/train/model/model.tar.gz"))


def test_validate_reports_ok_with_counts() -> None:
    result = run_cli("validate", str(QUICKSTART / "pipeline.py"))
    assert result.returncode == 0, result.stderr
    assert "2 steps, 3 parameters (dev, prod)" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["validate", "no/such/pipeline.py"], "no/such/pipeline.py: no such file"),
        (
            ["definition", str(QUICKSTART / "pipeline.py"), "--env", "staging"],
            "unknown environment 'staging'",
        ),
        (["graph", str(QUICKSTART / "smdsl.toml")], "a pipeline file is a Python file"),
    ],
)
def test_user_mistakes_are_one_line_errors(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_env_lists_the_defined_ones() -> None:
    result = run_cli("definition", str(QUICKSTART / "pipeline.py"), "--env", "stage")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "defined: dev, prod" in result.stderr


def test_env_can_come_from_smdsl_env(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    result = run_cli(
        "definition",
        str(QUICKSTART / "pipeline.py"),
        "-o",
        str(out),
        env=clean_env(SMDSL_ENV="prod", AWS_EC2_METADATA_DISABLED="true"),
    )
    assert result.returncode == 0, result.stderr
    assert "quickstart-prod" in out.read_text()


def test_definition_requires_an_env() -> None:
    result = run_cli("definition", str(QUICKSTART / "pipeline.py"))
    assert result.returncode == 2
    assert "--env" in result.stderr


def _broken_pipeline(tmp_path: Path) -> Path:
    (tmp_path / "smdsl.toml").write_text(
        '[envs.dev]\nregion = "us-east-1"\nbucket = "broken-bucket"\n'
        'role_arn = "arn:aws:iam::123456789012:role/R"\n'
    )
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(
        "from smdsl import Processing, processing_step\n"
        "\n"
        "SETTINGS = {'rows': 10}\n"
        "\n"
        "@processing_step(instance_type='ml.m5.large', framework='sklearn')\n"
        "def prep() -> Processing:\n"
        "    rows = SETTINGS['colums']\n"
        "    return Processing(code='p.py', arguments=[rows])\n"
    )
    return pipeline


def test_an_exception_in_a_step_points_at_its_line(tmp_path: Path) -> None:
    result = run_cli("validate", str(_broken_pipeline(tmp_path)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert 'pipeline.py", line 7' in result.stderr
    assert "in step 'prep'" in result.stderr
    assert "KeyError" in result.stderr


def test_a_broken_pipeline_never_reaches_aws(aws: RecordingMotoServer, tmp_path: Path) -> None:
    pipeline = _broken_pipeline(tmp_path)
    import boto3

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="broken-bucket")
    aws.requests.clear()
    result = run_cli("deploy", str(pipeline), "--env", "dev", "--yes", env=aws_env(aws))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert aws.requests == []


def test_internal_errors_are_reported_as_bugs_without_traceback(mocker: object) -> None:
    import smdsl.graph.loader

    mocker.patch.object(smdsl.graph.loader, "load_pipeline", side_effect=RuntimeError("boom"))  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, ["validate", str(QUICKSTART / "pipeline.py")])
    assert result.exit_code == 70
    assert "internal error in smdsl: RuntimeError: boom" in result.output
    assert "Traceback" not in result.output


def test_the_sdk_import_probe_sees_an_sdk_import() -> None:
    """The probe the no-SDK tests rely on does notice the SDK when it is imported."""
    assert "sagemaker.core.shapes" in sdk_modules_after("import sagemaker.core.shapes")


def test_validate_output_json_reports_ok_with_counts() -> None:
    result = run_cli("validate", str(QUICKSTART / "pipeline.py"), "--output", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == "smdsl-validate" and report["ok"] is True
    assert (report["steps"], report["parameters"], report["envs"]) == (2, 3, ["dev", "prod"])
    assert report["problems"] == []


def test_validate_output_json_lists_every_problem_with_its_place(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(
        "from smdsl import Processing, processing_step\n"
        "\n"
        "@processing_step(\n"
        "    instance_type='ml.m5.huge', framework='sklearn', framework_version='1.2-1'\n"
        ")\n"
        "def prep() -> Processing:\n"
        "    return Processing(code='missing.py')\n"
    )
    result = run_cli("validate", str(pipeline), "--output", "json")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    report = json.loads(result.stdout)  # nothing but the document on standard output
    assert report["ok"] is False and report["exit_code"] == 1
    by_field = {p["field"]: p for p in report["problems"]}
    assert {"instance_type", "code"} <= set(by_field)
    for problem in report["problems"]:
        assert problem["file"].endswith("pipeline.py") and problem["step"] == "prep"
        assert isinstance(problem["line"], int)


def test_validate_output_json_reports_a_file_that_does_not_load(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text("def broken(:\n")
    result = run_cli("validate", str(pipeline), "--output", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["problems"]
    assert "Traceback" not in result.stdout + result.stderr


def test_one_problem_under_every_profile_is_counted_once(tmp_path: Path) -> None:
    shutil.copytree(QUICKSTART, tmp_path / "qs")
    pipeline = tmp_path / "qs" / "pipeline.py"
    pipeline.write_text(
        pipeline.read_text().replace(
            'framework_version="1.2-1")', 'framework_version="1.2-1", environment={"a.b": "1"})', 1
        )
    )
    result = run_cli("validate", str(pipeline))
    assert result.returncode == 1
    assert ": 1 problem in the pipeline" in result.stderr, result.stderr

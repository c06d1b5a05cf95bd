"""``smdsl start`` and ``smdsl status`` end to end: the real CLI in a subprocess against moto.

moto's executions are fake: "Succeeded" at once, running nothing, with no step list
(ListPipelineExecutionSteps is not implemented: HTTP 500). What it can report is tested: the
parameters an execution was started with, its state, and the list of executions.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_server import RecordingMotoServer
from conftest import QUICKSTART, aws_env, run_cli

from smdsl.deploy.executions import duration, parameter_text

BUCKET = "smdsl-quickstart-dev"
NAME = "quickstart-dev"
PIPELINE = QUICKSTART / "pipeline.py"


def _sagemaker() -> Any:
    return boto3.client("sagemaker", region_name="us-east-1")


def _cli(server: RecordingMotoServer, *args: str, pipeline: Path = PIPELINE) -> Any:
    command, *rest = args
    env = aws_env(server, SMDSL_NO_CACHE="")
    result = run_cli(command, str(pipeline), "--env", "dev", *rest, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def deployed(aws: RecordingMotoServer) -> RecordingMotoServer:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    result = _cli(aws, "deploy", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    aws.requests.clear()
    return aws


def _executions() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _sagemaker().list_pipeline_executions(PipelineName=NAME)[
        "PipelineExecutionSummaries"
    ]
    return found


def _parameters(arn: str) -> dict[str, str]:
    answer = _sagemaker().list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
    return {p["Name"]: p["Value"] for p in answer.get("PipelineParameters", [])}


def test_start_sends_typed_parameter_values(deployed: RecordingMotoServer) -> None:
    result = _cli(
        deployed,
        "start",
        "--param",
        "MaxDepth=7",
        "--param",
        "TrainRatio=0.7",
        "-p",
        "InputData=s3://other-bucket/churn/",
    )

    assert result.returncode == 0, result.stderr
    [execution] = _executions()
    arn = execution["PipelineExecutionArn"]
    assert _parameters(arn) == {
        "MaxDepth": "7",
        "TrainRatio": "0.7",
        "InputData": "s3://other-bucket/churn/",
    }
    execution_id = arn.rsplit("/", 1)[-1]
    assert result.stdout.splitlines()[:3] == [
        f"started execution {execution_id} of pipeline quickstart-dev in us-east-1",
        f"  {arn}",
        "  parameters: MaxDepth=7, TrainRatio=0.7, InputData=s3://other-bucket/churn/",
    ]
    writes = [w.operation for w in deployed.writes()]
    assert writes == ["SageMaker.StartPipelineExecution"]


def test_start_without_parameters_uses_the_defaults(deployed: RecordingMotoServer) -> None:
    result = _cli(deployed, "start")
    assert result.returncode == 0, result.stderr
    [execution] = _executions()
    assert _parameters(execution["PipelineExecutionArn"]) == {}
    assert "see its state: smdsl status" in result.stdout


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (
            "MaxDepth=deep",
            "--param 'MaxDepth=deep': MaxDepth is an Integer parameter, and 'deep' is not a whole "
            "number, e.g. 5",
        ),
        ("TrainRatio=most", "TrainRatio is a Float parameter, and 'most' is not a number"),
        ("MaxDepht=3", "the pipeline has no parameter 'MaxDepht' (did you mean 'MaxDepth'?)"),
        ("MaxDepth", "--param 'MaxDepth': write NAME=VALUE"),
    ],
)
def test_a_bad_parameter_is_a_usage_error_before_any_aws_call(
    aws: RecordingMotoServer, pair: str, message: str
) -> None:
    result = _cli(aws, "start", "--param", pair)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert aws.requests == []


def test_wait_follows_the_execution_to_its_end(deployed: RecordingMotoServer) -> None:
    result = _cli(deployed, "start", "--param", "MaxDepth=3", "--wait")

    assert result.returncode == 0, result.stdout + result.stderr
    [execution] = _executions()
    execution_id = execution["PipelineExecutionArn"].rsplit("/", 1)[-1]
    assert f"ok: execution {execution_id} succeeded" in result.stdout
    # moto has no step list: said once, and the execution's own state decides
    assert "(step progress unavailable: AWS refused ListPipelineExecutionSteps" in result.stdout
    operations = deployed.operations()
    assert "SageMaker.DescribePipelineExecution" in operations
    assert operations.count("SageMaker.ListPipelineExecutionSteps") == 1  # best effort: no retry


def test_status_lists_the_executions(deployed: RecordingMotoServer) -> None:
    empty = _cli(deployed, "status")
    assert empty.returncode == 0, empty.stderr
    assert "pipeline quickstart-dev in us-east-1 has no executions yet" in empty.stdout

    for depth in ("3", "4"):
        assert _cli(deployed, "start", "--param", f"MaxDepth={depth}").returncode == 0
    deployed.requests.clear()

    result = _cli(deployed, "status")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("pipeline quickstart-dev in us-east-1: the 2 most recent executions")
    ids = {e["PipelineExecutionArn"].rsplit("/", 1)[-1] for e in _executions()}
    listed = {line.split()[0] for line in lines[1:]}
    assert listed == ids
    for line in lines[1:]:
        assert line.split()[1] == "Succeeded"
        assert line.endswith(" UTC")
    assert deployed.writes() == []

    one = _cli(deployed, "status", "--limit", "1")
    assert one.returncode == 0 and len(one.stdout.splitlines()) == 2


@pytest.mark.parametrize("command", [["start"], ["start", "--wait"], ["status"]])
def test_a_pipeline_not_deployed_is_a_clear_error(
    aws: RecordingMotoServer, command: list[str]
) -> None:
    result = _cli(aws, *command)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(
        "error: pipeline quickstart-dev is not deployed in us-east-1: deploy it first "
        "(smdsl deploy "
    )
    assert aws.writes() == []


def test_a_parameter_the_deployed_pipeline_lacks_is_refused(
    deployed: RecordingMotoServer, tmp_path: Path
) -> None:
    copy = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, copy)
    pipeline = copy / "pipeline.py"
    text = pipeline.read_text()
    pipeline.write_text(text + '\nshuffle = param("Shuffle", default=False)\n')

    result = _cli(deployed, "start", "--param", "Shuffle=yes", pipeline=pipeline)

    assert result.returncode == 3, result.stderr
    assert "--param Shuffle: the deployed pipeline quickstart-dev has no parameter 'Shuffle'" in (
        result.stderr
    )
    assert deployed.writes() == []


def test_values_and_durations_as_shown() -> None:
    assert [parameter_text(v) for v in (True, False, 3, 0.7, "s3://b/k")] == [
        "true",
        "false",
        "3",
        "0.7",
        "s3://b/k",
    ]
    assert [duration(s) for s in (9, 252, 3720)] == ["9s", "4m 12s", "1h 02m"]

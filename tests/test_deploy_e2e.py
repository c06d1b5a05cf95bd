"""End to end: the real CLI, in a subprocess, deploying to a moto server over HTTP."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_server import RecordingMotoServer
from conftest import QUICKSTART, aws_env, run_cli

BUCKET = "smdsl-quickstart-dev"
NAME = "quickstart-dev"


def _sagemaker() -> Any:
    return boto3.client("sagemaker", region_name="us-east-1")


def _s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def _deploy(server: RecordingMotoServer, pipeline: Path, *extra: str) -> str:
    result = run_cli("deploy", str(pipeline), "--env", "dev", *extra, env=aws_env(server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def _code_keys() -> list[str]:
    listed = _s3().list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted(o["Key"] for o in listed if "/code/" in o["Key"])


@pytest.fixture
def quickstart_copy(tmp_path: Path) -> Path:
    target = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, target)
    return target / "pipeline.py"


def test_deploy_creates_the_pipeline_as_compiled(aws: RecordingMotoServer) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    out = _deploy(aws, QUICKSTART / "pipeline.py", "--yes")
    assert f"created pipeline {NAME}" in out

    described = _sagemaker().describe_pipeline(PipelineName=NAME)
    compiled = run_cli(
        "definition", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--compact", check=True
    )
    assert described["PipelineDefinition"] == compiled.stdout
    assert described["RoleArn"] == "arn:aws:iam::111122223333:role/SageMakerPipelineRole"
    assert described["PipelineDescription"].startswith("Quickstart: split a churn data set")
    tags = _sagemaker().list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "ml-platform", "env": "dev"}

    # Every code object the definition points at exists, under the hash of its content.
    definition = json.loads(compiled.stdout)
    keys = _code_keys()
    assert len(keys) == 2
    for key in keys:
        assert f"s3://{BUCKET}/{key}" in compiled.stdout
        body = _s3().get_object(Bucket=BUCKET, Key=key)["Body"].read()
        folder_hash = key.split("/")[-2]
        assert len(folder_hash) == 64
        if key.endswith("preprocess.py"):
            assert body == (QUICKSTART / "code" / "preprocess.py").read_bytes()
            digest = hashlib.sha256()
            for part in (b"preprocess.py", body):
                digest.update(len(part).to_bytes(8, "big"))
                digest.update(part)
            assert folder_hash == digest.hexdigest()
    train = next(s for s in definition["Steps"] if s["Name"] == "train")
    assert train["Arguments"]["HyperParameters"]["sagemaker_submit_directory"].startswith(
        f"s3://{BUCKET}/quickstart/code/"
    )


def test_redeploying_an_unchanged_pipeline_writes_nothing(aws: RecordingMotoServer) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    _deploy(aws, QUICKSTART / "pipeline.py", "--yes")
    aws.requests.clear()

    out = _deploy(aws, QUICKSTART / "pipeline.py", "--yes")

    assert "nothing changed" in out
    assert aws.writes() == []
    operations = aws.operations()
    assert "SageMaker.DescribePipeline" in operations
    assert "SageMaker.UpdatePipeline" not in operations


def test_changing_one_script_uploads_one_object_and_updates_once(
    aws: RecordingMotoServer, quickstart_copy: Path
) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    _deploy(aws, quickstart_copy, "--yes")
    before = _code_keys()
    script = quickstart_copy.parent / "code" / "train.py"
    script.write_text(script.read_text() + "\n# tuned\n")
    aws.requests.clear()

    out = _deploy(aws, quickstart_copy, "--yes")

    writes = [w.operation if not w.operation.startswith("S3") else w.method for w in aws.writes()]
    assert writes == ["PUT", "SageMaker.UpdatePipeline"], aws.writes()
    assert "~ step train" in out
    after = _code_keys()
    assert len(after) == len(before) + 1
    described = _sagemaker().describe_pipeline(PipelineName=NAME)
    new_key = (set(after) - set(before)).pop()
    assert new_key in described["PipelineDefinition"]


def test_dry_run_shows_the_plan_and_changes_nothing(aws: RecordingMotoServer) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    aws.requests.clear()

    out = _deploy(aws, QUICKSTART / "pipeline.py", "--dry-run")

    assert "would create the pipeline" in out
    assert out.count("would upload") == 2
    assert aws.writes() == []
    with pytest.raises(_sagemaker().exceptions.ClientError):
        _sagemaker().describe_pipeline(PipelineName=NAME)


def test_tag_change_only_retags(aws: RecordingMotoServer, quickstart_copy: Path) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    _deploy(aws, quickstart_copy, "--yes")
    config = quickstart_copy.parent / "smdsl.toml"
    config.write_text(config.read_text().replace('env = "dev" }', 'env = "dev", owner = "me" }'))
    aws.requests.clear()

    out = _deploy(aws, quickstart_copy, "--yes")

    assert "tag owner=me" in out
    assert [w.operation for w in aws.writes()] == ["SageMaker.AddTags"]


def test_missing_bucket_is_one_clear_error_and_changes_nothing(aws: RecordingMotoServer) -> None:
    result = run_cli(
        "deploy", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--yes", env=aws_env(aws)
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"S3 bucket '{BUCKET}' does not exist" in result.stderr
    assert aws.writes() == []


def test_an_invalid_override_from_the_environment_is_reported(aws: RecordingMotoServer) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    aws.requests.clear()
    result = run_cli(
        "deploy",
        str(QUICKSTART / "pipeline.py"),
        "--env",
        "dev",
        "--yes",
        env=aws_env(aws, SMDSL_PIPELINE_NAME="x" * 300),
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "pipeline_name" in result.stderr
    assert "SMDSL_PIPELINE_NAME" in result.stderr
    assert aws.writes() == []


def test_env_variables_override_the_profile(aws: RecordingMotoServer) -> None:
    _s3().create_bucket(Bucket="other-bucket")
    env = aws_env(aws, SMDSL_BUCKET="other-bucket", SMDSL_PIPELINE_NAME="from-env")
    result = run_cli("deploy", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    described = _sagemaker().describe_pipeline(PipelineName="from-env")
    assert "s3://other-bucket/quickstart/code/" in described["PipelineDefinition"]


def test_without_confirmation_a_non_interactive_deploy_refuses(aws: RecordingMotoServer) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    aws.requests.clear()
    result = run_cli("deploy", str(QUICKSTART / "pipeline.py"), "--env", "dev", env=aws_env(aws))
    assert result.returncode != 0
    assert "--yes" in result.stderr
    assert aws.writes() == []


def test_an_aws_refusal_is_one_line_with_the_operation(
    aws: RecordingMotoServer, mocker: Any
) -> None:
    """moto accepts any CreatePipeline, so the refusal is injected at botocore's call."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError
    from click.testing import CliRunner

    from smdsl.cli import main

    _s3().create_bucket(Bucket=BUCKET)
    real_call = BaseClient._make_api_call

    def refuse_create(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "CreatePipeline":
            error = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}
            raise ClientError(error, operation)
        return real_call(self, operation, params)

    mocker.patch.object(BaseClient, "_make_api_call", refuse_create)
    result = CliRunner().invoke(
        main, ["deploy", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--yes"]
    )
    assert result.exit_code == 3
    assert "AWS refused CreatePipeline: AccessDeniedException: not allowed" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_removing_a_tag_from_the_profile_removes_it(
    aws: RecordingMotoServer, quickstart_copy: Path
) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    _deploy(aws, quickstart_copy, "--yes")
    config = quickstart_copy.parent / "smdsl.toml"
    config.write_text(config.read_text().replace(', env = "dev" }', " }"))
    aws.requests.clear()

    out = _deploy(aws, quickstart_copy, "--yes")

    assert "remove tag env" in out
    assert [w.operation for w in aws.writes()] == ["SageMaker.DeleteTags"]
    arn = _sagemaker().describe_pipeline(PipelineName=NAME)["PipelineArn"]
    assert _sagemaker().list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "ml-platform"}
    ]


def test_a_definition_too_long_to_send_inline_goes_through_s3(
    aws: RecordingMotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lower the inline limit so the quickstart takes the S3 route, then redeploy unchanged."""
    from click.testing import CliRunner

    import smdsl.deploy.aws
    from smdsl.cli import main

    monkeypatch.setattr(smdsl.deploy.aws, "INLINE_LIMIT", 100)
    _s3().create_bucket(Bucket=BUCKET)
    args = ["deploy", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--yes"]

    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "over the 100 SageMaker takes inline: it goes through s3://" in first.output
    keys = [o["Key"] for o in _s3().list_objects_v2(Bucket=BUCKET)["Contents"]]
    [definition_key] = [k for k in keys if k.startswith("quickstart/definitions/quickstart-dev/")]
    stored = _s3().get_object(Bucket=BUCKET, Key=definition_key)["Body"].read().decode()
    compiled = run_cli(
        "definition", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--compact", check=True
    )
    assert stored == compiled.stdout

    aws.requests.clear()
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert aws.writes() == []

"""Deploys that never lose a change, and never hang: faults against the moto server.

Through the real CLI in a subprocess where the fault can be made outside it (a change made while
the deploy waits for its confirmation, an endpoint that never answers); in process, with the fault
injected into botocore, where moto cannot produce it (a refused or throttled UpdatePipeline, an
AccessDenied, a change made during the deploy's uploads).
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_server import RecordingMotoServer
from conftest import OFFLINE_ENV, QUICKSTART, ROOT, SMDSL, aws_env, clean_env, run_cli

BUCKET = "smdsl-quickstart-dev"
NAME = "quickstart-dev"
ROLE = "arn:aws:iam::111122223333:role/SageMakerPipelineRole"


def _sagemaker() -> Any:
    return boto3.client("sagemaker", region_name="us-east-1")


def _env(server: RecordingMotoServer, **extra: str) -> dict[str, str]:
    return aws_env(server, SMDSL_NO_CACHE="", **extra)


def _deploy(server: RecordingMotoServer, pipeline: Path, **extra: str) -> str:
    result = run_cli("deploy", str(pipeline), "--env", "dev", "--yes", env=_env(server, **extra))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _definition() -> str:
    return str(_sagemaker().describe_pipeline(PipelineName=NAME)["PipelineDefinition"])


def _sagemaker_writes(server: RecordingMotoServer) -> list[str]:
    return [w.operation for w in server.writes() if not w.operation.startswith("S3")]


@pytest.fixture
def deployed(aws: RecordingMotoServer, tmp_path: Path) -> Path:
    """A copy of the quickstart, deployed, with a change to its training script not yet
    deployed (so the next deploy updates the pipeline and uploads one object)."""
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    target = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, target)
    _deploy(aws, target / "pipeline.py")
    script = target / "code" / "train.py"
    script.write_text(script.read_text() + "\n# tuned\n")
    aws.requests.clear()
    return target / "pipeline.py"


def _invoke(args: list[str]) -> Any:
    """The CLI in this process, for the tests that patch botocore."""
    from click.testing import CliRunner

    from smdsl.cli import main

    return CliRunner().invoke(main, args)


def _patch_calls(mocker: Any, hook: Any) -> None:
    """Route every botocore API call through ``hook(real, client, operation, params)``."""
    from botocore.client import BaseClient

    real = BaseClient._make_api_call

    def call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        return hook(lambda: real(self, operation, params), self, operation, params)

    mocker.patch.object(BaseClient, "_make_api_call", call)


# -- a failed write leaves the pipeline as it was ----------------------------------------------


def test_a_failed_update_leaves_the_deployed_definition_as_it_was(
    aws: RecordingMotoServer, deployed: Path, mocker: Any
) -> None:
    from botocore.exceptions import ClientError

    before = _definition()

    def refuse_update(real: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UpdatePipeline":
            error = {"Code": "ValidationException", "Message": "Step train is not valid"}
            raise ClientError({"Error": error}, operation)
        return real()

    _patch_calls(mocker, refuse_update)
    result = _invoke(["deploy", str(deployed), "--env", "dev", "--yes"])

    assert result.exit_code == 3, result.output
    assert "AWS refused UpdatePipeline: ValidationException: Step train is not valid" in (
        result.output
    )
    assert "the deployed pipeline quickstart-dev is unchanged" in result.output
    assert _definition() == before
    assert "SageMaker.UpdatePipeline" not in aws.operations()  # refused before it was sent
    assert "SageMaker.AddTags" not in aws.operations()


# -- a change made between the plan and the write stops the deploy -----------------------------


def _read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{marker!r} never came; got {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            assert chunk, f"the deploy ended before {marker!r}; got {seen!r}"
            seen += chunk
    return seen


def test_a_deploy_made_while_another_waits_for_confirmation_is_not_overwritten(
    aws: RecordingMotoServer, deployed: Path
) -> None:
    """Two people deploy: the first reviews its plan while the second's deploy lands. When the
    first says yes, its deploy reads the pipeline again, sees the change and writes nothing."""
    leader, follower = pty.openpty()  # a terminal, so the deploy asks for confirmation
    first = subprocess.Popen(
        [*SMDSL, "deploy", str(deployed), "--env", "dev"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(aws),
        cwd=ROOT,
    )
    os.close(follower)
    try:
        assert first.stdout is not None
        plan = _read_until(first.stdout.fileno(), b"Deploy?", timeout=240)
        assert b"update the pipeline" in plan

        # meanwhile, someone deploys another change (a bigger instance for train)
        _deploy(aws, QUICKSTART / "pipeline.py", SMDSL_STEPS__TRAIN__INSTANCE_TYPE="ml.m5.4xlarge")
        theirs = _definition()
        aws.requests.clear()

        os.write(leader, b"y\n")
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
        os.close(leader)

    message = err.decode()
    assert first.returncode == 3, message
    assert "Traceback" not in message
    assert "pipeline quickstart-dev changed after this deploy read it (its definition differs)" in (
        message
    )
    assert "Nothing was written; run the deploy again" in message
    assert aws.writes() == []  # no upload, no update, no tags
    assert _definition() == theirs  # their deploy stands
    assert "ml.m5.4xlarge" in theirs


def test_a_change_during_the_uploads_stops_the_update(
    aws: RecordingMotoServer, deployed: Path, mocker: Any
) -> None:
    """The pipeline is read once more after the uploads, just before it is written."""
    other = json.loads(_definition())
    other["Steps"][0]["Arguments"]["Environment"] = {"EDITED": "in the console"}
    console = _sagemaker()  # made before the patch: its calls go to moto as they are

    def edit_during_upload(real: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        answer = real()
        if operation == "PutObject":
            console.update_pipeline(PipelineName=NAME, PipelineDefinition=json.dumps(other))
        return answer

    _patch_calls(mocker, edit_during_upload)
    result = _invoke(["deploy", str(deployed), "--env", "dev", "--yes"])

    assert result.exit_code == 3, result.output
    assert "changed after this deploy read it (its definition differs)" in result.output
    assert "The new code objects were uploaded" in result.output
    assert _sagemaker_writes(aws) == ["SageMaker.UpdatePipeline"]  # the console's, not ours
    assert json.loads(_definition()) == other


def test_a_newer_last_modified_time_alone_stops_the_deploy(
    aws: RecordingMotoServer, deployed: Path, mocker: Any
) -> None:
    """moto never changes LastModifiedTime; SageMaker does on any update (a new role, say)."""
    from datetime import timedelta

    reads = []

    def later_on_second_read(real: Any, client: Any, operation: str, params: Any) -> Any:
        answer = real()
        if operation == "DescribePipeline":
            reads.append(operation)
            if len(reads) > 1:
                answer = {**answer, "LastModifiedTime": answer["LastModifiedTime"] + timedelta(1)}
        return answer

    _patch_calls(mocker, later_on_second_read)
    result = _invoke(["deploy", str(deployed), "--env", "dev", "--yes"])

    assert result.exit_code == 3, result.output
    assert "changed after this deploy read it (it was modified at" in result.output
    assert aws.writes() == []


# -- throttling, permissions ------------------------------------------------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def test_throttling_is_retried_and_the_deploy_succeeds(
    aws: RecordingMotoServer, deployed: Path, mocker: Any
) -> None:
    """Below botocore's retry handler: the first two UpdatePipeline attempts are throttled."""
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import Endpoint

    real_send = Endpoint._send
    throttled: list[str] = []

    def send(self: Any, request: Any) -> Any:
        target = request.headers.get("X-Amz-Target") or b""
        target = target.decode() if isinstance(target, bytes) else target
        if target == "SageMaker.UpdatePipeline" and len(throttled) < 2:
            throttled.append(target)
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
            headers = {"Content-Type": "application/x-amz-json-1.1"}
            return AWSResponse(request.url, 400, headers, _Body(body.encode()))
        return real_send(self, request)

    mocker.patch.object(Endpoint, "_send", send)
    before = _definition()
    result = _invoke(["deploy", str(deployed), "--env", "dev", "--yes"])

    assert result.exit_code == 0, result.output
    assert "updated pipeline quickstart-dev" in result.output
    assert len(throttled) == 2
    assert _sagemaker_writes(aws) == ["SageMaker.UpdatePipeline"]  # the third attempt landed
    assert _definition() != before


def test_throttling_that_never_ends_gives_up_after_the_configured_attempts(
    aws: RecordingMotoServer, deployed: Path, mocker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import Endpoint

    real_send = Endpoint._send
    tries: list[int] = []

    def send(self: Any, request: Any) -> Any:
        target = request.headers.get("X-Amz-Target") or b""
        if (target.decode() if isinstance(target, bytes) else target).endswith("UpdatePipeline"):
            tries.append(1)
            body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
            headers = {"Content-Type": "application/x-amz-json-1.1"}
            return AWSResponse(request.url, 400, headers, _Body(body))
        return real_send(self, request)

    mocker.patch.object(Endpoint, "_send", send)
    monkeypatch.setenv("SMDSL_MAX_ATTEMPTS", "2")
    before = _definition()
    result = _invoke(["deploy", str(deployed), "--env", "dev", "--yes"])

    assert result.exit_code == 3, result.output
    assert "AWS refused UpdatePipeline: ThrottlingException: Rate exceeded" in result.output
    assert len(tries) == 2
    assert _definition() == before


def test_access_denied_names_the_action_the_identity_and_the_role(
    aws: RecordingMotoServer, deployed: Path, mocker: Any
) -> None:
    from botocore.exceptions import ClientError

    def deny(real: Any, client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UpdatePipeline":
            message = "You are not authorized to perform this operation"
            error = {"Error": {"Code": "AccessDeniedException", "Message": message}}
            raise ClientError(error, operation)
        return real()

    _patch_calls(mocker, deny)
    result = _invoke(["deploy", str(deployed), "--env", "dev", "--yes"])

    assert result.exit_code == 3, result.output
    output = " ".join(result.output.split())
    assert "AWS refused UpdatePipeline: AccessDeniedException" in output
    assert (
        "the AWS identity arn:aws:sts::123456789012:user/moto needs sagemaker:UpdatePipeline "
        f"on pipeline quickstart-dev, and iam:PassRole on the pipeline's role {ROLE}" in output
    )


# -- an endpoint that never answers ------------------------------------------------------------


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[float] = []
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.accepted.append(time.monotonic())
            self._held.append(connection)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()


def _deploy_against(server: SilentServer, **settings: str) -> tuple[Any, float]:
    env = clean_env(**OFFLINE_ENV, AWS_ENDPOINT_URL=server.url, SMDSL_NO_CACHE="", **settings)
    result = run_cli("deploy", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--yes", env=env)
    return result, time.monotonic()


def test_a_hung_endpoint_ends_within_the_configured_timeout() -> None:
    with SilentServer() as server:
        result, ended = _deploy_against(
            server, SMDSL_READ_TIMEOUT="1", SMDSL_CONNECT_TIMEOUT="1", SMDSL_MAX_ATTEMPTS="2"
        )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "DescribePipeline failed: Read timeout on endpoint URL" in result.stderr
    assert (
        "(waited 1 s per attempt, 2 attempts; SMDSL_READ_TIMEOUT and SMDSL_MAX_ATTEMPTS set how "
        "long to wait)" in result.stderr
    )
    assert len(server.accepted) == 2  # the first try and one retry
    # two reads of 1 s and one back-off of at most 1 s, then the process ends
    assert ended - server.accepted[0] < 8
    assert "would create" not in result.stdout and "create the pipeline" not in result.stdout


def test_a_slow_call_is_named_while_it_waits() -> None:
    with SilentServer() as server:
        result, _ = _deploy_against(server, SMDSL_READ_TIMEOUT="3.5", SMDSL_MAX_ATTEMPTS="1")
    assert result.returncode == 3, result.stdout + result.stderr
    assert (
        "waiting for SageMaker DescribePipeline: no answer after 2 s (attempt 1, up to 3.5 s "
        "per attempt, 1 attempt)" in result.stderr
    )
    assert result.stderr.index("waiting for") < result.stderr.index("error:")
    assert len(server.accepted) == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SMDSL_READ_TIMEOUT", "0"), ("SMDSL_CONNECT_TIMEOUT", "soon"), ("SMDSL_MAX_ATTEMPTS", "2.5")],
)
def test_a_bad_patience_setting_is_a_usage_error(variable: str, value: str) -> None:
    env = clean_env(**OFFLINE_ENV, **{variable: value})
    result = run_cli(
        "deploy", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--dry-run", env=env
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {variable}={value!r}: must be")

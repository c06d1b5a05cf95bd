"""Start a deployed pipeline, follow an execution and list the recent ones (boto3 only).

moto's executions are fake: "Succeeded" at once, with no steps (and no
ListPipelineExecutionSteps at all), so step progress is shown where AWS gives it and
otherwise left out with one line saying why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smdsl.deploy.aws import AwsClients, parse_definition
from smdsl.errors import DeployError

TERMINAL = ("Succeeded", "Failed", "Stopped")
"""The states in which an execution has ended."""

POLL_SECONDS = 10.0
"""How often ``start --wait`` asks for the state of the execution and its steps."""


@dataclass(frozen=True)
class Execution:
    """One pipeline execution as SageMaker reports it."""

    arn: str
    status: str
    started: Any = None  # a datetime
    ended: Any = None
    display_name: str | None = None
    failure_reason: str | None = None

    @property
    def id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class StepRun:
    """One step of an execution."""

    name: str
    status: str
    started: Any = None
    ended: Any = None
    failure_reason: str | None = None
    cached_from: str | None = None  # the execution whose run of the step was reused

    def line(self) -> str:
        text = f"  {self.name}: {self.status}"
        if self.started is not None and self.ended is not None:
            text += f" after {duration(self.ended - self.started)}"
        if self.cached_from:
            text += f" (reused from execution {self.cached_from.rsplit('/', 1)[-1]})"
        if self.failure_reason:
            text += f": {self.failure_reason}"
        return text


def duration(delta: Any) -> str:
    """``1h 02m``, ``4m 12s`` or ``9s``."""
    seconds = int(delta.total_seconds()) if hasattr(delta, "total_seconds") else int(delta)
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


def parameter_text(value: Any) -> str:
    """A parameter value as StartPipelineExecution takes it: a string (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def deployed_parameters(described: Mapping[str, Any]) -> dict[str, str]:
    """The deployed pipeline's parameters: name -> type."""
    definition = parse_definition(described.get("PipelineDefinition") or "{}")
    found = {}
    for item in definition.get("Parameters") or []:
        if isinstance(item, dict) and isinstance(item.get("Name"), str):
            found[item["Name"]] = str(item.get("Type"))
    return found


def start_execution(aws: AwsClients, name: str, parameters: Mapping[str, Any]) -> str:
    """Start pipeline ``name`` with ``parameters``; the execution's ARN.

    botocore gives the call an idempotency token, so a retried start starts one execution.
    """
    request: dict[str, Any] = {"PipelineName": name}
    if parameters:
        request["PipelineParameters"] = [
            {"Name": key, "Value": parameter_text(value)} for key, value in parameters.items()
        ]
    answer = aws.call(aws.sagemaker, "StartPipelineExecution", **request)
    return str(answer["PipelineExecutionArn"])


def describe_execution(aws: AwsClients, arn: str) -> Execution:
    found = aws.call(aws.sagemaker, "DescribePipelineExecution", PipelineExecutionArn=arn)
    return Execution(
        arn=arn,
        status=str(found.get("PipelineExecutionStatus")),
        started=found.get("CreationTime"),
        ended=found.get("LastModifiedTime")
        if found.get("PipelineExecutionStatus") in TERMINAL
        else None,
        display_name=found.get("PipelineExecutionDisplayName"),
        failure_reason=found.get("FailureReason") or None,
    )


def list_steps(aws: AwsClients, client: Any, arn: str) -> list[StepRun]:
    """The steps of execution ``arn`` in the order they started."""
    steps: list[StepRun] = []
    request: dict[str, Any] = {"PipelineExecutionArn": arn, "SortOrder": "Ascending"}
    while True:
        page = aws.call(client, "ListPipelineExecutionSteps", **request)
        for item in page.get("PipelineExecutionSteps", []):
            cache = item.get("CacheHitResult") or {}
            steps.append(
                StepRun(
                    name=str(item.get("StepName")),
                    status=str(item.get("StepStatus")),
                    started=item.get("StartTime"),
                    ended=item.get("EndTime"),
                    failure_reason=item.get("FailureReason") or None,
                    cached_from=cache.get("SourcePipelineExecutionArn"),
                )
            )
        token = page.get("NextToken")
        if not token:
            return steps
        request["NextToken"] = token


def follow(
    aws: AwsClients,
    arn: str,
    notify: Callable[[str], None],
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Execution:
    """Poll execution ``arn`` until it ends, telling each step's change of state; the end.

    Listing the steps is best effort (one try a poll; the next poll is the retry): when it
    fails, one line says so and the execution's own state still decides the end.
    """
    steps_client = aws.client("sagemaker", retries=0)
    seen: dict[str, str] = {}
    told_unavailable = False
    while True:
        execution = describe_execution(aws, arn)
        try:
            steps = list_steps(aws, steps_client, arn)
        except DeployError as exc:
            steps = []
            if not told_unavailable:
                notify(f"  (step progress unavailable: {exc})")
                told_unavailable = True
        for step in steps:
            if seen.get(step.name) != step.status:
                seen[step.name] = step.status
                notify(step.line())
        if execution.status in TERMINAL:
            return execution
        sleep(poll)


def recent_executions(aws: AwsClients, name: str, limit: int) -> list[Execution]:
    """The ``limit`` most recent executions of pipeline ``name``, newest first."""
    page = aws.call(
        aws.sagemaker,
        "ListPipelineExecutions",
        PipelineName=name,
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=limit,
    )
    found = [
        Execution(
            arn=str(item.get("PipelineExecutionArn")),
            status=str(item.get("PipelineExecutionStatus")),
            started=item.get("StartTime"),
            display_name=item.get("PipelineExecutionDisplayName"),
            failure_reason=_reason(item.get("PipelineExecutionFailureReason")),
        )
        for item in page.get("PipelineExecutionSummaries", [])
    ]
    # moto ignores the sort order; SageMaker's is kept for equal times
    found.sort(key=lambda e: e.started.timestamp() if e.started else 0.0, reverse=True)
    return found[:limit]


def _reason(value: Any) -> str | None:
    return value if isinstance(value, str) and value not in ("", "None") else None

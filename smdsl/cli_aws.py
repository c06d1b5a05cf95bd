"""The commands that read a deployed pipeline: ``smdsl diff``, ``smdsl start``, ``smdsl status``.

Registered on the ``smdsl`` group by :mod:`smdsl.cli`; like every command, each imports what it
needs when it runs. Exit codes are those of docs/cli.md, except that ``diff`` uses 1 for "the
deployed pipeline differs" (as ``git diff --exit-code`` does) and so reports a problem in the
pipeline with :data:`PIPELINE_PROBLEM`, and ``start --wait`` uses 1 for an execution that failed
or was stopped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from smdsl.errors import DeployError, SmdslError, display_path

if TYPE_CHECKING:
    from smdsl.deploy.aws import AwsClients
    from smdsl.graph.model import PipelineGraph

PIPELINE_PROBLEM = 4
"""``smdsl diff``'s exit code for a problem in the pipeline, its profile or its code (other
commands use 1, which ``diff`` keeps for "differs")."""

pipeline_file = click.argument(
    "file", type=click.Path(dir_okay=False, path_type=Path), metavar="PIPELINE_FILE"
)

env_option = click.option(
    "--env",
    "-e",
    "env_name",
    envvar="SMDSL_ENV",
    required=True,
    metavar="ENV",
    help="Environment profile from [tool.smdsl.envs.ENV] in pyproject.toml or [envs.ENV] in "
    "smdsl.toml (default: $SMDSL_ENV).",
)

output_option = click.option(
    "--output",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="'json' prints one JSON document on standard output, for CI (see docs/deploy.md).",
)


def _notify(line: str) -> None:
    click.echo(line, err=True)


def _clients(region: str, reading: bool) -> AwsClients:
    from smdsl.deploy.aws import DRY_RUN_PATIENCE, AwsClients

    return AwsClients(region, DRY_RUN_PATIENCE if reading else None, notify=_notify)


def _deploy_graph(file: Path, env_name: str) -> PipelineGraph:
    from smdsl.cli import _graph

    return _graph(file, env_name, for_deploy=True)


@click.command()
@pipeline_file
@env_option
@output_option
def diff(file: Path, env_name: str, output_format: str) -> None:
    """Compare the deployed pipeline with the compiled one, step by step.

    Reads the deployed definition (DescribePipeline and ListTags, nothing else) and shows the
    steps and parameters added, removed and changed, with each changed field's old and new
    value, the role, description and tags, and for each step whether SageMaker's step cache
    would miss: a change to a step's cache key (its code, image, environment, inputs or
    hyperparameters) misses, a change to its display name, description, instance type or
    other settings outside the key does not (docs/deploy.md has the rule).

    Exit code 0 when nothing differs, 1 when something does (a pipeline not deployed yet
    differs in everything), 2 for a usage error, 3 when AWS cannot be read, 4 for a problem in
    the pipeline or its profile.

    \b
    Example:
      smdsl diff pipeline.py --env prod
      smdsl diff pipeline.py --env prod --output json > plan.json
    """
    from smdsl.compile.cache import compile_cached
    from smdsl.deploy.aws import DRY_RUN_PATIENCE, configured, make_plan, read_deployed
    from smdsl.deploy.report import describe_diff, plan_json

    configured(DRY_RUN_PATIENCE)  # a bad SMDSL_*_TIMEOUT is a usage error before any work
    try:
        graph = _deploy_graph(file, env_name)
        compiled, _ = compile_cached(graph)
    except SmdslError as exc:
        if exc.exit_code == 1:
            exc.exit_code = PIPELINE_PROBLEM
        raise
    aws = _clients(compiled.region, reading=True)
    deployed = read_deployed(aws, compiled.name)
    plan = make_plan(compiled, deployed, [], uploads_checked=False)
    if output_format == "json":
        click.echo(plan_json(plan, "diff", env_name))
    else:
        click.echo(describe_diff(plan, display_path(file), env_name))
    sys.exit(1 if plan.action != "none" else 0)


@click.command()
@pipeline_file
@env_option
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A pipeline parameter's value for this execution, parsed by its type (repeatable); "
    "the others take their defaults.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Follow the execution, step by step, until it ends; exit code 1 if it failed or was "
    "stopped.",
)
def start(file: Path, env_name: str, params: tuple[str, ...], wait: bool) -> None:
    """Start an execution of the deployed pipeline, with typed parameter values.

    Each --param value is parsed by its parameter's type (Integer, Float, Boolean, String)
    before anything is sent: a wrong type or an unknown name is a usage error (exit code 2)
    and nothing is started. The pipeline must be deployed (smdsl deploy), with the
    parameters given; smdsl diff shows what differs.

    \b
    Example:
      smdsl start pipeline.py --env dev
      smdsl start pipeline.py --env dev --param MaxDepth=7 --param TrainRatio=0.7 --wait
    """
    from smdsl.deploy.aws import DEPLOY_PATIENCE, configured
    from smdsl.deploy.executions import (
        deployed_parameters,
        duration,
        follow,
        parameter_text,
        start_execution,
    )
    from smdsl.graph.overrides import parse_overrides

    configured(DEPLOY_PATIENCE)
    graph = _deploy_graph(file, env_name)
    values = parse_overrides(graph.parameters, params, need_all=False)
    name, region = graph.pipeline_name, _region(graph)
    aws = _clients(region, reading=False)
    described = _deployed(aws, name, region, file, env_name)
    _check_deployed_parameters(deployed_parameters(described), values, graph, name, file)
    arn = start_execution(aws, name, values)
    execution_id = arn.rsplit("/", 1)[-1]
    click.echo(f"started execution {execution_id} of pipeline {name} in {region}")
    click.echo(f"  {arn}")
    if values:
        shown = ", ".join(f"{key}={parameter_text(value)}" for key, value in values.items())
        click.echo(f"  parameters: {shown}")
    if not wait:
        click.echo(f"  see its state: smdsl status {display_path(file)} --env {env_name}")
        return
    try:
        execution = follow(aws, arn, notify=click.echo)
    except KeyboardInterrupt:
        click.echo(
            f"stopped following execution {execution_id}; it goes on in SageMaker "
            f"(smdsl status {display_path(file)} --env {env_name})",
            err=True,
        )
        raise
    took = ""
    if execution.started is not None and execution.ended is not None:
        took = f" after {duration(execution.ended - execution.started)}"
    if execution.status == "Succeeded":
        click.secho(f"ok: execution {execution_id} succeeded{took}", fg="green")
        return
    reason = f": {execution.failure_reason}" if execution.failure_reason else ""
    click.secho(
        f"error: execution {execution_id} {execution.status.lower()}{took}{reason}",
        fg="red",
        err=True,
    )
    sys.exit(1)


@click.command()
@pipeline_file
@env_option
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="How many of the most recent executions to list.",
)
def status(file: Path, env_name: str, limit: int) -> None:
    """List the most recent executions of the deployed pipeline, newest first.

    Shows each execution's id, state (Executing, Succeeded, Failed, Stopping, Stopped), start
    time (UTC) and display name, and why it failed.

    \b
    Example:
      smdsl status pipeline.py --env dev
      smdsl status pipeline.py --env prod --limit 3
    """
    from smdsl.deploy.aws import DRY_RUN_PATIENCE, configured
    from smdsl.deploy.executions import recent_executions

    configured(DRY_RUN_PATIENCE)
    graph = _deploy_graph(file, env_name)
    name, region = graph.pipeline_name, _region(graph)
    aws = _clients(region, reading=True)
    described = _deployed(aws, name, region, file, env_name)
    executions = recent_executions(aws, name, limit)
    if not executions:
        click.echo(
            f"pipeline {name} in {region} has no executions yet: smdsl start "
            f"{display_path(file)} --env {env_name}"
        )
        return
    count = len(executions)
    listed = f"the {count} most recent executions" if count > 1 else "one execution"
    click.echo(f"pipeline {name} in {region}: {listed} ({described['PipelineArn']}/execution/ID)")
    width = max(len(e.status) for e in executions)
    for execution in executions:
        line = f"  {execution.id}  {execution.status:<{width}}  {_utc(execution.started)}"
        if execution.display_name:
            line += f"  {execution.display_name}"
        if execution.failure_reason and execution.status != "Succeeded":
            line += f"  {execution.failure_reason}"
        click.echo(line)


def _region(graph: PipelineGraph) -> str:
    region = graph.env.region
    assert region, "a profile checked for deploy has a region"
    return region


def _deployed(aws: AwsClients, name: str, region: str, file: Path, env_name: str) -> dict[str, Any]:
    from smdsl.deploy.aws import describe_pipeline

    described = describe_pipeline(aws, name)
    if described is None:
        raise DeployError(
            f"pipeline {name} is not deployed in {region}: deploy it first (smdsl deploy "
            f"{display_path(file)} --env {env_name})"
        )
    return described


def _check_deployed_parameters(
    deployed: dict[str, str], values: dict[str, Any], graph: PipelineGraph, name: str, file: Path
) -> None:
    """Each value given must be for a parameter the deployed pipeline has, of the same type."""
    local = {p.name: p.type for p in graph.parameters}
    for key in values:
        if key not in deployed:
            raise DeployError(
                f"--param {key}: the deployed pipeline {name} has no parameter {key!r} (it has "
                f"{', '.join(sorted(deployed)) or 'none'}); deploy {display_path(file)} first, "
                "smdsl diff shows what differs"
            )
        if deployed[key] != local[key]:
            raise DeployError(
                f"--param {key}: it is {local[key]} in {display_path(file)} but {deployed[key]} in "
                f"the deployed pipeline {name}; deploy first, smdsl diff shows what differs"
            )


def _utc(value: Any) -> str:
    if value is None:
        return "-"
    from datetime import timezone

    astimezone = getattr(value, "astimezone", None)
    if callable(astimezone):
        return str(astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
    return str(value)

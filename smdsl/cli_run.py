"""The commands of the local loop: ``smdsl run --local`` and ``smdsl models --local``.

Registered on the ``smdsl`` group by :mod:`smdsl.cli`; like every command, each imports what it
needs when it runs.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from smdsl.errors import UsageError, display_path

if TYPE_CHECKING:
    from smdsl.graph.model import PipelineGraph
    from smdsl.local.data import DataSource

STATE_DIR_VARIABLE = "SMDSL_LOCAL_DIR"
DEFAULT_STATE_DIR = ".smdsl"

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=STATE_DIR_VARIABLE,
    default=DEFAULT_STATE_DIR,
    show_default=True,
    help="Where local runs, the step cache and the local registry are kept "
    f"(default: ${STATE_DIR_VARIABLE}, else .smdsl in the current folder).",
)


def _data_source(graph: PipelineGraph, data_dir: Path | None, s3: bool, state: Path) -> DataSource:
    from smdsl.declare.envfile import find_env_file
    from smdsl.local.data import Mirror, S3Data

    if s3:
        if data_dir is not None:
            raise UsageError("give --s3 or --data-dir, not both")
        return S3Data(state / "s3", graph.env.region or os.environ.get("AWS_REGION"))
    if data_dir is not None:
        return Mirror(data_dir.resolve())
    if graph.env.local_data:
        env_file = find_env_file(graph.module.path).path
        base = env_file.parent if env_file else graph.module.path.parent
        return Mirror((base / graph.env.local_data).resolve())
    return Mirror((graph.module.path.parent / "data").resolve())


def _rerun(file: Path, env_name: str | None, params: tuple[str, ...], extra: list[str]) -> Any:
    def command(step: str) -> str:
        words = ["smdsl", "run", display_path(file), "--local", "--only", step]
        if env_name:
            words += ["--env", env_name]
        for pair in params:
            words += ["--param", pair]
        return shlex.join(words + extra)

    return command


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), metavar="PIPELINE_FILE")
@click.option(
    "--local",
    is_flag=True,
    help="Run on this machine: scripts as subprocesses of this Python, no AWS, no Docker.",
)
@click.option(
    "--env",
    "-e",
    "env_name",
    envvar="SMDSL_ENV",
    metavar="ENV",
    help="Environment profile (default: $SMDSL_ENV); without it, no profile's overrides apply.",
)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A pipeline parameter's value for this run, parsed by its type (repeatable).",
)
@click.option(
    "--from",
    "from_step",
    metavar="STEP",
    help="Run STEP and every step after it; take the steps before it from the latest local run.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="STEP",
    help="Run only STEP (repeatable); take what it reads from the latest local run.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Run every step, even one unchanged since a successful local run.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Read "
    "s3:// inputs from this folder, laid out as <bucket>/<key> (default: the "
    "profile's local_data, else data/ beside the pipeline).",
)
@click.option(
    "--s3",
    is_flag=True,
    help="Read s3:// inputs from S3 itself with the usual AWS "
    "credentials (downloads are cached in the state folder).",
)
@state_dir_option
def run(
    file: Path,
    local: bool,
    env_name: str | None,
    params: tuple[str, ...],
    from_step: str | None,
    only: tuple[str, ...],
    no_cache: bool,
    data_dir: Path | None,
    s3: bool,
    state_dir: Path,
) -> None:
    """Run a pipeline on this machine, step by step, in dependency order.

    Each script runs as a subprocess of this Python with the contract of SageMaker's
    containers: /opt/ml paths, SM_* variables, hyperparameters as --name value. s3:// inputs are
    read from a local mirror folder (or S3 with --s3); outputs go under
    .smdsl/runs/PIPELINE/RUN_ID/STEP/OUTPUT/. Conditions are decided on the real values, a
    fail step fails the run, model and register steps are recorded in a local registry
    (smdsl models --local), and a step unchanged since a successful local run is reused.

    Exit code 0 when the run succeeded, 1 when a step failed or a fail step was reached, 2
    for a bad option; nothing runs when a step cannot run locally.

    \b
    Example:
      smdsl run examples/quickstart/pipeline.py --local
      smdsl run pipeline.py --local --param MaxDepth=3 --only train
    """
    if not local:
        raise UsageError(
            "smdsl run needs --local: it runs the pipeline on this machine (to run it on "
            "SageMaker, deploy it with smdsl deploy and start an execution)"
        )
    from smdsl.cli import _graph
    from smdsl.graph.overrides import parse_overrides
    from smdsl.local.engine import LocalRun
    from smdsl.local.progress import LiveReporter, PlainReporter, summary

    graph = _graph(file, env_name)
    values = parse_overrides(graph.parameters, params)
    state = state_dir.resolve()
    data = _data_source(graph, data_dir, s3, state)
    live = sys.stdout.isatty() and not os.environ.get("CI")
    reporter: LiveReporter | PlainReporter = LiveReporter() if live else PlainReporter()
    extra = ["--state-dir", str(state_dir)] if state_dir != Path(DEFAULT_STATE_DIR) else []
    if data_dir is not None:
        extra += ["--data-dir", str(data_dir)]
    if s3:
        extra.append("--s3")
    local_run = LocalRun(
        graph,
        state_dir=state,
        data=data,
        parameters=values,
        only=only,
        from_step=from_step,
        use_cache=not no_cache,
        reporter=reporter,
        rerun=_rerun(file, env_name, params, extra),
    )
    local_run.check()
    count = len(graph.order)
    title = (
        f"local run {local_run.run_id} of {local_run.pipeline}: {count} step"
        f"{'s' if count != 1 else ''}, s3:// data from {data.describe()}"
    )
    reporter.begin(title, [(n, graph.nodes[n].kind) for n in graph.order])
    try:
        outcome = local_run.execute()
    finally:
        reporter.end()
    for line in summary(outcome):
        click.echo(line)
    failure = outcome.failure
    if failure is None:
        counts = outcome.counts()
        click.secho(
            f"ok: {outcome.pipeline} ran locally in {outcome.seconds:.1f}s (run {outcome.run_id}: "
            + ", ".join(f"{n} {state}" for state, n in counts.items())
            + ")",
            fg="green",
        )
        return
    if failure.kind == "fail":
        click.secho(f"error: {failure.message}", fg="red", err=True)
    else:
        click.secho(f"error: step {failure.name!r} failed: {failure.message}", fg="red", err=True)
    if failure.detail:
        click.echo(failure.detail, err=True)
    if failure.kind != "fail":
        click.echo(f"rerun just this step: {local_run.rerun(failure.name)}", err=True)
    sys.exit(1)


@click.command()
@click.option("--local", is_flag=True, help="List the local registry (what local runs created).")
@state_dir_option
def models(local: bool, state_dir: Path) -> None:
    """List the models and model package versions that local runs created.

    \b
    Example:
      smdsl models --local
    """
    if not local:
        raise UsageError(
            "smdsl models needs --local: it lists the local registry that smdsl run --local "
            "writes (SageMaker's own registry is listed by the AWS console or CLI)"
        )
    from smdsl.local.registry import Registry

    registry = Registry.at(state_dir.resolve())
    data = registry.load()
    if not data["models"] and not data["model_package_groups"]:
        click.echo(f"no models in {display_path(registry.path)}: run a pipeline with --local first")
        return
    click.echo(f"models ({display_path(registry.path)}):")
    for name, model in sorted(data["models"].items(), key=lambda item: item[1]["created"]):
        image = model.get("framework") or model.get("image_uri") or "?"
        click.echo(f"  {name}  {image}  {display_path(model['model_data'])}  {model['created']}")
    click.echo("model package groups:")
    for group, versions in sorted(data["model_package_groups"].items()):
        for version in versions:
            metrics = ", ".join(display_path(v) for v in version.get("metrics", {}).values())
            click.echo(
                f"  {group} v{version['version']}  {version['approval_status']}  "
                f"{display_path(version['model_data'])}"
                + (f"  metrics: {metrics}" if metrics else "")
                + f"  {version['created']}"
            )

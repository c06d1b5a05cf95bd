"""The ``smdsl`` command line."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from smdsl.errors import (
    EnvConfigError,
    GraphError,
    Problem,
    SmdslError,
    UsageError,
    display_path,
)
from smdsl.graph.render import FORMATS

if TYPE_CHECKING:
    from smdsl.graph.model import PipelineGraph

# What a command needs is imported when it runs, so that ``smdsl --help`` and ``--version``
# import neither smdsl's models (pydantic) nor networkx, botocore or the SDK.


F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    """Turns every smdsl error into its message and exit code: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SmdslError as exc:
            _debug_traceback()
            click.secho(f"error: {exc.render()}", fg="red", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            _debug_traceback()
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            # the reader of our output went away (`| head`): stop quietly, as cat does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except Exception as exc:
            _debug_traceback()
            click.secho(
                f"internal error in smdsl: {type(exc).__name__}: {exc}\n"
                "This is a bug in smdsl, not in your pipeline; rerun with SMDSL_DEBUG=1 for the "
                "traceback and report it.",
                fg="red",
                err=True,
            )
            sys.exit(70)


def _debug_traceback() -> None:
    """With SMDSL_DEBUG set, print the traceback of the error being handled (exit code kept)."""
    if os.environ.get("SMDSL_DEBUG", "").lower() not in ("", "0", "false", "no"):
        traceback.print_exc(file=sys.stderr)


pipeline_file = click.argument(
    "file", type=click.Path(dir_okay=False, path_type=Path), metavar="PIPELINE_FILE"
)


def env_option(required: bool, without: str = "") -> Callable[[F], F]:
    """The --env option; ``without`` says what happens when it is not given."""
    return click.option(
        "--env",
        "-e",
        "env_name",
        envvar="SMDSL_ENV",
        required=required,
        metavar="ENV",
        help="Environment profile from [tool.smdsl.envs.ENV] in pyproject.toml or [envs.ENV] "
        f"in smdsl.toml (default: $SMDSL_ENV). {without}".rstrip(),
    )


def _graph(file: Path, env_name: str | None, for_deploy: bool = False) -> PipelineGraph:
    from smdsl.declare.env import load_env
    from smdsl.graph.build import build_graph
    from smdsl.graph.loader import load_pipeline

    module = load_pipeline(file)
    graph = build_graph(module, load_env(module.path, env_name), for_deploy=for_deploy)
    _warn(graph.warnings)
    return graph


def _as_problems(exc: SmdslError) -> list[Problem]:
    """The problems an error lists, or the error itself as one problem."""
    if isinstance(exc, GraphError):
        return exc.problems
    return exc.problems or [Problem(str(exc))]


def _warn(warnings: list[Problem]) -> None:
    """Show each warning once, on standard error."""
    for warning in dict.fromkeys(warnings):
        click.secho(f"warning: {warning}", fg="yellow", err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="smdsl")
def main() -> None:
    """smdsl: SageMaker Pipelines as plain, testable Python.

    \b
    The daily loop:
      smdsl validate pipeline.py            check steps and graph (no AWS, no SDK)
      smdsl graph pipeline.py               show the steps and their edges
      smdsl definition pipeline.py -e dev   print the compiled definition JSON (offline)
      smdsl deploy pipeline.py -e dev       upload code, then create or update the pipeline
      smdsl run pipeline.py --local         run it on this machine (no AWS, no Docker)

    \b
    Environment:
      SMDSL_ENV        the profile to use when --env is not given
      SMDSL_DEBUG=1    show the traceback of an error
      SMDSL_CACHE_DIR  where smdsl keeps what it derives once and reuses (default:
                       $XDG_CACHE_HOME/smdsl, else ~/.cache/smdsl); SMDSL_NO_CACHE=1 turns
                       the cache off
    """


@main.command()
@pipeline_file
@env_option(required=False, without="Without it, every profile defined is checked.")
def validate(file: Path, env_name: str | None) -> None:
    """Check a pipeline file: steps, configs, references and the graph.

    Loads the file, calls every step function and checks the DAG, reporting every problem at
    once with its file and line. Checks each profile as `definition` and `deploy` would use it:
    region, role ARN and bucket set, a region SageMaker runs in, instance types SageMaker
    offers and a framework image for each step. Needs no AWS account and does not import the
    SageMaker SDK.

    \b
    Example:
      smdsl validate examples/quickstart/pipeline.py
      smdsl validate pipeline.py --env prod
    """
    from smdsl.declare.env import load_env
    from smdsl.declare.envfile import find_env_file
    from smdsl.graph.build import build_graph
    from smdsl.graph.loader import load_pipeline

    module = load_pipeline(file)
    if env_name is not None:
        names: list[str | None] = [env_name]
    else:
        names = list(find_env_file(module.path).profiles) or [None]
    summary = ""
    warnings: list[Problem] = []
    failures: list[SmdslError] = []
    for name in names:
        try:
            graph = build_graph(module, load_env(module.path, name), for_deploy=name is not None)
        except (GraphError, EnvConfigError) as exc:
            failures.append(exc)  # every profile is checked, and all their problems reported
            continue
        warnings += graph.warnings
        steps, params = len(graph.order), len(graph.parameters)
        summary = f"{steps} step{'s' if steps != 1 else ''}, {params} parameter" + (
            "s" if params != 1 else ""
        )
    if len(failures) == 1:
        raise failures[0]
    if failures:
        problems = list(dict.fromkeys(p for exc in failures for p in _as_problems(exc)))
        raise GraphError(
            f"{display_path(module.path)}: {len(problems)} problems in the pipeline", problems
        )
    _warn(warnings)
    envs = ", ".join(n for n in names if n) or "no environment profiles"
    click.secho(f"ok: {display_path(module.path)}: {summary} ({envs})", fg="green")


@main.command()
@pipeline_file
@env_option(required=False, without="Without it, no profile's overrides apply.")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
def graph(file: Path, env_name: str | None, fmt: str) -> None:
    """Show the steps of a pipeline and the edges between them.

    Does not import the SageMaker SDK. Mermaid output pastes into GitHub markdown; dot output
    feeds Graphviz.

    \b
    Example:
      smdsl graph examples/quickstart/pipeline.py
      smdsl graph pipeline.py --format dot | dot -Tpng > pipeline.png
    """
    from smdsl.graph.render import render

    click.echo(render(_graph(file, env_name), fmt), nl=False)


@main.command()
@pipeline_file
@env_option(required=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the definition to this file instead of standard output ('-' for standard output).",
)
@click.option(
    "--compact",
    is_flag=True,
    help="The definition exactly as deploy sends it (compact JSON) rather than indented.",
)
def definition(file: Path, env_name: str, output: Path | None, compact: bool) -> None:
    """Print the compiled SageMaker pipeline definition (JSON).

    Compiles offline: no AWS call, no network, no credentials needed. The same pipeline and
    environment always give the same bytes. The JSON is indented for reading; --compact gives
    the bytes deploy sends and compares. An unchanged pipeline is not compiled again: its
    definition comes from smdsl's cache (see docs/performance.md).

    \b
    Example:
      smdsl definition examples/quickstart/pipeline.py --env dev -o definition.json
    """
    from smdsl.compile.builder import pretty
    from smdsl.compile.cache import compile_cached

    if output is not None and str(output) == "-":
        output = None  # the usual spelling of standard output
    if output is not None and not output.parent.is_dir():
        raise UsageError(
            f"--output {display_path(output)}: folder {display_path(output.parent)!r} does not "
            "exist; give a file in an existing folder, e.g. -o definition.json"
        )
    graph = _graph(file, env_name, for_deploy=True)
    compiled, _ = compile_cached(graph)
    text = compiled.definition if compact else pretty(compiled.definition)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise SmdslError(
            f"--output {display_path(output)}: cannot write it: {exc.strerror or exc}"
        ) from None
    click.echo(f"wrote {display_path(output)} ({len(text):,} characters)", err=True)


@main.command()
@pipeline_file
@env_option(required=True)
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option(
    "--offline",
    is_flag=True,
    help="With --dry-run: read nothing from AWS and show the plan for a first deploy into an "
    "empty account (no credentials needed).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def deploy(file: Path, env_name: str, dry_run: bool, offline: bool, yes: bool) -> None:
    """Validate, compile, upload missing code and create or update the pipeline.

    Code is uploaded to content-addressed keys under s3://BUCKET/PREFIX/code/, each distinct
    bundle once and only when it is not there yet. An unchanged pipeline makes no write call.
    Honours AWS_ENDPOINT_URL and the usual AWS credential settings.

    --dry-run reads what is deployed and shows the plan; if AWS cannot be read (no
    credentials, a missing bucket, an error) it fails with exit code 3 rather than guess.

    \b
    Example:
      smdsl deploy examples/quickstart/pipeline.py --env dev --dry-run --offline
      smdsl deploy pipeline.py --env prod --dry-run
      smdsl deploy pipeline.py --env prod --yes
    """
    if offline and not dry_run:
        raise UsageError("--offline reads nothing from AWS, so it can only plan: add --dry-run")
    from smdsl.compile.cache import compile_cached
    from smdsl.deploy.aws import (
        DRY_RUN_PATIENCE,
        AwsClients,
        apply_plan,
        make_plan,
        missing_code,
        read_deployed,
    )
    from smdsl.deploy.report import describe_plan

    graph = _graph(file, env_name, for_deploy=True)
    compiled, _ = compile_cached(graph)
    if offline:
        plan = make_plan(compiled, None, list(compiled.code), offline=True)
        click.echo(describe_plan(plan, dry_run=True))
        return
    aws = AwsClients(compiled.region, DRY_RUN_PATIENCE if dry_run else None)
    deployed = read_deployed(aws, compiled.name)
    uploads = missing_code(aws, compiled.bucket, compiled.code)
    plan = make_plan(compiled, deployed, uploads)
    click.echo(describe_plan(plan, dry_run))
    if dry_run or not plan.has_writes:
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("not deploying without confirmation: pass --yes")
        click.confirm("Deploy?", abort=True)
    apply_plan(aws, plan)
    verb = {"create": "created", "update": "updated", "tag": "retagged", "none": "checked"}
    click.secho(f"{verb[plan.action]} pipeline {compiled.name} in {compiled.region}", fg="green")


from smdsl.cli_run import models, run  # noqa: E402  (the local loop's commands)

main.add_command(run)
main.add_command(models)

if __name__ == "__main__":  # pragma: no cover
    main()

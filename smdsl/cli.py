"""The ``smdsl`` command line."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
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
      smdsl diff pipeline.py -e dev         what deploy would change (exit 1 when anything)
      smdsl start pipeline.py -e dev        start an execution; status lists them

    \b
    Environment:
      SMDSL_ENV        the profile to use when --env is not given
      SMDSL_DEBUG=1    show the traceback of an error
      SMDSL_LOCAL_DIR  where smdsl run --local keeps runs, its step cache and registry
      SMDSL_CONNECT_TIMEOUT, SMDSL_READ_TIMEOUT, SMDSL_MAX_ATTEMPTS
                       seconds and tries for AWS calls (see docs/deploy.md)
      SMDSL_CACHE_DIR  where smdsl keeps what it derives once and reuses (default:
                       $XDG_CACHE_HOME/smdsl, else ~/.cache/smdsl); SMDSL_NO_CACHE=1 turns
                       the cache off
    """


@main.command()
@pipeline_file
@env_option(required=False, without="Without it, every profile defined is checked.")
@click.option(
    "--output",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON document on standard output (ok, steps, parameters, warnings, and "
    "every problem with its file, line, step and field), for CI.",
)
def validate(file: Path, env_name: str | None, output: str) -> None:
    """Check a pipeline file: steps, configs, references and the graph.

    Loads the file, calls every step function and checks the DAG, reporting every problem at
    once with its file and line. Checks each profile as `definition` and `deploy` would use it:
    region, role ARN and bucket set, a region SageMaker runs in, instance types SageMaker
    offers and a framework image for each step. Without --env this needs no AWS account and
    does not import the SageMaker SDK.

    With --env, once those checks pass, it also compiles the pipeline offline (as `definition`
    does) and checks every job step's arguments against the SageMaker API's request shapes
    (types, required fields, enums, patterns, lengths, limits), naming the step and field of
    each problem.

    \b
    Example:
      smdsl validate examples/quickstart/pipeline.py
      smdsl validate pipeline.py --env prod
    """
    if output == "json":
        try:
            summary = _validate(file, env_name)
        except SmdslError as exc:
            _print_json(_validation_report(file, env_name, None, exc))
            sys.exit(exc.exit_code)
        _print_json(_validation_report(file, env_name, summary, None))
        return
    summary = _validate(file, env_name)
    _warn(summary.warnings)
    envs = ", ".join(n for n in summary.envs if n) or "no environment profiles"
    click.secho(f"ok: {display_path(summary.path)}: {summary.text} ({envs})", fg="green")


@dataclass
class _Validated:
    path: Path
    envs: list[str | None]
    steps: int
    parameters: int
    warnings: list[Problem]

    @property
    def text(self) -> str:
        steps, params = self.steps, self.parameters
        return f"{steps} step{'s' if steps != 1 else ''}, {params} parameter" + (
            "s" if params != 1 else ""
        )


def _validate(file: Path, env_name: str | None) -> _Validated:
    """Every check of `smdsl validate`; raises the error listing every problem found."""
    from smdsl.declare.env import load_env
    from smdsl.declare.envfile import find_env_file
    from smdsl.graph.build import build_graph
    from smdsl.graph.loader import load_pipeline

    module = load_pipeline(file)
    if env_name is not None:
        names: list[str | None] = [env_name]
    else:
        names = list(find_env_file(module.path).profiles) or [None]
    counts = (0, 0)
    warnings: list[Problem] = []
    failures: list[SmdslError] = []
    for name in names:
        try:
            graph = build_graph(module, load_env(module.path, name), for_deploy=name is not None)
        except (GraphError, EnvConfigError) as exc:
            failures.append(exc)  # every profile is checked, and all their problems reported
            continue
        warnings += graph.warnings
        counts = (len(graph.order), len(graph.parameters))
    if len(failures) == 1:
        raise failures[0]
    if failures:
        problems = list(dict.fromkeys(p for exc in failures for p in _as_problems(exc)))
        count = len(problems)  # the same problem under every profile is reported once
        raise GraphError(
            f"{display_path(module.path)}: {count} problem{'s' if count != 1 else ''} in the "
            "pipeline",
            problems,
        )
    if env_name is not None:  # what definition and deploy would refuse: the API's checks
        from smdsl.compile.cache import compile_cached

        compile_cached(graph)
    return _Validated(module.path, names, counts[0], counts[1], list(dict.fromkeys(warnings)))


def _problem_json(problem: Problem) -> dict[str, Any]:
    location = problem.location
    return {
        "message": problem.message,
        "file": display_path(location.file) if location else None,
        "line": location.line if location else None,
        "step": problem.step,
        "field": problem.field,
        "text": str(problem),
    }


def _validation_report(
    file: Path, env_name: str | None, summary: _Validated | None, error: SmdslError | None
) -> dict[str, Any]:
    """The JSON document of `validate --output json` (format smdsl-validate, version 1)."""
    report: dict[str, Any] = {
        "format": "smdsl-validate",
        "version": 1,
        "file": display_path(summary.path if summary else file),
        "env": env_name,
        "ok": error is None,
    }
    if summary is not None:
        report.update(
            envs=[n for n in summary.envs if n],
            steps=summary.steps,
            parameters=summary.parameters,
            warnings=[_problem_json(w) for w in summary.warnings],
            problems=[],
        )
    if error is not None:
        problems = error.problems or [Problem(str(error))]
        report.update(
            error=str(error),
            exit_code=error.exit_code,
            problems=[_problem_json(p) for p in problems],
        )
    return report


def _print_json(document: dict[str, Any]) -> None:
    import json

    click.echo(json.dumps(document, indent=2))


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
@click.option(
    "--output",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="With --dry-run: 'json' prints the plan as one JSON document on standard output, for "
    "CI (see docs/deploy.md).",
)
def deploy(
    file: Path, env_name: str, dry_run: bool, offline: bool, yes: bool, output_format: str
) -> None:
    """Validate, compile, upload missing code and create or update the pipeline.

    Code is uploaded to content-addressed keys under s3://BUCKET/PREFIX/code/, each distinct
    bundle once and only when it is not there yet. An unchanged pipeline makes no write call.
    Honours AWS_ENDPOINT_URL and the usual AWS credential settings.

    --dry-run reads what is deployed and shows the plan; if AWS cannot be read (no
    credentials, a missing bucket, an error) it fails with exit code 3 rather than guess.

    The pipeline is read again just before it is written: if it changed since the plan was
    made (another deploy, a console edit), nothing is written and the deploy fails (exit code
    3). Each AWS call waits at most SMDSL_CONNECT_TIMEOUT / SMDSL_READ_TIMEOUT seconds per
    attempt, SMDSL_MAX_ATTEMPTS attempts (default 5 s, 30 s, 4), and a slow call is named on
    standard error.

    \b
    Example:
      smdsl deploy examples/quickstart/pipeline.py --env dev --dry-run --offline
      smdsl deploy pipeline.py --env prod --dry-run --output json
      smdsl deploy pipeline.py --env prod --yes
    """
    if offline and not dry_run:
        raise UsageError("--offline reads nothing from AWS, so it can only plan: add --dry-run")
    if output_format == "json" and not dry_run:
        raise UsageError(
            "--output json prints the plan of a dry run: add --dry-run (a deploy reports in text)"
        )
    from smdsl.compile.cache import compile_cached
    from smdsl.deploy.aws import (
        DRY_RUN_PATIENCE,
        AwsClients,
        apply_plan,
        configured,
        make_plan,
        missing_code,
        read_deployed,
    )
    from smdsl.deploy.report import describe_plan, plan_json

    def show(plan: Any) -> None:
        if output_format == "json":
            click.echo(plan_json(plan, "deploy --dry-run", env_name))
        else:
            click.echo(describe_plan(plan, dry_run))

    configured(DRY_RUN_PATIENCE)  # a bad SMDSL_*_TIMEOUT is a usage error before any work
    graph = _graph(file, env_name, for_deploy=True)
    compiled, _ = compile_cached(graph)
    if offline:
        show(make_plan(compiled, None, list(compiled.code), offline=True))
        return
    aws = AwsClients(
        compiled.region,
        DRY_RUN_PATIENCE if dry_run else None,
        notify=lambda line: click.echo(line, err=True),
    )
    deployed = read_deployed(aws, compiled.name)
    uploads = missing_code(aws, compiled.bucket, compiled.code)
    plan = make_plan(compiled, deployed, uploads)
    show(plan)
    if dry_run or not plan.has_writes:
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("not deploying without confirmation: pass --yes")
        click.confirm("Deploy?", abort=True)
    apply_plan(aws, plan)
    verb = {"create": "created", "update": "updated", "tag": "retagged", "none": "checked"}
    click.secho(f"{verb[plan.action]} pipeline {compiled.name} in {compiled.region}", fg="green")


from smdsl.cli_aws import diff, start, status  # noqa: E402  (the commands that read AWS)
from smdsl.cli_run import models, run  # noqa: E402  (the local loop's commands)

main.add_command(run)
main.add_command(models)
main.add_command(diff)
main.add_command(start)
main.add_command(status)

if __name__ == "__main__":  # pragma: no cover
    main()

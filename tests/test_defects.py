"""Broken inputs and faults a new user met, each run through the real CLI in a subprocess.

Every case has a fixture under tests/fixtures/defects/core/ (a pipeline file, a profile or the
environment variables given here). Each checks the exit code, one clear message naming the file
and line (or the variable or path), no traceback, and for deploy cases no write at the server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_server import FailingServer, RecordingMotoServer
from conftest import OFFLINE_ENV, QUICKSTART, aws_env, clean_env, marker_line, run_cli

CORE = Path(__file__).parent / "fixtures" / "defects" / "core"
BUCKET = "smdsl-defects"
NAME = "defects-dev"


def assert_clean_failure(result: Any, code: int) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: "), result.stderr


def _s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def _sagemaker() -> Any:
    return boto3.client("sagemaker", region_name="us-east-1")


# -- 1. what the user's code raises, SystemExit and KeyboardInterrupt included ------------------

EXITS = [
    ("exit_in_step.py", "exit", "called sys.exit() (raised SystemExit)"),
    ("exit_zero_in_step.py", "exit", "called sys.exit(0) (raised SystemExit)"),
    ("exit_three_in_step.py", "exit", "called sys.exit(3) (raised SystemExit)"),
    ("exit_at_import.py", "exit", "called sys.exit(0) (raised SystemExit)"),
    ("interrupt_in_step.py", "raise", "was interrupted (raised KeyboardInterrupt)"),
]


@pytest.mark.parametrize(("fixture", "mark", "message"), EXITS)
@pytest.mark.parametrize("command", [["validate"], ["definition", "--env", "dev"]])
def test_exits_and_interrupts_are_problems_at_their_line(
    fixture: str, mark: str, message: str, command: list[str]
) -> None:
    path = CORE / fixture
    result = run_cli(*command, str(path))
    assert_clean_failure(result, 1)
    assert f'{fixture}", line {marker_line(path, mark)}' in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("fixture", ["exit_zero_in_step.py", "exit_three_in_step.py"])
def test_a_deploy_of_an_exiting_pipeline_fails_and_writes_nothing(
    aws: RecordingMotoServer, fixture: str
) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    aws.requests.clear()
    result = run_cli("deploy", str(CORE / fixture), "--env", "dev", "--yes", env=aws_env(aws))
    assert_clean_failure(result, 1)
    assert "raised SystemExit" in result.stderr
    assert aws.requests == []


# -- 2. a virtual environment inside the pipeline's folder --------------------------------------


def test_packages_of_a_venv_inside_the_project_are_never_forgotten(tmp_path: Path) -> None:
    """project/.venv holds numpy; the pipeline imports it, then compiling imports it again.

    Forgetting numpy after loading the pipeline makes the SDK's own ``import numpy`` load it a
    second time, which numpy refuses ("cannot load module more than once per process").
    """
    project = tmp_path / "project"
    shutil.copytree(CORE / "code", project / "code")
    shutil.copy(CORE / "smdsl.toml", project / "smdsl.toml")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = project / ".venv" / "lib" / version / "site-packages"
    (project / ".venv").mkdir()
    (project / ".venv" / "pyvenv.cfg").write_text("include-system-site-packages = false\n")
    import numpy

    installed = Path(numpy.__file__).parent
    shutil.copytree(installed, site / "numpy")
    libs = installed.parent / "numpy.libs"  # numpy's bundled OpenBLAS, on Linux wheels
    if libs.is_dir():
        shutil.copytree(libs, site / "numpy.libs")
    (project / "pipeline.py").write_text(
        "import numpy as np\n"
        "from smdsl import Processing, processing_step\n"
        "\n"
        "SPLIT = float(np.float64(0.8))\n"
        "\n"
        "@processing_step(instance_type='ml.m5.xlarge', framework='sklearn')\n"
        "def prep() -> Processing:\n"
        "    return Processing(code='code/process.py', arguments=['--split', SPLIT])\n"
    )
    purelib = sysconfig.get_path("purelib")
    env = clean_env(**OFFLINE_ENV, PYTHONPATH=f"{site}:{purelib}")
    result = run_cli("definition", str(project / "pipeline.py"), "--env", "dev", env=env)
    assert result.returncode == 0, result.stderr
    assert '"0.8"' in result.stdout
    # The layout really was used: numpy comes from the project's .venv.
    where = subprocess.run(
        [sys.executable, "-c", "import numpy; print(numpy.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site)


def test_the_loader_forgets_only_the_pipelines_own_modules(tmp_path: Path) -> None:
    from smdsl.graph.loader import is_own_source

    folder = tmp_path.resolve()
    assert is_own_source(folder / "helpers.py", folder)
    assert is_own_source(folder / "lib" / "features.py", folder)
    for installed in (
        folder / ".venv" / "lib" / "python3.11" / "site-packages" / "numpy" / "__init__.py",
        folder / "env" / "lib" / "python3" / "dist-packages" / "pandas" / "__init__.py",
        tmp_path.parent / "elsewhere.py",
    ):
        assert not is_own_source(installed, folder)
    prefix = Path(sys.prefix).resolve()
    inside_prefix = prefix / "lib" / "mod.py"
    assert not is_own_source(inside_prefix, prefix.parent)


# -- 3. an Integer parameter as instance_count, in every graph format ---------------------------


@pytest.mark.parametrize("fmt", ["text", "mermaid", "dot"])
def test_graph_shows_parameters_by_name(fmt: str) -> None:
    result = run_cli("graph", str(CORE / "count_parameter.py"), "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert "{Kind} x{Workers}" in result.stdout
    assert "ml.m5.xlarge x4" in result.stdout


# -- 4 and 15. a description over 3,072 characters; an unused parameter -------------------------


def test_a_long_description_is_cut_with_a_warning_and_redeploys_as_a_no_op(
    aws: RecordingMotoServer,
) -> None:
    path = CORE / "long_description.py"
    _s3().create_bucket(Bucket=BUCKET)
    first = run_cli("deploy", str(path), "--env", "dev", "--yes", env=aws_env(aws))
    assert first.returncode == 0, first.stderr
    assert "warning: the pipeline description (the docstring of " in first.stderr
    assert "is 3,506 characters long; SageMaker keeps 3,072" in first.stderr
    stored = _sagemaker().describe_pipeline(PipelineName=NAME)["PipelineDescription"]
    assert len(stored) == 3072

    aws.requests.clear()
    second = run_cli("deploy", str(path), "--env", "dev", "--yes", env=aws_env(aws))
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert aws.writes() == []


def test_validate_warns_once_about_a_long_description() -> None:
    result = run_cli("validate", str(CORE / "long_description.py"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("warning:") == 1


def test_an_unused_parameter_is_a_warning_at_its_line() -> None:
    path = CORE / "unused_parameter.py"
    result = run_cli("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:")
    [warning] = result.stderr.strip().splitlines()
    assert warning.startswith(
        f'warning: File "tests/fixtures/defects/core/unused_parameter.py", '
        f"line {marker_line(path, 'unused')}: parameter 'Threshold' is declared but no step uses it"
    )


# -- 5. malformed SMDSL_* variables and an output path in a missing folder ----------------------


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SMDSL_TAGS", "team=ml", "SMDSL_TAGS must hold a JSON object, e.g. SMDSL_TAGS='{"),
        (
            "SMDSL_STEPS__PREP__ENVIRONMENT",
            "x=y",
            "SMDSL_STEPS__PREP__ENVIRONMENT must hold a JSON object",
        ),
        ("SMDSL_STEPS", "[1]", "SMDSL_STEPS must hold a JSON object"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "definition"])
def test_a_malformed_variable_is_named_with_its_expected_form(
    variable: str, value: str, expected: str, command: str
) -> None:
    env = clean_env(**OFFLINE_ENV, **{variable: value})
    result = run_cli(command, str(CORE / "count_parameter.py"), "--env", "dev", env=env)
    assert_clean_failure(result, 1)
    assert expected in result.stderr
    assert value not in result.stderr  # a variable's value may be a secret: never echoed
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("variable", "table"),
    [
        ("SMDSL_STEPS__PREP__ENVIRONMENT__LOG_LEVEL", "SMDSL_STEPS__PREP__ENVIRONMENT"),
        ("SMDSL_TAGS__Owner", "SMDSL_TAGS"),
    ],
)
def test_a_key_that_would_lose_its_case_is_refused(variable: str, table: str) -> None:
    """pydantic-settings reads SMDSL_* names without case: LOG_LEVEL would arrive as log_level."""
    env = clean_env(**OFFLINE_ENV, **{variable: "value"})
    result = run_cli("validate", str(CORE / "count_parameter.py"), "--env", "dev", env=env)
    assert_clean_failure(result, 1)
    key = variable.split("__")[-1]
    assert f"{variable} would set the key {key.lower()!r}" in result.stderr
    assert f"""{table}='{{"{key}": "..."}}'""" in result.stderr


def test_a_lower_case_key_per_variable_is_accepted() -> None:
    env = clean_env(**OFFLINE_ENV, SMDSL_STEPS__PREP__ENVIRONMENT__mode="fast")
    result = run_cli("definition", str(CORE / "count_parameter.py"), "--env", "dev", env=env)
    assert result.returncode == 0, result.stderr
    prep = next(s for s in json.loads(result.stdout)["Steps"] if s["Name"] == "prep")
    assert prep["Arguments"]["Environment"] == {"mode": "fast"}


def test_a_variable_in_its_json_form_is_accepted(tmp_path: Path) -> None:
    env = clean_env(**OFFLINE_ENV, SMDSL_STEPS__PREP__ENVIRONMENT='{"LOG_LEVEL": "debug"}')
    result = run_cli("definition", str(CORE / "count_parameter.py"), "--env", "dev", env=env)
    assert result.returncode == 0, result.stderr
    prep = next(s for s in json.loads(result.stdout)["Steps"] if s["Name"] == "prep")
    assert prep["Arguments"]["Environment"] == {"LOG_LEVEL": "debug"}


def test_an_output_file_in_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "x.json"
    result = run_cli(
        "definition", str(CORE / "count_parameter.py"), "--env", "dev", "-o", str(target)
    )
    assert_clean_failure(result, 2)
    assert f"--output {target}: folder '{target.parent}' does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- 8. a dry run never turns a failure to read AWS into a plan ---------------------------------


def _dry_run(env: dict[str, str], *extra: str) -> Any:
    return run_cli(
        "deploy", str(CORE / "count_parameter.py"), "--env", "dev", "--dry-run", *extra, env=env
    )


def test_a_dry_run_into_a_missing_bucket_fails(aws: RecordingMotoServer) -> None:
    result = _dry_run(aws_env(aws))
    assert_clean_failure(result, 3)
    assert f"S3 bucket '{BUCKET}' does not exist" in result.stderr
    assert "would create" not in result.stdout
    assert aws.writes() == []


def test_a_dry_run_against_a_failing_endpoint_fails_naming_the_call() -> None:
    with FailingServer(500) as server:
        env = clean_env(**OFFLINE_ENV, AWS_ENDPOINT_URL=server.url)
        result = _dry_run(env)
    assert_clean_failure(result, 3)
    assert "AWS refused DescribePipeline" in result.stderr
    assert "HTTP 500" in result.stderr
    assert "would create" not in result.stdout
    assert server.count >= 1


def test_a_dry_run_against_an_endpoint_that_never_answers_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In process, with the dry run's read timeout cut from 10 s to 1 s to keep the test short."""
    from dataclasses import replace

    from click.testing import CliRunner

    import smdsl.cli
    import smdsl.deploy.aws

    patience = replace(smdsl.deploy.aws.DRY_RUN_PATIENCE, read_timeout=1.0)
    monkeypatch.setattr(smdsl.deploy.aws, "DRY_RUN_PATIENCE", patience)
    with FailingServer(hang=True) as server:
        for key, value in {**OFFLINE_ENV, "AWS_ENDPOINT_URL": server.url}.items():
            monkeypatch.setenv(key, value)
        args = ["deploy", str(CORE / "count_parameter.py"), "--env", "dev", "--dry-run"]
        result = CliRunner().invoke(smdsl.cli.main, args)
    assert result.exit_code == 3
    assert "DescribePipeline failed: Read timeout on endpoint URL" in result.output
    assert "would create" not in result.output
    assert server.count == 2  # the first try and the dry run's one retry


def test_a_dry_run_that_cannot_connect_fails() -> None:
    with FailingServer(500) as server:
        url = server.url  # a port that was open, and is closed once the server stops
    result = _dry_run(clean_env(**OFFLINE_ENV, AWS_ENDPOINT_URL=url))
    assert_clean_failure(result, 3)
    assert f"DescribePipeline failed: could not connect to {url}" in result.stderr


def test_a_dry_run_without_credentials_fails_and_points_at_offline() -> None:
    env = clean_env(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=OFFLINE_ENV["AWS_CONFIG_FILE"],
        AWS_SHARED_CREDENTIALS_FILE=OFFLINE_ENV["AWS_SHARED_CREDENTIALS_FILE"],
    )
    result = _dry_run(env)
    assert_clean_failure(result, 3)
    assert "no AWS credentials found" in result.stderr
    assert "--dry-run --offline" in result.stderr


def test_an_offline_dry_run_reads_nothing_and_says_so(aws: RecordingMotoServer) -> None:
    result = _dry_run(aws_env(aws), "--offline")
    assert result.returncode == 0, result.stderr
    assert "offline: nothing was read from AWS" in result.stdout
    assert "would create the pipeline" in result.stdout
    assert aws.requests == []


def test_offline_without_dry_run_is_a_usage_error(aws: RecordingMotoServer) -> None:
    env = aws_env(aws)
    result = run_cli(
        "deploy", str(CORE / "count_parameter.py"), "--env", "dev", "--offline", env=env
    )
    assert_clean_failure(result, 2)
    assert "--offline reads nothing from AWS, so it can only plan: add --dry-run" in result.stderr
    assert aws.requests == []


# -- 9. exit codes as docs/cli.md gives them ----------------------------------------------------


def test_no_confirmation_without_a_terminal_is_a_usage_error(aws: RecordingMotoServer) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    aws.requests.clear()
    result = run_cli("deploy", str(CORE / "count_parameter.py"), "--env", "dev", env=aws_env(aws))
    assert_clean_failure(result, 2)
    assert "not deploying without confirmation: pass --yes" in result.stderr
    assert aws.writes() == []


def test_smdsl_debug_shows_the_traceback_and_keeps_the_exit_code() -> None:
    env = clean_env(**OFFLINE_ENV, SMDSL_DEBUG="1")
    user_error = run_cli("validate", str(CORE / "exit_at_import.py"), env=env)
    assert user_error.returncode == 1
    assert "Traceback" in user_error.stderr
    assert user_error.stderr.rstrip().splitlines()[-1].startswith("error: ")

    usage = run_cli(
        "definition", str(CORE / "count_parameter.py"), "-e", "dev", "-o", "/no/x", env=env
    )
    assert usage.returncode == 2
    assert "Traceback" in usage.stderr


def test_smdsl_debug_keeps_the_exit_code_of_an_internal_error(mocker: Any) -> None:
    from click.testing import CliRunner

    import smdsl.cli
    import smdsl.graph.loader

    mocker.patch.object(smdsl.graph.loader, "load_pipeline", side_effect=RuntimeError("boom"))
    result = CliRunner(env={"SMDSL_DEBUG": "1"}).invoke(
        smdsl.cli.main, ["validate", str(CORE / "count_parameter.py")]
    )
    assert result.exit_code == 70
    assert "Traceback" in result.output
    assert "internal error in smdsl: RuntimeError: boom" in result.output


# -- 10. tags that fail after the definition was updated ---------------------------------------


def test_a_tag_failure_after_an_update_says_the_definition_was_updated(
    aws: RecordingMotoServer, mocker: Any, tmp_path: Path
) -> None:
    """moto accepts any AddTags, so the refusal is injected at botocore's call."""
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError
    from click.testing import CliRunner

    from smdsl.cli import main

    project = tmp_path / "project"
    shutil.copytree(QUICKSTART, project)
    _s3().create_bucket(Bucket="smdsl-quickstart-dev")
    args = ["deploy", str(project / "pipeline.py"), "--env", "dev", "--yes"]
    assert CliRunner().invoke(main, args).exit_code == 0
    config = project / "smdsl.toml"
    config.write_text(config.read_text().replace('env = "dev" }', 'env = "dev", owner = "me" }'))
    script = project / "code" / "train.py"
    script.write_text(script.read_text() + "\n# changed\n")
    real_call = BaseClient._make_api_call

    def refuse_tags(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "AddTags":
            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(error, operation)
        return real_call(self, operation, params)

    mocker.patch.object(BaseClient, "_make_api_call", refuse_tags)
    aws.requests.clear()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3
    assert (
        "pipeline quickstart-dev was updated (its new definition is deployed), but only its tags "
        "failed: AWS refused AddTags: ThrottlingException: Rate exceeded"
    ) in result.output
    assert "SageMaker.UpdatePipeline" in aws.operations()


# -- 16. reserved tags; the unknown-env exit code -----------------------------------------------


def test_deploy_never_removes_tags_that_aws_or_sagemaker_set(aws: RecordingMotoServer) -> None:
    _s3().create_bucket(Bucket=BUCKET)
    path = CORE / "count_parameter.py"
    assert run_cli("deploy", str(path), "--env", "dev", "--yes", env=aws_env(aws)).returncode == 0
    arn = _sagemaker().describe_pipeline(PipelineName=NAME)["PipelineArn"]
    reserved = [
        {"Key": "sagemaker:project-id", "Value": "p-123"},
        {"Key": "aws:cloudformation:stack-name", "Value": "stack"},
        {"Key": "leftover", "Value": "x"},
    ]
    _sagemaker().add_tags(ResourceArn=arn, Tags=reserved)
    aws.requests.clear()

    result = run_cli("deploy", str(path), "--env", "dev", "--yes", env=aws_env(aws))

    assert result.returncode == 0, result.stderr
    assert "remove tag leftover" in result.stdout
    assert "sagemaker:" not in result.stdout and "aws:" not in result.stdout
    tags = {t["Key"] for t in _sagemaker().list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"team", "sagemaker:project-id", "aws:cloudformation:stack-name"}


def test_a_profile_may_not_set_a_reserved_tag(aws: RecordingMotoServer) -> None:
    result = run_cli(
        "deploy",
        str(CORE / "reserved_tag" / "pipeline.py"),
        "--env",
        "dev",
        "--yes",
        env=aws_env(aws),
    )
    assert_clean_failure(result, 1)
    assert "smdsl.toml: [envs.dev] tags: " in result.stderr
    assert "tag key 'sagemaker:project-id'" in result.stderr
    assert "reserved for AWS and SageMaker" in result.stderr
    assert aws.requests == []


def test_an_unknown_env_exits_with_code_one_and_lists_the_defined() -> None:
    result = run_cli("validate", str(CORE / "count_parameter.py"), "--env", "stage")
    assert_clean_failure(result, 1)
    assert "unknown environment 'stage'" in result.stderr
    assert "defined: dev" in result.stderr


def test_processing_instance_counts_reach_the_definition() -> None:
    """A literal count and an Integer parameter, each where CreateProcessingJob takes it."""
    result = run_cli("definition", str(CORE / "count_parameter.py"), "--env", "dev")
    assert result.returncode == 0, result.stderr
    steps = {s["Name"]: s["Arguments"] for s in json.loads(result.stdout)["Steps"]}
    prep = steps["prep"]["ProcessingResources"]["ClusterConfig"]
    fan = steps["fan"]["ProcessingResources"]["ClusterConfig"]
    assert prep["InstanceCount"] == {"Get": "Parameters.Workers"}
    assert prep["InstanceType"] == {"Get": "Parameters.Kind"}
    assert fan["InstanceCount"] == 4
    assert fan["InstanceType"] == "ml.m5.xlarge"


def test_what_the_pipeline_prints_never_mixes_with_the_definition() -> None:
    result = run_cli("definition", str(CORE / "prints.py"), "--env", "dev")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Steps"][0]["Name"] == "prep"
    assert "loading the pipeline" in result.stderr
    assert "building prep" in result.stderr


def test_run_time_values_are_never_formatted_into_strings() -> None:
    """An f-string or + with a reference would put its Python name where a URI belongs."""
    path = CORE / "formatted_references.py"
    result = run_cli("validate", str(path))
    assert_clean_failure(result, 1)
    expected = {
        "ref": "the output prep.outputs['train'] has no value until the pipeline runs, so it "
        "cannot be formatted into a string",
        "config": "the output prep.outputs['train'] has no value until the pipeline runs",
        "model": "the model train.model_artifacts has no value until the pipeline runs, so + "
        "cannot combine it with 'model='",
        "join": "join() has no value until the pipeline runs, so it cannot be formatted",
    }
    lines = result.stderr.splitlines()
    assert lines[0].endswith("4 problems in the pipeline")
    for mark, message in expected.items():
        where = f'formatted_references.py", line {marker_line(path, mark)}'
        assert any(where in line and message in line for line in lines), (mark, result.stderr)


def test_validate_reports_the_problems_of_every_profile_at_once() -> None:
    path = CORE / "several_profiles" / "pipeline.py"
    result = run_cli("validate", str(path), env=clean_env())  # no AWS_DEFAULT_REGION either
    assert_clean_failure(result, 1)
    heading, *problems = result.stderr.strip().splitlines()
    assert heading.endswith("several_profiles/pipeline.py: 3 problems in the pipeline")
    assert "[envs.prod] region: 'us-est-1' is not a region where SageMaker runs" in problems[0]
    assert "[envs.stage] region: missing" in problems[1]
    assert "[envs.stage] role_arn: missing" in problems[2]


def test_a_defaulted_parameter_named_like_a_step_is_a_warning() -> None:
    path = CORE / "default_parameter_typo.py"
    result = run_cli("validate", str(path))
    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.strip().splitlines()
    assert warning == (
        f'warning: File "tests/fixtures/defects/core/default_parameter_typo.py", line '
        f"{marker_line(path, 'typo')}, in step 'report': cleen: parameter 'cleen' has a default "
        "and names no step, so it makes no edge (did you mean 'clean'?)"
    )


# -- found by a second new-user trial ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "marks"),
    [
        ("not_json.py", {"nan": "nan is not a finite number", "inf": "inf is not a finite"}),
        ("nan_default.py", {"nan": "parameter 'Limit': its default nan is not a finite number"}),
        (
            "count_default_zero.py",
            {"count": "parameter 'Workers' defaults to 0; an instance count is at least 1"},
        ),
        ("bad_image_uri.py", {"image": "image_uri: 'not a uri' is not a container image URI"}),
        (
            "multiline_error.py",
            {"multi": "raised ValueError: first line second line", "bare": "raised RuntimeError"},
        ),
    ],
)
def test_values_sagemaker_cannot_take_are_refused_at_their_line(
    fixture: str, marks: dict[str, str]
) -> None:
    path = CORE / fixture
    result = run_cli("validate", str(path))
    assert_clean_failure(result, 1)
    for mark, message in marks.items():
        where = f'{fixture}", line {marker_line(path, mark)}'
        assert any(where in line and message in line for line in result.stderr.splitlines()), (
            mark,
            result.stderr,
        )
    assert len(result.stderr.strip().splitlines()) == (1 if len(marks) == 1 else len(marks) + 1)


def test_a_default_pipeline_name_is_one_sagemaker_accepts() -> None:
    path = CORE / "odd_profile_name" / "churn_model.py"
    result = run_cli("definition", str(path), "--env", "my_env")
    assert result.returncode == 0, result.stderr
    graph = run_cli("graph", str(path), "--env", "my_env", "--format", "dot")
    assert graph.stdout.startswith('digraph "churn-model-my-env" {')


def test_definition_to_dash_writes_standard_output() -> None:
    result = run_cli("definition", str(CORE / "prints.py"), "--env", "dev", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Steps"][0]["Name"] == "prep"


def test_a_file_that_cannot_be_written_is_one_line_with_exit_one() -> None:
    path = CORE / "count_parameter.py"
    result = run_cli("definition", str(path), "--env", "dev", "-o", "/dev/full")
    assert_clean_failure(result, 1)
    assert "--output /dev/full: cannot write it: No space left on device" in result.stderr

"""Tests for environment profiles: where they are read from, overrides, errors and their effect.

Profiles live in ``[tool.smdsl.envs.NAME]`` of the nearest pyproject.toml or in ``[envs.NAME]`` of
an smdsl.toml beside the pipeline; ``SMDSL_*`` environment variables override any field.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from smdsl import Env, StepOverride
from smdsl.cli import main
from smdsl.declare.env import find_env_file, load_env
from smdsl.errors import EnvConfigError, GraphError, display_path
from smdsl.graph.build import PipelineGraph, build_graph
from smdsl.graph.loader import load_pipeline

FIXTURES = Path(__file__).parent / "fixtures" / "envs"
PROFILES = FIXTURES / "profiles" / "pipeline.py"
UNKNOWN_OVERRIDE = FIXTURES / "unknown_override" / "pipeline.py"
BAD_PROFILES = FIXTURES / "bad_profiles" / "pipeline.py"

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"

PIPELINE = '''\
"""A two-step pipeline written by test_env.py."""

from smdsl import Processing, Training, processing_step, training_step


@processing_step(instance_type="ml.m5.xlarge", framework="sklearn", instance_count=2)
def {first}() -> Processing:
    return Processing(code="code/run.py", outputs=["train"])


@training_step(instance_type="ml.m5.xlarge", framework="xgboost")
def train({first}: Processing) -> Training:
    return Training(entry_point="code/run.py", inputs={{"train": {first}.outputs["train"]}})
'''


@pytest.fixture(autouse=True)
def _no_smdsl_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings from the developer's shell must not leak into these tests."""
    for key in list(os.environ):
        if key.startswith("SMDSL_") or key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(key)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def pipeline(folder: Path, first: str = "preprocess") -> Path:
    """A valid pipeline file in ``folder``, with steps ``first`` and ``train``."""
    write(folder / "code" / "run.py", "print('run')\n")
    return write(folder / "pipeline.py", PIPELINE.format(first=first))


def build(path: Path, env: str | None) -> PipelineGraph:
    module = load_pipeline(path)
    return build_graph(module, load_env(module.path, env))


# ---------------------------------------------------------------------------------------------
# Where profiles come from


def test_profile_from_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        f"""
        [project]
        name = "demo"

        [tool.smdsl.envs.dev]
        region = "eu-west-1"
        role_arn = "{ROLE}"
        bucket = "demo-dev"
        prefix = "/team/demo/"
        tags = {{ team = "ml" }}

        [tool.smdsl.envs.dev.steps.train]
        instance_type = "ml.c5.2xlarge"
        max_runtime = "90m"
    """,
    )
    env = load_env(pipeline(tmp_path / "pipelines"), "dev")
    assert isinstance(env, Env)
    assert env.name == "dev"
    assert (env.region, env.role_arn, env.bucket) == ("eu-west-1", ROLE, "demo-dev")
    assert env.prefix == "team/demo"
    assert env.tags == {"team": "ml"}
    assert env.steps == {"train": StepOverride(instance_type="ml.c5.2xlarge", max_runtime=5400)}
    assert env.s3_prefix("code", "x") == "team/demo/code/x"


def test_nearest_pyproject_with_smdsl_settings_wins(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
        [tool.smdsl.envs.dev]
        bucket = "outer-bucket"
    """,
    )
    write(
        tmp_path / "project" / "pyproject.toml",
        """
        [tool.smdsl.envs.dev]
        bucket = "inner-bucket"
    """,
    )
    write(
        tmp_path / "other" / "pyproject.toml",
        """
        [project]
        name = "no-smdsl-settings-here"
    """,
    )
    inner = pipeline(tmp_path / "project" / "src" / "pipes")
    other = pipeline(tmp_path / "other")
    assert load_env(inner, "dev").bucket == "inner-bucket"
    # A pyproject.toml without [tool.smdsl] is passed over for the next one up.
    assert load_env(other, "dev").bucket == "outer-bucket"
    assert find_env_file(other).path == tmp_path / "pyproject.toml"


def test_smdsl_toml_beside_the_pipeline_takes_precedence(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
        [tool.smdsl.envs.dev]
        bucket = "from-pyproject"
        region = "us-east-1"

        [tool.smdsl.envs.staging]
        bucket = "staging-bucket"
    """,
    )
    path = pipeline(tmp_path)
    write(
        tmp_path / "smdsl.toml",
        """
        [envs.dev]
        bucket = "from-smdsl-toml"
    """,
    )
    env = load_env(path, "dev")
    assert env.bucket == "from-smdsl-toml"
    assert env.region is None  # the pyproject profile is not merged in
    env_file = find_env_file(path)
    assert env_file.path == (tmp_path / "smdsl.toml").resolve()
    assert list(env_file.profiles) == ["dev"]


def test_smdsl_toml_only_counts_beside_the_pipeline(tmp_path: Path) -> None:
    write(
        tmp_path / "smdsl.toml",
        """
        [envs.dev]
        bucket = "parent-folder"
    """,
    )
    write(
        tmp_path / "pyproject.toml",
        """
        [tool.smdsl.envs.dev]
        bucket = "from-pyproject"
    """,
    )
    assert load_env(pipeline(tmp_path / "sub"), "dev").bucket == "from-pyproject"


def test_no_name_gives_the_default_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = pipeline(tmp_path)
    env = load_env(path, None)
    assert (env.name, env.bucket, env.region, env.steps) == ("default", None, None, {})
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    assert load_env(path, None).region == "ap-southeast-2"


def test_profile_fixture_normalises_bucket_and_prefix() -> None:
    prod = load_env(PROFILES, "prod")
    assert prod.bucket == "smdsl-fixtures-prod"
    assert prod.pipeline_name == "fixtures-prod"
    assert load_env(PROFILES, "dev").prefix == "fixtures"


# ---------------------------------------------------------------------------------------------
# SMDSL_* environment variables


def test_environment_variables_override_profile_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMDSL_BUCKET", "bucket-from-ci")
    monkeypatch.setenv("SMDSL_ROLE_ARN", ROLE)
    monkeypatch.setenv("SMDSL_PIPELINE_NAME", "from-ci")
    monkeypatch.setenv("SMDSL_TAGS", '{"owner": "ci"}')
    env = load_env(PROFILES, "prod")
    assert env.bucket == "bucket-from-ci"
    assert env.role_arn == ROLE
    assert env.pipeline_name == "from-ci"
    # A table from the environment is merged key by key into the profile's table.
    assert env.tags == {"team": "ml-platform", "owner": "ci"}
    assert env.region == "eu-west-1"  # not overridden: still from smdsl.toml


def test_environment_variable_sets_a_field_the_profile_lacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMDSL_DESCRIPTION", "set in CI")
    assert load_env(PROFILES, "dev").description == "set in CI"


def test_environment_variable_overrides_one_nested_step_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMDSL_STEPS__TRAIN__INSTANCE_TYPE", "ml.g5.xlarge")
    env = load_env(PROFILES, "prod")
    override = env.steps["train"]
    assert override.instance_type == "ml.g5.xlarge"
    # The other per-step fields of the profile survive.
    assert override.instance_count == 2
    assert override.max_runtime == 3 * 3600
    assert override.environment == {"LOG_LEVEL": "debug"}

    graph = build_graph(load_pipeline(PROFILES), env)
    assert graph.nodes["train"].options.instance_type == "ml.g5.xlarge"
    assert graph.nodes["train"].options.instance_count == 2


def test_environment_variable_adds_a_step_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMDSL_STEPS__PREPROCESS__INSTANCE_COUNT", "3")
    monkeypatch.setenv("SMDSL_STEPS__PREPROCESS__MAX_RUNTIME", "2h")
    graph = build(PROFILES, "dev")
    assert graph.nodes["preprocess"].options.instance_count == 3
    assert graph.nodes["preprocess"].options.max_runtime == 7200


def test_environment_variable_overrides_a_step_with_a_mixed_case_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any step can be overridden from the environment, whatever the case of its name."""
    path = pipeline(tmp_path, first="PrepareData")
    monkeypatch.setenv("SMDSL_STEPS__PREPAREDATA__INSTANCE_TYPE", "ml.c5.4xlarge")
    try:
        graph = build(path, None)
    except GraphError as exc:
        pytest.fail(exc.render())
    assert graph.nodes["PrepareData"].options.instance_type == "ml.c5.4xlarge"


def test_smdsl_env_variable_used_by_the_cli_is_not_an_env_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMDSL_ENV", "prod")
    monkeypatch.setenv("SMDSL_DEBUG", "1")
    assert load_env(PROFILES, "dev").name == "dev"


def test_bad_value_from_an_environment_variable_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMDSL_ROLE_ARN", "SageMakerRole")
    with pytest.raises(EnvConfigError) as info:
        load_env(PROFILES, "dev")
    assert "role_arn: 'SageMakerRole' is not an IAM role ARN" in info.value.render()
    assert "SMDSL_ROLE_ARN" in info.value.render()


# ---------------------------------------------------------------------------------------------
# Errors


def test_unknown_env_lists_the_defined_ones() -> None:
    with pytest.raises(EnvConfigError) as info:
        load_env(PROFILES, "staging")
    toml = display_path(PROFILES.parent / "smdsl.toml")
    assert info.value.render() == f"unknown environment 'staging' ({toml}; defined: dev, prod)"


def test_unknown_env_without_any_config_file(tmp_path: Path) -> None:
    with pytest.raises(EnvConfigError) as info:
        load_env(pipeline(tmp_path), "dev")
    message = info.value.render()
    assert "unknown environment 'dev'" in message
    assert "defined: none" in message
    assert "no smdsl.toml beside the pipeline" in message


@pytest.mark.parametrize(
    ("profile", "field", "fragment", "variable"),
    [
        (
            "bad_role",
            "role_arn",
            "'arn:aws:iam::12345:role/TooShortAccount' is not an IAM role ARN",
            "SMDSL_ROLE_ARN",
        ),
        ("unknown_field", "instance_type", "unknown field", None),
        ("bad_bucket", "bucket", "'Not_A_Bucket' is not an S3 bucket name", "SMDSL_BUCKET"),
        (
            "bad_step_field",
            "steps.clean.instance_type",
            "'m5.large' is not a SageMaker instance",
            "SMDSL_STEPS__CLEAN__INSTANCE_TYPE",
        ),
        ("bad_step_field", "steps.clean.cpus", "unknown field", None),
    ],
)
def test_invalid_profile_field_names_file_profile_and_field(
    profile: str, field: str, fragment: str, variable: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EnvConfigError) as info:
        load_env(BAD_PROFILES, profile)
    toml = display_path(BAD_PROFILES.parent / "smdsl.toml")
    lines = [line.removeprefix("  - ") for line in info.value.render().splitlines()]
    matching = [line for line in lines if f" {field}: " in line]
    assert len(matching) == 1, info.value.render()
    line = matching[0]
    assert line.startswith(f"{toml}: [envs.{profile}] {field}: {fragment}")
    # The file set the value: the message names the file and key only, no variable.
    assert "SMDSL_" not in line
    if variable is None:  # an unknown field
        assert "known: " in line
        return
    # The same value from the variable names the variable, not the file.
    value = fragment.split("'")[1]
    monkeypatch.setenv(variable, value)
    with pytest.raises(EnvConfigError) as info:
        load_env(BAD_PROFILES, profile)
    lines = [line.removeprefix("  - ") for line in info.value.render().splitlines()]
    matching = [line for line in lines if f" {field}: " in line]
    assert len(matching) == 1, info.value.render()
    assert matching[0].startswith(
        f"{variable} (environment variable, profile {profile!r}): {field}: {fragment}"
    )
    assert toml not in matching[0]


def test_invalid_field_in_pyproject_names_pyproject_and_table(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
        [tool.smdsl.envs.prod]
        region = "Europe"
    """,
    )
    with pytest.raises(EnvConfigError) as info:
        load_env(pipeline(tmp_path), "prod")
    assert info.value.render().startswith(
        f"{display_path(tmp_path / 'pyproject.toml')}: [tool.smdsl.envs.prod] region: "
        "'Europe' is not an AWS region"
    )


def test_invalid_toml_is_an_env_config_error(tmp_path: Path) -> None:
    path = pipeline(tmp_path)
    write(
        tmp_path / "smdsl.toml",
        """
        [envs.dev
        bucket = "x"
    """,
    )
    with pytest.raises(EnvConfigError) as info:
        load_env(path, "dev")
    assert info.value.render().startswith(
        f"{display_path(tmp_path / 'smdsl.toml')}: not valid TOML"
    )


def test_envs_that_are_not_tables(tmp_path: Path) -> None:
    path = pipeline(tmp_path)
    write(
        tmp_path / "smdsl.toml",
        """
        envs = ["dev", "prod"]
    """,
    )
    with pytest.raises(EnvConfigError, match=r"one table per profile, e\.g\. \[envs\.dev\]"):
        load_env(path, "dev")


# ---------------------------------------------------------------------------------------------
# Per-step overrides and the graph


def test_per_step_override_changes_the_step_options() -> None:
    prod = build(PROFILES, "prod")
    train = prod.nodes["train"].options
    assert train.instance_type == "ml.m5.4xlarge"
    assert train.instance_count == 2
    assert train.max_runtime == 3 * 3600
    assert train.environment == {"LOG_LEVEL": "debug", "MODE": "fit"}
    assert train.framework == "xgboost"
    assert prod.nodes["preprocess"].options.instance_type == "ml.m5.xlarge"

    dev = build(PROFILES, "dev")
    assert dev.nodes["train"].options.instance_type == "ml.m5.xlarge"
    assert dev.nodes["train"].options.max_runtime == 3600
    # The declaration itself is untouched by either profile.
    declared = prod.nodes["train"].function.spec.options
    assert (declared.instance_type, declared.instance_count) == ("ml.m5.xlarge", 1)


def test_override_for_an_unknown_step_suggests_the_close_name() -> None:
    module = load_pipeline(UNKNOWN_OVERRIDE)
    env = load_env(module.path, "dev")
    assert set(env.steps) == {"trian"}
    with pytest.raises(GraphError) as info:
        build_graph(module, env)
    messages = [str(p) for p in info.value.problems]
    assert messages == [
        f"{display_path(UNKNOWN_OVERRIDE.parent / 'smdsl.toml')}: [envs.dev]: steps.trian "
        "overrides unknown step 'trian' (did you mean 'train'?)"
    ]


def test_an_invalid_step_override_names_the_file_and_field(tmp_path: Path) -> None:
    path = pipeline(tmp_path)
    write(
        tmp_path / "smdsl.toml",
        """
        [envs.dev.steps.train]
        volume_size_gb = 0
    """,
    )
    with pytest.raises(EnvConfigError) as info:
        build(path, "dev")
    message = info.value.render()
    assert f"{display_path(tmp_path / 'smdsl.toml')}: [envs.dev]" in message
    assert "steps.train.volume_size_gb" in message


def test_override_with_instance_count_zero_is_rejected(tmp_path: Path) -> None:
    """instance_count = 0 in a profile is a mistake; it must not be silently dropped."""
    path = pipeline(tmp_path)
    write(
        tmp_path / "smdsl.toml",
        """
        [envs.dev.steps.preprocess]
        instance_count = 0
    """,
    )
    with pytest.raises((EnvConfigError, GraphError)) as info:
        build(path, "dev")
    assert "instance_count" in info.value.render()


# ---------------------------------------------------------------------------------------------
# Through the CLI


def test_cli_validate_checks_every_profile() -> None:
    result = CliRunner().invoke(main, ["validate", str(PROFILES)])
    assert result.exit_code == 0, result.output
    assert result.output == f"ok: {display_path(PROFILES)}: 2 steps, 0 parameters (dev, prod)\n"


def test_cli_graph_shows_the_profile_override() -> None:
    runner = CliRunner()
    prod = runner.invoke(main, ["graph", str(PROFILES), "--env", "prod"])
    assert prod.exit_code == 0, prod.output
    assert prod.output.splitlines()[0] == "fixtures-prod: 2 steps"
    assert "training, xgboost 1.7-1, ml.m5.4xlarge x2  <- preprocess" in prod.output
    dev = runner.invoke(main, ["graph", str(PROFILES)], env={"SMDSL_ENV": "dev"})
    assert dev.exit_code == 0, dev.output
    assert dev.output.splitlines()[0] == "profiles-dev: 2 steps"
    assert "training, xgboost 1.7-1, ml.m5.xlarge  <- preprocess" in dev.output


def test_cli_reports_a_bad_profile_without_a_traceback() -> None:
    result = CliRunner().invoke(main, ["validate", str(BAD_PROFILES), "-e", "bad_role"])
    assert result.exit_code == 1
    toml = display_path(BAD_PROFILES.parent / "smdsl.toml")
    assert f"error: {toml}: [envs.bad_role] role_arn: " in result.output
    assert "Traceback" not in result.output


def test_cli_reports_an_unknown_env() -> None:
    result = CliRunner().invoke(main, ["validate", str(PROFILES), "-e", "qa"])
    assert result.exit_code == 1
    assert "unknown environment 'qa'" in result.output
    assert "defined: dev, prod" in result.output
    assert "Traceback" not in result.output


def test_cli_reports_an_override_of_an_unknown_step() -> None:
    result = CliRunner().invoke(main, ["validate", str(UNKNOWN_OVERRIDE)])
    assert result.exit_code == 1
    assert "overrides unknown step 'trian' (did you mean 'train'?)" in result.output
    assert "Traceback" not in result.output

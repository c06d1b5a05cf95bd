"""Environment profiles as a new user got them wrong, each run through the real CLI.

The cases live under ``tests/fixtures/defects/profiles/``: ``abalone`` (a step named otherwise
than its function, and a profile per mistake), ``ignored`` (an smdsl.toml with tables smdsl does
not read) and ``in_pyproject`` (the same in ``[tool.smdsl]``). Each checks the exit code, one
clear message naming the file and key (or the variable that set the value), and no traceback.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, OFFLINE_ENV, clean_env, run_cli

from smdsl import Env
from smdsl.errors import display_path

CASES = FIXTURES / "defects" / "profiles"
ABALONE = CASES / "abalone" / "pipeline.py"
TOML = display_path(CASES / "abalone" / "smdsl.toml")


def cli(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=clean_env(**OFFLINE_ENV, **variables))


def error(result: subprocess.CompletedProcess[str]) -> str:
    """The one line of a command that failed with exit code 1."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def problem(result: subprocess.CompletedProcess[str]) -> str:
    """The one problem of a pipeline that failed to check under its profile."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    head, *lines = result.stderr.strip().splitlines()
    assert head == f"error: {display_path(ABALONE)}: 1 problem in the pipeline", result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("  - ")


def warnings(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The warnings of a command that succeeded."""
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith("warning: ") for line in lines), result.stderr
    return [line.removeprefix("warning: ") for line in lines]


def sample(definition: str) -> str:
    """The --sample argument the processing step got: "1.0" only when env.name is "prod"."""
    steps = json.loads(definition)["Steps"]
    arguments = next(s for s in steps if s["Name"] == "Abalone-Process")["Arguments"]
    container: list[str] = arguments["AppSpecification"]["ContainerArguments"]
    return container[container.index("--sample") + 1]


# -- 1. a profile's name is its table name --------------------------------------------------------


def test_name_in_a_profile_is_refused() -> None:
    line = error(cli("definition", str(ABALONE), "--env", "renamed"))
    assert line == (
        f"{TOML}: [envs.renamed] name: unknown field: a profile's name is its table name, "
        "here 'renamed'; choose the profile with --env or SMDSL_ENV"
    )


@pytest.mark.parametrize("command", ["graph", "definition", "validate"])
def test_smdsl_name_is_refused(command: str) -> None:
    line = error(cli(command, str(ABALONE), SMDSL_NAME="prod", SMDSL_ENV="dev"))
    assert line.startswith("SMDSL_NAME cannot rename the profile: a profile's name is the name ")
    assert line.endswith("choose the profile with --env NAME or SMDSL_ENV=NAME")


def test_the_profile_name_comes_from_the_table() -> None:
    dev = cli("definition", str(ABALONE), "--env", "dev")
    assert dev.returncode == 0, dev.stderr
    assert sample(dev.stdout) == "0.1"
    prod = cli("definition", str(ABALONE), SMDSL_ENV="prod")
    assert prod.returncode == 0, prod.stderr
    assert sample(prod.stdout) == "1.0"
    graph = cli("graph", str(ABALONE), "--env", "dev")
    assert graph.stdout.splitlines()[0] == "abalone-dev: 2 steps"


def test_smdsl_name_does_not_rename_an_env_built_in_a_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMDSL_NAME", "prod")
    assert Env(name="dev").name == "dev"
    assert Env().name == "default"


# -- 2. a value an environment variable set is blamed on the variable -----------------------------


def test_a_bad_value_from_a_variable_names_the_variable() -> None:
    line = error(cli("validate", str(ABALONE), "--env", "dev", SMDSL_BUCKET="Bad_B"))
    assert line == (
        "SMDSL_BUCKET (environment variable, profile 'dev'): bucket: 'Bad_B' is not an S3 "
        "bucket name"
    )


def test_a_bad_value_from_the_file_names_the_file_and_key_only() -> None:
    line = error(cli("validate", str(ABALONE), "--env", "bad_bucket"))
    assert line == f"{TOML}: [envs.bad_bucket] bucket: 'Bad_B' is not an S3 bucket name"


def test_a_reserved_tag_is_blamed_on_whatever_set_that_key() -> None:
    from_variable = error(
        cli("validate", str(ABALONE), "--env", "dev", SMDSL_TAGS='{"aws:owner": "me"}')
    )
    assert from_variable.startswith(
        "SMDSL_TAGS (environment variable, profile 'dev'): tags: tag key 'aws:owner': "
    )
    # Another tag from a variable does not make the file's reserved key the variable's fault.
    from_file = error(cli("validate", str(ABALONE), "--env", "reserved_tag", SMDSL_TAGS__team="ml"))
    assert from_file.startswith(f"{TOML}: [envs.reserved_tag] tags: tag key 'aws:owner': ")


def test_an_override_of_an_unknown_step_from_a_variable_names_the_variable() -> None:
    """The step name has a hyphen, which no shell variable's name can hold: the suggestion
    names the step by its function, in a variable that works."""
    variable = "SMDSL_STEPS__ABALONE_PROCESS__INSTANCE_TYPE"
    line = problem(cli("validate", str(ABALONE), "--env", "dev", **{variable: "ml.m5.large"}))
    assert line == (
        f"{variable} (environment variable, profile 'dev'): steps.abalone_process overrides "
        "unknown step 'abalone_process' (did you mean step 'Abalone-Process'? a variable names "
        "it by its function 'preprocess': SMDSL_STEPS__PREPROCESS__INSTANCE_TYPE)"
    )
    suggested = cli(
        "graph", str(ABALONE), "--env", "dev", SMDSL_STEPS__PREPROCESS__INSTANCE_TYPE="ml.m5.large"
    )
    assert suggested.returncode == 0, suggested.stderr
    assert "Abalone-Process  processing, sklearn 1.2-1, ml.m5.large" in suggested.stdout


def test_a_misspelt_step_in_a_variable_suggests_the_variable() -> None:
    variable = "SMDSL_STEPS__FTI__MAX_RUNTIME"
    line = problem(cli("validate", str(ABALONE), "--env", "dev", **{variable: "2h"}))
    assert line == (
        f"{variable} (environment variable, profile 'dev'): steps.fti overrides unknown step "
        "'fti' (did you mean SMDSL_STEPS__FIT__MAX_RUNTIME?)"
    )
    assert TOML not in line


# -- 3. an unknown field lists the fields of its own table, with a suggestion ---------------------


def test_an_unknown_field_of_a_step_override_lists_the_step_fields() -> None:
    line = error(cli("validate", str(ABALONE), "--env", "step_typo"))
    assert line == (
        f"{TOML}: [envs.step_typo] steps.fit.instance_tpye: unknown field of a per-step "
        "override (known: instance_type, instance_count, volume_size_gb, max_runtime, "
        "environment) (did you mean 'instance_type'?)"
    )


def test_an_unknown_step_field_from_a_variable_suggests_the_variable() -> None:
    variable = "SMDSL_STEPS__FIT__INSTANCE_TPYE"
    line = error(cli("validate", str(ABALONE), "--env", "dev", **{variable: "ml.m5.large"}))
    assert line.startswith(
        f"{variable} (environment variable, profile 'dev'): steps.fit.instance_tpye: unknown "
        "field of a per-step override (known: instance_type, "
    )
    assert line.endswith("(did you mean SMDSL_STEPS__FIT__INSTANCE_TYPE?)")


def test_an_unknown_profile_field_suggests_the_close_one() -> None:
    line = error(cli("validate", str(ABALONE), "--env", "typo"))
    assert line == (
        f"{TOML}: [envs.typo] bukcet: unknown field (known: region, role_arn, bucket, prefix, "
        "pipeline_name, description, tags, steps, local_data) (did you mean 'bucket'?)"
    )


# -- 4. a per-step override may name the step by its function ------------------------------------


def test_an_override_may_name_the_step_by_its_function() -> None:
    result = cli("graph", str(ABALONE), "--env", "by_function")
    assert result.returncode == 0, result.stderr
    assert "Abalone-Process  processing, sklearn 1.2-1, ml.m5.4xlarge" in result.stdout


def test_an_override_of_an_unknown_step_suggests_the_function_name() -> None:
    line = problem(cli("validate", str(ABALONE), "--env", "function_typo"))
    assert line == (
        f"{TOML}: [envs.function_typo]: steps.preproces overrides unknown step 'preproces' "
        "(did you mean 'preprocess'?)"
    )


def test_two_overrides_of_one_step_are_refused() -> None:
    line = problem(cli("validate", str(ABALONE), "--env", "twice"))
    assert line == (
        f"{TOML}: [envs.twice]: steps.Abalone-Process and steps.preprocess both override step "
        "'Abalone-Process'; keep one"
    )


# -- 5. what smdsl would silently ignore is a warning ---------------------------------------------


def test_an_unknown_smdsl_variable_is_a_warning() -> None:
    result = cli("validate", str(ABALONE), "--env", "dev", SMDSL_BUCKT="foo")
    assert warnings(result) == [
        "SMDSL_BUCKT is not an smdsl setting (did you mean SMDSL_BUCKET?); it is ignored"
    ]
    assert result.stdout.startswith("ok: ")


def test_a_misspelt_variable_is_never_offered_a_form_smdsl_refuses() -> None:
    """SMDSL_STEPS__FIT__ENVIRONMENT__A would lose the key's case: the JSON table is offered."""
    result = cli("validate", str(ABALONE), "--env", "dev", SMDSL_STEP__FIT__ENVIRONMENT__A="x")
    assert warnings(result) == [
        "SMDSL_STEP__FIT__ENVIRONMENT__A is not an smdsl setting (did you mean "
        "SMDSL_STEPS__FIT__ENVIRONMENT?); it is ignored"
    ]


def test_variables_smdsl_reads_outside_a_profile_are_not_warned_about(tmp_path: Path) -> None:
    variables = {"SMDSL_ENV": "dev", "SMDSL_DEBUG": "0", "SMDSL_SHARED_DIR": str(tmp_path)}
    result = cli("validate", str(ABALONE), **variables)
    assert warnings(result) == []
    # A setting in any form smdsl reads is not warned about either.
    settings = {
        "SMDSL_PREFIX": "x",
        "SMDSL_TAGS__owner": "ci",
        "SMDSL_STEPS__FIT__INSTANCE_COUNT": "2",
        "SMDSL_STEPS__FIT__ENVIRONMENT__mode": "fast",
        "SMDSL_STEPS__PREPROCESS": '{"volume_size_gb": 50}',
    }
    assert warnings(cli("validate", str(ABALONE), "--env", "dev", **settings)) == []


def test_tables_of_smdsl_toml_that_nothing_reads_are_warnings() -> None:
    path = CASES / "ignored" / "pipeline.py"
    toml = display_path(CASES / "ignored" / "smdsl.toml")
    result = cli("validate", str(path))
    assert warnings(result) == [
        f"{toml}: region is not an smdsl setting; it is ignored (a profile setting goes in a "
        "profile: [envs.NAME] region = ...)",
        f"{toml}: [qa] is not an smdsl setting; it is ignored (a profile goes in [envs.qa])",
        f"{toml}: [env] is not an smdsl setting (did you mean [envs]?); it is ignored",
    ]
    assert result.stdout.strip().endswith("(dev)")
    # Asked for by name, a profile outside [envs] is an unknown environment, saying why.
    line = error(cli("validate", str(path), "--env", "staging"))
    assert line == (
        f"unknown environment 'staging' ({toml}; defined: dev); [env.staging] is not read: a "
        "profile goes in [envs.staging]"
    )


def test_keys_of_tool_smdsl_that_nothing_reads_are_warnings() -> None:
    path = CASES / "in_pyproject" / "pipeline.py"
    pyproject = display_path(CASES / "in_pyproject" / "pyproject.toml")
    assert warnings(cli("validate", str(path))) == [
        f"{pyproject}: tool.smdsl.default_env is not an smdsl setting; it is ignored (smdsl "
        "reads only [tool.smdsl.envs.NAME] tables here)",
        f"{pyproject}: [tool.smdsl.prod] is not an smdsl setting; it is ignored (a profile goes "
        "in [tool.smdsl.envs.prod])",
    ]
    line = error(cli("validate", str(path), "--env", "prod"))
    assert line.endswith(
        "; [tool.smdsl.prod] is not read: a profile goes in [tool.smdsl.envs.prod]"
    )

"""``smdsl validate FILE --env ENV`` finds what ``definition`` and ``deploy`` would refuse.

Each case under ``tests/fixtures/defects/validate_env/`` is a small pipeline with an smdsl.toml
that is wrong in one way: settings missing from the profile, a region SageMaker does not run in,
a framework image that does not exist for the region, the py_version or the instance type, and
an override in the profile (or an ``SMDSL_*`` variable) naming a bad instance type. Every case
runs through the real CLI in a subprocess; the checks read botocore's data and the SDK's image
JSON, never the SDK itself.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, OFFLINE_ENV, QUICKSTART, clean_env, run_cli, sdk_modules_after

from smdsl.declare.options import JobOptions as StepOptions
from smdsl.errors import display_path
from smdsl.graph.frameworks import image_problems

CASES = FIXTURES / "defects" / "validate_env"
ROLE = "arn:aws:iam::111122223333:role/ValidateEnv"


def case(name: str) -> Path:
    return CASES / name / "pipeline.py"


def toml(name: str) -> str:
    """The profile file of case ``name`` as messages show it (relative to the repository)."""
    return display_path(CASES / name / "smdsl.toml")


def at_line(name: str, line: int, step: str, field: str) -> str:
    return f'File "{display_path(case(name))}", line {line}, in step {step!r}: {field}: '


def offline(**extra: str) -> dict[str, str]:
    """The subprocess environment of ``run_cli`` without a default region, plus ``extra``."""
    settings = {k: v for k, v in OFFLINE_ENV.items() if k != "AWS_DEFAULT_REGION"}
    return clean_env(**{**settings, **extra})


def validate(name: str, profile: str | None, **extra: str) -> subprocess.CompletedProcess[str]:
    args = ["validate", str(case(name))] + (["--env", profile] if profile else [])
    return run_cli(*args, env=offline(**extra))


def problems(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The problem lines of a failed command, without their ``  - `` bullet."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    return [line[4:] for line in result.stderr.splitlines() if line.startswith("  - ")]


def one_starting(lines: list[str], prefix: str) -> str:
    matching = [line for line in lines if line.startswith(prefix)]
    assert len(matching) == 1, f"no single line starts with {prefix!r} in:\n" + "\n".join(lines)
    return matching[0]


# ---------------------------------------------------------------------------------------------
# Settings compiling and deploying need


def test_missing_region_and_role_are_each_reported_with_their_variables() -> None:
    lines = problems(validate("missing_settings", "dev"))
    assert len(lines) == 2, lines
    region = one_starting(lines, f"{toml('missing_settings')}: [envs.dev] region: missing")
    assert region.endswith("(set it in the file, or by SMDSL_REGION or AWS_REGION)")
    role = one_starting(lines, f"{toml('missing_settings')}: [envs.dev] role_arn: missing")
    assert role.endswith("(set it in the file, or by SMDSL_ROLE_ARN)")


def test_environment_variables_supply_missing_settings() -> None:
    lines = problems(validate("missing_settings", "dev", AWS_DEFAULT_REGION="us-east-1"))
    assert [line.split(": missing")[0] for line in lines] == [
        f"{toml('missing_settings')}: [envs.dev] role_arn"
    ]
    result = validate("missing_settings", "dev", AWS_REGION="us-east-1", SMDSL_ROLE_ARN=ROLE)
    assert result.returncode == 0, result.stderr
    assert "(dev)" in result.stdout


def test_validate_and_definition_say_the_same_about_a_missing_setting() -> None:
    """One check serves both: validate reports it with everything else, definition refuses."""
    checked = problems(validate("missing_settings", "dev", AWS_DEFAULT_REGION="us-east-1"))
    compiled = run_cli("definition", str(case("missing_settings")), "--env", "dev")
    assert compiled.returncode == 1
    assert "Traceback" not in compiled.stderr
    assert f"  - {checked[0]}" in compiled.stderr.splitlines()


def test_validate_without_env_checks_every_profile_for_missing_settings() -> None:
    lines = problems(validate("missing_settings", None, AWS_DEFAULT_REGION="us-east-1"))
    one_starting(lines, f"{toml('missing_settings')}: [envs.dev] role_arn: missing")


def test_a_pipeline_without_profiles_still_validates() -> None:
    path = FIXTURES / "valid" / "single.py"
    result = run_cli("validate", str(path), env=offline())
    assert result.returncode == 0, result.stderr
    assert "(no environment profiles)" in result.stdout


# ---------------------------------------------------------------------------------------------
# Regions


def test_a_region_sagemaker_does_not_run_in_suggests_the_close_one() -> None:
    lines = problems(validate("unknown_region", "dev"))
    assert lines == [
        f"{toml('unknown_region')}: [envs.dev] region: 'eu-west-9' is not a region where "
        "SageMaker runs (did you mean 'eu-west-1'?)"
    ]


@pytest.mark.parametrize(("variable", "profile"), [("SMDSL_REGION", "dev"), ("AWS_REGION", "ci")])
def test_a_bad_region_from_a_variable_names_the_variable(variable: str, profile: str) -> None:
    lines = problems(validate("unknown_region", profile, **{variable: "us-est-1"}))
    assert lines == [
        f"{variable} (environment variable, profile {profile!r}): 'us-est-1' is not a region "
        "where SageMaker runs (did you mean 'us-east-1'?)"
    ]


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1"])
def test_regions_of_every_partition_are_known(region: str) -> None:
    result = validate("unknown_region", "ci", AWS_REGION=region)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------
# Framework images


def test_a_framework_without_an_image_in_the_region_is_reported_per_step() -> None:
    lines = problems(validate("no_image_in_region", "dev"))
    assert len(lines) == 2, lines
    for line, step, framework in ((6, "prep", "sklearn '1.2-1'"), (11, "train", "xgboost '1.7-1'")):
        found = one_starting(lines, at_line("no_image_in_region", line, step, "framework_version"))
        assert f"{framework} has no SageMaker image in region 'mx-central-1'" in found
        assert f"set by {toml('no_image_in_region')}: [envs.dev] region" in found


def test_a_py_version_without_an_image_is_reported_at_the_step() -> None:
    lines = problems(validate("py_version", "dev"))
    assert len(lines) == 2, lines
    torch = one_starting(lines, at_line("py_version", 6, "torch_fit", "py_version"))
    assert "pytorch '2.5.1' has no image for py_version 'py39' (did you mean 'py311'?)" in torch
    # '2.13' is an alias of 2.13.0, whose images are for py310 only
    tf = one_starting(lines, at_line("py_version", 13, "tf_fit", "py_version"))
    assert "tensorflow '2.13' has no image for py_version 'py3'" in tf
    assert tf.endswith("it has: py310")


def test_an_accelerator_instance_for_a_cpu_only_image_is_refused() -> None:
    lines = problems(validate("gpu_for_cpu_image", "dev"))
    assert len(lines) == 3, lines
    prep = one_starting(lines, at_line("gpu_for_cpu_image", 8, "prep", "instance_type"))
    assert "'ml.p3.2xlarge' is a GPU instance but sklearn '1.2-1' has CPU images only" in prep
    fit = one_starting(lines, at_line("gpu_for_cpu_image", 13, "fit", "instance_type"))
    assert "'ml.g5.xlarge' (the default of parameter 'FitInstance') is a GPU instance" in fit
    boost = one_starting(lines, at_line("gpu_for_cpu_image", 18, "boost", "instance_type"))
    assert "'ml.trn1.2xlarge' is a Trainium instance" in boost
    assert "pytorch only, not xgboost" in boost


# ---------------------------------------------------------------------------------------------
# Per-step overrides are reported where they were set


def test_a_bad_override_names_the_profile_key_not_the_decorator() -> None:
    assert validate("bad_override", "dev").returncode == 0
    lines = problems(validate("bad_override", "prod"))
    assert len(lines) == 2, lines
    where = f"{toml('bad_override')}: [envs.prod]"
    train = one_starting(lines, f"{where} steps.train.instance_type: 'ml.m5.huge' ")
    assert "is not a training instance type SageMaker offers (did you mean" in train
    prep = one_starting(lines, f"{where} steps.prep.instance_type: 'ml.g5.xlarge' ")
    assert "is a GPU instance but sklearn '1.2-1' has CPU images only" in prep
    assert not any("pipeline.py" in line for line in lines)


def test_a_bad_override_from_a_variable_names_the_variable() -> None:
    variable = "SMDSL_STEPS__TRAIN__INSTANCE_TYPE"
    lines = problems(validate("bad_override", "dev", **{variable: "ml.m5.huge"}))
    [line] = lines
    assert line.startswith(
        f"{variable} (environment variable, profile 'dev'): 'ml.m5.huge' is not a training "
        "instance type SageMaker offers (did you mean 'ml.m5."
    )


# ---------------------------------------------------------------------------------------------
# All at once, without the SDK


def test_profile_and_pipeline_problems_are_reported_together() -> None:
    result = validate("several", "dev")
    lines = problems(result)
    assert result.stderr.startswith(f"error: {display_path(case('several'))}: 5 problems")
    where = f"{toml('several')}: [envs.dev]"
    one_starting(lines, f"{where} region: 'us-est-1' is not a region where SageMaker runs")
    one_starting(lines, f"{where} role_arn: missing")
    one_starting(lines, f"{where} steps.train.instance_type: 'ml.m5.huge' is not a training")
    one_starting(lines, at_line("several", 6, "prep", "instance_type") + "'ml.p3.2xlarge' is a GPU")
    one_starting(lines, at_line("several", 11, "train", "depends_on") + "unknown step 'prepp'")


def test_checking_a_profile_does_not_import_the_sagemaker_sdk() -> None:
    script = (
        "import os\n"
        "from smdsl.cli import main\n"
        "for name in ('several', 'no_image_in_region', 'gpu_for_cpu_image'):\n"
        f"    path = os.path.join({str(CASES)!r}, name, 'pipeline.py')\n"
        "    try:\n"
        "        main(['validate', path, '--env', 'dev'], standalone_mode=False)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 1, exc.code\n"
        "    else:\n"
        "        raise AssertionError('validate passed')\n"
    )
    assert sdk_modules_after(script) == []


@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_the_quickstart_validates_for_deploy(profile: str) -> None:
    result = run_cli("validate", str(QUICKSTART / "pipeline.py"), "--env", profile, env=offline())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"2 steps, 3 parameters ({profile})")


# ---------------------------------------------------------------------------------------------
# The image lookup mirrors the SDK's


MIRRORED = [
    ("ml.m5.xlarge", "sklearn", "1.2-1", None, "us-east-1"),
    ("ml.m5.xlarge", "sklearn", "1.2-1", None, "cn-north-1"),
    ("ml.m5.xlarge", "sklearn", "1.2-1", None, "mx-central-1"),
    ("ml.m5.xlarge", "sklearn", "1.2-1", "py39", "us-east-1"),
    ("ml.g5.xlarge", "sklearn", "1.2-1", None, "us-east-1"),
    ("ml.trn1.2xlarge", "sklearn", "1.2-1", None, "us-east-1"),
    ("ml.g5.xlarge", "xgboost", "1.7-1", "py3", "us-east-1"),
    ("ml.g5.xlarge", "xgboost", "1.0-1", None, "us-east-1"),
    ("ml.m5.xlarge", "xgboost", "latest", None, "us-east-1"),
    ("ml.m5.xlarge", "xgboost", "1", None, "il-central-1"),
    ("ml.m5.xlarge", "xgboost", "1.7.1", None, "us-east-1"),
    ("ml.m5.xlarge", "pytorch", "1.0", "py3", "ap-east-2"),
    ("ml.g5.xlarge", "pytorch", "2.5", "py311", "us-east-1"),
    ("ml.m5.xlarge", "pytorch", "2.5.1", "py39", "us-east-1"),
    ("ml.p2.xlarge", "pytorch", "1.12", "py38", "us-east-1"),
    ("ml.p2.xlarge", "pytorch", "2.1", "py310", "us-east-1"),
    ("ml.trn1.2xlarge", "pytorch", "1.11", "py38", "us-east-1"),
    ("ml.trn1.2xlarge", "pytorch", "2.1", "py310", "us-east-1"),
    ("ml.m5.xlarge", "tensorflow", "2.13", "py3", "us-east-1"),
    ("ml.g5.xlarge", "tensorflow", "2.13", "py310", "us-east-1"),
    ("ml.p2.xlarge", "tensorflow", "2.13", "py310", "us-east-1"),
]


@pytest.mark.parametrize(("instance", "framework", "version", "py_version", "region"), MIRRORED)
def test_image_problems_agree_with_the_sdk(
    instance: str,
    framework: str,
    version: str,
    py_version: str | None,
    region: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``image_problems`` finds a problem exactly when ``image_uris.retrieve`` refuses."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    image_uris = pytest.importorskip("sagemaker.core.image_uris")
    options = StepOptions(
        kind="training",
        instance_type=instance,
        framework=framework,
        framework_version=version,
        py_version=py_version,
    )
    found = list(image_problems(options, region))
    try:
        image_uris.retrieve(
            framework=framework,
            region=region,
            version=version,
            py_version=py_version,
            instance_type=instance,
            image_scope="training",
        )
    except ValueError as exc:
        assert found, f"the SDK refuses ({exc}) but smdsl finds nothing"
    else:
        assert not found, f"the SDK finds an image but smdsl says: {found}"

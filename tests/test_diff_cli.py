"""``smdsl diff`` end to end: the real CLI in a subprocess against a moto server.

Each test deploys the quickstart with the real ``smdsl deploy``, changes one thing in a copy of
it (a step, a script, a profile value, a parameter's default, a description) and checks what
``diff`` says in text and in JSON, and its exit code: 0 the same, 1 different, 2 a usage error,
3 AWS unreadable, 4 a problem in the pipeline. The compiled-definition cache is on, so an
unchanged pipeline is compiled once per test process.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_server import FailingServer, RecordingMotoServer
from conftest import OFFLINE_ENV, QUICKSTART, aws_env, clean_env, run_cli

BUCKET = "smdsl-quickstart-dev"
NAME = "quickstart-dev"

EVALUATE_STEP = """

@processing_step(instance_type="ml.m5.large", framework="sklearn", framework_version="1.2-1")
def evaluate(train: Training) -> Processing:
    return Processing(code="code/preprocess.py", outputs=["report"])
"""


def _env(server: RecordingMotoServer, **extra: str) -> dict[str, str]:
    return aws_env(server, SMDSL_NO_CACHE="", **extra)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, target)
    return target / "pipeline.py"


def _deploy(server: RecordingMotoServer, pipeline: Path, **extra: str) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    result = run_cli("deploy", str(pipeline), "--env", "dev", "--yes", env=_env(server, **extra))
    assert result.returncode == 0, result.stdout + result.stderr


def _diff(server: RecordingMotoServer, pipeline: Path, *args: str, **extra: str) -> Any:
    result = run_cli("diff", str(pipeline), "--env", "dev", *args, env=_env(server, **extra))
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _json(server: RecordingMotoServer, pipeline: Path, **extra: str) -> dict[str, Any]:
    result = _diff(server, pipeline, "--output", "json", **extra)
    assert result.returncode in (0, 1), result.stderr
    document: dict[str, Any] = json.loads(result.stdout)  # stdout holds the JSON alone
    assert document["format"] == "smdsl-plan" and document["version"] == 1
    assert document["differs"] == (result.returncode == 1)
    return document


def _step(document: dict[str, Any], name: str) -> dict[str, Any]:
    [step] = [s for s in document["steps"] if s["name"] == name]
    return step


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_an_unchanged_pipeline_has_no_differences(aws: RecordingMotoServer) -> None:
    _deploy(aws, QUICKSTART / "pipeline.py")
    aws.requests.clear()

    result = _diff(aws, QUICKSTART / "pipeline.py")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("no differences: pipeline quickstart-dev in us-east-1")
    # diff reads the pipeline and its tags, and nothing else (no bucket, no write)
    assert aws.operations() == ["SageMaker.DescribePipeline", "SageMaker.ListTags"]

    document = _json(aws, QUICKSTART / "pipeline.py")
    assert document["action"] == "none" and document["deployed"] is True
    assert document["steps"] == [] and document["parameters"] == []
    assert document["uploads"] is None  # diff does not look at the bucket
    assert document["writes"] is None


def test_a_pipeline_not_deployed_yet_differs_in_everything(aws: RecordingMotoServer) -> None:
    result = _diff(aws, QUICKSTART / "pipeline.py")

    assert result.returncode == 1, result.stderr
    assert "pipeline quickstart-dev in us-east-1 is not deployed: a deploy would create it" in (
        result.stdout
    )
    for line in ("+ step preprocess (Processing)", "+ step train (Training)", "+ tag env=dev"):
        assert line in result.stdout
    assert "+ parameter MaxDepth (Integer)" in result.stdout
    assert aws.writes() == []

    document = _json(aws, QUICKSTART / "pipeline.py")
    assert document["deployed"] is False and document["action"] == "create"
    assert [(s["name"], s["change"]) for s in document["steps"]] == [
        ("preprocess", "added"),
        ("train", "added"),
    ]
    assert {p["name"] for p in document["parameters"]} == {"InputData", "MaxDepth", "TrainRatio"}
    assert document["tags"]["add"] == {"team": "ml-platform", "env": "dev"}
    assert [m["step"] for m in document["cache_misses"]] == ["preprocess", "train"]


def test_an_added_step(aws: RecordingMotoServer, copy: Path) -> None:
    _deploy(aws, copy)
    copy.write_text(copy.read_text() + EVALUATE_STEP)

    result = _diff(aws, copy)

    assert result.returncode == 1, result.stderr
    assert "1 step added" in result.stdout
    assert "+ step evaluate (Processing): cache miss: new step" in result.stdout
    document = _json(aws, copy)
    evaluate = _step(document, "evaluate")
    assert evaluate["change"] == "added" and evaluate["type"] == "Processing"
    assert evaluate["cache"]["verdict"] == "miss"
    assert [s["name"] for s in document["steps"]] == ["evaluate"]


def test_a_removed_step(aws: RecordingMotoServer, copy: Path) -> None:
    copy.write_text(copy.read_text() + EVALUATE_STEP)
    _deploy(aws, copy)

    result = _diff(aws, QUICKSTART / "pipeline.py")

    assert result.returncode == 1, result.stderr
    assert "- step evaluate (Processing)" in result.stdout
    step = _step(_json(aws, QUICKSTART / "pipeline.py"), "evaluate")
    assert step["change"] == "removed" and step["cache"] is None


def test_a_changed_instance_type_is_shown_and_keeps_the_cache(aws: RecordingMotoServer) -> None:
    """The instance type (ResourceConfig) is not in a training step's cache key."""
    _deploy(aws, QUICKSTART / "pipeline.py")
    bigger = {"SMDSL_STEPS__TRAIN__INSTANCE_TYPE": "ml.m5.2xlarge"}

    result = _diff(aws, QUICKSTART / "pipeline.py", **bigger)

    assert result.returncode == 1, result.stderr
    assert "~ step train (Training): cache hit: only ResourceConfig changed" in result.stdout
    assert 'Arguments.ResourceConfig.InstanceType: "ml.m5.xlarge" -> "ml.m5.2xlarge"' in (
        result.stdout
    )
    document = _json(aws, QUICKSTART / "pipeline.py", **bigger)
    train = _step(document, "train")
    assert train["fields"] == [
        {
            "path": "Arguments.ResourceConfig.InstanceType",
            "change": "changed",
            "old": "ml.m5.xlarge",
            "new": "ml.m5.2xlarge",
        }
    ]
    assert train["cache"] == {
        "verdict": "hit",
        "reason": "only ResourceConfig changed, outside its cache key",
        "enabled": False,
    }
    assert document["cache_misses"] == []


def test_changed_code_is_a_cache_miss(aws: RecordingMotoServer, copy: Path) -> None:
    _deploy(aws, copy)
    script = copy.parent / "code" / "preprocess.py"
    script.write_text(script.read_text() + "\n# tuned\n")

    result = _diff(aws, copy)

    assert result.returncode == 1, result.stderr
    assert (
        "~ step preprocess (Processing): cache miss: ProcessingInputs changed, which is in its "
        "cache key" in result.stdout
    )
    assert "Arguments.ProcessingInputs[code].S3Input.S3Uri:" in result.stdout
    document = _json(aws, copy)
    preprocess = _step(document, "preprocess")
    [field] = preprocess["fields"]
    assert field["path"] == "Arguments.ProcessingInputs[code].S3Input.S3Uri"
    assert field["old"].endswith("/preprocess.py") and field["new"].endswith("/preprocess.py")
    assert field["old"] != field["new"]
    assert preprocess["cache"]["verdict"] == "miss"
    # train reads preprocess's outputs, which are new: its cache key changes too
    assert [(m["step"], m["reason"]) for m in document["cache_misses"]] == [
        ("preprocess", "ProcessingInputs changed, which is in its cache key"),
        ("train", "its cache key reads properties of 'preprocess', which runs again"),
    ]
    assert [s["name"] for s in document["steps"]] == ["preprocess"]  # train itself is unchanged


def test_a_changed_parameter_default(aws: RecordingMotoServer, copy: Path) -> None:
    _deploy(aws, copy)
    _edit(copy, 'param("MaxDepth", default=5)', 'param("MaxDepth", default=6)')

    result = _diff(aws, copy)

    assert result.returncode == 1, result.stderr
    assert "~ parameter MaxDepth (Integer): cache miss with the default for train" in result.stdout
    assert "DefaultValue: 5 -> 6" in result.stdout
    document = _json(aws, copy)
    assert document["steps"] == []  # the definition of train reads the parameter: unchanged
    [parameter] = document["parameters"]
    assert parameter == {
        "name": "MaxDepth",
        "change": "changed",
        "type": "Integer",
        "fields": [{"path": "DefaultValue", "change": "changed", "old": 5, "new": 6}],
        "cache_misses": ["train"],
    }
    assert [m["step"] for m in document["cache_misses"]] == ["train"]


def test_a_description_only_change_keeps_the_cache(aws: RecordingMotoServer, copy: Path) -> None:
    _deploy(aws, copy)
    _edit(copy, '    max_runtime="2h",\n', '    max_runtime="2h",\n    description="Train it.",\n')

    result = _diff(aws, copy)

    assert result.returncode == 1, result.stderr
    assert "~ step train (Training): cache hit: only Description changed" in result.stdout
    assert 'Description (added): "Train it."' in result.stdout
    train = _step(_json(aws, copy), "train")
    assert train["fields"] == [{"path": "Description", "change": "added", "new": "Train it."}]
    assert train["cache"]["verdict"] == "hit"


def test_role_and_tag_changes_differ_too(aws: RecordingMotoServer) -> None:
    _deploy(aws, QUICKSTART / "pipeline.py")
    role = "arn:aws:iam::111122223333:role/Other"
    extra = {"SMDSL_ROLE_ARN": role, "SMDSL_TAGS": '{"team": "ml-platform", "owner": "me"}'}

    document = _json(aws, QUICKSTART / "pipeline.py", **extra)

    assert document["action"] == "update"
    assert {"name": "role_arn", "change": "changed", "old": document["settings"][0]["old"],
            "new": role} == document["settings"][0]  # fmt: skip
    assert document["tags"] == {"add": {"owner": "me"}, "remove": []}  # merged with the file's


def test_usage_errors_exit_2(aws: RecordingMotoServer) -> None:
    missing_env = run_cli("diff", str(QUICKSTART / "pipeline.py"), env=_env(aws))
    assert missing_env.returncode == 2, missing_env.stderr
    bad_output = _diff(aws, QUICKSTART / "pipeline.py", "--output", "yaml")
    assert bad_output.returncode == 2
    bad_timeout = _diff(aws, QUICKSTART / "pipeline.py", SMDSL_READ_TIMEOUT="soon")
    assert bad_timeout.returncode == 2
    assert "SMDSL_READ_TIMEOUT='soon': must be a number of seconds" in bad_timeout.stderr
    assert aws.requests == []


def test_a_problem_in_the_pipeline_exits_4(aws: RecordingMotoServer, copy: Path) -> None:
    _edit(copy, "def train(preprocess: Processing", "def train(preproces: Processing")
    result = _diff(aws, copy)
    assert result.returncode == 4, result.stdout + result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stdout == ""
    assert aws.requests == []


def test_aws_that_cannot_be_read_exits_3() -> None:
    with FailingServer(500) as server:
        env = clean_env(**OFFLINE_ENV, AWS_ENDPOINT_URL=server.url, SMDSL_NO_CACHE="")
        result = run_cli("diff", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--output",
                         "json", env=env)  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "AWS refused DescribePipeline" in result.stderr
    assert result.stdout == ""  # no JSON for CI to misread


def test_deploy_dry_run_json_holds_the_facts_of_diff_and_the_uploads(
    aws: RecordingMotoServer, copy: Path
) -> None:
    _deploy(aws, copy)
    script = copy.parent / "code" / "preprocess.py"
    script.write_text(script.read_text() + "\n# tuned\n")
    aws.requests.clear()

    result = run_cli(
        "deploy", str(copy), "--env", "dev", "--dry-run", "--output", "json", env=_env(aws)
    )

    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["command"] == "deploy --dry-run" and plan["action"] == "update"
    assert plan["writes"] is True
    [upload] = plan["uploads"]
    assert upload["uri"].startswith(f"s3://{BUCKET}/quickstart/code/")
    assert upload["uri"].endswith("/preprocess.py")
    assert aws.writes() == []
    diff = _json(aws, copy)
    for key in ("steps", "parameters", "definition", "settings", "tags", "cache_misses"):
        assert plan[key] == diff[key], key


def test_deploy_json_needs_dry_run(aws: RecordingMotoServer) -> None:
    result = run_cli(
        "deploy", str(QUICKSTART / "pipeline.py"), "--env", "dev", "--output", "json",
        env=_env(aws),
    )  # fmt: skip
    assert result.returncode == 2
    assert "--output json prints the plan of a dry run: add --dry-run" in result.stderr
    assert aws.requests == []


@pytest.mark.parametrize("command", ["diff", "start", "status"])
def test_the_new_commands_have_help_with_an_example(command: str) -> None:
    from click.testing import CliRunner

    from smdsl.cli import main

    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"smdsl {command} " in result.output
    assert command in CliRunner().invoke(main, ["--help"]).output


# -- the comparison itself, in process -----------------------------------------------------------


def _processing(name: str, **extra: Any) -> dict[str, Any]:
    arguments = {
        "AppSpecification": {"ImageUri": "image:1"},
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge"}},
        "ProcessingInputs": [
            {"InputName": "code", "S3Input": {"S3Uri": "s3://b/code/1/p.py"}},
            {"InputName": "raw", "S3Input": {"S3Uri": {"Get": "Parameters.Data"}}},
        ],
    }
    return {"Name": name, "Type": "Processing", "Arguments": arguments, **extra}


def _definition(*steps: dict[str, Any], data: str = "s3://b/raw/") -> dict[str, Any]:
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Data", "Type": "String", "DefaultValue": data}],
        "Steps": list(steps),
    }


CACHED = {"CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"}}


def test_cache_verdicts_with_caching_on() -> None:
    from smdsl.deploy.diff import compare_definitions

    old = _definition(_processing("prep", **CACHED))
    moved = json.loads(json.dumps(old))
    moved["Steps"][0]["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "x"
    moved["Steps"][0]["DisplayName"] = "Prep"
    [step] = compare_definitions(old, moved).steps
    assert step.cache is not None
    assert (step.cache.verdict, step.cache.enabled) == ("hit", True)
    assert (
        step.cache.reason == "only DisplayName, ProcessingResources changed, outside its cache key"
    )

    imaged = json.loads(json.dumps(old))
    imaged["Steps"][0]["Arguments"]["AppSpecification"]["ImageUri"] = "image:2"
    [step] = compare_definitions(old, imaged).steps
    assert step.cache is not None and step.cache.verdict == "miss"
    assert step.cache.reason == "AppSpecification changed, which is in its cache key"

    expiring = json.loads(json.dumps(old))
    expiring["Steps"][0]["CacheConfig"]["ExpireAfter"] = "P1D"
    [step] = compare_definitions(old, expiring).steps
    assert step.cache is not None and step.cache.verdict == "hit"

    turned_on = compare_definitions(_definition(_processing("prep")), old)
    assert turned_on.steps[0].cache is not None
    assert turned_on.steps[0].cache.reason.startswith("caching was off until now")


def test_a_changed_default_misses_the_steps_whose_key_reads_it() -> None:
    from smdsl.deploy.diff import compare_definitions

    diff = compare_definitions(
        _definition(_processing("prep", **CACHED)),
        _definition(_processing("prep", **CACHED), data="s3://b/other/"),
    )
    assert diff.steps == []
    [parameter] = diff.parameters
    assert parameter.cache_misses == ["prep"]
    assert diff.cache_misses == {
        "prep": "its cache key reads parameter Data, whose default changed"
    }


def test_condition_branches_are_compared_step_by_step() -> None:
    from smdsl.deploy.diff import compare_definitions, flat_steps

    def condition(branch: dict[str, Any]) -> dict[str, Any]:
        return {
            "Name": "check",
            "Type": "Condition",
            "Arguments": {"Conditions": [], "IfSteps": [branch], "ElseSteps": []},
        }

    old = _definition(condition(_processing("evaluate")))
    new = json.loads(json.dumps(old))
    new["Steps"][0]["Arguments"]["IfSteps"][0]["Arguments"]["AppSpecification"]["ImageUri"] = "i:3"
    assert list(flat_steps(new["Steps"])) == ["check", "evaluate"]
    assert flat_steps(new["Steps"])["check"]["Arguments"]["IfSteps"] == ["evaluate"]
    [step] = compare_definitions(old, new).steps
    assert step.name == "evaluate"
    assert [f.path for f in step.fields] == ["Arguments.AppSpecification.ImageUri"]


def test_steps_that_are_never_cached_and_reordered_inputs() -> None:
    from smdsl.deploy.diff import compare_definitions

    model = {"Name": "model", "Type": "Model", "Arguments": {"ExecutionRoleArn": "a"}}
    changed = {**model, "Arguments": {"ExecutionRoleArn": "b"}}
    [step] = compare_definitions(_definition(model), _definition(changed)).steps
    assert step.cache is not None and step.cache.verdict == "never"

    old = _definition(_processing("prep"))
    new = json.loads(json.dumps(old))
    new["Steps"][0]["Arguments"]["ProcessingInputs"].reverse()
    [step] = compare_definitions(old, new).steps
    assert [f.path for f in step.fields] == ["Arguments.ProcessingInputs"]  # order alone
    assert step.cache is not None and step.cache.verdict == "miss"


def test_tuning_keys_are_nested_in_the_training_job_definition() -> None:
    from smdsl.deploy.diff import compare_definitions

    def tuning(instance: str, image: str) -> dict[str, Any]:
        definition = {
            "AlgorithmSpecification": {"TrainingImage": image},
            "ResourceConfig": {"InstanceType": instance},
        }
        return {
            "Name": "tune",
            "Type": "Tuning",
            "Arguments": {"TrainingJobDefinition": definition},
        }

    same_image = compare_definitions(_definition(tuning("a", "i")), _definition(tuning("b", "i")))
    assert same_image.steps[0].cache is not None
    assert same_image.steps[0].cache.verdict == "hit"
    new_image = compare_definitions(_definition(tuning("a", "i")), _definition(tuning("a", "j")))
    assert new_image.steps[0].cache is not None
    assert new_image.steps[0].cache.reason == (
        "TrainingJobDefinition.AlgorithmSpecification changed, which is in its cache key"
    )

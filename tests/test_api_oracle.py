"""The SageMaker API as the oracle, in the product (issue 9).

``validate --env ENV``, ``definition`` and ``deploy`` compile the pipeline and check every job
step's arguments against the request shape of its API call in botocore's SageMaker service model
(:mod:`smdsl.compile.oracle`); each problem names the file, line, step and smdsl field it came
from. ``validate`` without ``--env`` keeps its fast checks and never imports the SageMaker SDK.

The pipelines under ``tests/fixtures/oracle/`` each pass smdsl's own checks and hold one thing
the API refuses; the limits the tests expect are read from botocore, as the oracle reads them.
What smdsl's own checks already catch (an environment variable named with a ``-``, a reserved
tag key) is shown caught by ``validate`` without ``--env``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import (
    FIXTURES,
    OFFLINE_ENV,
    QUICKSTART,
    ROOT,
    marker_line,
    run_cli,
    sdk_modules_after,
)

from smdsl.cli import main
from smdsl.compile import cache
from smdsl.compile.kinds import models, processing, training, transform
from smdsl.compile.oracle import (
    ArgumentProblem,
    argument_problems,
    check_job_arguments,
    list_index,
    map_key,
    service_model,
)
from smdsl.declare.env import load_env
from smdsl.declare.kinds import StepKind, step_kinds
from smdsl.errors import CompileError, display_path
from smdsl.graph.build import build_graph
from smdsl.graph.loader import load_pipeline
from smdsl.graph.model import PipelineGraph

CASES = FIXTURES / "oracle"
EXAMPLES = [
    (ROOT / "examples" / example / "pipeline.py", profile)
    for example in ("quickstart", "abalone")
    for profile in ("dev", "prod")
]


def _maximum(operation: str, *path: str) -> int:
    """The maximum botocore gives the member at ``path`` of ``operation``'s request (for a map's
    or list's entries: "value" / "member" as the last step)."""
    shape = service_model().operation_model(operation).input_shape
    for step in path:
        shape = getattr(shape, step) if step in ("value", "member", "key") else shape.members[step]
    maximum: int = shape.metadata["max"]
    return maximum


HYPERPARAMETER_LENGTH = _maximum("CreateTrainingJob", "HyperParameters", "value")
HYPERPARAMETERS = _maximum("CreateTrainingJob", "HyperParameters")
PROCESSING_INSTANCES = _maximum(
    "CreateProcessingJob", "ProcessingResources", "ClusterConfig", "InstanceCount"
)
PROCESSING_RUNTIME = _maximum("CreateProcessingJob", "StoppingCondition", "MaxRuntimeInSeconds")

# (pipeline, step and its MARK, smdsl field, what the message says)
REFUSED = {
    "hyperparameter_too_long": (
        "train",
        "hyperparameters['notes']",
        f"{HYPERPARAMETER_LENGTH + 1} characters is more than the maximum {HYPERPARAMETER_LENGTH}",
    ),
    "too_many_hyperparameters": (
        "train",
        "hyperparameters",
        f"{HYPERPARAMETERS + 1} entries is more than the maximum {HYPERPARAMETERS}",
    ),
    "instance_count": (
        "prep",
        "instance_count",
        f"{PROCESSING_INSTANCES + 1} is more than the maximum {PROCESSING_INSTANCES}",
    ),
    "max_runtime": (
        "prep",
        "max_runtime",
        f"{10 * 86400} is more than the maximum {PROCESSING_RUNTIME}",
    ),
    "branch_step": (
        "heavy",
        "instance_count",
        f"{PROCESSING_INSTANCES + 1} is more than the maximum {PROCESSING_INSTANCES}",
    ),
}
COMMANDS = {
    "validate": ["validate", "--env", "dev"],
    "definition": ["definition", "--env", "dev"],
    "deploy": ["deploy", "--env", "dev", "--dry-run", "--offline"],
}


def case(name: str) -> Path:
    return CASES / f"{name}.py"


def at(path: Path, step: str, field: str) -> str:
    """The start of a problem line at the step's MARK (its decorator line)."""
    line = marker_line(path, step)
    return f'File "{display_path(path)}", line {line}, in step {step!r}: {field}: '


def refused(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The problem lines of a command that refused cleanly: exit 1, no traceback, no output."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stdout == "", result.stdout
    return [line[4:] for line in result.stderr.splitlines() if line.startswith("  - ")]


def cli(command: str, path: Path) -> subprocess.CompletedProcess[str]:
    name, *options = COMMANDS[command]
    return run_cli(name, str(path), *options)


# ---------------------------------------------------------------------------------------------
# Through the real CLI


@pytest.mark.parametrize("name", list(REFUSED))
def test_validate_with_env_reports_what_the_api_refuses_at_its_step_and_field(name: str) -> None:
    step, field, message = REFUSED[name]
    lines = refused(cli("validate", case(name)))
    assert len(lines) == 1, lines
    assert lines[0].startswith(at(case(name), step, field) + message), lines[0]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_validate_definition_and_deploy_each_refuse_every_problem_at_once(command: str) -> None:
    path = case("all_at_once")
    result = cli(command, path)
    lines = refused(result)
    assert result.stderr.startswith(
        f"error: {display_path(path)}: 4 problems the SageMaker API would refuse"
    ), result.stderr
    each = ("instance_count", "max_runtime", "too_many_hyperparameters", "hyperparameter_too_long")
    for step, field, message in (REFUSED[name] for name in each):
        start = at(path, step, field) + message
        assert [line for line in lines if line.startswith(start)], (start, lines)
    assert len(lines) == 4, lines
    # the JSON path is shown too, after the message
    assert any(line.endswith("(Arguments.HyperParameters.notes)") for line in lines), lines


@pytest.mark.parametrize(
    ("pipeline", "profile"), EXAMPLES, ids=[f"{p.parent.name}-{e}" for p, e in EXAMPLES]
)
def test_every_example_passes_validate_with_env(
    pipeline: Path, profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In this process (the SDK is imported once for all examples), through the CLI's main."""
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["validate", str(pipeline), "--env", profile])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: "), result.output


def test_smdsls_own_checks_catch_an_environment_name_with_a_dash_without_env() -> None:
    path = case("environment_key")
    result = run_cli("validate", str(path))
    lines = refused(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith(at(path, "prep", "environment")), lines[0]
    assert "'MY-SETTING'" in lines[0]


def test_smdsls_own_checks_catch_a_reserved_tag_key_without_env() -> None:
    path = CASES / "reserved_tag" / "pipeline.py"
    toml = CASES / "reserved_tag" / "smdsl.toml"
    result = run_cli("validate", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"{display_path(toml)}: [envs.dev] tags: tag key 'aws:team'" in result.stderr
    assert marker_line(toml, "tag")  # the profile's line that sets it


def test_validate_without_env_imports_no_sagemaker_sdk() -> None:
    script = (
        "from smdsl.cli import main\n"
        "for name in ('hyperparameter_too_long', 'all_at_once', 'environment_key'):\n"
        f"    path = {str(CASES)!r} + '/' + name + '.py'\n"
        "    try:\n"
        "        main(['validate', path], standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    assert sdk_modules_after(script) == []


# ---------------------------------------------------------------------------------------------
# The definition cache keeps only checked definitions


def _graph(path: Path, profile: str = "dev") -> PipelineGraph:
    module = load_pipeline(path)
    return build_graph(module, load_env(module.path, profile), for_deploy=True)


@pytest.fixture
def cache_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SMDSL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SMDSL_NO_CACHE", raising=False)
    return tmp_path / "cache" / "definitions"


def test_a_refused_definition_is_never_cached_and_a_hit_was_checked(
    cache_on: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(2):
        with pytest.raises(CompileError) as refusal:
            cache.compile_cached(_graph(case("instance_count")))
        assert [p.field for p in refusal.value.problems] == ["instance_count"]
    assert not list(cache_on.glob("*.json"))
    compiled, hit = cache.compile_cached(_graph(QUICKSTART / "pipeline.py"))
    assert not hit
    [entry] = cache_on.glob("*.json")
    assert json.loads(entry.read_text())["checked"] is True

    def not_again(*args: Any) -> None:
        raise AssertionError("a kept definition passed the check when it was kept")

    monkeypatch.setattr("smdsl.compile.oracle.require_valid_arguments", not_again)
    again, hit = cache.compile_cached(_graph(QUICKSTART / "pipeline.py"))
    assert hit and again == compiled


def test_an_entry_not_marked_checked_is_a_miss(tmp_path: Path) -> None:
    entry = tmp_path / "entry.json"
    entry.write_text(json.dumps({"format": cache.FORMAT, "definition": "{}"}))
    assert cache._read(entry) is None
    entry.write_text(json.dumps({"format": cache.FORMAT, "checked": True, "definition": "{}"}))
    assert cache._read(entry) == "{}"


# ---------------------------------------------------------------------------------------------
# The check itself, and problems in smdsl's terms

ROLE = "arn:aws:iam::111122223333:role/SageMakerPipelineRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _processing(name: str, count: Any = 1, **more: Any) -> dict[str, Any]:
    cluster = {"InstanceType": "ml.m5.xlarge", "InstanceCount": count, "VolumeSizeInGB": 30}
    arguments = {
        "ProcessingResources": {"ClusterConfig": cluster},
        "AppSpecification": {"ImageUri": IMAGE},
        "RoleArn": ROLE,
        **more,
    }
    return {"Name": name, "Type": "Processing", "Arguments": arguments}


def test_branch_steps_are_checked_at_any_depth_and_expressions_stand_in_for_values() -> None:
    inner = {
        "Name": "inner",
        "Type": "Condition",
        "Arguments": {"Conditions": [], "ElseSteps": [_processing("deep", 101)]},
    }
    definition = {
        "Steps": [
            _processing("top", {"Get": "Parameters.Count"}),
            {
                "Name": "gate",
                "Type": "Condition",
                "Arguments": {"Conditions": [], "IfSteps": [_processing("shallow", 0), inner]},
            },
        ]
    }
    path = "ProcessingResources.ClusterConfig.InstanceCount"
    assert check_job_arguments(definition) == [
        ArgumentProblem("shallow", path, "value 0 is below the minimum 1"),
        ArgumentProblem("deep", path, f"101 is more than the maximum {PROCESSING_INSTANCES}"),
    ]


def test_a_pattern_must_match_the_whole_value() -> None:
    step = _processing("prep", Environment={"MY-SETTING": "1", "FINE": "2"})
    (problem,) = check_job_arguments({"Steps": [step]})
    assert problem.path == "Environment (key 'MY-SETTING')"
    assert problem.message.startswith("'MY-SETTING' does not match ")


def test_a_problem_names_its_step_line_and_field_or_else_its_json_path() -> None:
    path = case("instance_count")
    graph = _graph(path)
    step = _processing("prep", 101, Environment={"MY-SETTING": "1"})
    del step["Arguments"]["RoleArn"]
    problems = {p.field: p for p in argument_problems(graph, {"Steps": [step]})}
    location = graph.nodes["prep"].location
    assert location.line == marker_line(path, "prep")
    assert set(problems) == {None, "instance_count", "environment['MY-SETTING']"}
    unmapped = problems[None]
    assert (unmapped.step, unmapped.location) == ("prep", location)
    assert unmapped.message == "Arguments.RoleArn: required by CreateProcessingJob but missing"
    assert str(unmapped).endswith(
        "in step 'prep': Arguments.RoleArn: required by CreateProcessingJob but missing"
    )
    mapped = problems["instance_count"]
    assert mapped.message.endswith("(Arguments.ProcessingResources.ClusterConfig.InstanceCount)")


# ---------------------------------------------------------------------------------------------
# argument_field of each kind, found through the registry


def test_each_job_kind_names_its_fields_through_the_registry() -> None:
    found = {kind.name: kind.fields_function() for kind in step_kinds()}
    assert found["processing"] is processing.argument_field
    assert found["training"] is training.argument_field
    assert found["model"] is models.argument_field
    assert found["register"] is models.argument_field
    assert found["transform"] is transform.argument_field
    assert found["condition"] is None and found["fail"] is None


def test_a_field_namer_that_cannot_be_found_is_a_target_problem() -> None:
    kind = next(k for k in step_kinds() if k.name == "processing")
    broken = StepKind(name="x", config=kind.config, compile=kind.compile, fields="nowhere:f")
    assert broken.target_problems() == [
        "the field namer of step kind 'x', 'nowhere:f', names a module that cannot be found"
    ]


def test_processing_fields() -> None:
    arguments = {
        "ProcessingInputs": [{"InputName": "raw"}, {"InputName": "lookup"}, {"InputName": "code"}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "train"}]},
    }
    field = processing.argument_field
    cluster = "ProcessingResources.ClusterConfig"
    assert field(f"{cluster}.InstanceCount", arguments) == "instance_count"
    assert field(f"{cluster}.InstanceType", arguments) == "instance_type"
    assert field(f"{cluster}.VolumeSizeInGB", arguments) == "volume_size_gb"
    assert field("StoppingCondition.MaxRuntimeInSeconds", arguments) == "max_runtime"
    assert field("Environment.LOG_LEVEL", arguments) == "environment['LOG_LEVEL']"
    assert field("Environment (key 'A-B')", arguments) == "environment['A-B']"
    assert field("Environment", arguments) == "environment"
    assert field("ProcessingInputs[1].S3Input.S3Uri", arguments) == "inputs['lookup']"
    assert field("ProcessingInputs[2].S3Input.S3Uri", arguments) == "code"
    assert field("ProcessingInputs", arguments) == "inputs"
    assert field("ProcessingOutputConfig.Outputs[0].S3Output.LocalPath", arguments) == (
        "outputs['train']"
    )
    assert field("AppSpecification.ContainerArguments[3]", arguments) == "arguments[3]"
    assert field("AppSpecification.ContainerArguments", arguments) == "arguments"
    assert field("AppSpecification.ContainerEntrypoint[0]", arguments) == "command"
    assert field("AppSpecification.ImageUri", arguments) == "image_uri"
    assert field("RoleArn", arguments) is None
    assert field("NetworkConfig.EnableNetworkIsolation", arguments) is None


def test_training_fields() -> None:
    arguments = {
        "InputDataConfig": [{"ChannelName": "train"}, {"ChannelName": "validation"}],
        "AlgorithmSpecification": {"MetricDefinitions": [{"Name": "validation:auc"}]},
    }
    field = training.argument_field
    assert field("HyperParameters.max_depth", arguments) == "hyperparameters['max_depth']"
    assert field("HyperParameters.a.b", arguments) == "hyperparameters['a.b']"
    assert field("HyperParameters", arguments) == "hyperparameters"
    assert field("HyperParameters.sagemaker_program", arguments) == "entry_point"
    assert field("InputDataConfig[1].DataSource.S3DataSource.S3Uri", arguments) == (
        "inputs['validation']"
    )
    assert field("InputDataConfig", arguments) == "inputs"
    assert field("ResourceConfig.InstanceType", arguments) == "instance_type"
    assert field("ResourceConfig.InstanceCount", arguments) == "instance_count"
    assert field("ResourceConfig.VolumeSizeInGB", arguments) == "volume_size_gb"
    assert field("StoppingCondition.MaxRuntimeInSeconds", arguments) == "max_runtime"
    assert field("Environment.X", arguments) == "environment['X']"
    assert field("OutputDataConfig.S3OutputPath", arguments) == "output_path"
    assert field("AlgorithmSpecification.MetricDefinitions[0].Regex", arguments) == (
        "metric_definitions['validation:auc']"
    )
    assert field("AlgorithmSpecification.TrainingImage", arguments) == "image_uri"
    assert field("RoleArn", arguments) is None


def test_model_and_register_fields() -> None:
    field = models.argument_field
    assert field("PrimaryContainer.ModelDataUrl", {}) == "model_data"
    assert field("PrimaryContainer.Image", {}) == "image_uri"
    assert field("PrimaryContainer.Environment.MODE", {}) == "environment['MODE']"
    assert field("PrimaryContainer.Environment.SAGEMAKER_PROGRAM", {}) == "entry_point"
    assert field("ExecutionRoleArn", {}) is None
    spec = "InferenceSpecification"
    assert field(f"{spec}.Containers[0].ModelDataUrl", {}) == "model_data"
    assert field(f"{spec}.Containers[0].Environment (key 'A-B')", {}) == "environment['A-B']"
    assert field(f"{spec}.SupportedContentTypes[1]", {}) == "content_types[1]"
    assert field(f"{spec}.SupportedResponseMIMETypes", {}) == "response_types"
    assert field(f"{spec}.SupportedRealtimeInferenceInstanceTypes[0]", {}) == (
        "inference_instances[0]"
    )
    assert field(f"{spec}.SupportedTransformInstanceTypes[0]", {}) == "transform_instances[0]"
    assert field("ModelPackageGroupName", {}) == "model_package_group"
    assert field("ModelApprovalStatus", {}) == "approval_status"
    assert field("ModelPackageDescription", {}) == "model_description"
    quality = "ModelMetrics.ModelQuality.Statistics"
    assert field(f"{quality}.S3Uri", {}) == "metrics.model_statistics"
    assert field(f"{quality}.ContentType", {}) == "metrics.content_type"
    assert field("ModelMetrics.ModelDataQuality.Constraints.S3Uri", {}) == (
        "metrics.data_constraints"
    )
    assert field("SkipModelValidation", {}) is None


def test_transform_fields() -> None:
    field = transform.argument_field
    assert field("ModelName", {}) == "model"
    assert field("TransformInput.DataSource.S3DataSource.S3Uri", {}) == "input"
    assert field("TransformInput.DataSource.S3DataSource.S3DataType", {}) == "data_type"
    assert field("TransformInput.DataSource", {}) == "input"
    assert field("TransformInput.ContentType", {}) == "content_type"
    assert field("TransformInput.SplitType", {}) == "split_type"
    assert field("TransformOutput.S3OutputPath", {}) == "output_path"
    assert field("TransformOutput.AssembleWith", {}) == "assemble_with"
    assert field("TransformOutput.Accept", {}) == "accept"
    assert field("TransformResources.InstanceType", {}) == "instance_type"
    assert field("TransformResources.InstanceCount", {}) == "instance_count"
    assert field("Environment.A", {}) == "environment['A']"
    assert field("DataProcessing.JoinSource", {}) is None


def test_path_helpers() -> None:
    assert map_key("Environment.A.B", "Environment") == "A.B"
    assert map_key("Environment (key 'A-B')", "Environment") == "A-B"
    assert map_key("Environment (key: A-B)", "Environment") == "A-B"
    assert map_key("Environment", "Environment") is None
    assert map_key("EnvironmentX.A", "Environment") is None
    assert list_index("ProcessingInputs[12].S3Input", "ProcessingInputs") == 12
    assert list_index("ProcessingInputs", "ProcessingInputs") is None

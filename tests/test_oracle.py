"""Tests for the pipeline definition oracle in tests/oracle.py.

A real definition is built once with the SageMaker SDK v3, offline and with every network path
blocked; the oracle must accept it, and must catch each mutation of it at the right place.
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from oracle import (
    KNOWN_SCHEMA_GAPS,
    SCHEMA_PATH,
    SHARED_DIR_ENV,
    check_definition,
    load_schema,
    pattern_coverage,
    schema_path,
)

Definition = dict[str, Any]
Mutation = Callable[[Definition], None]

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "my-bucket"
REGION = "us-east-1"


# ---------------------------------------------------------------------------------------------
# The SDK-built definition


class NetworkUse:
    """What the SDK tried to reach while building: botocore requests, sockets, telemetry."""

    def __init__(self) -> None:
        self.botocore: list[str] = []
        self.sockets: list[str] = []
        self.telemetry = 0

    # Installed on classes as bound methods of this object: they get no `self` of the patched class.
    def refuse_request(self, operation: Any, request: Any) -> Any:
        self.botocore.append(str(getattr(operation, "name", operation)))
        raise RuntimeError(f"test tried an AWS call: {self.botocore[-1]}")

    def refuse_socket(self, address: Any, *args: Any) -> Any:
        self.sockets.append(repr(address))
        raise OSError(f"test tried to open a connection to {address!r}")

    def swallow_telemetry(self, *args: Any, **kwargs: Any) -> None:
        self.telemetry += 1


def _offline(mp: pytest.MonkeyPatch, config_file: Path) -> NetworkUse:
    """Dummy credentials, no SDK config, no role validation; every network path refused."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        mp.delenv(name, raising=False)
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(config_file.parent / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(config_file.parent / "no-aws-credentials"),
        "SAGEMAKER_VALIDATE_ROLE": "false",
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config_file),
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(config_file),
    }
    for name, value in env.items():
        mp.setenv(name, value)
    import botocore.endpoint
    from sagemaker.core.telemetry import telemetry_logging

    use = NetworkUse()
    mp.setattr(botocore.endpoint.Endpoint, "make_request", use.refuse_request)
    mp.setattr(socket.socket, "connect", use.refuse_socket)
    mp.setattr(socket.socket, "connect_ex", use.refuse_socket)
    mp.setattr(telemetry_logging, "_send_telemetry_request", use.swallow_telemetry)
    return use


def _build_sdk_definition() -> Definition:
    """Processing -> training -> condition (else fail), the way a user writes it in SDK v3."""
    from sagemaker.core import image_uris
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.training.configs import (
        Compute,
        InputData,
        OutputDataConfig,
    )
    from sagemaker.core.workflow.conditions import (
        ConditionEquals,
        ConditionGreaterThanOrEqualTo,
        ConditionIn,
        ConditionNot,
        ConditionOr,
    )
    from sagemaker.core.workflow.execution_variables import (
        ExecutionVariables,
    )
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import (
        ParameterBoolean,
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.core.workflow.pipeline_context import (
        PipelineSession,
    )
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import (
        ConditionStep,
    )
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )
    from sagemaker.mlops.workflow.steps import (
        CacheConfig,
        ProcessingStep,
        TrainingStep,
    )
    from sagemaker.train import ModelTrainer

    session = PipelineSession(default_bucket=BUCKET)
    instance_type = ParameterString(name="ProcessingInstanceType", default_value="ml.m5.xlarge")
    instance_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    min_accuracy = ParameterFloat(name="MinAccuracy", default_value=0.7)
    strict = ParameterBoolean(name="Strict", default_value=False)
    image = image_uris.retrieve(
        "sklearn", REGION, "1.2-1", py_version="py3", instance_type="ml.m5.xlarge"
    )

    def output(name: str) -> Any:
        uri = Join(
            on="/",
            values=[
                f"s3://{BUCKET}/smdsl",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                "preprocess",
                name,
            ],
        )
        s3 = ProcessingS3Output(
            s3_uri=uri, local_path=f"/opt/ml/processing/{name}", s3_upload_mode="EndOfJob"
        )
        return ProcessingOutput(output_name=name, s3_output=s3)

    processor = ScriptProcessor(
        role=ROLE,
        image_uri=image,
        command=["python3"],
        instance_count=instance_count,
        instance_type=instance_type,
        sagemaker_session=session,
        base_job_name="preprocess",
    )
    raw = ProcessingS3Input(
        s3_uri=f"s3://{BUCKET}/raw/",
        local_path="/opt/ml/processing/input",
        s3_data_type="S3Prefix",
        s3_input_mode="File",
    )
    metrics = PropertyFile(name="metrics", output_name="evaluation", path="metrics.json")
    preprocess = ProcessingStep(
        name="preprocess",
        step_args=processor.run(
            code=f"s3://{BUCKET}/code/preprocess.py",
            inputs=[ProcessingInput(input_name="raw", s3_input=raw)],
            outputs=[output("train"), output("evaluation")],
            arguments=["--min-accuracy", min_accuracy.to_string()],
        ),
        property_files=[metrics],
        cache_config=CacheConfig(enable_caching=True, expire_after="P30D"),
    )
    trainer = ModelTrainer(
        sagemaker_session=session,
        role=ROLE,
        training_image=image,
        base_job_name="train",
        compute=Compute(instance_type="ml.m5.xlarge", instance_count=1),
        hyperparameters={
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": f"s3://{BUCKET}/code/sourcedir.tar.gz",
        },
        output_data_config=OutputDataConfig(
            s3_output_path=f"s3://{BUCKET}/models", compression_type="GZIP"
        ),
    )
    train_uri = preprocess.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri
    train = TrainingStep(
        name="train",
        step_args=trainer.train(
            input_data_config=[InputData(channel_name="train", data_source=train_uri)]
        ),
        retry_policies=[
            SageMakerJobStepRetryPolicy(
                exception_types=[SageMakerJobExceptionTypeEnum.CAPACITY_ERROR], max_attempts=3
            ),
            StepRetryPolicy(
                exception_types=[StepExceptionTypeEnum.THROTTLING], expire_after_mins=5
            ),
        ],
    )
    accuracy = JsonGet(step_name=preprocess.name, property_file=metrics, json_path="accuracy")
    stop = FailStep(
        name="stop",
        error_message=Join(
            on=" ", values=["accuracy too low in", ExecutionVariables.PIPELINE_EXECUTION_ID]
        ),
    )
    check = ConditionStep(
        name="check",
        depends_on=[train],
        conditions=[
            ConditionGreaterThanOrEqualTo(left=accuracy, right=min_accuracy),
            ConditionNot(
                expression=ConditionOr(
                    conditions=[
                        ConditionEquals(left=strict, right=True),
                        ConditionIn(value=instance_type, in_values=["ml.t3.medium", "ml.t3.large"]),
                    ]
                )
            ),
        ],
        if_steps=[],
        else_steps=[stop],
    )
    pipeline = Pipeline(
        name="oracle-demo",
        parameters=[instance_type, instance_count, min_accuracy, strict],
        steps=[preprocess, train, check],
        sagemaker_session=session,
    )
    definition: Definition = json.loads(pipeline.definition())
    return definition


@pytest.fixture(scope="module")
def sdk_definition(tmp_path_factory: pytest.TempPathFactory) -> Definition:
    config_file = tmp_path_factory.mktemp("sdk-config") / "config.json"
    config_file.write_text("{}", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        use = _offline(mp, config_file)
        definition = _build_sdk_definition()
    assert use.botocore == [] and use.sockets == [], vars(use)
    return definition


def test_network_guard_refuses_and_records(tmp_path: Path) -> None:
    """The guard used while building must itself work, or the no-network claim is empty."""
    import botocore.session

    config_file = tmp_path / "config.json"
    config_file.write_text("{}", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        use = _offline(mp, config_file)
        client = botocore.session.get_session().create_client("s3", region_name=REGION)
        with pytest.raises(RuntimeError, match="ListBuckets"):
            client.list_buckets()
        with pytest.raises(OSError, match=r"127\.0\.0\.1"):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert use.botocore == ["ListBuckets"]
    assert len(use.sockets) == 1


@pytest.fixture
def definition(sdk_definition: Definition) -> Definition:
    """A private copy to mutate."""
    return copy.deepcopy(sdk_definition)


def _step(definition: Definition, name: str) -> Definition:
    for step in definition["Steps"]:
        if step["Name"] == name:
            found: Definition = step
            return found
        for branch in ("IfSteps", "ElseSteps"):
            for nested in (
                step.get("Arguments", {}).get(branch, []) if step["Type"] == "Condition" else []
            ):
                if nested["Name"] == name:
                    inner: Definition = nested
                    return inner
    raise KeyError(name)


# ---------------------------------------------------------------------------------------------
# Valid definitions pass


def test_sdk_definition_is_valid(sdk_definition: Definition) -> None:
    assert check_definition(sdk_definition) == []


def test_sdk_definition_as_json_text_is_valid(sdk_definition: Definition) -> None:
    assert check_definition(json.dumps(sdk_definition)) == []


def test_sdk_definition_exercises_the_known_schema_gaps(sdk_definition: Definition) -> None:
    """The valid definition must contain what the published schema rejects, or the test above
    would prove nothing about the gap handling."""
    text = json.dumps(sdk_definition)
    assert {"PipelineExperimentConfig", "MlflowConfig"} <= set(sdk_definition)
    assert "PropertyFiles" in _step(sdk_definition, "preprocess")
    assert isinstance(_step(sdk_definition, "train")["RetryPolicies"][0]["ExceptionType"], list)
    assert '"Std:JsonGet"' in text and '"Type": "Not"' in text
    assert (
        "ContainerEntrypoint"
        in _step(sdk_definition, "preprocess")["Arguments"]["AppSpecification"]
    )
    assert _step(sdk_definition, "stop")["Arguments"]["ErrorMessage"].keys() == {"Std:Join"}
    processing = _step(sdk_definition, "preprocess")["Arguments"]
    assert processing["ProcessingResources"]["ClusterConfig"]["InstanceType"] == {
        "Get": "Parameters.ProcessingInstanceType"
    }


def test_model_step_in_condition_branch_is_valid(definition: Definition) -> None:
    model_step = {
        "Name": "create-model",
        "Type": "Model",
        "Arguments": {
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {
                "Image": _step(definition, "train")["Arguments"]["AlgorithmSpecification"][
                    "TrainingImage"
                ],
                "ModelDataUrl": {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"},
            },
        },
    }
    _step(definition, "check")["Arguments"]["IfSteps"].append(model_step)
    assert check_definition(definition) == []


def test_expressions_satisfy_enum_and_pattern(definition: Definition) -> None:
    """An expression stands for a value of the right kind: no enum or pattern problem."""
    arguments = _step(definition, "train")["Arguments"]
    arguments["RoleArn"] = {"Get": "Parameters.ProcessingInstanceType"}
    arguments["ResourceConfig"]["InstanceType"] = {"Get": "Parameters.ProcessingInstanceType"}
    arguments["ResourceConfig"]["InstanceCount"] = {"Get": "Parameters.ProcessingInstanceCount"}
    arguments["EnableNetworkIsolation"] = {"Get": "Parameters.Strict"}
    assert check_definition(definition) == []


# ---------------------------------------------------------------------------------------------
# Each mutation is caught, at its place


def _set(path: tuple[str | int, ...], value: Any, step: str) -> Mutation:
    def mutate(definition: Definition) -> None:
        target: Any = _step(definition, step)
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple[str | int, ...], step: str) -> Mutation:
    def mutate(definition: Definition) -> None:
        target: Any = _step(definition, step)
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _train_input(reference: str) -> Mutation:
    value = {"Get": reference}
    return _set(
        ("Arguments", "InputDataConfig", 0, "DataSource", "S3DataSource", "S3Uri"), value, "train"
    )


def _add_parameter(definition: Definition) -> None:
    definition["Parameters"].append({"Name": "bad name!", "Type": "String"})


def _rename_fail_step(definition: Definition) -> None:
    _step(definition, "stop")["Name"] = "x" * 65


def _duplicate_step_name(definition: Definition) -> None:
    _step(definition, "stop")["Name"] = "train"


def _unknown_top_level(definition: Definition) -> None:
    definition["Schedule"] = "daily"


TRAIN_INPUT = "Steps[train].Arguments.InputDataConfig[0].DataSource.S3DataSource.S3Uri"
CLUSTER = "Steps[preprocess].Arguments.ProcessingResources.ClusterConfig"
MUTATIONS: list[tuple[str, Mutation, str, str]] = [
    # (id, mutation, where the problem must be reported, a word the problem must contain)
    (
        "string-instance-count",
        _set(("Arguments", "ResourceConfig", "InstanceCount"), "1", "train"),
        "Steps[train].Arguments.ResourceConfig.InstanceCount",
        "expected int",
    ),
    (
        "boolean-instance-count",
        _set(("Arguments", "ResourceConfig", "InstanceCount"), True, "train"),
        "Steps[train].Arguments.ResourceConfig.InstanceCount",
        "boolean",
    ),
    (
        "missing-role",
        _delete(("Arguments", "RoleArn"), "preprocess"),
        "Steps[preprocess].Arguments.RoleArn",
        "missing",
    ),
    (
        "unknown-argument",
        _set(("Arguments", "ProcessingTimeout"), 60, "preprocess"),
        "Steps[preprocess].Arguments.ProcessingTimeout",
        "unknown field",
    ),
    (
        "unknown-nested-argument",
        _set(("Arguments", "ResourceConfig", "GpuCount"), 1, "train"),
        "Steps[train].Arguments.ResourceConfig.GpuCount",
        "unknown field",
    ),
    (
        "bad-instance-type-processing",
        _set(
            ("Arguments", "ProcessingResources", "ClusterConfig", "InstanceType"),
            "ml.m5.huge",
            "preprocess",
        ),
        f"{CLUSTER}.InstanceType",
        "'ml.m5.huge' is not one of",
    ),
    (
        "bad-instance-type-training",
        _set(("Arguments", "ResourceConfig", "InstanceType"), "ml.m5.huge", "train"),
        "Steps[train].Arguments.ResourceConfig.InstanceType",
        "'ml.m5.huge' is not one of",
    ),
    (
        "bad-pattern",
        _set(("Arguments", "RoleArn"), "my-role", "train"),
        "Steps[train].Arguments.RoleArn",
        "does not match",
    ),
    (
        "too-long-string",
        _set(("Arguments", "Environment"), {"A": "x" * 300_000}, "preprocess"),
        "Steps[preprocess].Arguments.Environment.A",
        "maximum",
    ),
    (
        "expression-for-structure",
        _set(
            ("Arguments", "StoppingCondition"),
            {"Get": "Parameters.ProcessingInstanceCount"},
            "train",
        ),
        "Steps[train].Arguments.StoppingCondition",
        "structure",
    ),
    (
        "get-missing-step",
        _train_input("Steps.missing.ModelArtifacts.S3ModelArtifacts"),
        TRAIN_INPUT,
        "no step",
    ),
    ("get-missing-parameter", _train_input("Parameters.DataUri"), TRAIN_INPUT, "no parameter"),
    (
        "get-missing-property",
        _train_input("Steps.preprocess.ProcessingOutputConfig.Outputz['train'].S3Output.S3Uri"),
        TRAIN_INPUT,
        "Outputz",
    ),
    (
        "get-unknown-execution-variable",
        _train_input("Execution.PipelineId"),
        TRAIN_INPUT,
        "not one of",
    ),
    ("invalid-parameter-name", _add_parameter, "Parameters[bad name!].Name", "does not match"),
    ("too-long-step-name", _rename_fail_step, f"Steps[{'x' * 65}].Name", "does not match"),
    ("duplicate-step-name", _duplicate_step_name, "Steps[train]", "more than once"),
    (
        "depends-on-missing-step",
        _set(("DependsOn",), ["ghost"], "check"),
        "Steps[check].DependsOn[0]",
        "ghost",
    ),
    (
        "condition-without-conditions",
        _delete(("Arguments", "Conditions"), "check"),
        "Steps[check].Arguments.Conditions",
        "missing",
    ),
    (
        "condition-bad-type",
        _set(("Arguments", "Conditions", 0, "Type"), "GreaterThen", "check"),
        "Steps[check].Arguments.Conditions[0].Type",
        "GreaterThen",
    ),
    (
        "condition-inside-not-or",
        _set(
            ("Arguments", "Conditions", 1, "Condition", "Conditions", 0, "RightValue"),
            [True],
            "check",
        ),
        "Steps[check].Arguments.Conditions[1].Condition.Conditions[0].RightValue",
        "not valid",
    ),
    (
        "condition-in-unknown-member",
        _set(("Arguments", "Conditions", 1, "Condition", "Conditions", 1, "In"), ["a"], "check"),
        "Steps[check].Arguments.Conditions[1].Condition.Conditions[1].In",
        "unknown field",
    ),
    (
        "condition-not-malformed",
        _set(("Arguments", "Conditions", 1, "Conditions"), [], "check"),
        "Steps[check].Arguments.Conditions[1]",
        "exactly Type and Condition",
    ),
    ("fail-unknown-field", _set(("Timeout",), 5, "stop"), "Steps[stop].Timeout", "unknown field"),
    (
        "fail-unknown-argument",
        _set(("Arguments", "ErrorMesage"), "typo", "stop"),
        "Steps[stop].Arguments.ErrorMesage",
        "unknown field",
    ),
    (
        "json-get-undeclared-property-file",
        _set(("PropertyFiles", 0, "PropertyFileName"), "scores", "preprocess"),
        "Steps[check].Arguments.Conditions[0].LeftValue.Std:JsonGet.PropertyFile",
        "no property file 'metrics'",
    ),
    (
        "property-file-unknown-output",
        _set(("PropertyFiles", 0, "OutputName"), "report", "preprocess"),
        "Steps[preprocess].PropertyFiles[0].OutputName",
        "not a step output",
    ),
    (
        "retry-unknown-exception",
        _set(("RetryPolicies", 0, "ExceptionType"), ["SageMaker.CAPACITY_ERROR", "Oops"], "train"),
        "Steps[train].RetryPolicies[0].ExceptionType",
        "'Oops' is not one of",
    ),
    (
        "unknown-step-type",
        _set(("Type",), "Sleep", "stop"),
        "Steps[stop].Type",
        "unknown step type",
    ),
    ("unknown-top-level-field", _unknown_top_level, "definition.Schedule", "unknown field"),
    ("wrong-version", lambda d: d.update(Version="2019-01-01"), "definition.Version", "2020-12-01"),
]


@pytest.mark.parametrize(
    ("mutate", "where", "word"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS]
)
def test_mutation_is_caught_at_its_place(
    definition: Definition, mutate: Mutation, where: str, word: str
) -> None:
    mutate(definition)
    problems = check_definition(definition)
    assert any(p.startswith(f"{where}:") and word in p for p in problems), problems


def test_every_problem_names_its_place(definition: Definition) -> None:
    _step(definition, "train")["Arguments"]["ResourceConfig"]["InstanceType"] = "ml.m5.huge"
    _step(definition, "stop")["Timeout"] = 5
    definition["Parameters"].append({"Name": "bad name!", "Type": "String"})
    problems = check_definition(definition)
    assert len(problems) == 3, problems
    assert all(p.split(":", 1)[0].startswith(("Steps[", "Parameters[")) for p in problems), problems


def test_long_enum_lists_are_shortened(definition: Definition) -> None:
    _step(definition, "train")["Arguments"]["ResourceConfig"]["InstanceType"] = "ml.m5.huge"
    (problem,) = check_definition(definition)
    assert "in all)" in problem and len(problem) < 400, problem


def test_invalid_json_text_is_a_problem() -> None:
    assert [p for p in check_definition("{not json") if p.startswith("definition: not valid JSON")]


# ---------------------------------------------------------------------------------------------
# The schema file and the botocore patterns


def test_missing_schema_raises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SHARED_DIR_ENV, str(tmp_path))
    assert schema_path() == tmp_path / "schemas" / SCHEMA_PATH.name
    with pytest.raises(FileNotFoundError, match=SHARED_DIR_ENV):
        load_schema()
    with pytest.raises(FileNotFoundError):
        check_definition({"Version": "2020-12-01", "Steps": []})


def test_schema_is_found_beside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SHARED_DIR_ENV, raising=False)
    assert schema_path() == SCHEMA_PATH
    assert SCHEMA_PATH.parent.parent.parent == Path(__file__).resolve().parents[1].parent
    assert load_schema()["title"] == "SageMaker Pipeline Definition JSON Schema"


def test_few_botocore_patterns_are_skipped() -> None:
    total, skipped = pattern_coverage()
    assert total > 100
    assert len(skipped) <= total // 20, skipped
    assert all(r"\p{" in p or r"\u" in p for p in skipped), skipped


# ---------------------------------------------------------------------------------------------
# The documented gaps are real: if AWS fixes the schema, these fail and the gap can go


def _raw_errors(definition_name: str, instance: Any) -> list[Any]:
    schema = load_schema()
    wrapped = {"$ref": f"#/definitions/{definition_name}", "definitions": schema["definitions"]}
    return list(jsonschema.Draft7Validator(wrapped).iter_errors(instance))


def test_schema_still_rejects_top_level_gap_fields() -> None:
    validator = jsonschema.Draft7Validator(load_schema())
    for field in KNOWN_SCHEMA_GAPS.top_level_fields:
        assert list(validator.iter_errors({"Version": "2020-12-01", "Steps": [], field: {}})), field


def test_schema_still_rejects_gap_step_fields_and_functions() -> None:
    step = {"Name": "p", "Type": "Processing", "Arguments": {}, "PropertyFiles": []}
    assert any("PropertyFiles" in e.message for e in _raw_errors("ProcessingStep", step))
    for function in KNOWN_SCHEMA_GAPS.functions_rejected:
        fail = {"Name": "f", "Type": "Fail", "Arguments": {"ErrorMessage": {function: {}}}}
        assert _raw_errors("FailStep", fail), function
    retry = {"ExceptionType": ["Step.THROTTLING"], "MaxAttempts": 1}
    assert _raw_errors("RetryPolicy", retry)


def test_schema_still_rejects_gap_branch_steps() -> None:
    for step_type in KNOWN_SCHEMA_GAPS.branch_step_types_rejected:
        branch_step = {"Name": "b", "Type": step_type, "Arguments": {}}
        arguments = {"Conditions": [], "IfSteps": [branch_step]}
        condition = {"Name": "c", "Type": "Condition", "Arguments": arguments}
        assert _raw_errors("ConditionStep", condition), step_type


def test_schema_still_lacks_gap_step_and_condition_types() -> None:
    definitions = load_schema()["definitions"]
    described = {
        t
        for d in definitions.values()
        for t in d.get("properties", {}).get("Type", {}).get("enum", [])
    }
    assert not KNOWN_SCHEMA_GAPS.step_types_missing & described
    assert "EndpointConfig" not in described
    assert not KNOWN_SCHEMA_GAPS.condition_types_missing & described

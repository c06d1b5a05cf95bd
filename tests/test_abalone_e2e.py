"""End to end: the abalone example deployed by the real CLI to a moto server, and read back.

One deploy (then one unchanged redeploy) is made per module and everything the tests need is
captured right after it, so each test below asserts one thing about the same deployment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_server import RecordingMotoServer, Request
from conftest import OFFLINE_ENV, ROOT, aws_env, run_cli, sdk_modules_after
from oracle import check_definition

ABALONE = ROOT / "examples" / "abalone"
PIPELINE = ABALONE / "pipeline.py"
BUCKET = "smdsl-abalone-dev"
NAME = "abalone-dev"
REGION = "us-east-1"
ROLE = "arn:aws:iam::111122223333:role/SageMakerPipelineRole"

TOP_LEVEL = ["preprocess", "train", "evaluate", "check_mse"]
IF_STEPS = ["register", "create_model", "transform"]
ELSE_STEPS = ["mse_too_high"]
STEP_TYPES = {
    "preprocess": "Processing",
    "train": "Training",
    "evaluate": "Processing",
    "check_mse": "Condition",
    "register": "RegisterModel",
    "create_model": "Model",
    "transform": "Transform",
    "mse_too_high": "Fail",
}
EVALUATION_REPORT = {"Get": "Steps.evaluate.PropertyFiles.EvaluationReport"}
MSE_PATH = "regression_metrics.mse.value"

Definition = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# The deployment, captured once


@dataclass(frozen=True)
class Deployment:
    """What the first deploy did and left behind, and what the unchanged redeploy did."""

    first_out: str
    first_writes: list[Request]
    described: dict[str, Any]
    tags: dict[str, str]
    objects: dict[str, bytes]  # every object in the bucket: key -> body
    compiled: str  # `smdsl definition --env dev`, run offline
    second_out: str
    second_writes: list[Request]
    second_operations: list[str]

    @property
    def definition(self) -> Definition:
        parsed: Definition = json.loads(self.described["PipelineDefinition"])
        return parsed


def _client(server: RecordingMotoServer, service: str) -> Any:
    """A boto3 client for the moto server, independent of this process's environment."""
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=server.url,
        aws_access_key_id=OFFLINE_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=OFFLINE_ENV["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=OFFLINE_ENV["AWS_SESSION_TOKEN"],
    )


def _deploy(server: RecordingMotoServer) -> str:
    result = run_cli("deploy", str(PIPELINE), "--env", "dev", "--yes", env=aws_env(server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def deployment(moto_server: RecordingMotoServer) -> Iterator[Deployment]:
    moto_server.reset()
    s3 = _client(moto_server, "s3")
    sagemaker = _client(moto_server, "sagemaker")
    s3.create_bucket(Bucket=BUCKET)  # smdsl deploys into an existing bucket only
    moto_server.requests.clear()

    first_out = _deploy(moto_server)
    first_writes = moto_server.writes()
    described = sagemaker.describe_pipeline(PipelineName=NAME)
    tags = sagemaker.list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    objects = {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}
    compiled = run_cli("definition", str(PIPELINE), "--env", "dev", "--compact", check=True).stdout

    moto_server.requests.clear()
    second_out = _deploy(moto_server)
    yield Deployment(
        first_out=first_out,
        first_writes=first_writes,
        described=described,
        tags={t["Key"]: t["Value"] for t in tags},
        objects=objects,
        compiled=compiled,
        second_out=second_out,
        second_writes=moto_server.writes(),
        second_operations=moto_server.operations(),
    )
    moto_server.reset()


def _steps(definition: Definition) -> dict[str, Definition]:
    """Every step by name, condition branch steps included."""
    found: dict[str, Definition] = {}
    for step in definition["Steps"]:
        found[step["Name"]] = step
        if step["Type"] == "Condition":
            for branch in ("IfSteps", "ElseSteps"):
                found.update(_steps({"Steps": step["Arguments"][branch]}))
    return found


def _folder_hash(name: str, body: bytes) -> str:
    """smdsl's content address of a one-file code folder: length-prefixed name and body."""
    digest = hashlib.sha256()
    for part in (name.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# The deployed pipeline


def test_the_first_deploy_creates_the_pipeline_with_its_tags_and_role(
    deployment: Deployment,
) -> None:
    assert f"created pipeline {NAME}" in deployment.first_out
    assert deployment.described["PipelineName"] == NAME
    assert deployment.described["RoleArn"] == ROLE
    assert deployment.described["PipelineDescription"].startswith("Abalone: AWS's canonical")
    assert deployment.tags == {"team": "ml-platform", "env": "dev"}


def test_the_first_deploy_writes_two_code_objects_and_creates_once(
    deployment: Deployment,
) -> None:
    s3_puts = [w for w in deployment.first_writes if w.operation == "S3 PUT"]
    others = [w.operation for w in deployment.first_writes if not w.operation.startswith("S3 ")]
    assert len(s3_puts) == 2, deployment.first_writes
    assert len(deployment.first_writes) == 3, deployment.first_writes
    assert others == ["SageMaker.CreatePipeline"]


def test_the_deployed_definition_is_the_compiled_one_byte_for_byte(
    deployment: Deployment,
) -> None:
    assert deployment.described["PipelineDefinition"] == deployment.compiled
    assert deployment.compiled.encode() == deployment.described["PipelineDefinition"].encode()


def test_the_deployed_definition_passes_the_oracle(deployment: Deployment) -> None:
    assert check_definition(deployment.described["PipelineDefinition"]) == []


def test_all_eight_steps_are_deployed_each_in_its_place(deployment: Deployment) -> None:
    definition = deployment.definition
    assert [s["Name"] for s in definition["Steps"]] == TOP_LEVEL
    (condition,) = [s for s in definition["Steps"] if s["Type"] == "Condition"]
    assert condition["Name"] == "check_mse"
    assert [s["Name"] for s in condition["Arguments"]["IfSteps"]] == IF_STEPS
    assert [s["Name"] for s in condition["Arguments"]["ElseSteps"]] == ELSE_STEPS
    assert {name: step["Type"] for name, step in _steps(definition).items()} == STEP_TYPES


def test_no_branch_step_is_also_at_the_top_level(deployment: Deployment) -> None:
    top = {s["Name"] for s in deployment.definition["Steps"]}
    assert not top & {*IF_STEPS, *ELSE_STEPS}
    assert len(_steps(deployment.definition)) == 8


def test_evaluate_declares_the_evaluation_report_property_file(deployment: Deployment) -> None:
    evaluate = _steps(deployment.definition)["evaluate"]
    assert evaluate["PropertyFiles"] == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]
    outputs = evaluate["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert [o["OutputName"] for o in outputs] == ["evaluation"]
    others = {n: s for n, s in _steps(deployment.definition).items() if n != "evaluate"}
    assert not [n for n, s in others.items() if "PropertyFiles" in s]


def test_the_condition_reads_the_mse_from_the_report_with_json_get(
    deployment: Deployment,
) -> None:
    arguments = _steps(deployment.definition)["check_mse"]["Arguments"]
    assert arguments["Conditions"] == [
        {
            "Type": "LessThanOrEqualTo",
            "LeftValue": {"Std:JsonGet": {"PropertyFile": EVALUATION_REPORT, "Path": MSE_PATH}},
            "RightValue": {"Get": "Parameters.MseThreshold"},
        }
    ]
    assert "DependsOn" not in _steps(deployment.definition)["check_mse"]


def test_the_fail_message_joins_the_mse_and_the_threshold(deployment: Deployment) -> None:
    message = _steps(deployment.definition)["mse_too_high"]["Arguments"]["ErrorMessage"]
    assert message == {
        "Std:Join": {
            "On": " ",
            "Values": [
                "Execution failed: MSE",
                {"Std:JsonGet": {"PropertyFile": EVALUATION_REPORT, "Path": MSE_PATH}},
                "is above the threshold",
                {"Get": "Parameters.MseThreshold"},
            ],
        }
    }


def test_register_points_its_model_statistics_at_the_evaluation_output(
    deployment: Deployment,
) -> None:
    arguments = _steps(deployment.definition)["register"]["Arguments"]
    evaluation = "Steps.evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"
    assert arguments["ModelMetrics"] == {
        "ModelQuality": {
            "Statistics": {
                "ContentType": "application/json",
                "S3Uri": {
                    "Std:Join": {"On": "/", "Values": [{"Get": evaluation}, "evaluation.json"]}
                },
            }
        }
    }
    assert arguments["ModelPackageGroupName"] == "AbaloneModelPackageGroup"
    assert arguments["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    (container,) = arguments["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert container["Image"].endswith("/sagemaker-xgboost:1.7-1")


def test_transform_runs_the_model_that_create_model_created(deployment: Deployment) -> None:
    steps = _steps(deployment.definition)
    arguments = steps["transform"]["Arguments"]
    assert arguments["ModelName"] == {"Get": "Steps.create_model.ModelName"}
    assert arguments["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Parameters.BatchData"
    }
    assert arguments["TransformResources"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}
    model = steps["create_model"]["Arguments"]["PrimaryContainer"]
    assert model["ModelDataUrl"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}


def test_exactly_the_two_scripts_are_uploaded_at_content_addressed_keys(
    deployment: Deployment,
) -> None:
    """preprocess.py and evaluate.py; no training code, since train runs the built-in XGBoost."""
    keys = sorted(deployment.objects)
    assert sorted(k.rsplit("/", 1)[-1] for k in keys) == ["evaluate.py", "preprocess.py"]
    for key in keys:
        prefix, folder_hash, filename = key.rsplit("/", 2)
        assert prefix == "abalone/code"
        body = deployment.objects[key]
        assert body == (ABALONE / "code" / filename).read_bytes()
        assert folder_hash == _folder_hash(filename, body)
        assert deployment.compiled.count(f'"s3://{BUCKET}/{key}"') == 1


def test_the_built_in_algorithm_step_carries_no_code(deployment: Deployment) -> None:
    train = _steps(deployment.definition)["train"]["Arguments"]
    assert not [h for h in train["HyperParameters"] if h.startswith("sagemaker_")]
    assert "/code/" not in json.dumps(train)
    assert train["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:1.7-1")


def test_redeploying_the_unchanged_pipeline_writes_nothing(deployment: Deployment) -> None:
    assert "nothing changed" in deployment.second_out
    assert deployment.second_writes == []
    assert "SageMaker.DescribePipeline" in deployment.second_operations
    assert "SageMaker.UpdatePipeline" not in deployment.second_operations
    assert "S3 PUT" not in deployment.second_operations


# ---------------------------------------------------------------------------------------------
# The prod profile, offline


@pytest.fixture(scope="module")
def prod_definition() -> Definition:
    result = run_cli("definition", str(PIPELINE), "--env", "prod", check=True)
    parsed: Definition = json.loads(result.stdout)
    return parsed


def test_validate_accepts_the_prod_profile() -> None:
    result = run_cli("validate", str(PIPELINE), "--env", "prod")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "ok: examples/abalone/pipeline.py: 8 steps, 5 parameters (prod)\n"
    assert result.stderr == ""


def test_prod_overrides_reach_the_definition(
    prod_definition: Definition, deployment: Deployment
) -> None:
    prod = _steps(prod_definition)
    dev = _steps(deployment.definition)
    assert prod["train"]["Arguments"]["ResourceConfig"]["InstanceType"] == "ml.m5.2xlarge"
    assert dev["train"]["Arguments"]["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert prod["transform"]["Arguments"]["TransformResources"] == {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 2,
    }
    # The overrides touch only the steps they name.
    evaluate = prod["evaluate"]["Arguments"]["ProcessingResources"]["ClusterConfig"]
    assert evaluate["InstanceType"] == "ml.m5.xlarge"
    assert prod["train"]["Arguments"]["ResourceConfig"]["InstanceCount"] == 1


def test_prod_compiles_against_the_prod_account_and_bucket(prod_definition: Definition) -> None:
    text = json.dumps(prod_definition)
    assert "smdsl-abalone-dev" not in text and "111122223333" not in text
    assert "s3://smdsl-abalone-prod/abalone/code/" in text
    assert [s["Name"] for s in prod_definition["Steps"]] == TOP_LEVEL
    assert check_definition(prod_definition) == []


# ---------------------------------------------------------------------------------------------
# validate and graph stay away from the SageMaker SDK


def _main_script(*args: str) -> str:
    return f"from smdsl.cli import main\nmain({list(args)!r}, standalone_mode=False)\n"


@pytest.mark.parametrize(
    "args",
    [("validate", str(PIPELINE)), ("graph", str(PIPELINE))],  # validate --env compiles
    ids=["validate", "graph"],
)
def test_validate_and_graph_of_abalone_import_no_sagemaker_module(args: tuple[str, ...]) -> None:
    assert sdk_modules_after(_main_script(*args)) == []


def test_the_probe_sees_the_sdk_when_abalone_is_compiled(tmp_path: Path) -> None:
    """The same probe on `definition` of the same pipeline lists SDK modules: it can fail."""
    out = tmp_path / "definition.json"
    script = _main_script("definition", str(PIPELINE), "--env", "dev", "-o", str(out))
    modules = sdk_modules_after(script)
    assert "sagemaker.mlops.workflow.condition_step" in modules
    assert json.loads(out.read_text())["Steps"][3]["Name"] == "check_mse"

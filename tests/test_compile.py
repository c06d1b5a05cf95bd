"""Compiling: offline, deterministic, reproducible bundles, and definitions SageMaker would take."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, QUICKSTART, clean_env, run_cli
from oracle import check_definition

from smdsl.compile.builder import CompiledPipeline, compile_pipeline
from smdsl.compile.bundles import pack_directory
from smdsl.declare.env import load_env
from smdsl.errors import EnvConfigError
from smdsl.graph.build import build_graph
from smdsl.graph.loader import load_pipeline

SOURCE_DIRS = FIXTURES / "compile" / "source_dirs.py"


def compile_file(path: Path, env: str) -> CompiledPipeline:
    module = load_pipeline(path)
    return compile_pipeline(build_graph(module, load_env(module.path, env)))


@pytest.fixture(scope="module")
def source_dirs() -> dict[str, Any]:
    compiled = compile_file(SOURCE_DIRS, "test")
    return {"compiled": compiled, "definition": json.loads(compiled.definition)}


def steps_of(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Name"]: s for s in definition["Steps"]}


def test_compiling_makes_no_aws_call_and_opens_no_socket(
    mocker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.client import BaseClient

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    calls = mocker.spy(BaseClient, "_make_api_call")
    connect = mocker.patch.object(socket.socket, "connect", side_effect=OSError("no network"))

    compiled = compile_file(QUICKSTART / "pipeline.py", "dev")

    assert calls.call_count == 0
    assert connect.call_count == 0
    assert json.loads(compiled.definition)["Steps"][0]["Name"] == "preprocess"


def test_definition_command_needs_no_credentials(tmp_path: Path) -> None:
    out = tmp_path / "definition.json"
    env = clean_env(AWS_EC2_METADATA_DISABLED="true", AWS_ENDPOINT_URL="http://127.0.0.1:9")
    result = run_cli(
        "definition", str(QUICKSTART / "pipeline.py"), "--env", "dev", "-o", str(out), env=env
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["Version"] == "2020-12-01"
    assert "wrote" in result.stderr


def test_same_pipeline_compiles_to_the_same_bytes_in_two_processes() -> None:
    outputs = []
    for seed in ("1", "2"):
        env = clean_env(PYTHONHASHSEED=seed, AWS_EC2_METADATA_DISABLED="true")
        result = run_cli("definition", str(SOURCE_DIRS), "--env", "test", env=env, check=True)
        outputs.append(result.stdout.encode())
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 1000


def test_quickstart_definitions_pass_the_sagemaker_checks() -> None:
    for env in ("dev", "prod"):
        definition = compile_file(QUICKSTART / "pipeline.py", env).definition
        assert check_definition(definition) == [], env


def test_source_dir_fixture_passes_the_sagemaker_checks(source_dirs: dict[str, Any]) -> None:
    assert check_definition(source_dirs["definition"]) == []


def test_env_override_changes_the_compiled_instance_type() -> None:
    definition = json.loads(compile_file(QUICKSTART / "pipeline.py", "prod").definition)
    train = steps_of(definition)["train"]["Arguments"]
    assert train["ResourceConfig"]["InstanceType"] == "ml.m5.2xlarge"
    assert train["HyperParameters"]["num_round"] == "100"


def test_processing_source_dir_runs_through_a_generated_runproc(
    source_dirs: dict[str, Any],
) -> None:
    compiled: CompiledPipeline = source_dirs["compiled"]
    features = steps_of(source_dirs["definition"])["features"]["Arguments"]
    assert features["AppSpecification"]["ContainerEntrypoint"] == [
        "/bin/bash",
        "/opt/ml/processing/input/code/runproc.sh",
    ]
    inputs = {i["InputName"]: i["S3Input"] for i in features["ProcessingInputs"]}
    assert inputs["raw"]["LocalPath"] == "/opt/ml/processing/raw"
    assert inputs["raw"]["S3Uri"] == {"Get": "Parameters.Raw"}
    source_key = inputs["smdsl-source"]["S3Uri"].removeprefix("s3://compile-fixtures/")
    assert source_key.startswith("ci/code/") and source_key.endswith("/sourcedir.tar.gz")
    objects = {o.key: o.body for o in compiled.code}
    runproc = objects[source_key.replace("sourcedir.tar.gz", "runproc.sh")].decode()
    assert "exec python3 pkg/features.py" in runproc
    with tarfile.open(fileobj=io.BytesIO(objects[source_key])) as tar:
        assert sorted(tar.getnames()) == [
            "audit.py",
            "pkg/features.py",
            "pkg/fit.py",
            "requirements.txt",
        ]


def test_options_and_parameters_reach_the_definition(source_dirs: dict[str, Any]) -> None:
    definition = source_dirs["definition"]
    steps = steps_of(definition)
    features = steps["features"]
    assert features["DisplayName"] == "Build-features"
    assert features["Description"] == "Turns raw rows into features"
    args = features["Arguments"]
    assert args["ProcessingResources"]["ClusterConfig"]["InstanceType"] == {
        "Get": "Parameters.ProcessingInstance"
    }
    assert args["Environment"] == {"STAGE": "features"}
    assert args["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    assert args["AppSpecification"]["ContainerArguments"] == ["--rows", "1000"]
    outputs = {o["OutputName"]: o["S3Output"] for o in args["ProcessingOutputConfig"]["Outputs"]}
    assert outputs["report"]["S3Uri"] == "s3://some-bucket/reports/"
    assert outputs["table"]["S3Uri"]["Std:Join"]["Values"] == [
        "s3://compile-fixtures",
        "ci",
        "source-dirs-test",
        {"Get": "Execution.PipelineExecutionId"},
        "features",
        "table",
    ]
    fit = steps["fit"]
    assert fit["DependsOn"] == ["audit"]
    fit_args = fit["Arguments"]
    assert fit_args["ResourceConfig"]["InstanceCount"] == {"Get": "Parameters.TrainingInstances"}
    assert fit_args["OutputDataConfig"]["S3OutputPath"] == "s3://some-bucket/models/"
    assert fit_args["HyperParameters"]["fit_intercept"] == "true"
    assert fit_args["HyperParameters"]["normalise"] == {
        "Std:Join": {"On": "", "Values": [{"Get": "Parameters.Normalise"}]}
    }
    assert fit_args["HyperParameters"]["sagemaker_program"] == "pkg/fit.py"
    channel = fit_args["InputDataConfig"][0]
    assert channel["ContentType"] == "text/csv"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.features.ProcessingOutputConfig.Outputs['table'].S3Output.S3Uri"
    }
    evaluate = steps["evaluate"]["Arguments"]
    model = {"Get": "Steps.fit.ModelArtifacts.S3ModelArtifacts"}
    assert evaluate["ProcessingInputs"][0]["S3Input"]["S3Uri"] == model
    assert evaluate["AppSpecification"]["ContainerArguments"][1] == model
    assert steps["audit"]["Arguments"]["AppSpecification"]["ImageUri"].endswith("/audit:1")
    assert definition["Parameters"] == [
        {"Name": "Normalise", "Type": "Boolean", "DefaultValue": False},
        {"Name": "ProcessingInstance", "Type": "String", "DefaultValue": "ml.c5.xlarge"},
        {"Name": "Raw", "Type": "String", "DefaultValue": "s3://some-bucket/raw/"},
        {"Name": "TrainingInstances", "Type": "Integer", "DefaultValue": 2},
    ]


def test_shared_code_is_one_object(source_dirs: dict[str, Any]) -> None:
    compiled: CompiledPipeline = source_dirs["compiled"]
    audit_keys = [o.key for o in compiled.code if o.key.endswith("/audit.py")]
    assert len(audit_keys) == 1  # two steps run audit.py: one object to upload
    assert len({o.key for o in compiled.code}) == len(compiled.code)


def test_bundles_are_reproducible_whatever_the_file_times(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.py").write_text("print('a')\n")
    (folder / "sub" / "b.py").write_text("print('b')\n")
    (folder / "sub" / "__pycache__").mkdir()
    (folder / "sub" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"junk")
    first = pack_directory(folder)
    for path in folder.rglob("*.py"):
        os.utime(path, (1_000_000, 1_000_000))
    assert pack_directory(folder) == first
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        assert tar.getnames() == ["a.py", "sub/b.py"]
        assert {m.mtime for m in tar.getmembers()} == {0}
    (folder / "a.py").write_text("print('changed')\n")
    assert pack_directory(folder) != first


def test_a_missing_role_is_an_error_naming_the_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "p.py").write_text("print(1)\n")
    (tmp_path / "pipeline.py").write_text(
        "from smdsl import Processing, processing_step\n\n"
        "@processing_step(instance_type='ml.m5.large', framework='sklearn')\n"
        "def prep() -> Processing:\n"
        "    return Processing(code='code/p.py')\n"
    )
    (tmp_path / "smdsl.toml").write_text('[envs.dev]\nregion = "us-east-1"\nbucket = "b-1-2"\n')
    with pytest.raises(EnvConfigError) as caught:
        compile_file(tmp_path / "pipeline.py", "dev")
    message = str(caught.value)
    assert "smdsl.toml: [envs.dev] role_arn: missing" in message
    assert "SMDSL_ROLE_ARN" in message

    result = run_cli("definition", str(tmp_path / "pipeline.py"), "--env", "dev")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    # reported with the graph's problems: a heading, then the one problem
    heading, problem = result.stderr.strip().splitlines()
    assert heading.endswith("pipeline.py: 1 problem in the pipeline")
    assert problem.endswith(
        "smdsl.toml: [envs.dev] role_arn: missing; compiling and deploying need it "
        "(set it in the file, or by SMDSL_ROLE_ARN)"
    )


def test_unknown_framework_version_names_the_step(tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text("print(1)\n")
    (tmp_path / "pipeline.py").write_text(
        "from smdsl import Processing, processing_step\n\n"
        "@processing_step(instance_type='ml.m5.large', framework='sklearn',\n"
        "                 framework_version='9.9-9')\n"
        "def prep() -> Processing:\n"
        "    return Processing(code='p.py')\n"
    )
    (tmp_path / "smdsl.toml").write_text(
        '[envs.dev]\nregion = "us-east-1"\nbucket = "b-1-2"\n'
        'role_arn = "arn:aws:iam::123456789012:role/R"\n'
    )
    result = run_cli("definition", str(tmp_path / "pipeline.py"), "--env", "dev")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "line 3" in result.stderr and "'prep'" in result.stderr and "9.9-9" in result.stderr


def test_join_builds_strings_from_parameters_and_step_outputs(tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text("print(1)\n")
    (tmp_path / "smdsl.toml").write_text(
        '[envs.dev]\nregion = "us-east-1"\nbucket = "b-1-2"\n'
        'role_arn = "arn:aws:iam::123456789012:role/R"\n'
    )
    (tmp_path / "pipeline.py").write_text(
        "from smdsl import Processing, join, param, processing_step\n"
        "root = param('Root', default='s3://my-bucket/churn')\n"
        "days = param('Days', default=3)\n"
        "@processing_step(instance_type='ml.m5.large', framework='sklearn')\n"
        "def first() -> Processing:\n"
        "    return Processing(code='p.py', outputs={'out': join(root, 'out', on='/')})\n"
        "@processing_step(instance_type='ml.m5.large', framework='sklearn')\n"
        "def second() -> Processing:\n"
        "    return Processing(code='p.py', arguments=[join('--days=', days)],\n"
        "                      inputs={'data': join(first.outputs['out'], 'part', on='/')})\n"
    )
    module = load_pipeline(tmp_path / "pipeline.py")
    graph = build_graph(module, load_env(module.path, "dev"))
    assert graph.upstream("second") == ["first"]
    definition = json.loads(compile_pipeline(graph).definition)
    assert check_definition(definition) == []
    second = steps_of(definition)["second"]["Arguments"]
    assert second["AppSpecification"]["ContainerArguments"] == [
        {"Std:Join": {"On": "", "Values": ["--days=", {"Get": "Parameters.Days"}]}}
    ]
    assert second["ProcessingInputs"][0]["S3Input"]["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                {"Get": "Steps.first.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"},
                "part",
            ],
        }
    }
    first = steps_of(definition)["first"]["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]
    assert first["S3Output"]["S3Uri"] == {
        "Std:Join": {"On": "/", "Values": [{"Get": "Parameters.Root"}, "out"]}
    }

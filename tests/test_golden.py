"""Golden test: smdsl compiles the quickstart to what an expert writes by hand with SDK v3.

The hand-written pipeline below uses the SageMaker SDK v3 directly, the way SDK_FACTS.md says an
offline, deterministic definition must be written. The two definitions must be equal after
normalising nothing but the content hashes in code URIs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import QUICKSTART

from smdsl.compile.builder import compile_pipeline
from smdsl.declare.env import load_env
from smdsl.graph.build import build_graph
from smdsl.graph.loader import load_pipeline

BUCKET = "smdsl-quickstart-dev"
ROLE = "arn:aws:iam::111122223333:role/SageMakerPipelineRole"
REGION = "us-east-1"
HASH = re.compile(r"/code/[0-9a-f]{64}/")


def hand_written_definition() -> str:
    """The quickstart pipeline, written with the SageMaker SDK v3 and nothing else."""
    import boto3
    from sagemaker.core import image_uris
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        MetricDefinition,
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.training.configs import (
        Compute,
        InputData,
        OutputDataConfig,
        StoppingCondition,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
    from sagemaker.train import ModelTrainer

    session = PipelineSession(boto_session=boto3.Session(region_name=REGION), default_bucket=BUCKET)
    input_data = ParameterString("InputData", default_value="s3://smdsl-example-data/churn/raw/")
    max_depth = ParameterInteger("MaxDepth", default_value=5)
    train_ratio = ParameterFloat("TrainRatio", default_value=0.8)

    def output(name: str) -> ProcessingOutput:
        uri = Join(
            on="/",
            values=[
                f"s3://{BUCKET}",
                "quickstart",
                "quickstart-dev",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                "preprocess",
                name,
            ],
        )
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=uri,
                local_path=f"/opt/ml/processing/output/{name}",
                s3_upload_mode="EndOfJob",
            ),
        )

    processor = ScriptProcessor(
        role=ROLE,
        image_uri=image_uris.retrieve("sklearn", REGION, "1.2-1", instance_type="ml.m5.xlarge"),
        command=["python3"],
        instance_type="ml.m5.xlarge",
        instance_count=1,
        base_job_name="preprocess",
        sagemaker_session=session,
    )
    preprocess = ProcessingStep(
        name="preprocess",
        step_args=processor.run(
            code=f"s3://{BUCKET}/quickstart/code/HASH/preprocess.py",
            inputs=[
                ProcessingInput(
                    input_name="raw",
                    s3_input=ProcessingS3Input(
                        s3_uri=input_data,
                        local_path="/opt/ml/processing/input/raw",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                )
            ],
            outputs=[output("train"), output("validation"), output("test")],
            arguments=["--train-ratio", train_ratio.to_string()],
        ),
    )

    trainer = ModelTrainer(
        training_image=image_uris.retrieve(
            "xgboost", REGION, "1.7-1", instance_type="ml.m5.xlarge", image_scope="training"
        ),
        role=ROLE,
        base_job_name="train",
        sagemaker_session=session,
        compute=Compute(instance_type="ml.m5.xlarge", instance_count=1, volume_size_in_gb=30),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=7200),
        output_data_config=OutputDataConfig(
            s3_output_path=f"s3://{BUCKET}/quickstart/quickstart-dev/train",
            compression_type="GZIP",
        ),
        hyperparameters={
            "max_depth": max_depth.to_string(),
            "eta": 0.2,
            "num_round": 20,
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": f"s3://{BUCKET}/quickstart/code/HASH/sourcedir.tar.gz",
            "sagemaker_region": REGION,
        },
    ).with_metric_definitions(
        [MetricDefinition(name="validation:auc", regex=r"validation-auc:([0-9\.]+)")]
    )
    outputs = preprocess.properties.ProcessingOutputConfig.Outputs
    train = TrainingStep(
        name="train",
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name="train", data_source=outputs["train"].S3Output.S3Uri),
                InputData(
                    channel_name="validation", data_source=outputs["validation"].S3Output.S3Uri
                ),
            ]
        ),
    )

    pipeline = Pipeline(
        name="quickstart-dev",
        parameters=[input_data, max_depth, train_ratio],
        steps=[preprocess, train],
        sagemaker_session=session,
    )
    return str(pipeline.definition())


def test_quickstart_compiles_to_the_hand_written_definition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load_pipeline(QUICKSTART / "pipeline.py")
    compiled = compile_pipeline(build_graph(module, load_env(module.path, "dev")))

    # What any offline, hand-written build needs (SDK_FACTS.md), set up without smdsl's help.
    empty = tmp_path / "sdk-config.json"
    empty.write_text("{}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(empty))
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(empty))
    from sagemaker.core.telemetry import telemetry_logging

    monkeypatch.setattr(telemetry_logging, "_send_telemetry_request", lambda *a, **k: None)
    expected: Any = json.loads(hand_written_definition())
    actual: Any = json.loads(HASH.sub("/code/HASH/", compiled.definition))
    assert actual == expected
    assert len(HASH.findall(compiled.definition)) == 2

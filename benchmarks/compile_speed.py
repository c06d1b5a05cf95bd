"""Compile time: smdsl against the same pipeline written by hand with the SageMaker SDK v3.

Builds a chain of N processing steps feeding one training step, both ways, in one process, and
prints the time of each and their ratio. The SDK is imported before either is timed, so the
figures are build + definition only. The hand-written side turns off the SDK's telemetry (which
would otherwise call AWS) and nothing else.

    python benchmarks/compile_speed.py            # 10, 50 and 100 steps
    python benchmarks/compile_speed.py 20 200     # chosen sizes
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REGION = "us-east-1"
BUCKET = "bench-bucket"
ROLE = "arn:aws:iam::123456789012:role/Bench"


def write_pipeline(folder: Path, steps: int) -> Path:
    (folder / "code").mkdir()
    (folder / "code" / "step.py").write_text("print('step')\n")
    (folder / "code" / "train.py").write_text("print('train')\n")
    (folder / "smdsl.toml").write_text(
        f'[envs.bench]\nregion = "{REGION}"\nbucket = "{BUCKET}"\nrole_arn = "{ROLE}"\n'
        'pipeline_name = "bench"\n'
    )
    lines = ["from smdsl import Processing, Training, processing_step, training_step", ""]
    for i in range(steps):
        source = f'{{"data": step{i - 1}.outputs["out"]}}' if i else '{"data": "s3://b-1/raw/"}'
        lines += [
            "",
            '@processing_step(instance_type="ml.m5.xlarge", framework="sklearn")',
            f"def step{i}() -> Processing:",
            f'    return Processing(code="code/step.py", inputs={source}, outputs=["out"])',
        ]
    lines += [
        "",
        '@training_step(instance_type="ml.m5.xlarge", framework="xgboost")',
        "def train() -> Training:",
        f'    return Training(entry_point="code/train.py", '
        f'inputs={{"train": step{steps - 1}.outputs["out"]}})',
    ]
    path = folder / "pipeline.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def smdsl_definition(path: Path) -> str:
    from smdsl.compile.builder import compile_pipeline
    from smdsl.declare.env import load_env
    from smdsl.graph.build import build_graph
    from smdsl.graph.loader import load_pipeline

    module = load_pipeline(path)
    return compile_pipeline(build_graph(module, load_env(module.path, "bench"))).definition


def hand_written_definition(steps: int) -> str:
    import boto3
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
        StoppingCondition,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
    from sagemaker.train import ModelTrainer

    session = PipelineSession(boto_session=boto3.Session(region_name=REGION), default_bucket=BUCKET)
    sklearn = image_uris.retrieve("sklearn", REGION, "1.2-1", instance_type="ml.m5.xlarge")
    built: list[Any] = []
    for i in range(steps):
        source: Any = (
            built[-1].properties.ProcessingOutputConfig.Outputs["out"].S3Output.S3Uri
            if built
            else "s3://b-1/raw/"
        )
        out = Join(
            on="/",
            values=[
                f"s3://{BUCKET}",
                "bench",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                f"step{i}",
                "out",
            ],
        )
        processor = ScriptProcessor(
            role=ROLE,
            image_uri=sklearn,
            command=["python3"],
            instance_type="ml.m5.xlarge",
            instance_count=1,
            base_job_name=f"step{i}",
            sagemaker_session=session,
        )
        built.append(
            ProcessingStep(
                name=f"step{i}",
                step_args=processor.run(
                    code=f"s3://{BUCKET}/code/HASH/step.py",
                    inputs=[
                        ProcessingInput(
                            input_name="data",
                            s3_input=ProcessingS3Input(
                                s3_uri=source,
                                local_path="/opt/ml/processing/input/data",
                                s3_data_type="S3Prefix",
                                s3_input_mode="File",
                            ),
                        )
                    ],
                    outputs=[
                        ProcessingOutput(
                            output_name="out",
                            s3_output=ProcessingS3Output(
                                s3_uri=out,
                                local_path="/opt/ml/processing/output/out",
                                s3_upload_mode="EndOfJob",
                            ),
                        )
                    ],
                ),
            )
        )
    trainer = ModelTrainer(
        training_image=image_uris.retrieve(
            "xgboost", REGION, "1.7-1", instance_type="ml.m5.xlarge", image_scope="training"
        ),
        role=ROLE,
        base_job_name="train",
        sagemaker_session=session,
        compute=Compute(instance_type="ml.m5.xlarge", instance_count=1, volume_size_in_gb=30),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=86400),
        output_data_config=OutputDataConfig(
            s3_output_path=f"s3://{BUCKET}/bench/train", compression_type="GZIP"
        ),
        hyperparameters={
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": f"s3://{BUCKET}/code/HASH/sourcedir.tar.gz",
            "sagemaker_region": REGION,
        },
    )
    last = built[-1].properties.ProcessingOutputConfig.Outputs["out"].S3Output.S3Uri
    built.append(
        TrainingStep(
            name="train",
            step_args=trainer.train(
                input_data_config=[InputData(channel_name="train", data_source=last)]
            ),
        )
    )
    return str(Pipeline(name="bench", steps=built, sagemaker_session=session).definition())


def timed(function: Any, *args: Any) -> tuple[float, str]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch) / "sdk-config.json"
        empty.write_text("{}")
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": REGION,
                "SAGEMAKER_VALIDATE_ROLE": "false",
                "SAGEMAKER_USER_CONFIG_OVERRIDE": str(empty),
                "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(empty),
            }
        )
        import logging

        logging.disable(logging.WARNING)
        warnings.simplefilter("ignore")
        import sagemaker.mlops.workflow.pipeline  # noqa: F401  (import cost is not measured)
        from sagemaker.core.telemetry import telemetry_logging

        telemetry_logging._send_telemetry_request = lambda *a, **k: None  # no calls to AWS

        print(f"{'steps':>6} {'smdsl s':>9} {'by hand s':>10} {'ratio':>7}  same definition")
        for size in sizes:
            folder = Path(scratch) / f"p{size}"
            folder.mkdir()
            path = write_pipeline(folder, size)
            ours, our_definition = timed(smdsl_definition, path)
            theirs, their_definition = timed(hand_written_definition, size)
            same = _normalised(our_definition) == _normalised(their_definition)
            print(f"{size + 1:>6} {ours:>9.2f} {theirs:>10.2f} {theirs / ours:>6.1f}x  {same}")


def _normalised(definition: str) -> Any:
    return json.loads(re.sub(r"/code/[0-9a-f]{64}/", "/code/HASH/", definition))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 50, 100])

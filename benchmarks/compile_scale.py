"""Compile scale: smdsl against hand-written SageMaker SDK v3 code, and against its floor.

One command (from the repository root):

    .venv/bin/python benchmarks/compile_scale.py                  # chains of 10 100 500 1000
    .venv/bin/python benchmarks/compile_scale.py 10 100 --runs 5  # chosen sizes, median of 5
    .venv/bin/python benchmarks/compile_scale.py 10 --mixed 1     # quick: 10 steps, 1 block

Two pipelines, each written as an smdsl file and by hand with the plain SDK v3:

- chain: N processing steps, each reading the previous one's output, all running one script;
- mixed: B blocks of AWS's abalone pipeline (processing, training, evaluation with a property
  file, a condition, register, create model, transform, fail), 8 steps a block, each block's
  preprocessing reading the previous block's training split (``--mixed``, default 1 12 62 blocks:
  8, 96 and 496 steps).

Three builds of each, every one in a fresh worker process that imports the SDK (and smdsl)
first, then times only the build and its definition; median of ``--runs`` workers (default 3),
except the hand-written builds over 100 steps, timed once (each takes minutes):

- smdsl: load the file, check the graph, compile (``compile_pipeline``: no definition cache);
- by hand: plain SDK v3 the way its documentation writes it: ``image_uris.retrieve`` where each
  step needs an image, a ScriptProcessor (or ModelTrainer, ModelBuilder, Transformer) and a step
  object per step. Only what runs the SDK offline is added: telemetry off, an empty SDK config,
  role validation off, a region and dummy credentials;
- floor: the same code with the SDK's per-step costs removed: each image URI looked up once,
  and ``LocalSagemakerClient`` (which ProcessingStep and TransformStep build in full only to
  read a method's name) replaced by a stub holding those names. What remains is the SDK objects
  and the JSON that any tool must produce.

And the whole command, ``smdsl definition FILE --env bench``, as a process: median of ``--runs``
runs (default 3). smdsl's cache folder (``SMDSL_CACHE_DIR``) is set up as a user's is after any
earlier command: an untimed ``smdsl validate`` fills what smdsl derives once per installation
(regions, instance types), and no compiled definition is in it, so that each timed run compiles.
"cached" is a second run with the same folder, which finds the definition there. The in-process
workers get a copy of the same folder (``compile_pipeline`` does not use the definition cache).

Peak memory: each process's own maximum RSS (``getrusage`` through ``os.wait4``); for the
in-process builds, also how much the build raised the worker's peak above what the imports
had already reached ("+MB").

Checks (exit status 1 if one fails): smdsl in-process, the ``smdsl definition`` output, the
hand-written and the floor definitions are equal, after replacing smdsl's code content hashes
(``/code/<sha256>/``) with the ``HASH`` the hand-written code writes (nothing else is
normalised); every process succeeds; no process attempts a network connection or name lookup
(a guard refuses and records them). Targets are printed with "MISSED" next to any missed; a
missed target does not fail the run. Takes about 15 minutes with the default sizes on 2 cores,
mostly in the hand-written builds.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    OFFLINE_ENV,
    PYTHON,
    REGION,
    clean_env,
    guard_env,
    machine,
    mark,
    median,
    network_attempts,
    peak_rss_mb,
    run_process,
)

BUCKET = "bench-bucket"
ROLE = "arn:aws:iam::123456789012:role/Bench"
PREFIX = "bench"
ENV = "bench"
PIPELINE = {"chain": "bench-chain", "mixed": "bench-mixed"}
STEPS_PER_BLOCK = 8
HASH = re.compile(r"/code/[0-9a-f]{64}/")
TARGET_SPEEDUP = 10.0  # smdsl at least this many times faster than the hand-written code
TARGET_FLOOR = 1.5  # smdsl at most this many times the floor
TARGET_LINEAR = 1.5  # marginal cost per step at the largest sizes / at the smallest
TARGET_SIZES = (100, 500)  # rows the first two targets apply to (within 10%: 96 and 496 too)
SIDES = ("smdsl", "hand", "floor")
HAND_RUNS_UP_TO = 100  # larger hand-written builds are timed once


# ---------------------------------------------------------------------------------------------
# The smdsl side: pipeline files


def _project(folder: Path, variant: str, scripts: dict[str, str]) -> None:
    (folder / "code").mkdir(parents=True)
    for name, text in scripts.items():
        (folder / "code" / name).write_text(text)
    (folder / "smdsl.toml").write_text(
        f'[envs.{ENV}]\nregion = "{REGION}"\nbucket = "{BUCKET}"\nrole_arn = "{ROLE}"\n'
        f'prefix = "{PREFIX}"\npipeline_name = "{PIPELINE[variant]}"\n'
    )


def write_chain(folder: Path, steps: int) -> Path:
    """An smdsl project in ``folder``: a chain of ``steps`` processing steps sharing one script."""
    _project(folder, "chain", {"step.py": "print('step')\n"})
    lines = ["from smdsl import Processing, processing_step"]
    for i in range(steps):
        source = f'step{i - 1}.outputs["out"]' if i else '"s3://bench-data/raw/"'
        lines += [
            "",
            "",
            '@processing_step(instance_type="ml.m5.xlarge", framework="sklearn", '
            'framework_version="1.2-1")',
            f"def step{i}() -> Processing:",
            f'    return Processing(code="code/step.py", inputs={{"data": {source}}}, '
            'outputs=["out"])',
        ]
    path = folder / "pipeline.py"
    path.write_text("\n".join(lines) + "\n")
    return path


MIXED_HEADER = """\
from smdsl import (
    Condition,
    Fail,
    Model,
    ModelMetrics,
    Processing,
    ProcessingInput,
    ProcessingOutput,
    PropertyFile,
    Register,
    Training,
    TrainingInput,
    Transform,
    condition_step,
    fail_step,
    join,
    model_step,
    param,
    processing_step,
    register_step,
    training_step,
    transform_step,
)

processing_instance_count = param("ProcessingInstanceCount", default=1)
input_data = param("InputData", default="s3://bench-data/abalone/abalone-dataset.csv")
batch_data = param("BatchData", default="s3://bench-data/abalone/abalone-dataset-batch")
model_approval_status = param("ModelApprovalStatus", default="PendingManualApproval")
mse_threshold = param("MseThreshold", default=6.0)

XGBOOST = {"framework": "xgboost", "framework_version": "1.7-1"}
"""

MIXED_BLOCK = Template("""

@processing_step(
    instance_type="ml.m5.xlarge",
    instance_count=processing_instance_count,
    framework="sklearn",
    framework_version="1.2-1",
)
def preprocess_$j($upstream) -> Processing:
    return Processing(
        code="code/preprocess.py",
        inputs={"raw": ProcessingInput(source=$source, local_path="/opt/ml/processing/input")},
        outputs={
            "train": ProcessingOutput(local_path="/opt/ml/processing/train"),
            "validation": ProcessingOutput(local_path="/opt/ml/processing/validation"),
            "test": ProcessingOutput(local_path="/opt/ml/processing/test"),
        },
    )


@training_step(instance_type="ml.m5.xlarge", **XGBOOST)
def train_$j(preprocess_$j: Processing) -> Training:
    return Training(
        inputs={
            "train": TrainingInput(source=preprocess_$j.outputs["train"], content_type="text/csv"),
            "validation": TrainingInput(
                source=preprocess_$j.outputs["validation"], content_type="text/csv"
            ),
        },
        hyperparameters={"objective": "reg:linear", "num_round": 50, "max_depth": 5, "eta": 0.2},
    )


@processing_step(instance_type="ml.m5.xlarge", **XGBOOST)
def evaluate_$j(train_$j: Training, preprocess_$j: Processing) -> Processing:
    return Processing(
        code="code/evaluate.py",
        inputs={
            "model": ProcessingInput(
                source=train_$j.model_artifacts, local_path="/opt/ml/processing/model"
            ),
            "test": ProcessingInput(
                source=preprocess_$j.outputs["test"], local_path="/opt/ml/processing/test"
            ),
        },
        outputs={"evaluation": ProcessingOutput(local_path="/opt/ml/processing/evaluation")},
        property_files={"EvaluationReport$j": PropertyFile("evaluation", "evaluation.json")},
    )


@condition_step
def check_mse_$j(evaluate_$j: Processing) -> Condition:
    mse = evaluate_$j.json_get("EvaluationReport$j", "regression_metrics.mse.value", type=float)
    return Condition(
        when=mse <= mse_threshold,
        then=[register_$j, create_model_$j, transform_$j],
        otherwise=[mse_too_high_$j],
    )


@register_step(**XGBOOST)
def register_$j(train_$j: Training, evaluate_$j: Processing) -> Register:
    return Register(
        model_data=train_$j.model_artifacts,
        model_package_group="BenchModelPackageGroup",
        approval_status=model_approval_status,
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.t2.medium", "ml.m5.xlarge"],
        transform_instances=["ml.m5.xlarge"],
        metrics=ModelMetrics(
            model_statistics=join(evaluate_$j.outputs["evaluation"], "evaluation.json", on="/")
        ),
    )


@model_step(instance_type="ml.m5.large", **XGBOOST)
def create_model_$j(train_$j: Training) -> Model:
    return Model(model_data=train_$j.model_artifacts)


@transform_step(instance_type="ml.m5.xlarge")
def transform_$j(create_model_$j: Model) -> Transform:
    return Transform(
        model=create_model_$j.model_name,
        input=batch_data,
        content_type="text/csv",
        split_type="Line",
        assemble_with="Line",
    )


@fail_step
def mse_too_high_$j(evaluate_$j: Processing) -> Fail:
    mse = evaluate_$j.json_get("EvaluationReport$j", "regression_metrics.mse.value")
    return Fail(
        message=join("Execution failed: MSE", mse, "is above the threshold", mse_threshold, on=" ")
    )
""")


def write_mixed(folder: Path, blocks: int) -> Path:
    """An smdsl project in ``folder``: ``blocks`` chained copies of the abalone pipeline."""
    _project(
        folder,
        "mixed",
        {"preprocess.py": "print('preprocess')\n", "evaluate.py": "print('evaluate')\n"},
    )
    parts = [MIXED_HEADER]
    for j in range(blocks):
        upstream = f"preprocess_{j - 1}: Processing" if j else ""
        source = f'preprocess_{j - 1}.outputs["train"]' if j else "input_data"
        parts.append(MIXED_BLOCK.substitute(j=j, upstream=upstream, source=source))
    path = folder / "pipeline.py"
    path.write_text("".join(parts))
    return path


WRITERS: dict[str, Callable[[Path, int], Path]] = {"chain": write_chain, "mixed": write_mixed}


def smdsl_definition(path: Path) -> str:
    """What smdsl compiles ``path`` to with the ``bench`` profile, in this process: load, check
    and compile, as ``smdsl definition`` does, without its definition cache."""
    from smdsl.compile.builder import compile_pipeline
    from smdsl.declare.env import load_env
    from smdsl.graph.build import build_graph
    from smdsl.graph.loader import load_pipeline

    module = load_pipeline(path)
    graph = build_graph(module, load_env(module.path, ENV), for_deploy=True)
    return compile_pipeline(graph).definition


# ---------------------------------------------------------------------------------------------
# The hand-written side: plain SDK v3


@contextlib.contextmanager
def sdk_offline() -> Iterator[Path]:
    """What any offline hand-written build needs (SDK_FACTS.md), set up without smdsl: a region
    and dummy credentials, an empty SDK config, role validation and telemetry off, the SDK's
    INFO logs and warnings silenced. Restores everything on exit; yields a scratch folder (for
    ModelBuilder's model path)."""
    import logging
    import warnings

    with tempfile.TemporaryDirectory(prefix="bench-sdk-") as scratch:
        empty = Path(scratch) / "sdk-config.json"
        empty.write_text("{}")
        settings = {
            **OFFLINE_ENV,
            "SAGEMAKER_VALIDATE_ROLE": "false",
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(empty),
            "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(empty),
        }
        saved = {k: os.environ.get(k) for k in settings}
        os.environ.update(settings)
        previous_disable = logging.root.manager.disable
        root_handlers, root_level = list(logging.root.handlers), logging.root.level
        logging.disable(logging.WARNING)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from sagemaker.core.telemetry import telemetry_logging

                with _patched(telemetry_logging, "_send_telemetry_request", _no_telemetry):
                    yield Path(scratch)
        finally:
            logging.disable(previous_disable)
            logging.root.handlers[:] = root_handlers
            logging.root.setLevel(root_level)
            for key, old in saved.items():
                if old is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = old


def _no_telemetry(*args: Any, **kwargs: Any) -> None:
    return None


@contextlib.contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


class MethodNames:
    """The floor's stand-in for LocalSagemakerClient: ProcessingStep and TransformStep build one
    only to read ``create_processing_job.__name__`` / ``create_transform_job.__name__``."""

    def create_processing_job(self) -> None:
        """Read by ProcessingStep."""

    def create_transform_job(self) -> None:
        """Read by TransformStep."""


@contextlib.contextmanager
def floor_patches() -> Iterator[None]:
    from sagemaker.mlops.workflow import steps

    with _patched(steps, "LocalSagemakerClient", MethodNames):
        yield


def hand_chain(steps: int, floor: bool = False) -> str:
    """The chain pipeline in plain SDK v3; with ``floor``, the sklearn image is looked up once
    (the caller also applies :func:`floor_patches`)."""
    import boto3
    from sagemaker.core import image_uris
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep

    session = PipelineSession(boto_session=boto3.Session(region_name=REGION), default_bucket=BUCKET)
    once = (
        image_uris.retrieve("sklearn", REGION, "1.2-1", instance_type="ml.m5.xlarge")
        if floor
        else None
    )
    name = PIPELINE["chain"]
    built: list[Any] = []
    for i in range(steps):
        source: Any = (
            built[-1].properties.ProcessingOutputConfig.Outputs["out"].S3Output.S3Uri
            if built
            else "s3://bench-data/raw/"
        )
        out = Join(
            on="/",
            values=[
                f"s3://{BUCKET}",
                PREFIX,
                name,
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                f"step{i}",
                "out",
            ],
        )
        processor = ScriptProcessor(
            role=ROLE,
            image_uri=once
            or image_uris.retrieve("sklearn", REGION, "1.2-1", instance_type="ml.m5.xlarge"),
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
                    code=f"s3://{BUCKET}/{PREFIX}/code/HASH/step.py",
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
    return str(Pipeline(name=name, steps=built, sagemaker_session=session).definition())


def hand_mixed(blocks: int, floor: bool = False, workdir: Path | None = None) -> str:
    """The mixed pipeline in plain SDK v3 (after AWS's abalone example, as tests/
    test_golden_kinds.py writes it); with ``floor``, each image URI is looked up once."""
    import boto3
    from sagemaker.core import image_uris
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import (
        MetricsSource,
        ModelMetrics,
        ModelQuality,
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
    from sagemaker.core.transformer import Transformer
    from sagemaker.core.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep, TransformStep
    from sagemaker.serve import ModelBuilder
    from sagemaker.train import ModelTrainer

    name = PIPELINE["mixed"]
    model_path = str(workdir or tempfile.mkdtemp(prefix="bench-model-"))
    session = PipelineSession(boto_session=boto3.Session(region_name=REGION), default_bucket=BUCKET)
    data = "s3://bench-data/abalone"
    processing_instance_count = ParameterInteger("ProcessingInstanceCount", default_value=1)
    input_data = ParameterString("InputData", default_value=f"{data}/abalone-dataset.csv")
    batch_data = ParameterString("BatchData", default_value=f"{data}/abalone-dataset-batch")
    model_approval_status = ParameterString(
        "ModelApprovalStatus", default_value="PendingManualApproval"
    )
    mse_threshold = ParameterFloat("MseThreshold", default_value=6.0)
    code = f"s3://{BUCKET}/{PREFIX}/code/HASH"

    looked_up: dict[tuple[str, str], str] = {}

    def image(framework: str, version: str, instance_type: str = "ml.m5.xlarge") -> str:
        """By hand: a look-up at each use, as the SDK's documentation writes it. The floor:
        each distinct image looked up once and reused."""
        if floor and (framework, instance_type) in looked_up:
            return looked_up[framework, instance_type]
        uri: str = image_uris.retrieve(framework, REGION, version, instance_type=instance_type)
        looked_up[framework, instance_type] = uri
        return uri

    def sklearn() -> str:
        return image("sklearn", "1.2-1")

    def xgboost(instance_type: str = "ml.m5.xlarge") -> str:
        return image("xgboost", "1.7-1", instance_type)

    def output_path(step: str, output: str) -> Any:
        execution = ExecutionVariables.PIPELINE_EXECUTION_ID
        return Join(on="/", values=[f"s3://{BUCKET}", PREFIX, name, execution, step, output])

    def s3_input(input_name: str, uri: Any, local_path: str) -> Any:
        source = ProcessingS3Input(
            s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
        )
        return ProcessingInput(input_name=input_name, s3_input=source)

    def s3_output(step: str, output_name: str, local_path: str) -> Any:
        target = ProcessingS3Output(
            s3_uri=output_path(step, output_name), local_path=local_path, s3_upload_mode="EndOfJob"
        )
        return ProcessingOutput(output_name=output_name, s3_output=target)

    def processor(image_uri: str, instance_count: Any) -> Any:
        return ScriptProcessor(
            role=ROLE,
            image_uri=image_uri,
            command=["python3"],
            instance_type="ml.m5.xlarge",
            instance_count=instance_count,
            sagemaker_session=session,
        )

    def model_builder(image_uri: str, model_data: Any, **extra: Any) -> Any:
        # dependencies=None: the default makes register() upload code; a model_path of our own:
        # the default is a fresh folder under /tmp/sagemaker (as tests/test_golden_kinds.py).
        return ModelBuilder(
            image_uri=image_uri,
            s3_model_data_url=model_data,
            role_arn=ROLE,
            sagemaker_session=session,
            model_path=model_path,
            dependencies=None,
            **extra,
        )

    steps: list[Any] = []
    previous: Any = None
    for j in range(blocks):
        raw = (
            previous.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri
            if previous is not None
            else input_data
        )
        step_process = ProcessingStep(
            name=f"preprocess_{j}",
            step_args=processor(sklearn(), processing_instance_count).run(
                code=f"{code}/preprocess.py",
                inputs=[s3_input("raw", raw, "/opt/ml/processing/input")],
                outputs=[
                    s3_output(f"preprocess_{j}", split, f"/opt/ml/processing/{split}")
                    for split in ("train", "validation", "test")
                ],
            ),
        )
        outputs = step_process.properties.ProcessingOutputConfig.Outputs
        trainer = ModelTrainer(
            training_image=xgboost(),
            role=ROLE,
            sagemaker_session=session,
            compute=Compute(instance_type="ml.m5.xlarge", instance_count=1, volume_size_in_gb=30),
            stopping_condition=StoppingCondition(max_runtime_in_seconds=86400),
            output_data_config=OutputDataConfig(
                s3_output_path=f"s3://{BUCKET}/{PREFIX}/{name}/train_{j}",
                compression_type="GZIP",
            ),
            hyperparameters={
                "objective": "reg:linear",
                "num_round": 50,
                "max_depth": 5,
                "eta": 0.2,
            },
        )
        step_train = TrainingStep(
            name=f"train_{j}",
            step_args=trainer.train(
                input_data_config=[
                    InputData(
                        channel_name=split,
                        data_source=outputs[split].S3Output.S3Uri,
                        content_type="text/csv",
                    )
                    for split in ("train", "validation")
                ]
            ),
        )
        model_data = step_train.properties.ModelArtifacts.S3ModelArtifacts
        report = PropertyFile(
            name=f"EvaluationReport{j}", output_name="evaluation", path="evaluation.json"
        )
        step_eval = ProcessingStep(
            name=f"evaluate_{j}",
            step_args=processor(xgboost(), 1).run(
                code=f"{code}/evaluate.py",
                inputs=[
                    s3_input("model", model_data, "/opt/ml/processing/model"),
                    s3_input("test", outputs["test"].S3Output.S3Uri, "/opt/ml/processing/test"),
                ],
                outputs=[s3_output(f"evaluate_{j}", "evaluation", "/opt/ml/processing/evaluation")],
            ),
            property_files=[report],
        )
        evaluation = step_eval.properties.ProcessingOutputConfig.Outputs["evaluation"]
        statistics = MetricsSource(
            s3_uri=Join(on="/", values=[evaluation.S3Output.S3Uri, "evaluation.json"]),
            content_type="application/json",
        )
        step_register = ModelStep(
            name=f"register_{j}",
            step_args=model_builder(xgboost(), model_data).register(
                model_package_group_name="BenchModelPackageGroup",
                content_types=["text/csv"],
                response_types=["text/csv"],
                inference_instances=["ml.t2.medium", "ml.m5.xlarge"],
                transform_instances=["ml.m5.xlarge"],
                model_metrics=ModelMetrics(model_quality=ModelQuality(statistics=statistics)),
                approval_status=model_approval_status,
            ),
        )
        step_create_model = ModelStep(
            name=f"create_model_{j}",
            step_args=model_builder(
                xgboost("ml.m5.large"), model_data, instance_type="ml.m5.large"
            ).build(),
        )
        transformer = Transformer(
            model_name=step_create_model.properties.ModelName,
            instance_type="ml.m5.xlarge",
            instance_count=1,
            assemble_with="Line",
            output_path=output_path(f"transform_{j}", "output"),
            sagemaker_session=session,
        )
        step_transform = TransformStep(
            name=f"transform_{j}",
            step_args=transformer.transform(
                data=batch_data, content_type="text/csv", split_type="Line"
            ),
        )
        mse = JsonGet(
            step_name=f"evaluate_{j}",
            property_file=report,
            json_path="regression_metrics.mse.value",
        )
        step_fail = FailStep(
            name=f"mse_too_high_{j}",
            error_message=Join(
                on=" ",
                values=["Execution failed: MSE", mse, "is above the threshold", mse_threshold],
            ),
        )
        step_cond = ConditionStep(
            name=f"check_mse_{j}",
            conditions=[ConditionLessThanOrEqualTo(left=mse, right=mse_threshold)],
            if_steps=[step_register, step_create_model, step_transform],
            else_steps=[step_fail],
        )
        steps += [step_process, step_train, step_eval, step_cond]
        previous = step_process
    parameters = [
        processing_instance_count,
        input_data,
        batch_data,
        model_approval_status,
        mse_threshold,
    ]
    pipeline = Pipeline(
        name=name,
        parameters=sorted(parameters, key=lambda p: p.name),  # smdsl lists them by name
        steps=steps,
        sagemaker_session=session,
    )
    return str(pipeline.definition())


def hand_written(variant: str, size: int, floor: bool = False) -> str:
    """The hand-written definition of ``variant`` at ``size`` (steps for the chain, blocks for
    the mixed pipeline), built offline in this process."""
    with sdk_offline() as workdir, floor_patches() if floor else contextlib.nullcontext():
        if variant == "chain":
            return hand_chain(size, floor)
        return hand_mixed(size, floor, workdir)


def normalised(definition: str) -> Any:
    """The definition as JSON with smdsl's code content hashes replaced by ``HASH``."""
    return json.loads(HASH.sub("/code/HASH/", definition))


def step_count(variant: str, size: int) -> int:
    return size * STEPS_PER_BLOCK if variant == "mixed" else size


# ---------------------------------------------------------------------------------------------
# Worker: one build in a fresh process


SDK_MODULES = (
    "boto3",
    "sagemaker.core.image_uris",
    "sagemaker.core.processing",
    "sagemaker.core.shapes",
    "sagemaker.core.training.configs",
    "sagemaker.core.transformer",
    "sagemaker.core.workflow.conditions",
    "sagemaker.core.workflow.execution_variables",
    "sagemaker.core.workflow.functions",
    "sagemaker.core.workflow.parameters",
    "sagemaker.core.workflow.pipeline_context",
    "sagemaker.core.workflow.properties",
    "sagemaker.core.telemetry.telemetry_logging",
    "sagemaker.mlops.workflow.condition_step",
    "sagemaker.mlops.workflow.fail_step",
    "sagemaker.mlops.workflow.model_step",
    "sagemaker.mlops.workflow.pipeline",
    "sagemaker.mlops.workflow.steps",
    "sagemaker.serve",
    "sagemaker.train",
    "smdsl",
    "smdsl.compile.builder",
    "smdsl.declare.env",
    "smdsl.graph.build",
    "smdsl.graph.loader",
)
"""Imported by every worker before the clock starts: the SDK import is not what is measured."""


def worker(side: str, variant: str, size: int, pipeline: Path, out: Path) -> None:
    """Build one definition in this (fresh) process; write it to ``out`` and print the build's
    time and memory as JSON."""
    import importlib
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        for module in SDK_MODULES:
            importlib.import_module(module)
        logging.disable(logging.NOTSET)
    before = peak_rss_mb()
    start = time.perf_counter()
    if side == "smdsl":
        definition = smdsl_definition(pipeline)
    else:
        definition = hand_written(variant, size, floor=side == "floor")
    seconds = time.perf_counter() - start
    out.write_text(definition)
    print(json.dumps({"seconds": seconds, "rss_before": before, "rss_after": peak_rss_mb()}))


# ---------------------------------------------------------------------------------------------
# Measuring and reporting


@dataclass
class Row:
    variant: str
    size: int
    steps: int
    seconds: dict[str, float] = field(default_factory=dict)  # in-process, by side
    grown_mb: dict[str, float] = field(default_factory=dict)  # peak raised by the build
    cli_seconds: float = 0.0
    cli_cached: float = 0.0
    cli_peak_mb: float = 0.0
    same: bool = False
    problems: list[str] = field(default_factory=list)

    def ratio(self, a: str, b: str) -> float:
        return self.seconds[a] / self.seconds[b] if self.seconds.get(b) else float("nan")


def child_env(scratch: Path, warm_cache: Path | None = None) -> dict[str, str]:
    """A worker's or the CLI's environment: offline, guarded, and with a cache folder of its
    own: a copy of ``warm_cache`` (what smdsl derives once per installation, e.g. the regions
    and instance types botocore knows, but no compiled definition), or empty."""
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=scratch)) / "smdsl"
    if warm_cache is not None and warm_cache.is_dir():
        shutil.copytree(warm_cache, cache)
    return clean_env(**OFFLINE_ENV, **guard_env(scratch / "guard"), SMDSL_CACHE_DIR=str(cache))


def warm_up(pipeline: Path, scratch: Path, row: Row) -> Path:
    """A cache folder as a user's is after any earlier command: ``smdsl validate`` (which
    compiles nothing) has filled what smdsl derives once per installation."""
    env = child_env(scratch)
    command = [PYTHON, "-m", "smdsl", "validate", str(pipeline), "--env", ENV]
    run = run_process(command, env, cwd=pipeline.parent, scratch=scratch)
    row.problems += [f"smdsl validate: {a}" for a in network_attempts(env)]
    if run.returncode != 0:
        row.problems.append(f"smdsl validate failed:\n{run.stderr[-3000:]}")
    return Path(env["SMDSL_CACHE_DIR"])


def measure(variant: str, size: int, runs: int, scratch: Path, cli: bool = True) -> Row:
    """Build ``variant`` at ``size`` every way, check the definitions, time the CLI."""
    folder = scratch / f"{variant}-{size}"
    pipeline = WRITERS[variant](folder, size)
    row = Row(variant, size, step_count(variant, size))
    warm = warm_up(pipeline, scratch, row)
    definitions: dict[str, Any] = {}
    for side in SIDES:
        # Every side is timed in --runs fresh workers (median), except a hand-written build of
        # over HAND_RUNS_UP_TO steps: one run, which takes minutes and varies by a few percent.
        times, grown = [], []
        repeat = runs if side != "hand" or row.steps <= HAND_RUNS_UP_TO else 1
        for _ in range(max(repeat, 1)):
            env = child_env(scratch, warm)
            out = folder / f"{side}.json"
            args = [PYTHON, __file__, "--worker", side, variant, str(size), str(pipeline), str(out)]
            run = run_process(args, env, scratch=scratch)
            row.problems += [f"{side}: {a}" for a in network_attempts(env)]
            if run.returncode != 0:
                row.problems.append(f"{side} build failed:\n{run.stderr[-3000:]}")
                break
            report = json.loads(run.stdout.strip().splitlines()[-1])
            times.append(report["seconds"])
            grown.append(report["rss_after"] - report["rss_before"])
            definition = normalised(out.read_text())
            if definitions.setdefault(side, definition) != definition:
                row.problems.append(f"{side}: two runs built different definitions")
        if times:
            row.seconds[side], row.grown_mb[side] = median(times), max(grown)
    if cli:
        command = [PYTHON, "-m", "smdsl", "definition", str(pipeline), "--env", ENV]
        cold, cached, peaks = [], [], []
        for _ in range(runs):
            env = child_env(scratch, warm)  # no definition in its cache: this run compiles
            run = run_process(command, env, cwd=folder, scratch=scratch)
            row.problems += [f"smdsl definition: {a}" for a in network_attempts(env)]
            if run.returncode != 0:
                row.problems.append(f"smdsl definition failed:\n{run.stderr[-3000:]}")
                break
            cold.append(run.seconds)
            peaks.append(run.peak_mb)
            definitions["cli"] = normalised(run.stdout)
            again = run_process(command, env, cwd=folder, scratch=scratch)  # same cache: a hit
            if again.returncode != 0 or normalised(again.stdout) != definitions["cli"]:
                row.problems.append("smdsl definition from its cache differs or failed")
            cached.append(again.seconds)
        if cold:
            row.cli_seconds, row.cli_cached = median(cold), median(cached)
            row.cli_peak_mb = max(peaks)
    reference = definitions.get("smdsl")
    row.same = reference is not None and len(definitions) == len(SIDES) + cli
    for side, definition in definitions.items():
        if definition != reference:
            row.same = False
            row.problems.append(f"the {side} definition differs from smdsl's")
    if not row.same and not row.problems:
        row.problems.append("a definition is missing")
    return row


def near(steps: int, targets: tuple[int, ...] = TARGET_SIZES) -> bool:
    return any(abs(steps - t) <= t * 0.1 for t in targets)


def marginal(rows: list[Row], side: str) -> list[float]:
    """Milliseconds per added step between consecutive sizes (fixed costs cancel out)."""
    ordered = sorted(rows, key=lambda r: r.steps)
    return [
        1000 * (b.seconds[side] - a.seconds[side]) / (b.steps - a.steps)
        for a, b in itertools.pairwise(ordered)
        if side in a.seconds and side in b.seconds and b.steps > a.steps
    ]


def table(rows: list[Row]) -> str:
    """The one table: times, per-step costs, ratios with their targets, CLI, memory, checks."""
    head = (
        f"{'variant':<8}{'steps':>6} | {'smdsl s':>8}{'hand s':>9}{'floor s':>8} | "
        f"{'ms/step: smdsl':>14}{'hand':>7}{'floor':>7} | "
        f"{'hand/smdsl':>10} {'':6}{'smdsl/floor':>11} {'':6} | "
        f"{'CLI s':>7}{'cached':>7}{'peak MB':>8} | {'+MB: smdsl':>10}{'hand':>6}{'floor':>6} | "
        "same"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        s = r.seconds
        per = {k: 1000 * v / r.steps for k, v in s.items()}
        speedup, floor = r.ratio("hand", "smdsl"), r.ratio("smdsl", "floor")
        targeted = near(r.steps)
        speed_mark = mark(speedup >= TARGET_SPEEDUP) if targeted else ""
        floor_mark = mark(floor <= TARGET_FLOOR) if targeted else ""

        def f(value: float | None, width: int, digits: int = 2) -> str:
            return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"

        lines.append(
            f"{r.variant:<8}{r.steps:>6} | {f(s.get('smdsl'), 8)}{f(s.get('hand'), 9)}"
            f"{f(s.get('floor'), 8)} | {f(per.get('smdsl'), 14, 1)}{f(per.get('hand'), 7, 0)}"
            f"{f(per.get('floor'), 7, 1)} | {speedup:>9.1f}x {speed_mark:6}{floor:>10.2f}x "
            f"{floor_mark:6} | {f(r.cli_seconds or None, 7)}{f(r.cli_cached or None, 7)}"
            f"{f(r.cli_peak_mb or None, 8, 0)} | {f(r.grown_mb.get('smdsl'), 10, 0)}"
            f"{f(r.grown_mb.get('hand'), 6, 0)}{f(r.grown_mb.get('floor'), 6, 0)} | "
            f"{'yes' if r.same else 'NO'}"
        )
    return "\n".join(lines)


def summary(rows: list[Row]) -> list[str]:
    """The targets, each met or MISSED, and the linearity of each side."""
    lines = [
        f"targets: at ~100 and ~500 steps hand/smdsl >= {TARGET_SPEEDUP:.0f}x and smdsl/floor <= "
        f"{TARGET_FLOOR}x (marked in the table); growth linear: the marginal ms/step between the "
        f"two largest sizes <= {TARGET_LINEAR}x that between the two smallest"
    ]
    for variant in dict.fromkeys(r.variant for r in rows):
        group = [r for r in rows if r.variant == variant]
        for side in SIDES:
            costs = marginal(group, side)
            if len(costs) < 2:
                continue
            listed = ", ".join(f"{c:.1f}" for c in costs)
            verdict = "(no target)"
            if costs[0] <= 0:  # the smaller build was the slower: fixed costs and noise
                growth = "n/a (the smallest interval is all noise)"
            else:
                growth = f"{costs[-1] / costs[0]:.2f}x"
                if side == "smdsl":
                    verdict = mark(costs[-1] / costs[0] <= TARGET_LINEAR)
            lines.append(
                f"  {variant} {side}: marginal ms/step {listed}; growth {growth} {verdict}".rstrip()
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Compile time of smdsl, hand-written SDK v3 and its floor, by size."
    )
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 100, 500, 1000])
    parser.add_argument(
        "--mixed",
        nargs="*",
        type=int,
        default=[1, 12, 62],
        metavar="BLOCKS",
        help="sizes of the mixed variant, in abalone blocks of 8 steps (none: skip it)",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of each build and of `smdsl definition` (median)"
    )
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        side, variant, size, pipeline, out = args.worker
        worker(side, variant, int(size), Path(pipeline), Path(out))
        return 0

    print(f"compile_scale on {machine()}")
    print(
        f"in-process: build + definition after importing the SDK, median of {args.runs} fresh "
        f"workers (hand-written over {HAND_RUNS_UP_TO} steps: 1); "
        f"CLI: whole `smdsl definition` process, median of {args.runs}, no definition cached "
        "('cached': a second run that finds it); peak MB: the CLI's max RSS; +MB: how far each "
        "build raised its worker's max RSS above its imports'",
        flush=True,
    )
    rows: list[Row] = []
    jobs = [("chain", s) for s in args.sizes] + [("mixed", b) for b in args.mixed]
    with tempfile.TemporaryDirectory(prefix="compile-scale-") as scratch:
        for variant, size in jobs:
            started = time.perf_counter()
            row = measure(variant, size, args.runs, Path(scratch))
            rows.append(row)
            print(
                f"  measured {variant} {row.steps} steps in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    print(table(rows))
    for line in summary(rows):
        print(line)
    problems = [f"{r.variant} {r.steps} steps: {p}" for r in rows for p in r.problems]
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print("checks: " + ("all passed" if not problems else f"{len(problems)} FAILED"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

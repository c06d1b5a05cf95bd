"""Golden tests for every step kind: smdsl's output equals what an expert writes with SDK v3.

Each test compiles a small pipeline under tests/fixtures/golden_kinds/ (or examples/abalone)
with smdsl and builds the same pipeline by hand with the plain SageMaker SDK v3, the way
/tmp/abalone_research/abalone_sdk.py does (smdsl's ``offline_sdk`` is used only to run the SDK
offline). The two definitions must be equal after normalising nothing but the content hashes
in code URIs, and the oracle must accept every compiled definition.

Where smdsl deliberately writes something other than the naive SDK call, the hand-written side
writes what an expert would write for the same intent, with a comment saying why ("smdsl:").
Two such places apply everywhere:

- smdsl lists the pipeline's parameters sorted by name (``collect_parameters``); their order
  means nothing to SageMaker, so the hand-written pipelines list them sorted too.
- An output without a destination goes to ``s3://<bucket>/<prefix>/<pipeline>/<execution
  id>/<step>/<output>``: v3 has no default, and a fixed URI would let two executions overwrite
  each other's results (SDK_FACTS.md).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import FIXTURES, ROOT
from oracle import check_definition

from smdsl.compile.builder import compile_pipeline
from smdsl.compile.sdk import offline_sdk
from smdsl.declare.env import Env, load_env
from smdsl.graph.build import build_graph
from smdsl.graph.loader import load_pipeline

GOLDEN = FIXTURES / "golden_kinds"
ABALONE = ROOT / "examples" / "abalone" / "pipeline.py"
REGION = "us-east-1"
ROLE = "arn:aws:iam::111122223333:role/GoldenRole"
BUCKET = "smdsl-golden"
DATA = "s3://smdsl-golden-data"
CODE = f"s3://{BUCKET}/kinds/code/HASH"
HASH = re.compile(r"/code/[0-9a-f]{64}/")

Json = dict[str, Any]
Written = tuple[list[Any], list[Any]]
"""What a hand-written pipeline function returns: its parameters and its top-level steps."""


# ---------------------------------------------------------------------------------------------
# smdsl's side


def golden_env() -> Env:
    """The profile the step-kind fixtures compile with (built here, no smdsl.toml)."""
    return Env(
        name="golden",
        region=REGION,
        role_arn=ROLE,
        bucket=BUCKET,
        prefix="kinds",
        pipeline_name="golden",
    )


def compile_file(path: Path, env: Env) -> str:
    """The definition smdsl compiles ``path`` to; checked by the oracle on the way."""
    module = load_pipeline(path)
    definition = compile_pipeline(build_graph(module, env)).definition
    assert check_definition(definition) == [], path.name
    return definition


def normalised(definition: str) -> Json:
    """The definition with its code content hashes replaced by ``HASH``: nothing else."""
    found: Json = json.loads(HASH.sub("/code/HASH/", definition))
    return found


def assert_golden(fixture: str, write: Callable[[Sdk], Written]) -> Json:
    """Compile ``fixture``, write it by hand with ``write``; both definitions must be equal."""
    actual = normalised(compile_file(GOLDEN / fixture, golden_env()))
    expected = hand_written(write, role=ROLE, bucket=BUCKET, prefix="kinds", pipeline="golden")
    assert steps(actual) == steps(expected)  # per step first: a readable diff
    assert actual == expected
    return actual


def steps(definition: Json) -> dict[str, Json]:
    """Every step by name, branch steps included."""
    found: dict[str, Json] = {}
    for step in definition["Steps"]:
        found[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            found.update(steps({"Steps": step["Arguments"].get(branch, [])}))
    return found


# ---------------------------------------------------------------------------------------------
# The hand-written side: plain SDK v3


SDK_NAMES = {
    "sagemaker.core.processing": "ScriptProcessor",
    "sagemaker.core.shapes": "MetricsSource ModelDataQuality ModelMetrics ModelQuality "
    "ProcessingInput ProcessingOutput ProcessingS3Input ProcessingS3Output",
    "sagemaker.core.training.configs": "Compute InputData OutputDataConfig StoppingCondition",
    "sagemaker.core.transformer": "Transformer",
    "sagemaker.core.workflow.conditions": "ConditionEquals ConditionGreaterThan "
    "ConditionGreaterThanOrEqualTo ConditionIn ConditionLessThan ConditionLessThanOrEqualTo "
    "ConditionNot ConditionOr",
    "sagemaker.core.workflow.execution_variables": "ExecutionVariables",
    "sagemaker.core.workflow.functions": "Join JsonGet",
    "sagemaker.core.workflow.parameters": "ParameterFloat ParameterInteger ParameterString",
    "sagemaker.core.workflow.properties": "PropertyFile",
    "sagemaker.mlops.workflow.condition_step": "ConditionStep",
    "sagemaker.mlops.workflow.fail_step": "FailStep",
    "sagemaker.mlops.workflow.model_step": "ModelStep",
    "sagemaker.mlops.workflow.pipeline": "Pipeline",
    "sagemaker.mlops.workflow.steps": "ProcessingStep TrainingStep TransformStep",
    "sagemaker.serve": "ModelBuilder",
    "sagemaker.train": "ModelTrainer",
}
"""The SDK v3 classes the hand-written pipelines use, by module: imported inside offline_sdk
(importing sagemaker.mlops needs a region), never at collection."""


class Sdk:
    """The SDK v3 classes (``sdk.ScriptProcessor``...) and the setup every hand-written
    pipeline shares: an offline PipelineSession, execution-scoped output paths, processing
    inputs and outputs, a ModelBuilder that stays offline, the definition."""

    def __init__(self, workdir: Path, role: str, bucket: str, prefix: str, pipeline: str) -> None:
        import boto3
        from sagemaker.core import image_uris
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        for module, names in SDK_NAMES.items():
            loaded = importlib.import_module(module)
            for name in names.split():
                setattr(self, name, getattr(loaded, name))
        self.image_uris = image_uris
        self.workdir, self.role, self.bucket = workdir, role, bucket
        self.prefix, self.pipeline = prefix, pipeline
        self.session = PipelineSession(
            boto_session=boto3.Session(region_name=REGION), default_bucket=bucket
        )
        self.execution_id = self.ExecutionVariables.PIPELINE_EXECUTION_ID

    def image(self, framework: str, instance_type: str = "ml.m5.xlarge") -> str:
        version = {"sklearn": "1.2-1", "xgboost": "1.7-1"}[framework]
        uri: str = self.image_uris.retrieve(framework, REGION, version, instance_type=instance_type)
        return uri

    def output_path(self, step: str, *parts: str) -> Any:
        # smdsl: the default, execution-scoped destination (module docstring).
        where = [f"s3://{self.bucket}", self.prefix, self.pipeline]
        return self.Join(on="/", values=[*where, self.execution_id, step, *parts])

    def s3_input(self, name: str, uri: Any, local_path: str) -> Any:
        source = self.ProcessingS3Input(
            s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
        )
        return self.ProcessingInput(input_name=name, s3_input=source)

    def s3_output(self, name: str, uri: Any, local_path: str) -> Any:
        target = self.ProcessingS3Output(
            s3_uri=uri, local_path=local_path, s3_upload_mode="EndOfJob"
        )
        return self.ProcessingOutput(output_name=name, s3_output=target)

    def output(self, step: str, name: str, local_path: str) -> Any:
        return self.s3_output(name, self.output_path(step, name), local_path)

    def model_builder(self, image: str, model_data: Any, **extra: Any) -> Any:
        # dependencies=None: the default makes register() upload code (an S3 call); a model_path
        # of our own: the default is a fresh folder under /tmp/sagemaker (FINDINGS.md).
        return self.ModelBuilder(
            image_uri=image,
            s3_model_data_url=model_data,
            role_arn=self.role,
            sagemaker_session=self.session,
            model_path=str(self.workdir),
            dependencies=None,
            **extra,
        )

    def scored_evaluate(self) -> tuple[Any, Any]:
        """The small ``evaluate`` step of condition.py and fail.py, and its property file."""
        metrics = self.PropertyFile(name="Metrics", output_name="metrics", path="metrics.json")
        processor = self.ScriptProcessor(
            role=self.role,
            image_uri=self.image("sklearn", "ml.m5.large"),
            command=["python3"],
            instance_type="ml.m5.large",
            instance_count=1,
            sagemaker_session=self.session,
        )
        step = self.ProcessingStep(
            name="evaluate",
            step_args=processor.run(
                code=f"{CODE}/evaluate.py",
                outputs=[self.output("evaluate", "metrics", "/opt/ml/processing/output/metrics")],
            ),
            property_files=[metrics],
        )
        return step, metrics

    def definition(self, parameters: list[Any], steps: list[Any]) -> str:
        pipeline = self.Pipeline(
            name=self.pipeline,
            parameters=sorted(parameters, key=lambda p: p.name),  # smdsl: sorted by name
            steps=steps,
            sagemaker_session=self.session,
        )
        return str(pipeline.definition())


def hand_written(write: Callable[[Sdk], Written], **target: str) -> Json:
    """The definition of the pipeline ``write`` builds, offline, code hashes normalised."""
    with offline_sdk(REGION) as workdir:
        sdk = Sdk(workdir, **target)
        return normalised(sdk.definition(*write(sdk)))


# ---------------------------------------------------------------------------------------------
# One golden test per step kind


def write_processing(sdk: Sdk) -> Written:
    raw = sdk.ParameterString("RawData", default_value=f"{DATA}/raw/")
    workers = sdk.ParameterInteger("Workers", default_value=2)
    ratio = sdk.ParameterFloat("TrainRatio", default_value=0.8)
    processor = sdk.ScriptProcessor(
        role=sdk.role,
        image_uri=sdk.image("sklearn", "ml.m5.large"),
        command=["python3"],
        instance_type="ml.m5.large",
        instance_count=workers,
        volume_size_in_gb=50,
        max_runtime_in_seconds=7200,
        env={"MODE": "full"},
        sagemaker_session=sdk.session,
    )
    report_uri = sdk.Join(on="/", values=[f"{DATA}/reports", sdk.execution_id])
    step = sdk.ProcessingStep(
        name="evaluate",
        display_name="Evaluate-Model",
        description="Scores the model and writes two reports.",
        step_args=processor.run(
            code=f"{CODE}/evaluate.py",
            inputs=[
                sdk.s3_input("raw", raw, "/opt/ml/processing/input/raw"),
                sdk.s3_input("lookup", f"{DATA}/lookup/", "/opt/ml/processing/lookup"),
            ],
            outputs=[
                sdk.output("evaluate", "metrics", "/opt/ml/processing/output/metrics"),
                sdk.s3_output("report", report_uri, "/opt/ml/processing/report"),
            ],
            arguments=[
                "--train-ratio",
                ratio.to_string(),
                "--run",
                sdk.execution_id,
                "--folds",
                "5",
            ],
        ),
        property_files=[
            sdk.PropertyFile(name="Metrics", output_name="metrics", path="metrics.json"),
            sdk.PropertyFile(name="Report", output_name="report", path="summary/report.json"),
        ],
    )
    return [raw, workers, ratio], [step]


def test_processing_step_with_property_files() -> None:
    actual = assert_golden("processing.py", write_processing)
    assert [p["PropertyFileName"] for p in actual["Steps"][0]["PropertyFiles"]] == [
        "Metrics",
        "Report",
    ]


def write_training(sdk: Sdk) -> Written:
    train_data = sdk.ParameterString("TrainData", default_value=f"{DATA}/train/")
    max_depth = sdk.ParameterInteger("MaxDepth", default_value=5)
    instance_type = sdk.ParameterString("TrainInstanceType", default_value="ml.m5.xlarge")
    # A built-in algorithm: the image alone, no SourceCode and no sagemaker_program.
    trainer = sdk.ModelTrainer(
        training_image=sdk.image("xgboost"),
        role=sdk.role,
        sagemaker_session=sdk.session,
        compute=sdk.Compute(instance_type=instance_type, instance_count=2, volume_size_in_gb=40),
        stopping_condition=sdk.StoppingCondition(max_runtime_in_seconds=3600),
        # smdsl: models under s3://<bucket>/<prefix>/<pipeline>/<step>, to which SageMaker adds
        # the job's own name; without a path the SDK looks up the default bucket (an S3 call).
        output_data_config=sdk.OutputDataConfig(
            s3_output_path=f"s3://{BUCKET}/kinds/golden/train", compression_type="GZIP"
        ),
        hyperparameters={
            "objective": "binary:logistic",
            "num_round": 100,
            "max_depth": max_depth.to_string(),
            "eta": 0.3,
        },
        environment={"OMP_NUM_THREADS": "4"},
    )
    channels = [
        sdk.InputData(channel_name="train", data_source=train_data, content_type="text/csv"),
        sdk.InputData(channel_name="validation", data_source=f"{DATA}/validation/"),
    ]
    step = sdk.TrainingStep(name="train", step_args=trainer.train(input_data_config=channels))
    return [train_data, max_depth, instance_type], [step]


def test_training_step_with_a_built_in_algorithm() -> None:
    actual = assert_golden("training.py", write_training)
    hyperparameters = actual["Steps"][0]["Arguments"]["HyperParameters"]
    assert "sagemaker_program" not in hyperparameters
    assert hyperparameters["num_round"] == "100"


def write_condition(sdk: Sdk) -> Written:
    threshold = sdk.ParameterFloat("Threshold", default_value=0.7)
    mode = sdk.ParameterString("Mode", default_value="full")
    retries = sdk.ParameterInteger("Retries", default_value=3)
    evaluate, metrics = sdk.scored_evaluate()
    auc = sdk.JsonGet(step_name="evaluate", property_file=metrics, json_path="auc")
    loss = sdk.JsonGet(step_name="evaluate", property_file=metrics, json_path="loss")
    eq, gt, lt, negated = (
        sdk.ConditionEquals,
        sdk.ConditionGreaterThan,
        sdk.ConditionLessThan,
        sdk.ConditionNot,
    )

    def both(a: Any, b: Any) -> Any:
        # SageMaker has no And inside Or or Not: a & b is Not(Or(Not a, Not b)), as smdsl writes.
        either = sdk.ConditionOr(conditions=[negated(expression=a), negated(expression=b)])
        return negated(expression=either)

    create_model = sdk.ModelStep(
        name="create_model",
        step_args=sdk.model_builder(sdk.image("xgboost"), f"{DATA}/model/model.tar.gz").build(),
    )
    stop = sdk.FailStep(name="stop", error_message="the model is not good enough")
    gate = sdk.ConditionStep(
        name="gate",
        display_name="Quality-Gate",
        description="Every operator smdsl offers.",
        conditions=[
            sdk.ConditionGreaterThanOrEqualTo(left=auc, right=threshold),
            lt(left=loss, right=0.5),
            sdk.ConditionLessThanOrEqualTo(left=retries, right=5),
            gt(left=retries, right=0),
            eq(left=mode, right="full"),
            # != : SageMaker (and the SDK) have no NotEquals condition, so Not(Equals).
            negated(expression=eq(left=mode, right="debug")),
            sdk.ConditionIn(value=mode, in_values=["full", "fast"]),
            sdk.ConditionOr(
                conditions=[
                    gt(left=auc, right=0.9),
                    both(lt(left=loss, right=0.1), eq(left=retries, right=0)),
                ]
            ),
            negated(expression=eq(left=sdk.ExecutionVariables.PIPELINE_NAME, right="legacy")),
            # ~(a & b): De Morgan, Or(Not a, Not b) (SageMaker has no And inside Not).
            sdk.ConditionOr(
                conditions=[
                    negated(expression=gt(left=loss, right=1.0)),
                    negated(expression=eq(left=retries, right=0)),
                ]
            ),
            negated(expression=sdk.ConditionIn(value=mode, in_values=["off", "dry-run"])),
            eq(left=evaluate.properties.ProcessingJobStatus, right="Completed"),
        ],
        if_steps=[create_model],
        else_steps=[stop],
    )
    return [threshold, mode, retries], [evaluate, gate]


def test_condition_step_with_every_operator() -> None:
    actual = assert_golden("condition.py", write_condition)
    gate = steps(actual)["gate"]["Arguments"]
    kinds = [c["Type"] for c in gate["Conditions"]]
    assert kinds[:7] == [
        "GreaterThanOrEqualTo",
        "LessThan",
        "LessThanOrEqualTo",
        "GreaterThan",
        "Equals",
        "Not",
        "In",
    ]
    assert [s["Name"] for s in gate["IfSteps"]] == ["create_model"]
    assert [s["Name"] for s in gate["ElseSteps"]] == ["stop"]
    assert [s["Name"] for s in actual["Steps"]] == ["evaluate", "gate"]  # branches nested only


def write_fail(sdk: Sdk) -> Written:
    threshold = sdk.ParameterFloat("Threshold", default_value=0.7)
    reason = sdk.ParameterString("Reason", default_value="stopped by the operator")
    evaluate, metrics = sdk.scored_evaluate()
    auc = sdk.JsonGet(step_name="evaluate", property_file=metrics, json_path="auc")
    loss = sdk.JsonGet(step_name="evaluate", property_file=metrics, json_path="loss")
    too_low = sdk.FailStep(
        name="too_low",
        display_name="AUC-Too-Low",
        description="Names the AUC and the threshold.",
        error_message=sdk.Join(
            on=" ", values=["AUC", auc, "is below", threshold, "in execution", sdk.execution_id]
        ),
    )
    # A JsonGet declared with type=float is joined as itself, as an untyped one is (too_low):
    # type= only tells validate what the value is compared with.
    typed = sdk.FailStep(name="typed", error_message=sdk.Join(on="=", values=["loss", loss]))
    literal = sdk.FailStep(name="literal", error_message="stopped: nothing to do")
    by_parameter = sdk.FailStep(name="by_parameter", error_message=reason)
    return [threshold, reason], [evaluate, too_low, typed, literal, by_parameter]


def test_fail_steps_with_literal_parameter_and_joined_messages() -> None:
    actual = assert_golden("fail.py", write_fail)
    message = steps(actual)["too_low"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert [next(iter(v)) if isinstance(v, dict) else v for v in message] == [
        "AUC",
        "Std:JsonGet",
        "is below",
        "Get",
        "in execution",
        "Get",
    ]


def write_model(sdk: Sdk) -> Written:
    model_data = sdk.ParameterString("ModelData", default_value=f"{DATA}/model/model.tar.gz")
    create = sdk.ModelStep(
        name="create_model",
        step_args=sdk.model_builder(
            sdk.image("xgboost"),
            model_data,
            instance_type="ml.m5.large",
            env_vars={"LOG_LEVEL": "info"},
        ).build(),
    )
    # Inference code of one's own: the expert uploads sourcedir.tar.gz and names it in the
    # container's environment, as v2's framework models did and the framework containers read;
    # ModelBuilder(source_code=...) would upload from inside build().
    inference = {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": f"{CODE}/sourcedir.tar.gz",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": REGION,
    }
    serve = sdk.ModelStep(
        name="serve",
        step_args=sdk.model_builder(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/golden-server:1.0",
            f"{DATA}/model/other.tar.gz",
            env_vars=inference,
        ).build(),
    )
    return [model_data], [create, serve]


def test_model_steps_from_a_framework_image_and_with_inference_code() -> None:
    actual = assert_golden("model.py", write_model)
    assert {s["Type"] for s in actual["Steps"]} == {"Model"}


def write_register(sdk: Sdk) -> Written:
    approval = sdk.ParameterString("ApprovalStatus", default_value="PendingManualApproval")
    group = sdk.ParameterString("ModelGroup", default_value="GoldenModels")
    reports = sdk.ParameterString("Reports", default_value=f"{DATA}/reports")

    def report(uri: Any) -> Any:
        return sdk.MetricsSource(s3_uri=uri, content_type="application/json")

    metrics = sdk.ModelMetrics(
        model_quality=sdk.ModelQuality(
            statistics=report(sdk.Join(on="/", values=[reports, "statistics.json"])),
            constraints=report(f"{DATA}/reports/constraints.json"),
        ),
        model_data_quality=sdk.ModelDataQuality(
            statistics=report(sdk.Join(on="/", values=[reports, "data-statistics.json"])),
            constraints=report(f"{DATA}/reports/data-constraints.json"),
        ),
    )
    builder = sdk.model_builder(sdk.image("xgboost"), f"{DATA}/model/model.tar.gz")
    register = sdk.ModelStep(
        name="register",
        step_args=builder.register(
            model_package_group_name=group,
            content_types=["text/csv"],
            response_types=["text/csv", "application/json"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.xlarge"],
            model_metrics=metrics,
            approval_status=approval,
            description="XGBoost churn model",
        ),
    )
    return [approval, group, reports], [register]


def test_register_step_with_model_metrics_and_an_approval_parameter() -> None:
    actual = assert_golden("register.py", write_register)
    arguments = actual["Steps"][0]["Arguments"]
    assert arguments["ModelApprovalStatus"] == {"Get": "Parameters.ApprovalStatus"}
    assert sorted(arguments["ModelMetrics"]) == ["ModelDataQuality", "ModelQuality"]


def write_transform(sdk: Sdk) -> Written:
    batch = sdk.ParameterString("BatchData", default_value=f"{DATA}/batch/")
    model_name = sdk.ParameterString("ModelName", default_value="churn-model")
    create = sdk.ModelStep(
        name="create_model",
        step_args=sdk.model_builder(sdk.image("xgboost"), f"{DATA}/model/model.tar.gz").build(),
    )

    def transformer(
        name: str, model: Any, instance_type: str, output_path: Any, **extra: Any
    ) -> Any:
        return sdk.Transformer(
            model_name=model,
            instance_type=instance_type,
            output_path=output_path,  # without one the SDK looks up the default bucket
            base_transform_job_name=name,  # without one a literal model name is looked up
            sagemaker_session=sdk.session,
            **extra,
        )

    from_step = transformer(
        "from_step",
        create.properties.ModelName,
        "ml.m5.xlarge",
        sdk.output_path("from_step", "output"),  # smdsl: the default, execution-scoped
        instance_count=1,
        assemble_with="Line",
    ).transform(data=batch, content_type="text/csv", split_type="Line")
    # A literal model name stays a literal: with base_transform_job_name given (transformer()
    # gives the step's name, as smdsl does), the SDK does not call DescribeModel for it.
    by_name = transformer(
        "by_name",
        "churn-model-2026",
        "ml.m5.large",
        sdk.Join(on="/", values=[f"{DATA}/scores", sdk.execution_id]),
        instance_count=2,
        accept="application/json",
        env={"MODE": "fast"},
    ).transform(data=f"{DATA}/batch/manifest.json", data_type="ManifestFile")
    by_parameter = transformer(
        "by_parameter", model_name, "ml.m5.large", f"{DATA}/scores/fixed/", instance_count=1
    ).transform(data=batch)
    return [batch, model_name], [create] + [
        sdk.TransformStep(name=name, step_args=args)
        for name, args in [
            ("from_step", from_step),
            ("by_name", by_name),
            ("by_parameter", by_parameter),
        ]
    ]


def test_transform_steps_of_a_model_step_a_literal_name_and_a_parameter() -> None:
    actual = assert_golden("transform.py", write_transform)
    names = {
        n: s["Arguments"]["ModelName"] for n, s in steps(actual).items() if n != "create_model"
    }
    assert names == {
        "from_step": {"Get": "Steps.create_model.ModelName"},
        "by_name": "churn-model-2026",
        "by_parameter": {"Get": "Parameters.ModelName"},
    }


# ---------------------------------------------------------------------------------------------
# The whole abalone example


def write_abalone(sdk: Sdk) -> Written:
    """examples/abalone/pipeline.py with smdsl.toml's dev profile, after abalone_sdk.py."""
    data = "s3://smdsl-example-data/abalone"
    processing_instance_count = sdk.ParameterInteger("ProcessingInstanceCount", default_value=1)
    input_data = sdk.ParameterString("InputData", default_value=f"{data}/abalone-dataset.csv")
    batch_data = sdk.ParameterString("BatchData", default_value=f"{data}/abalone-dataset-batch")
    model_approval_status = sdk.ParameterString(
        "ModelApprovalStatus", default_value="PendingManualApproval"
    )
    mse_threshold = sdk.ParameterFloat("MseThreshold", default_value=6.0)
    code = f"s3://{sdk.bucket}/abalone/code/HASH"
    xgboost_image = sdk.image("xgboost")

    def processor(image: str, instance_count: Any) -> Any:
        return sdk.ScriptProcessor(
            role=sdk.role,
            image_uri=image,
            command=["python3"],
            instance_type="ml.m5.xlarge",
            instance_count=instance_count,
            sagemaker_session=sdk.session,
        )

    step_process = sdk.ProcessingStep(
        name="preprocess",
        step_args=processor(sdk.image("sklearn"), processing_instance_count).run(
            code=f"{code}/preprocess.py",
            inputs=[sdk.s3_input("raw", input_data, "/opt/ml/processing/input")],
            outputs=[
                sdk.output("preprocess", name, f"/opt/ml/processing/{name}")
                for name in ("train", "validation", "test")
            ],
        ),
    )
    outputs = step_process.properties.ProcessingOutputConfig.Outputs
    trainer = sdk.ModelTrainer(
        training_image=xgboost_image,
        role=sdk.role,
        sagemaker_session=sdk.session,
        compute=sdk.Compute(instance_type="ml.m5.xlarge", instance_count=1, volume_size_in_gb=30),
        # smdsl: no max_runtime given, so the SDK's default (86400 s), written out.
        stopping_condition=sdk.StoppingCondition(max_runtime_in_seconds=86400),
        output_data_config=sdk.OutputDataConfig(
            s3_output_path=f"s3://{sdk.bucket}/abalone/abalone-dev/train", compression_type="GZIP"
        ),
        hyperparameters={
            "objective": "reg:linear",
            "num_round": 50,
            "max_depth": 5,
            "eta": 0.2,
            "gamma": 4,
            "min_child_weight": 6,
            "subsample": 0.7,
        },
    )
    step_train = sdk.TrainingStep(
        name="train",
        step_args=trainer.train(
            input_data_config=[
                sdk.InputData(
                    channel_name=name,
                    data_source=outputs[name].S3Output.S3Uri,
                    content_type="text/csv",
                )
                for name in ("train", "validation")
            ]
        ),
    )
    model_data = step_train.properties.ModelArtifacts.S3ModelArtifacts
    evaluation_report = sdk.PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    step_eval = sdk.ProcessingStep(
        name="evaluate",
        step_args=processor(xgboost_image, 1).run(
            code=f"{code}/evaluate.py",
            inputs=[
                sdk.s3_input("model", model_data, "/opt/ml/processing/model"),
                sdk.s3_input("test", outputs["test"].S3Output.S3Uri, "/opt/ml/processing/test"),
            ],
            outputs=[sdk.output("evaluate", "evaluation", "/opt/ml/processing/evaluation")],
        ),
        property_files=[evaluation_report],
    )
    evaluation_uri = step_eval.properties.ProcessingOutputConfig.Outputs["evaluation"]
    statistics = sdk.MetricsSource(
        s3_uri=sdk.Join(on="/", values=[evaluation_uri.S3Output.S3Uri, "evaluation.json"]),
        content_type="application/json",
    )
    step_register = sdk.ModelStep(
        name="register",
        step_args=sdk.model_builder(xgboost_image, model_data).register(
            model_package_group_name="AbaloneModelPackageGroup",
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.t2.medium", "ml.m5.xlarge"],
            transform_instances=["ml.m5.xlarge"],
            model_metrics=sdk.ModelMetrics(model_quality=sdk.ModelQuality(statistics=statistics)),
            approval_status=model_approval_status,
        ),
    )
    step_create_model = sdk.ModelStep(
        name="create_model",
        step_args=sdk.model_builder(xgboost_image, model_data, instance_type="ml.m5.large").build(),
    )
    transformer = sdk.Transformer(
        model_name=step_create_model.properties.ModelName,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        assemble_with="Line",
        # smdsl: the default, execution-scoped output path (abalone_sdk.py used PIPELINE_NAME).
        output_path=sdk.output_path("transform", "output"),
        sagemaker_session=sdk.session,
    )
    step_transform = sdk.TransformStep(
        name="transform",
        step_args=transformer.transform(
            data=batch_data, content_type="text/csv", split_type="Line"
        ),
    )
    mse = sdk.JsonGet(
        step_name="evaluate",
        property_file=evaluation_report,
        json_path="regression_metrics.mse.value",
    )
    step_fail = sdk.FailStep(
        name="mse_too_high",
        error_message=sdk.Join(
            on=" ",
            values=["Execution failed: MSE", mse, "is above the threshold", mse_threshold],
        ),
    )
    step_cond = sdk.ConditionStep(
        name="check_mse",
        conditions=[sdk.ConditionLessThanOrEqualTo(left=mse, right=mse_threshold)],
        if_steps=[step_register, step_create_model, step_transform],
        else_steps=[step_fail],
    )
    parameters = [
        processing_instance_count,
        input_data,
        batch_data,
        model_approval_status,
        mse_threshold,
    ]
    return parameters, [step_process, step_train, step_eval, step_cond]


def compile_abalone() -> str:
    module = load_pipeline(ABALONE)
    definition = compile_pipeline(build_graph(module, load_env(module.path, "dev"))).definition
    assert check_definition(definition) == []
    return definition


def test_abalone_compiles_to_the_hand_written_definition() -> None:
    compiled = compile_abalone()
    actual = normalised(compiled)
    expected = hand_written(
        write_abalone,
        role="arn:aws:iam::111122223333:role/SageMakerPipelineRole",
        bucket="smdsl-abalone-dev",
        prefix="abalone",
        pipeline="abalone-dev",
    )
    assert steps(actual) == steps(expected)
    assert actual == expected
    assert len(HASH.findall(compiled)) == 2  # preprocess.py and evaluate.py


def test_abalone_compiles_to_the_same_bytes_twice() -> None:
    first, second = compile_abalone(), compile_abalone()
    assert first.encode() == second.encode()
    assert '"Name":"check_mse"' in first

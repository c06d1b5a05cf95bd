"""Abalone: AWS's canonical SageMaker pipeline, in smdsl.

Preprocess the UCI abalone data, train XGBoost's built-in algorithm on it, evaluate the model on
the test split, and when its mean squared error is at most MseThreshold register it, create it
and run a batch transform with it; otherwise fail with a message that names the threshold.
"""

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
input_data = param("InputData", default="s3://smdsl-example-data/abalone/abalone-dataset.csv")
batch_data = param("BatchData", default="s3://smdsl-example-data/abalone/abalone-dataset-batch")
model_approval_status = param("ModelApprovalStatus", default="PendingManualApproval")
mse_threshold = param("MseThreshold", default=6.0)

XGBOOST = {"framework": "xgboost", "framework_version": "1.7-1"}


@processing_step(
    instance_type="ml.m5.xlarge",
    instance_count=processing_instance_count,
    framework="sklearn",
    framework_version="1.2-1",
)
def preprocess() -> Processing:
    return Processing(
        code="code/preprocess.py",
        inputs={"raw": ProcessingInput(source=input_data, local_path="/opt/ml/processing/input")},
        outputs={
            "train": ProcessingOutput(local_path="/opt/ml/processing/train"),
            "validation": ProcessingOutput(local_path="/opt/ml/processing/validation"),
            "test": ProcessingOutput(local_path="/opt/ml/processing/test"),
        },
    )


@training_step(instance_type="ml.m5.xlarge", **XGBOOST)
def train(preprocess: Processing) -> Training:
    # No entry_point: the image runs XGBoost's built-in algorithm.
    return Training(
        inputs={
            "train": TrainingInput(source=preprocess.outputs["train"], content_type="text/csv"),
            "validation": TrainingInput(
                source=preprocess.outputs["validation"], content_type="text/csv"
            ),
        },
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


@processing_step(instance_type="ml.m5.xlarge", **XGBOOST)
def evaluate(train: Training, preprocess: Processing) -> Processing:
    return Processing(
        code="code/evaluate.py",
        inputs={
            "model": ProcessingInput(
                source=train.model_artifacts, local_path="/opt/ml/processing/model"
            ),
            "test": ProcessingInput(
                source=preprocess.outputs["test"], local_path="/opt/ml/processing/test"
            ),
        },
        outputs={"evaluation": ProcessingOutput(local_path="/opt/ml/processing/evaluation")},
        property_files={"EvaluationReport": PropertyFile("evaluation", "evaluation.json")},
    )


@condition_step
def check_mse(evaluate: Processing) -> Condition:
    mse = evaluate.json_get("EvaluationReport", "regression_metrics.mse.value", type=float)
    return Condition(
        when=mse <= mse_threshold,
        then=[register, create_model, transform],
        otherwise=[mse_too_high],
    )


@register_step(**XGBOOST)
def register(train: Training, evaluate: Processing) -> Register:
    return Register(
        model_data=train.model_artifacts,
        model_package_group="AbaloneModelPackageGroup",
        approval_status=model_approval_status,
        content_types=["text/csv"],
        response_types=["text/csv"],
        inference_instances=["ml.t2.medium", "ml.m5.xlarge"],
        transform_instances=["ml.m5.xlarge"],
        metrics=ModelMetrics(
            model_statistics=join(evaluate.outputs["evaluation"], "evaluation.json", on="/")
        ),
    )


@model_step(instance_type="ml.m5.large", **XGBOOST)
def create_model(train: Training) -> Model:
    return Model(model_data=train.model_artifacts)


@transform_step(instance_type="ml.m5.xlarge")
def transform(create_model: Model) -> Transform:
    return Transform(
        model=create_model.model_name,
        input=batch_data,
        content_type="text/csv",
        split_type="Line",
        assemble_with="Line",
    )


@fail_step
def mse_too_high(evaluate: Processing) -> Fail:
    mse = evaluate.json_get("EvaluationReport", "regression_metrics.mse.value")
    return Fail(
        message=join("Execution failed: MSE", mse, "is above the threshold", mse_threshold, on=" ")
    )

"""Quickstart: split a churn data set, then train an XGBoost model on it."""

from smdsl import Env, Processing, Training, param, processing_step, training_step

input_data = param("InputData", default="s3://smdsl-example-data/churn/raw/")
train_ratio = param("TrainRatio", default=0.8)
max_depth = param("MaxDepth", default=5)


@processing_step(instance_type="ml.m5.xlarge", framework="sklearn", framework_version="1.2-1")
def preprocess() -> Processing:
    return Processing(
        code="code/preprocess.py",
        inputs={"raw": input_data},
        outputs=["train", "validation", "test"],
        arguments=["--train-ratio", train_ratio],
    )


@training_step(
    instance_type="ml.m5.xlarge",
    framework="xgboost",
    framework_version="1.7-1",
    max_runtime="2h",
)
def train(preprocess: Processing, env: Env) -> Training:
    return Training(
        entry_point="code/train.py",
        inputs={
            "train": preprocess.outputs["train"],
            "validation": preprocess.outputs["validation"],
        },
        hyperparameters={
            "max_depth": max_depth,
            "eta": 0.2,
            "num_round": 100 if env.name == "prod" else 20,
        },
        metric_definitions={"validation:auc": r"validation-auc:([0-9\.]+)"},
    )

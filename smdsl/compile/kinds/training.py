"""Compile a training step: a ModelTrainer job, script mode or a built-in algorithm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smdsl.compile.bundles import StepCode
from smdsl.compile.bundles import training_code as plan_training_code
from smdsl.compile.context import StepBuild
from smdsl.declare.configs import Training, TrainingInput
from smdsl.declare.env import Env
from smdsl.declare.options import JobOptions
from smdsl.graph.model import StepNode


def training_code(node: StepNode, env: Env, project: Path) -> StepCode | None:
    """The source bundle of a script-mode training step; None for a built-in algorithm."""
    config = node.config
    assert isinstance(config, Training)
    if config.entry_point is None:
        return None
    return plan_training_code(config, node.base_dir, env, project)


def compile_training(build: StepBuild) -> Any:
    from sagemaker.core.shapes import MetricDefinition
    from sagemaker.core.training.configs import (
        Compute,
        InputData,
        OutputDataConfig,
        StoppingCondition,
    )
    from sagemaker.mlops.workflow.steps import TrainingStep
    from sagemaker.train import ModelTrainer

    config, options, code = build.config, build.options, build.code
    assert isinstance(config, Training) and isinstance(options, JobOptions)
    env = build.compilation.graph.env
    hyperparameters: dict[str, Any] = {
        k: build.value(v, as_string=True) for k, v in config.hyperparameters.items()
    }
    if code is not None:  # script mode: the framework container runs the user's script
        hyperparameters.update(
            {
                "sagemaker_program": code.entry_point,
                "sagemaker_submit_directory": code.entry_uri,
                "sagemaker_region": build.region,
            }
        )
    output_path = (
        build.value(config.output_path)
        if config.output_path is not None
        else "s3://"
        + "/".join(
            [build.bucket]
            + [p for p in (env.prefix, build.compilation.graph.pipeline_name) if p]
            + [build.name]
        )
    )
    trainer = ModelTrainer(
        training_image=build.image("training"),
        role=build.role,
        base_job_name=build.name,
        sagemaker_session=build.session,
        compute=Compute(
            instance_type=build.value(options.instance_type),
            instance_count=build.value(options.instance_count),
            volume_size_in_gb=options.volume_size_gb,
        ),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=options.max_runtime),
        output_data_config=OutputDataConfig(s3_output_path=output_path, compression_type="GZIP"),
        hyperparameters=hyperparameters,
        environment=build.environment(),
    )
    if config.metric_definitions:
        trainer = trainer.with_metric_definitions(
            [MetricDefinition(name=k, regex=v) for k, v in config.metric_definitions.items()]
        )
    channels = []
    for name, spec in config.inputs.items():
        source = spec.source if isinstance(spec, TrainingInput) else spec
        content_type = spec.content_type if isinstance(spec, TrainingInput) else None
        extra = {"content_type": content_type} if content_type else {}
        channels.append(InputData(channel_name=name, data_source=build.value(source), **extra))
    step_args = trainer.train(input_data_config=channels or None)
    return TrainingStep(step_args=step_args, **build.settings)


_TRAINING_FIELDS = {
    "ResourceConfig.InstanceCount": "instance_count",
    "ResourceConfig.InstanceType": "instance_type",
    "ResourceConfig.VolumeSizeInGB": "volume_size_gb",
    "StoppingCondition.MaxRuntimeInSeconds": "max_runtime",
    "StoppingCondition": "max_runtime",
    "AlgorithmSpecification.TrainingImage": "image_uri",
    "AlgorithmSpecification.MetricDefinitions": "metric_definitions",
    "OutputDataConfig.S3OutputPath": "output_path",
    "HyperParameters": "hyperparameters",
    "Environment": "environment",
    "InputDataConfig": "inputs",
}
_OWN_HYPERPARAMETERS = {
    "sagemaker_program": "entry_point",
    "sagemaker_submit_directory": "entry_point",
}
"""Hyperparameters smdsl sets for script mode: the field they come from."""


def argument_field(path: str, arguments: dict[str, Any]) -> str | None:
    """The field of a training step that ``path`` of its CreateTrainingJob request came from:
    ``HyperParameters.k`` -> ``hyperparameters['k']``, ``InputDataConfig[i]...`` ->
    ``inputs['<its ChannelName>']``, ``ResourceConfig.InstanceType`` -> ``instance_type``;
    None for any other path."""
    from smdsl.compile.oracle import item_name, list_index, map_key

    for member, field in (("HyperParameters", "hyperparameters"), ("Environment", "environment")):
        key = map_key(path, member)
        if key is not None:
            if field == "hyperparameters" and key in _OWN_HYPERPARAMETERS:
                return _OWN_HYPERPARAMETERS[key]
            return f"{field}[{key!r}]"
    for member, field, name in (
        ("InputDataConfig", "inputs", "ChannelName"),
        ("AlgorithmSpecification.MetricDefinitions", "metric_definitions", "Name"),
    ):
        index = list_index(path, member)
        if index is not None:
            found = item_name(arguments, member, index, name)
            return field if found is None else f"{field}[{found!r}]"
    return _TRAINING_FIELDS.get(path)

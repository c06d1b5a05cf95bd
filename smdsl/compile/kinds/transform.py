"""Compile a batch transform step: a Transformer over the step's input.

The model is a model step's ``model_name`` (a step property), a parameter or a literal name. The
SDK calls DescribeModel for a literal name when the definition is built unless the transformer has
a ``base_transform_job_name``, which smdsl always gives (the step's name).
"""

from __future__ import annotations

from typing import Any

from smdsl.compile.context import StepBuild
from smdsl.declare.models import Transform
from smdsl.declare.options import TransformOptions


def compile_transform(build: StepBuild) -> Any:
    from sagemaker.core.transformer import Transformer
    from sagemaker.mlops.workflow.steps import TransformStep

    config, options = build.config, build.options
    assert isinstance(config, Transform) and isinstance(options, TransformOptions)
    model = build.value(config.model)
    output_path = (
        build.value(config.output_path)
        if config.output_path is not None
        else build.compilation.default_output(build.name, "output")
    )
    transformer = Transformer(
        model_name=model,
        instance_type=build.value(options.instance_type),
        instance_count=build.value(options.instance_count),
        output_path=output_path,
        accept=config.accept,
        assemble_with=config.assemble_with,
        env=build.environment() or None,
        base_transform_job_name=build.name,
        sagemaker_session=build.session,
    )
    step_args = transformer.transform(
        data=build.value(config.input),
        data_type=config.data_type,
        content_type=config.content_type,
        split_type=config.split_type,
    )
    return TransformStep(step_args=step_args, **build.settings)


_TRANSFORM_FIELDS = {
    "ModelName": "model",
    "TransformInput.DataSource.S3DataSource.S3Uri": "input",
    "TransformInput.DataSource.S3DataSource.S3DataType": "data_type",
    "TransformInput.ContentType": "content_type",
    "TransformInput.SplitType": "split_type",
    "TransformOutput.S3OutputPath": "output_path",
    "TransformOutput.Accept": "accept",
    "TransformOutput.AssembleWith": "assemble_with",
    "TransformResources.InstanceType": "instance_type",
    "TransformResources.InstanceCount": "instance_count",
    "Environment": "environment",
}


def argument_field(path: str, arguments: dict[str, Any]) -> str | None:
    """The field of a transform step that ``path`` of its CreateTransformJob request came
    from: ``TransformResources.InstanceType`` -> ``instance_type``, ``Environment.X`` ->
    ``environment['X']``, ``TransformInput.DataSource...`` -> ``input``; None for any other."""
    from smdsl.compile.oracle import map_key, under

    key = map_key(path, "Environment")
    if key is not None:
        return f"environment[{key!r}]"
    if path not in _TRANSFORM_FIELDS and under(path, "TransformInput.DataSource"):
        return "input"
    return _TRANSFORM_FIELDS.get(path)

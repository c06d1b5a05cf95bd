"""Compile model steps: create a model and register a model package, with ModelBuilder.

``ModelBuilder`` is given ``dependencies=None`` (otherwise ``register()`` uploads code and looks
for the default bucket: an S3 call) and a ``model_path`` in the compilation's scratch folder
(otherwise each ``build()`` creates a folder under /tmp/sagemaker). Inference code of the user's
own is packed by smdsl like training code and named in the container's environment
(``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``), as the framework containers read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smdsl.compile.bundles import StepCode, inference_bundle
from smdsl.compile.context import StepBuild
from smdsl.declare.env import Env
from smdsl.declare.models import Model, ModelMetrics, Register
from smdsl.graph.model import StepNode


def inference_code(node: StepNode, env: Env, project: Path) -> StepCode | None:
    """The source bundle of a model's inference code, if it has code of its own."""
    config = node.config
    assert isinstance(config, (Model, Register))
    if config.entry_point is None:
        return None
    return inference_bundle(config.entry_point, config.source_dir, node.base_dir, env, project)


def _builder(build: StepBuild) -> Any:
    from sagemaker.serve import ModelBuilder

    config = build.config
    assert isinstance(config, (Model, Register))
    environment = build.environment()
    code = build.code
    if code is not None:
        environment.update(
            {
                "SAGEMAKER_PROGRAM": code.entry_point,
                "SAGEMAKER_SUBMIT_DIRECTORY": code.entry_uri,
                "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                "SAGEMAKER_REGION": build.region,
            }
        )
    folder = build.compilation.workdir / "model-builder" / build.name
    folder.mkdir(parents=True, exist_ok=True)
    return ModelBuilder(
        image_uri=build.image("inference"),
        s3_model_data_url=build.value(config.model_data),
        role_arn=build.role,
        sagemaker_session=build.session,
        env_vars=environment or None,
        model_path=str(folder),
        dependencies=None,
    )


def compile_model(build: StepBuild) -> Any:
    from sagemaker.mlops.workflow.model_step import ModelStep

    return ModelStep(step_args=_builder(build).build(), **build.settings)


def compile_register(build: StepBuild) -> Any:
    from sagemaker.mlops.workflow.model_step import ModelStep

    config = build.config
    assert isinstance(config, Register)
    step_args = _builder(build).register(
        model_package_group_name=build.value(config.model_package_group),
        content_types=config.content_types or None,
        response_types=config.response_types or None,
        inference_instances=config.inference_instances or None,
        transform_instances=config.transform_instances or None,
        model_metrics=_metrics(build, config.metrics),
        approval_status=build.value(config.approval_status),
        description=config.model_description,
    )
    return ModelStep(step_args=step_args, **build.settings)


def _metrics(build: StepBuild, metrics: ModelMetrics | None) -> Any:
    if metrics is None:
        return None
    from sagemaker.core.shapes import MetricsSource, ModelDataQuality, ModelQuality
    from sagemaker.core.shapes import ModelMetrics as SdkMetrics

    def source(uri: Any) -> Any:
        if uri is None:
            return None
        return MetricsSource(s3_uri=build.value(uri), content_type=metrics.content_type)

    quality = {
        "statistics": source(metrics.model_statistics),
        "constraints": source(metrics.model_constraints),
    }
    data = {
        "statistics": source(metrics.data_statistics),
        "constraints": source(metrics.data_constraints),
    }
    found: dict[str, Any] = {}
    if any(quality.values()):
        found["model_quality"] = ModelQuality(**{k: v for k, v in quality.items() if v})
    if any(data.values()):
        found["model_data_quality"] = ModelDataQuality(**{k: v for k, v in data.items() if v})
    return SdkMetrics(**found)


_CONTAINER_FIELDS = {
    "Image": "image_uri",
    "ModelDataUrl": "model_data",
    "Environment": "environment",
}
_OWN_VARIABLES = {"SAGEMAKER_PROGRAM": "entry_point", "SAGEMAKER_SUBMIT_DIRECTORY": "entry_point"}
"""Container variables smdsl sets for inference code of the user's own: the field behind them."""
_PACKAGE_FIELDS = {
    "ModelPackageGroupName": "model_package_group",
    "ModelApprovalStatus": "approval_status",
    "ModelPackageDescription": "model_description",
    "ModelMetrics": "metrics",
}
_PACKAGE_LISTS = {
    "InferenceSpecification.SupportedContentTypes": "content_types",
    "InferenceSpecification.SupportedResponseMIMETypes": "response_types",
    "InferenceSpecification.SupportedRealtimeInferenceInstanceTypes": "inference_instances",
    "InferenceSpecification.SupportedTransformInstanceTypes": "transform_instances",
}
_METRICS = {
    "ModelMetrics.ModelQuality.Statistics": "model_statistics",
    "ModelMetrics.ModelQuality.Constraints": "model_constraints",
    "ModelMetrics.ModelDataQuality.Statistics": "data_statistics",
    "ModelMetrics.ModelDataQuality.Constraints": "data_constraints",
}


def argument_field(path: str, arguments: dict[str, Any]) -> str | None:
    """The field of a model step (CreateModel) or register step (CreateModelPackage) that
    ``path`` of its request came from: ``PrimaryContainer.ModelDataUrl`` -> ``model_data``,
    ``...Environment.X`` -> ``environment['X']``, ``ModelPackageGroupName`` ->
    ``model_package_group``, ``InferenceSpecification.SupportedContentTypes[0]`` ->
    ``content_types[0]``; None for any other path."""
    from smdsl.compile.oracle import list_index, under

    for container in ("PrimaryContainer", "Containers", "InferenceSpecification.Containers"):
        rest = _container_rest(path, container)
        if rest is not None:
            return _container_field(rest)
    for member, field in _PACKAGE_LISTS.items():
        index = list_index(path, member)
        if index is not None:
            return f"{field}[{index}]"
        if path == member:
            return field
    for member, field in _METRICS.items():
        if path == f"{member}.ContentType":
            return "metrics.content_type"
        if under(path, member):
            return f"metrics.{field}"
    return _PACKAGE_FIELDS.get(path)


def _container_rest(path: str, container: str) -> str | None:
    """What follows the container in ``path`` (``Environment.X``), or None if it is not in it."""
    from smdsl.compile.oracle import list_index

    index = list_index(path, container)
    if index is not None:
        head = f"{container}[{index}]"
    elif path.startswith(f"{container}."):
        head = container
    else:
        return None
    return path[len(head) + 1 :] if path.startswith(f"{head}.") else None


def _container_field(rest: str) -> str | None:
    from smdsl.compile.oracle import map_key

    key = map_key(rest, "Environment")
    if key is not None:
        return _OWN_VARIABLES.get(key, f"environment[{key!r}]")
    return _CONTAINER_FIELDS.get(rest)

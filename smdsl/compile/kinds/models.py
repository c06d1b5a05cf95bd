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

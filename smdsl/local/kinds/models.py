"""Model and register steps, run locally: recorded in the local registry, as CreateModel and
CreateModelPackage would create them (``smdsl models --local`` lists them)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from smdsl.declare.models import Model, Register, _InferenceCode
from smdsl.declare.options import ModelOptions
from smdsl.local.data import tree_files
from smdsl.local.errors import LocalRunError
from smdsl.local.registry import Registry
from smdsl.local.results import StepResult
from smdsl.local.step import LocalRunner, LocalStep


def _model_record(step: LocalStep, config: _InferenceCode) -> dict[str, Any]:
    """What a model is made of in a local run: its artifacts, image and inference code."""
    options = step.options
    assert isinstance(options, ModelOptions)
    model_data = _model_data(step, config.model_data)
    record: dict[str, Any] = {
        "model_data": str(model_data),
        "framework": options.framework,
        "framework_version": options.framework_version,
        "image_uri": options.image_uri,
        "environment": {k: str(v) for k, v in options.environment.items()},
        "pipeline": step.run.pipeline,
        "run_id": step.run.run_id,
        "step": step.name,
        "entry_point": None,
        "code_dir": None,
    }
    code = config.code_paths()
    if code is not None:
        folder = step.dir / "code"
        script = step.stage_code(code, folder)
        record["entry_point"] = script.relative_to(folder).as_posix()
        record["code_dir"] = str(folder)
    return record


def _model_data(step: LocalStep, source: Any) -> Path:
    value = step.resolve(source)
    if isinstance(value, str) and value.startswith("s3://"):
        files = step.run.data.objects(value)
        if not files:
            raise LocalRunError(f"model_data: {step.run.data.missing(value)}")
        chosen = files.get("model.tar.gz") or (
            next(iter(files.values())) if len(files) == 1 else None
        )
        if chosen is None:
            raise LocalRunError(
                f"model_data: {value} names {len(files)} objects; name the model.tar.gz itself"
            )
        step.dir.mkdir(parents=True, exist_ok=True)
        target = step.dir / "model.tar.gz"
        shutil.copyfile(chosen, target)
        return target
    path = Path(str(value))
    if path.is_dir():
        path = path / "model.tar.gz"
    if not path.is_file():
        raise LocalRunError(f"model_data: {value} is not a model.tar.gz")
    return path


@cache
def _approval_statuses() -> tuple[str, ...]:
    """The approval statuses SageMaker's API takes, from botocore's service model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return tuple(model.shape_for("ModelApprovalStatus").enum)


def _identity(record: dict[str, Any]) -> str:
    """A model by what it is made of: artifacts and code by content, image and environment."""
    digest = hashlib.sha256()
    kept = {k: record[k] for k in ("framework", "framework_version", "image_uri", "environment")}
    digest.update(json.dumps(kept, sort_keys=True).encode())
    for path in (record["model_data"], record["code_dir"]):
        if path:
            for file in tree_files(Path(path)):
                digest.update(file.name.encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


class _ModelDataRunner(LocalRunner):
    """A step that reads a model's artifacts: they must be there before the run."""

    @classmethod
    def problems(cls, step: LocalStep) -> Iterator[tuple[str, str | None]]:
        assert isinstance(step.config, _InferenceCode)
        yield from step.data_problems(step.config.model_data, "model_data")


class ModelRunner(_ModelDataRunner):
    @classmethod
    def run(cls, step: LocalStep) -> StepResult:
        config = step.config
        assert isinstance(config, Model)
        name = f"{step.run.pipeline}-{step.name}-{step.run.run_id}"
        record = _model_record(step, config)
        Registry.at(step.run.state_dir).add_model(name, record)
        return StepResult(
            properties={"ModelName": name}, notes=[f"model {name}"], fingerprint=_identity(record)
        )


class RegisterRunner(_ModelDataRunner):
    @classmethod
    def run(cls, step: LocalStep) -> StepResult:
        config = step.config
        assert isinstance(config, Register)
        group = str(step.resolve(config.model_package_group))
        status = str(step.resolve(config.approval_status))
        allowed = _approval_statuses()
        if status not in allowed:
            raise LocalRunError(
                f"approval_status: {status!r} is not one CreateModelPackage accepts "
                f"({', '.join(allowed)})"
            )
        record = _model_record(step, config)
        metrics = {}
        if config.metrics is not None:
            fields = (
                "model_statistics",
                "model_constraints",
                "data_statistics",
                "data_constraints",
            )
            for field in fields:
                value = getattr(config.metrics, field)
                if value is not None:
                    metrics[field] = step.text(value)
        record.update(
            approval_status=status,
            content_types=list(config.content_types),
            response_types=list(config.response_types),
            inference_instances=list(config.inference_instances),
            transform_instances=list(config.transform_instances),
            metrics=metrics,
            description=config.model_description,
        )
        version = Registry.at(step.run.state_dir).add_package(group, record)
        arn = f"local:model-package/{group}/{version}"
        return StepResult(
            properties={"ModelPackageArn": arn, "ModelPackageVersion": version},
            notes=[f"{group} version {version} ({record['approval_status']})"],
        )

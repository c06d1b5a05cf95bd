"""Checks of one step at a time: names, code paths and instance types SageMaker would refuse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from smdsl.declare.base import StepConfig
from smdsl.declare.names import SAGEMAKER_NAME as SAGEMAKER_NAME
from smdsl.declare.params import Parameter
from smdsl.declare.validation import describe_validation as describe_validation
from smdsl.errors import did_you_mean
from smdsl.graph.codepaths import code_problems
from smdsl.graph.instances import instance_types

_USES = {
    "ProductionVariantInstanceType": "real-time inference",
    "TransformInstanceType": "batch transform",
}


def config_problems(
    config: StepConfig, base: Path, root: Path | None = None
) -> Iterator[tuple[str, str]]:
    """(message, field) for each name SageMaker would reject and each code path missing.

    ``base`` is the pipeline file's folder; code must lie in the project folder ``root``
    (default ``base``), see :mod:`smdsl.graph.codepaths`.
    """
    yield from config.name_problems()
    for field_name, shape, value in config.instance_types():
        known = instance_types(shape)
        if value not in known:
            yield (
                f"{value!r} is not an instance type SageMaker offers for "
                f"{_USES.get(shape, shape)}{did_you_mean(value, known)}",
                field_name,
            )
    paths = config.code_paths()
    if paths is not None:
        yield from code_problems(paths, base, root or base)


def instance_type_problem(kind: str, shape: str, declared: str | Parameter) -> str | None:
    """Why ``declared`` (or a parameter's default) is no instance type of the botocore enum
    ``shape``, if it is not; ``kind`` names the step kind in the message."""
    value = declared if isinstance(declared, str) else declared.default
    known = instance_types(shape)
    if isinstance(value, str) and value not in known:
        return (
            f"{value!r} is not a {kind} instance type SageMaker offers{did_you_mean(value, known)}"
        )
    return None

"""The instance types SageMaker offers, read from the service model that botocore ships.

botocore's model of the SageMaker API lists every instance type a processing or training job
accepts; it is current with each botocore release and needs no network. Loading it costs about
0.3 s, so the enums smdsl checks against are derived from it once per botocore installation and
kept in smdsl's cache (:mod:`smdsl.graph.cache`); the model is loaded again only when botocore
changes, or when a shape not kept is asked for.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from smdsl.graph import cache

SHAPES = (
    "ProcessingInstanceType",
    "TrainingInstanceType",
    "TransformInstanceType",
    "ProductionVariantInstanceType",
)
"""The enums the step kinds check against: derived together, since loading the model is the cost."""

SERVICE_MODEL = ("sagemaker", "*", "service-2")
"""botocore's data file of the SageMaker API (its newest version)."""


@functools.cache
def instance_types(shape: str) -> frozenset[str]:
    """Every instance type the botocore enum ``shape`` ("ProcessingInstanceType",
    "TrainingInstanceType", "TransformInstanceType"...) lists."""
    key = cache.botocore_key(SERVICE_MODEL)
    kept = _valid(cache.load("instance-types", key))
    if kept is not None and shape in kept:
        return frozenset(kept[shape])
    derived = {**(kept or {}), **derive_instance_types(shape)}
    cache.store("instance-types", key, derived)
    return frozenset(derived[shape])


def derive_instance_types(shape: str) -> dict[str, list[str]]:
    """The enum ``shape`` as botocore's SageMaker model lists it, with those of :data:`SHAPES`
    that the model has. botocore's error for ``shape`` (no such shape, or no enum) is raised."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    derived = {shape: sorted(frozenset(model.shape_for(shape).enum))}
    for other in SHAPES:
        with contextlib.suppress(Exception):  # a botocore without it: asked for, it raises
            derived.setdefault(other, sorted(frozenset(model.shape_for(other).enum)))
    return derived


def _valid(value: Any) -> dict[str, list[str]] | None:
    """``value`` if it is what :func:`instance_types` keeps: enums by shape."""
    if not isinstance(value, dict):
        return None
    for shape, enum in value.items():
        if not isinstance(shape, str) or not isinstance(enum, list):
            return None
        if not all(isinstance(item, str) for item in enum):
            return None
    return value

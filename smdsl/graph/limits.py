"""The limits SageMaker puts on a request's values, read from the service model botocore ships.

A member of a request shape carries its limits as metadata: ``min`` and ``max`` (a number's
range, a string's or a map's length), ``pattern`` (a Java regex) and, for a map, those of its
keys and values. ``ProcessingClusterConfig.InstanceCount`` is 1 to 100, a processing job's
environment variable names match ``[a-zA-Z_][a-zA-Z0-9_]*``. smdsl types none of these by hand:
the members it checks (:data:`MEMBERS`) are derived together from the model, once per botocore
installation, and kept in smdsl's cache (:mod:`smdsl.graph.cache`) as the instance types are.
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from typing import Any

from smdsl.graph import cache
from smdsl.graph.instances import SERVICE_MODEL

MEMBERS = (
    ("ProcessingClusterConfig", "InstanceCount"),
    ("ProcessingClusterConfig", "VolumeSizeInGB"),
    ("ProcessingStoppingCondition", "MaxRuntimeInSeconds"),
    ("CreateProcessingJobRequest", "Environment"),
    ("ResourceConfig", "InstanceCount"),
    ("ResourceConfig", "VolumeSizeInGB"),
    ("StoppingCondition", "MaxRuntimeInSeconds"),
    ("CreateTrainingJobRequest", "Environment"),
    ("TransformResources", "InstanceCount"),
    ("CreateTransformJobRequest", "Environment"),
    ("ContainerDefinition", "Environment"),
)
"""The request members smdsl checks values against: derived together, since loading the model
is the cost."""

_KEPT = ("min", "max", "pattern")


@dataclass(frozen=True)
class Limits:
    """What SageMaker accepts for one member: a range or a length, a pattern; for a map, the
    limits of its keys and of its values too."""

    shape: str
    """The member's own shape name (``ProcessingInstanceCount``), for messages."""
    min: int | float | None = None
    max: int | float | None = None
    pattern: str | None = None
    key: Limits | None = None
    value: Limits | None = None

    def out_of_range(self, number: int | float) -> bool:
        """Whether ``number`` lies outside ``min`` to ``max``."""
        return (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        )

    def describe_range(self) -> str:
        """``1 to 100``, ``at least 1`` or ``at most 10``."""
        if self.min is not None and self.max is not None:
            return f"{self.min:,} to {self.max:,}"
        if self.min is not None:
            return f"at least {self.min:,}"
        return f"at most {self.max:,}" if self.max is not None else "any number"

    def matches(self, text: str) -> bool:
        """Whether ``text`` fits the pattern (a pattern Python cannot read is not checked) and
        is no longer than ``max``."""
        if self.max is not None and len(text) > self.max:
            return False
        compiled = _compiled(self.pattern)
        return compiled is None or compiled.fullmatch(text) is not None


def member_limits(shape: str, member: str) -> Limits:
    """The limits of ``shape.member`` ("ProcessingClusterConfig", "InstanceCount") in the
    SageMaker service model that botocore ships."""
    return _from_json(_derived(shape, member)[f"{shape}.{member}"])


@functools.cache
def _derived(shape: str, member: str) -> dict[str, Any]:
    name = f"{shape}.{member}"
    key = cache.botocore_key(SERVICE_MODEL)
    kept = cache.load("api-limits", key)
    if isinstance(kept, dict) and isinstance(kept.get(name), dict):
        return kept
    derived = {**(kept if isinstance(kept, dict) else {}), **derive_limits(shape, member)}
    cache.store("api-limits", key, derived)
    return derived


def derive_limits(shape: str, member: str) -> dict[str, Any]:
    """``shape.member`` as botocore's SageMaker model describes it, with those of
    :data:`MEMBERS` the model has. botocore's error for ``shape.member`` is raised."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")

    def one(owner: str, name: str) -> dict[str, Any]:
        return _as_json(model.shape_for(owner).members[name])

    derived = {f"{shape}.{member}": one(shape, member)}
    for owner, name in MEMBERS:
        with contextlib.suppress(Exception):  # a botocore without it: asked for, it raises
            derived.setdefault(f"{owner}.{name}", one(owner, name))
    return derived


def _as_json(shape: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"shape": shape.name}
    found.update({k: v for k, v in shape.metadata.items() if k in _KEPT})
    if shape.type_name == "map":
        found["key"] = _as_json(shape.key)
        found["value"] = _as_json(shape.value)
    return found


def _from_json(data: dict[str, Any]) -> Limits:
    return Limits(
        shape=str(data.get("shape", "")),
        min=data.get("min"),
        max=data.get("max"),
        pattern=data.get("pattern"),
        key=_from_json(data["key"]) if isinstance(data.get("key"), dict) else None,
        value=_from_json(data["value"]) if isinstance(data.get("value"), dict) else None,
    )


@functools.cache
def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    """``pattern`` as a Python regex; None when there is none or Python cannot read it (a few
    botocore patterns use Java's ``\\p{...}`` classes)."""
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None

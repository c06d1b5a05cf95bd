"""Checks of what one step's config refers to: other steps' outputs, files and properties, and
the operands of its conditions."""

from __future__ import annotations

from collections.abc import Iterator

from smdsl.declare.base import StepConfig
from smdsl.declare.conditions import Comparison, IsIn, type_problem
from smdsl.declare.kinds import StepKind, step_kinds
from smdsl.declare.refs import StepReference
from smdsl.declare.walk import walk
from smdsl.errors import did_you_mean

_OFFERED_BY = {
    "outputs": "named outputs",
    "property_files": "property files",
    "model_artifacts": "model artifacts",
    "model_name": "a model name",
}


def reference_problem(
    ref: StepReference,
    kind: StepKind,
    upstream: StepConfig | None,
) -> str | None:
    """Why ``ref`` cannot refer to a step of ``kind`` whose config is ``upstream`` (None when
    its function failed), if it cannot."""
    requires = ref.requires
    if requires is None:
        return None
    if requires not in kind.provides:
        offered = _OFFERED_BY.get(requires, requires)
        which = sorted(k.name for k in step_kinds() if requires in k.provides)
        only = f"only {' and '.join(which)} steps have {offered}" if which else ""
        return f"{ref!s}: step {ref.step!r} is a {kind.name} step; {only or 'it has no ' + offered}"
    if upstream is None or ref.member is None:
        return None
    names = upstream.declared(requires)
    if names is None or ref.member in names:
        return None
    declared = ", ".join(names) or "none"
    return (
        f"{ref!s}: step {ref.step!r} declares no {ref.noun} {ref.member!r}"
        f"{did_you_mean(ref.member, names)} (declared: {declared})"
    )


def comparisons(config: StepConfig) -> Iterator[tuple[str, Comparison | IsIn]]:
    """Every comparison and membership test inside a config, with its field path."""
    for path, value in walk(config, leaves=(Comparison, IsIn)):
        if isinstance(value, (Comparison, IsIn)):
            yield path, value


def operand_problems(config: StepConfig) -> Iterator[tuple[str, str]]:
    """(message, field) for each comparison whose operands cannot be compared."""
    for path, found in comparisons(config):
        problem = type_problem(found)
        if problem:
            yield problem, path

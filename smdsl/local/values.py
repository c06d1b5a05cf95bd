"""Pipeline values resolved to what they are in a local run.

A parameter is its value for this run; a reference to another step's output is the folder that
output was written to; a model's artifacts are its ``model.tar.gz``; a JsonGet value is read
from the property file the step wrote; ``join()`` joins the resolved parts; an execution
variable is this run's id, start time or pipeline name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from smdsl.declare.conditions import AllOf, AnyOf, Comparison, IsIn, Not, Predicate
from smdsl.declare.expressions import Join
from smdsl.declare.notsecret import NotSecret
from smdsl.declare.params import Parameter
from smdsl.declare.refs import (
    ExecutionVariable,
    JsonGet,
    ModelArtifactsRef,
    OutputRef,
    StepProperty,
)
from smdsl.errors import did_you_mean
from smdsl.local.errors import LocalRunError
from smdsl.local.results import StepResult, property_key

_JSON_PATH = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")

_CASTS = {"String": str, "Integer": int, "Float": float, "Boolean": bool}


class Values:
    """Resolves the values of a config for one local run."""

    def __init__(
        self,
        pipeline: str,
        run_id: str,
        started: datetime,
        parameters: Mapping[str, Any],
        results: Mapping[str, StepResult],
    ) -> None:
        self.pipeline = pipeline
        self.run_id = run_id
        self.started = started
        self.parameters = parameters
        self.results = results

    def result(self, step: str) -> StepResult:
        try:
            return self.results[step]
        except KeyError:
            raise LocalRunError(f"step {step!r} has not run in this local run") from None

    def resolve(self, value: Any) -> Any:
        """``value`` as it is in this run: a literal, a path, a number..."""
        if isinstance(value, Parameter):
            return self.parameters[value.name]
        if isinstance(value, OutputRef):
            return self.result(value.step).outputs[value.output]
        if isinstance(value, ModelArtifactsRef):
            return self.step_property(value.step, "ModelArtifacts.S3ModelArtifacts")
        if isinstance(value, JsonGet):
            return self.json_get(value)
        if isinstance(value, StepProperty):  # ModelName too
            return self.step_property(value.step, value.path)
        if isinstance(value, ExecutionVariable):
            return self.execution(value.name)
        if isinstance(value, Join):
            return value.on.join(text(self.resolve(v)) for v in value.values)
        if isinstance(value, NotSecret):
            return str(value)
        if isinstance(value, Path):
            return str(value)
        return value

    def text(self, value: Any) -> str:
        """``value`` resolved, as the text a script argument or hyperparameter receives."""
        return text(self.resolve(value))

    def step_property(self, step: str, path: str) -> Any:
        properties = self.result(step).properties
        key = property_key(path)
        if key not in properties:
            known = ", ".join(sorted(properties)) or "none"
            raise LocalRunError(
                f"property {path!r} of step {step!r} is not known in a local run"
                f"{did_you_mean(key, properties)} (a local run reports: {known})"
            )
        return properties[key]

    def json_get(self, ref: JsonGet) -> Any:
        result = self.result(ref.step)
        file = result.property_files.get(ref.property_file)
        where = f"{ref.step}.json_get({ref.property_file!r}, {ref.json_path!r})"
        if file is None or not Path(file).is_file():
            raise LocalRunError(
                f"{where}: step {ref.step!r} wrote no property file {ref.property_file!r}"
                + (f" (expected at {file})" if file else "")
            )
        try:
            data = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LocalRunError(f"{where}: {file} is not JSON: {exc}") from None
        found = json_path(data, ref.json_path, where)
        if ref.type is None:
            return found
        cast = _CASTS[ref.type]
        try:
            return cast(found)
        except (TypeError, ValueError):
            raise LocalRunError(f"{where}: {found!r} is not a {ref.type}") from None

    def execution(self, name: str) -> str:
        arn = f"local:pipeline/{self.pipeline}"
        values = {
            "PipelineExecutionId": self.run_id,
            "PipelineExecutionArn": f"{arn}/execution/{self.run_id}",
            "StartDateTime": self.started.isoformat(),
            "CurrentDateTime": datetime.now(timezone.utc).isoformat(),
            "PipelineName": self.pipeline,
            "PipelineArn": arn,
        }
        return values[name]

    def holds(self, condition: Predicate) -> bool:
        """Whether ``condition`` holds on this run's values."""
        if isinstance(condition, Comparison):
            left, right = self.resolve(condition.left), self.resolve(condition.right)
            return _compare(condition.type, left, right)
        if isinstance(condition, IsIn):
            value = self.resolve(condition.value)
            return any(_compare("Equals", value, self.resolve(v)) for v in condition.values)
        if isinstance(condition, AllOf):
            return all(self.holds(c) for c in condition.conditions)
        if isinstance(condition, AnyOf):
            return any(self.holds(c) for c in condition.conditions)
        if isinstance(condition, Not):
            return not self.holds(condition.condition)
        raise LocalRunError(f"cannot evaluate the condition {condition} locally")

    def operands(self, condition: Predicate) -> list[str]:
        """``label = value`` for each pipeline value a condition reads, as this run has it."""
        found: dict[str, str] = {}
        for value in _operands(condition):
            label = _label(value)
            if label is None:
                continue
            try:
                resolved = self.resolve(value)
            except LocalRunError:
                continue
            found[label] = (
                format(resolved, ".6g") if isinstance(resolved, float) else text(resolved)
            )
        return [f"{label} = {shown}" for label, shown in found.items()]


def _label(value: Any) -> str | None:
    """A short name for a pipeline value in a condition, or None for a literal."""
    if isinstance(value, Parameter):
        return value.name
    if isinstance(value, JsonGet):
        return f"{value.step}:{value.json_path}"
    if isinstance(value, StepProperty):
        return f"{value.step}.{value.path}"
    if isinstance(value, ExecutionVariable):
        return value.name
    return None


def _operands(condition: Predicate) -> list[Any]:
    if isinstance(condition, Comparison):
        return [condition.left, condition.right]
    if isinstance(condition, IsIn):
        return [condition.value, *condition.values]
    if isinstance(condition, (AllOf, AnyOf)):
        return [v for c in condition.conditions for v in _operands(c)]
    if isinstance(condition, Not):
        return _operands(condition.condition)
    return []


def _compare(kind: str, left: Any, right: Any) -> bool:
    if kind == "Equals":
        return bool(left == right)
    if kind == "NotEquals":
        return bool(left != right)
    try:
        if kind == "LessThan":
            return bool(left < right)
        if kind == "LessThanOrEqualTo":
            return bool(left <= right)
        if kind == "GreaterThan":
            return bool(left > right)
        if kind == "GreaterThanOrEqualTo":
            return bool(left >= right)
    except TypeError:
        raise LocalRunError(f"cannot compare {left!r} with {right!r} ({kind})") from None
    raise LocalRunError(f"unknown comparison {kind}")


def json_path(data: Any, path: str, where: str) -> Any:
    """The value at a JsonGet path (``a.b[0]['c d']``) inside ``data``."""
    current = data
    for match in _JSON_PATH.finditer(path):
        key, index, quoted1, quoted2 = match.groups()
        name = key if key is not None else quoted1 if quoted1 is not None else quoted2
        try:
            current = current[int(index)] if index is not None else current[name]
        except (KeyError, IndexError, TypeError):
            step = f"[{index}]" if index is not None else repr(name)
            have = ", ".join(map(repr, current)) if isinstance(current, dict) else "none"
            raise LocalRunError(
                f"{where}: the file has no {step} on the path {path!r} (keys there: {have})"
            ) from None
    return current


def text(value: Any) -> str:
    """A resolved value as the text a pipeline passes: ``true``/``false``, numbers as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return str(value)

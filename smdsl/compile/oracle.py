"""Check a compiled definition's job steps the way the SageMaker API will.

A job step's ``Arguments`` are the request of an API call minus the name the service fills in
(:data:`JOB_STEPS`: Processing -> CreateProcessingJob, Training -> CreateTrainingJob, ...), so
each is checked against that operation's input shape in the SageMaker service model botocore
ships: every limit comes from the model, none is typed here. Pipeline expressions
(``{"Get": ...}``, ``{"Std:Join": ...}``, ``{"Std:JsonGet": ...}``) are first replaced by a
placeholder of the type the shape wants there (the first enum value, a string of the minimum
length, the minimum number, True, a timestamp); an expression where a structure, list or map is
required is reported. botocore's ``ParamValidator`` then checks types, required and unknown
fields and minima, and a walk over the shape checks what it does not: enums, patterns, maximum
lengths, sizes and values, and booleans given for numbers. A pattern must match the whole
value, as the service matches it (``[a-zA-Z_][a-zA-Z0-9_]*`` refuses the environment key
``MY-VAR``, which a mere search would find ``MY`` in). botocore patterns are Java regexes;
the few Python's ``re`` cannot compile (``\\p{...}``, UTF-16 ranges) are skipped and listed in
:data:`SKIPPED_PATTERNS` (see :func:`pattern_coverage`).

:func:`check_job_arguments` returns :class:`ArgumentProblem` objects (step, JSON path inside the
step's Arguments, message); :func:`require_valid_arguments` turns them into smdsl's problems,
each at its step's line and named by the smdsl field it came from: each step kind names its
fields through its ``StepKind.fields`` function, ``argument_field(path, arguments)``.

botocore only (imported when a check runs): never the SageMaker SDK.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from smdsl.errors import CompileError, Problem, SmdslError, display_path

if TYPE_CHECKING:
    from smdsl.graph.model import PipelineGraph

JsonObject = dict[str, Any]
Shape = Any  # botocore.model.Shape: botocore ships no type information

JOB_STEPS: Mapping[str, tuple[str, str | None, tuple[str, ...]]] = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName", ("DescribeProcessingJobResponse",)),
    "Training": ("CreateTrainingJob", "TrainingJobName", ("DescribeTrainingJobResponse",)),
    "Transform": ("CreateTransformJob", "TransformJobName", ("DescribeTransformJobResponse",)),
    "Model": ("CreateModel", "ModelName", ("DescribeModelOutput",)),
    "RegisterModel": ("CreateModelPackage", None, ("DescribeModelPackageOutput",)),
    "Tuning": (
        "CreateHyperParameterTuningJob",
        "HyperParameterTuningJobName",
        (
            "DescribeHyperParameterTuningJobResponse",
            "ListTrainingJobsForHyperParameterTuningJobResponse",
        ),
    ),
}
"""Pipeline step Type -> (API operation whose request the Arguments are, request member the
service fills in, botocore shapes describing the step's properties for ``Steps.<name>...``)."""

SKIPPED_PATTERNS: list[str] = []
"""botocore patterns that Python's re cannot compile (Java-only syntax such as \\p{...})."""

_ENUM_SHOWN = 5


@dataclass(frozen=True)
class ArgumentProblem:
    """One thing the API would refuse in a job step's Arguments.

    ``path`` is the JSON path inside the step's Arguments (``HyperParameters.max_depth``,
    ``ProcessingInputs[2].S3Input.S3Uri``, ``Environment (key 'A-B')`` for a map's key; empty
    for the Arguments as a whole).
    """

    step: str
    path: str
    message: str

    @property
    def where(self) -> str:
        """``Arguments.<path>``: the place in the step's definition."""
        return f"Arguments.{self.path}" if self.path else "Arguments"


# ---------------------------------------------------------------------------------------------
# The check


def check_job_arguments(definition: Mapping[str, Any]) -> list[ArgumentProblem]:
    """Every problem the SageMaker API would find in the job steps' Arguments of
    ``definition`` (a parsed pipeline definition), condition branch steps included."""
    return [problem for step in job_steps(definition) for problem in check_step_arguments(step)]


def job_steps(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The steps of ``definition`` whose Type is an API call's, those in condition branches
    (IfSteps, ElseSteps, at any depth) included."""
    yield from _job_steps(definition.get("Steps"))


def _job_steps(steps: Any) -> Iterator[Mapping[str, Any]]:
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        if step.get("Type") in JOB_STEPS:
            yield step
        arguments = step.get("Arguments")
        if step.get("Type") == "Condition" and isinstance(arguments, dict):
            for branch in ("IfSteps", "ElseSteps"):
                yield from _job_steps(arguments.get(branch))


def check_step_arguments(step: Mapping[str, Any]) -> list[ArgumentProblem]:
    """The problems of one step's Arguments (none for a step that is not a job step, or has
    no Arguments)."""
    from botocore.validate import ParamValidator

    step_type = step.get("Type")
    if not isinstance(step_type, str) or step_type not in JOB_STEPS or "Arguments" not in step:
        return []
    name = _name(step)
    operation, filled_in, _ = JOB_STEPS[step_type]
    arguments = step["Arguments"]
    if not isinstance(arguments, dict):
        message = f"expected the {operation} request (an object), got {arguments!r:.80}"
        return [ArgumentProblem(name, "", message)]
    shape = service_model().operation_model(operation).input_shape
    walk = _ShapeWalk()
    request = walk.resolve(arguments, shape, "")
    if not isinstance(request, dict):  # the whole request was an expression: reported
        return walk.problems(name)
    if filled_in is not None and filled_in not in request:
        request[filled_in] = walk.placeholder(shape.members[filled_in], f".{filled_in}")
    report = ParamValidator().validate(request, shape)
    found = [
        ArgumentProblem(name, _relative(path), message)
        for path, message in _param_errors(report, operation, walk.masked)
    ]
    return found + walk.problems(name)


@functools.cache
def service_model() -> Any:
    """botocore's model of the SageMaker API (loaded once: about 0.3 s)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def pattern_coverage() -> tuple[int, list[str]]:
    """(number of distinct patterns in the SageMaker service model, those skipped)."""
    model = service_model()
    patterns = {model.shape_for(name).metadata.get("pattern") for name in model.shape_names}
    patterns.discard(None)
    skipped = [pattern for pattern in sorted(patterns) if compiled_pattern(pattern) is None]
    return len(patterns), skipped


@functools.cache
def compiled_pattern(pattern: str | None) -> re.Pattern[str] | None:
    """A botocore pattern as a Python regex; None (and listed in SKIPPED_PATTERNS) when Python
    cannot compile it."""
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        SKIPPED_PATTERNS.append(pattern)
        return None


class _ShapeWalk:
    """Replaces expressions by placeholders and checks what ParamValidator does not.

    Paths are botocore's: ``""`` for the request, ``.Member``, ``[index]``, ``.key`` of a map.
    """

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []
        self.masked: set[str] = set()  # paths already reported: ParamValidator errors dropped

    def problems(self, step: str) -> list[ArgumentProblem]:
        return [ArgumentProblem(step, _relative(path), message) for path, message in self.found]

    def resolve(self, value: Any, shape: Shape, path: str) -> Any:
        if is_expression(value):
            return self.placeholder(shape, path)
        kind = shape.type_name
        if kind == "structure" and isinstance(value, dict) and not shape.is_document_type:
            members = shape.members
            return {
                key: self.resolve(item, members[key], f"{path}.{key}") if key in members else item
                for key, item in value.items()
            }
        if kind == "list" and isinstance(value, list):
            self._check_max(len(value), shape, path, "items")
            return [
                self.resolve(item, shape.member, f"{path}[{i}]") for i, item in enumerate(value)
            ]
        if kind == "map" and isinstance(value, dict):
            return self._resolve_map(value, shape, path)
        self._check_scalar(value, shape, path)
        return value

    def _resolve_map(self, value: JsonObject, shape: Shape, path: str) -> JsonObject:
        self._check_max(len(value), shape, path, "entries")
        for key in value:
            self._check_scalar(key, shape.key, f"{path} (key {key!r})")
        return {
            key: self.resolve(item, shape.value, f"{path}.{key}") for key, item in value.items()
        }

    def placeholder(self, shape: Shape, path: str) -> Any:
        """A value of the type the shape wants, satisfying its enum and minimum."""
        kind = shape.type_name
        minimum = shape.metadata.get("min")
        if kind == "string":
            return shape.enum[0] if shape.enum else "x" * max(1, int(minimum or 1))
        if kind in ("integer", "long"):
            return int(minimum) if minimum is not None else 1
        if kind in ("float", "double"):
            return float(minimum) if minimum is not None else 1.0
        simple = {
            "boolean": True,
            "timestamp": datetime(2020, 1, 1, tzinfo=timezone.utc),
            "blob": b"x",
        }
        if kind in simple:
            return simple[kind]
        self.masked.add(path)
        self._report(path, f"a pipeline expression cannot stand in for a {kind} ({shape.name})")
        return None

    def _check_scalar(self, value: Any, shape: Shape, path: str) -> None:
        kind = shape.type_name
        if isinstance(value, bool) and kind in ("integer", "long", "float", "double"):
            self._report(path, f"{value!r} is a boolean, expected {kind}")
        elif isinstance(value, str) and kind == "string":
            self._check_string(value, shape, path)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            self._check_max(value, shape, path, "")

    def _check_string(self, value: str, shape: Shape, path: str) -> None:
        if shape.enum and value not in shape.enum:
            self._report(path, f"{value!r} is not one of {short_list(shape.enum)}")
            return
        self._check_max(len(value), shape, path, "characters")
        pattern = compiled_pattern(shape.metadata.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            self._report(path, f"{shorten(repr(value))} does not match {pattern.pattern!r}")

    def _check_max(self, amount: float, shape: Shape, path: str, unit: str) -> None:
        maximum = shape.metadata.get("max")
        if maximum is not None and amount > maximum:
            what = f"{amount} {unit}" if unit else f"{amount}"
            self._report(path, f"{what} is more than the maximum {maximum}")

    def _report(self, path: str, message: str) -> None:
        self.found.append((path, message))


def _param_errors(report: Any, operation: str, masked: set[str]) -> list[tuple[str, str]]:
    """(botocore path, message) of each ParamValidator error not already reported."""
    found: list[tuple[str, str]] = []
    for reason, name, details in report._errors:  # structured form of generate_report()
        if not any(name == path or name.startswith((f"{path}.", f"{path}[")) for path in masked):
            found.append(_param_error(reason, name, details, operation))
    return found


def _param_error(reason: str, name: str, details: JsonObject, operation: str) -> tuple[str, str]:
    from botocore.validate import ValidationErrors

    if reason == "missing required field":
        return f"{name}.{details['required_name']}", f"required by {operation} but missing"
    if reason == "unknown field":
        allowed = short_list(details["valid_names"], 12)
        field = details["unknown_param"]
        return f"{name}.{field}", f"unknown field for {operation} (allowed: {allowed})"
    if reason == "invalid type":
        expected = " or ".join(re.sub(r"<class '(\w+)'>", r"\1", t) for t in details["valid_types"])
        value = details["param"]
        return name, f"{shorten(repr(value))} is a {type(value).__name__}, expected {expected}"
    if reason in ("invalid range", "invalid length"):
        what = "length" if reason == "invalid length" else "value"
        return name, f"{what} {details['param']!r} is below the minimum {details['min_allowed']}"
    return name, ValidationErrors()._format_error((reason, name, details))


def _name(step: Mapping[str, Any]) -> str:
    name = step.get("Name")
    return name if isinstance(name, str) else ""


def _relative(path: str) -> str:
    """A botocore path (``.Member...``) as a path inside the Arguments (``Member...``)."""
    return path[1:] if path.startswith(".") else path


# ---------------------------------------------------------------------------------------------
# In smdsl's terms


def require_valid_arguments(graph: PipelineGraph, definition: Mapping[str, Any]) -> None:
    """Raise a CompileError listing, at each step's line and smdsl field, what the SageMaker
    API would refuse in the job steps of ``definition`` (compiled from ``graph``)."""
    problems = list(dict.fromkeys(argument_problems(graph, definition)))
    if not problems:
        return
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    raise CompileError(
        f"{display_path(graph.module.path)}: {count} the SageMaker API would refuse (checked "
        "against botocore's SageMaker service model)",
        problems,
    )


def argument_problems(graph: PipelineGraph, definition: Mapping[str, Any]) -> list[Problem]:
    """:func:`check_job_arguments` of ``definition``, each problem at its step's line and
    named by the smdsl field it came from when the step's kind knows it."""
    steps = {_name(step): step for step in job_steps(definition)}
    found = []
    for problem in check_job_arguments(definition):
        node = graph.nodes.get(problem.step)
        arguments = steps[problem.step].get("Arguments")
        field = None
        if node is not None and isinstance(arguments, dict):
            field = smdsl_field(node.function.spec.step_kind, problem.path, arguments)
        if field is None:
            message = f"{problem.where}: {problem.message}"
        else:
            message = f"{problem.message} ({problem.where})"
        location = node.location if node is not None else None
        found.append(Problem(message, location, problem.step, field))
    return found


def smdsl_field(kind: Any, path: str, arguments: JsonObject) -> str | None:
    """The smdsl field that ``path`` of a step's Arguments came from, as the step's kind
    (a :class:`smdsl.declare.kinds.StepKind`) names it; None when it does not."""
    try:
        mapper = kind.fields_function()
    except SmdslError:
        return None
    if mapper is None or not path:
        return None
    try:
        field = mapper(path, arguments)
    except Exception:  # a kind's own mapper failing must not hide the problem itself
        return None
    return field if isinstance(field, str) and field else None


# ---------------------------------------------------------------------------------------------
# Helpers for the kinds' argument_field functions


def map_key(path: str, member: str) -> str | None:
    """The key of the map at ``member`` that ``path`` points at or into: ``Environment.A``,
    ``Environment (key 'A')`` -> ``A``; None when ``path`` is not inside that map's entries."""
    if path.startswith(f"{member}."):
        return path[len(member) + 1 :]
    match = re.fullmatch(rf"{re.escape(member)} \(key:? (.*)\)", path, flags=re.DOTALL)
    if match is None:
        return None
    text = match.group(1)
    try:
        key = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return key if isinstance(key, str) else text


def list_index(path: str, member: str) -> int | None:
    """The index of the list at ``member`` that ``path`` points at or into
    (``ProcessingInputs[2].S3Input`` -> 2); None when it does not."""
    match = re.match(rf"{re.escape(member)}\[(\d+)\](?=$|[.\[ ])", path)
    return int(match.group(1)) if match else None


def under(path: str, member: str) -> bool:
    """Whether ``path`` is ``member`` or lies inside it."""
    return path == member or path.startswith((f"{member}.", f"{member}[", f"{member} "))


def item_name(arguments: JsonObject, member: str, index: int, name: str) -> str | None:
    """The ``name`` member of item ``index`` of the list at dotted ``member`` of ``arguments``
    (the InputName of ``ProcessingInputs[2]``), if it is a string."""
    value: Any = arguments
    for part in member.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    item = value[index] if isinstance(value, list) and 0 <= index < len(value) else None
    found = item.get(name) if isinstance(item, dict) else None
    return found if isinstance(found, str) else None


def is_expression(value: Any) -> bool:
    """A dict that is exactly one pipeline expression: {"Get": ...} or {"Std:<Function>": ...}."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key == "Get" or key.startswith("Std:"))


def short_list(values: Any, limit: int = _ENUM_SHOWN) -> str:
    """The first ``limit`` values, and how many there are in all when there are more."""
    items = list(values)
    shown = ", ".join(repr(v) for v in items[:limit])
    return shown if len(items) <= limit else f"{shown}, ... ({len(items)} in all)"


def shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."

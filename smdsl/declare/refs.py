"""References from one step to what another step produces, and the execution's own values."""

from __future__ import annotations

import re
from typing import ClassVar, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, field_validator

from smdsl.declare.conditions import Comparable
from smdsl.declare.params import concatenation_error

ValueType = Literal["String", "Integer", "Float", "Boolean"]

_PY_TYPES: dict[object, ValueType] = {
    str: "String",
    int: "Integer",
    float: "Float",
    bool: "Boolean",
}


class _Value(BaseModel):
    """What every run-time value shares: it has no value until the pipeline runs.

    ``str(value)`` names it (``preprocess.outputs['train']``) for messages; an f-string or ``+``
    would silently put that name where an S3 URI belongs, so both raise and point at ``join()``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str] = "reference"

    def __format__(self, spec: str) -> str:
        raise TypeError(
            f"the {self.kind} {self!s} has no value until the pipeline runs, so it cannot be "
            "formatted into a string; pass it itself where a value is expected, or build the "
            f"string with smdsl.join(), e.g. join({self!s}, 'part', on='/')"
        )

    def __add__(self, other: object) -> NoReturn:
        raise concatenation_error(f"the {self.kind} {self!s}", str(self), other)

    def __radd__(self, other: object) -> NoReturn:
        raise concatenation_error(f"the {self.kind} {self!s}", str(self), other, after=True)


class StepReference(_Value):
    """A value another step produces: referring to it makes that step an upstream one.

    ``requires`` names what the upstream step must offer (see
    :attr:`smdsl.declare.kinds.StepKind.provides`); ``member`` the name it must declare.
    """

    step: str
    requires: ClassVar[str | None] = None
    noun: ClassVar[str] = ""

    @property
    def member(self) -> str | None:
        """The name (of an output, a property file) the upstream step must declare."""
        return None


class OutputRef(StepReference):
    """The S3 URI of a named output of a processing step, known once that step has run."""

    kind: ClassVar[str] = "output"
    requires: ClassVar[str | None] = "outputs"
    noun: ClassVar[str] = "output"

    output: str

    @property
    def member(self) -> str | None:
        return self.output

    def __str__(self) -> str:
        return f"{self.step}.outputs[{self.output!r}]"


class ModelArtifactsRef(StepReference):
    """The S3 URI of the model artifacts (``model.tar.gz``) a training step produces."""

    kind: ClassVar[str] = "model"
    requires: ClassVar[str | None] = "model_artifacts"

    def __str__(self) -> str:
        return f"{self.step}.model_artifacts"


_PROPERTY_PATH = re.compile(r"^[A-Za-z]\w*(\.[A-Za-z]\w*|\[\d+\]|\['[^']*'\]|\[\"[^\"]*\"\])*$")


class StepProperty(Comparable, StepReference):
    """A property of another step's job, by its path in the job's Describe response:
    ``train.property("FinalMetricDataList['validation:rmse'].Value")``."""

    kind: ClassVar[str] = "property"

    path: str

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not _PROPERTY_PATH.match(value):
            raise ValueError(
                f"{value!r} is not a property path; they read like 'ModelArtifacts."
                "S3ModelArtifacts' or \"FinalMetricDataList['validation:rmse'].Value\""
            )
        return value

    def __str__(self) -> str:
        return f"{self.step}.property({self.path!r})"


class ModelName(StepProperty):
    """The name of the model a model step creates: ``create_model.model_name``."""

    kind: ClassVar[str] = "model name"
    requires: ClassVar[str | None] = "model_name"

    path: str = "ModelName"

    def __str__(self) -> str:
        return f"{self.step}.model_name"


class JsonGet(Comparable, StepReference):
    """A value read from a property file of a processing step when the pipeline runs.

    ``evaluate.json_get("EvaluationReport", "regression_metrics.mse.value", type=float)``;
    ``type`` (optional) lets ``smdsl validate`` check what the value is compared with.
    """

    kind: ClassVar[str] = "JsonGet value"
    requires: ClassVar[str | None] = "property_files"
    noun: ClassVar[str] = "property file"

    property_file: str
    json_path: str
    type: ValueType | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: object) -> object:
        if value is None or value in _PY_TYPES.values():
            return value
        if value in _PY_TYPES:
            return _PY_TYPES[value]
        raise ValueError(
            f"type= is float, int, str or bool (what the JSON value is), not {value!r}"
        )

    @field_validator("json_path")
    @classmethod
    def _json_path(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the JSON path is empty; it reads like 'metrics.mse.value'")
        return value

    @property
    def member(self) -> str | None:
        return self.property_file

    @property
    def operand_type(self) -> str | None:
        return self.type

    def __str__(self) -> str:
        return f"{self.step}.json_get({self.property_file!r}, {self.json_path!r})"


class ExecutionVariable(Comparable, _Value):
    """A value of the running execution: its id, start time, the pipeline's name or ARN."""

    kind: ClassVar[str] = "execution variable"
    value_type: ClassVar[str | None] = "String"

    name: Literal[
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "StartDateTime",
        "CurrentDateTime",
        "PipelineName",
        "PipelineArn",
    ]

    def __str__(self) -> str:
        return f"execution.{_ATTRIBUTES[self.name]}"


_ATTRIBUTES = {
    "PipelineExecutionId": "id",
    "PipelineExecutionArn": "arn",
    "StartDateTime": "start_time",
    "CurrentDateTime": "current_time",
    "PipelineName": "pipeline_name",
    "PipelineArn": "pipeline_arn",
}


class _Execution:
    """``smdsl.execution``: the values of the running execution, for ``join()`` and steps."""

    id = ExecutionVariable(name="PipelineExecutionId")
    arn = ExecutionVariable(name="PipelineExecutionArn")
    start_time = ExecutionVariable(name="StartDateTime")
    current_time = ExecutionVariable(name="CurrentDateTime")
    pipeline_name = ExecutionVariable(name="PipelineName")
    pipeline_arn = ExecutionVariable(name="PipelineArn")

    def __repr__(self) -> str:
        return "smdsl.execution"


execution = _Execution()
"""The running execution's values: ``execution.id``, ``.arn``, ``.start_time``,
``.current_time``, ``.pipeline_name``, ``.pipeline_arn``."""

StepRef = StepReference
RunValue = StepReference | ExecutionVariable
"""A value known only when the pipeline runs (besides parameters and join())."""

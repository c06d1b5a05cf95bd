"""The typed configs a step function returns: what a job runs and what it reads and writes.

Configs are frozen pydantic models with ``extra="forbid"``, so a misspelt field is an error at
the line that builds the config. A config returned through a step decorator is stamped with its
step's name, which lets ``preprocess().outputs["train"]`` act as a reference to that output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from smdsl.declare.expressions import Join
from smdsl.declare.params import Parameter
from smdsl.declare.refs import ModelArtifactsRef, OutputRef, StepRef
from smdsl.errors import DeclarationError, did_you_mean

_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")

InputSource = str | Parameter | OutputRef | ModelArtifactsRef | Join
"""Where an input comes from: an S3 URI, a pipeline parameter or another step's output."""

ArgumentValue = str | int | float | Parameter | OutputRef | ModelArtifactsRef | Join
HyperparameterValue = str | int | float | bool | Parameter | Join


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)


class _JobConfig(_Config):
    """What Processing and Training share: their ``inputs`` accept what users pass."""

    @field_validator("inputs", mode="before", check_fields=False)
    @classmethod
    def _inputs(cls, value: Any) -> Any:
        return _as_inputs(value)


class ProcessingOutput(_Config):
    """A directory a processing job writes, uploaded to S3 when the job ends.

    ``destination`` defaults to a path unique to each execution:
    ``s3://<bucket>/<prefix>/<pipeline>/<execution id>/<step>/<output>``.
    """

    destination: str | Parameter | Join | None = None
    local_path: str | None = None
    name: str = ""
    step: str | None = Field(default=None, exclude=True)

    @field_validator("destination")
    @classmethod
    def _s3(cls, value: str | Parameter | Join | None) -> str | Parameter | Join | None:
        return _check_s3(value) if isinstance(value, str) else value

    @property
    def container_path(self) -> str:
        """Where the job writes this output inside its container."""
        return self.local_path or f"/opt/ml/processing/output/{self.name}"


class DeclaredOutputs(dict[str, ProcessingOutput]):
    """The outputs of a stamped config: asking for one it does not declare says which exist."""

    def __init__(self, step: str, outputs: dict[str, ProcessingOutput]) -> None:
        super().__init__(outputs)
        self.step = step

    def __missing__(self, name: str) -> ProcessingOutput:
        declared = ", ".join(self) or "none"
        raise DeclarationError(
            f"{self.step}.outputs[{name!r}]: step {self.step!r} declares no output "
            f"{name!r}{did_you_mean(name, self)} (declared: {declared})"
        )


class _Input(_Config):
    source: InputSource

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> Any:
        return _as_input_source(value)


class ProcessingInput(_Input):
    """An input of a processing job with a chosen container path."""

    local_path: str | None = None


class TrainingInput(_Input):
    """A training channel with options beyond its source."""

    content_type: str | None = None


class Processing(_JobConfig):
    """What a processing step runs.

    Give either ``code`` (one script) or ``source_dir`` with an ``entry_point`` inside it; paths
    are relative to the file that defines the step.
    """

    code: str | None = None
    source_dir: str | None = None
    entry_point: str | None = None
    inputs: dict[str, InputSource | ProcessingInput] = {}
    outputs: dict[str, ProcessingOutput] = {}
    arguments: list[ArgumentValue] = []
    step_name: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _code_or_source_dir(self) -> Processing:
        if self.code and (self.source_dir or self.entry_point):
            raise ValueError("give either code= or source_dir= with entry_point=, not both")
        if not self.code and not (self.source_dir and self.entry_point):
            raise ValueError("give code= (a script) or source_dir= together with entry_point=")
        return self

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [_as_input_source(v) if isinstance(v, ProcessingOutput) else v for v in value]
        return value

    @field_validator("outputs", mode="before")
    @classmethod
    def _outputs(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            value = {name: None for name in value}
        if not isinstance(value, dict):
            return value
        normalised: dict[str, Any] = {}
        for name, spec in value.items():
            if spec is None:
                spec = ProcessingOutput()
            elif isinstance(spec, (str, Parameter, Join)):
                spec = ProcessingOutput(destination=spec)
            elif isinstance(spec, dict):
                spec = ProcessingOutput(**spec)
            if isinstance(spec, ProcessingOutput):
                spec = spec.model_copy(update={"name": name})
            normalised[name] = spec
        return normalised

    def stamped(self, step_name: str) -> Processing:
        """This config as returned by the step ``step_name``."""
        outputs = {k: v.model_copy(update={"step": step_name}) for k, v in self.outputs.items()}
        declared = DeclaredOutputs(step_name, outputs)
        return self.model_copy(update={"step_name": step_name, "outputs": declared})


class Training(_JobConfig):
    """What a training step runs.

    ``entry_point`` is a script, relative to ``source_dir`` when one is given and otherwise to
    the file that defines the step. ``inputs`` maps channel names to their data.
    """

    entry_point: str
    source_dir: str | None = None
    inputs: dict[str, InputSource | TrainingInput] = {}
    hyperparameters: dict[str, HyperparameterValue] = {}
    output_path: str | Parameter | Join | None = None
    metric_definitions: dict[str, str] = {}
    step_name: str | None = Field(default=None, exclude=True)

    @field_validator("output_path")
    @classmethod
    def _output_path(cls, value: str | Parameter | Join | None) -> str | Parameter | Join | None:
        return _check_s3(value) if isinstance(value, str) else value

    @field_validator("metric_definitions")
    @classmethod
    def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, regex in value.items():
            try:
                re.compile(regex)
            except re.error as exc:
                raise ValueError(f"metric {name!r}: {regex!r} is not a regex ({exc})") from None
        return value

    @property
    def model_artifacts(self) -> ModelArtifactsRef:
        """A reference to the model this training step produces."""
        if self.step_name is None:
            raise ValueError(
                "this Training config was not returned by a step function, so it has no "
                "model artifacts to refer to; use <training step>.model_artifacts"
            )
        return ModelArtifactsRef(step=self.step_name)

    def stamped(self, step_name: str) -> Training:
        """This config as returned by the step ``step_name``."""
        return self.model_copy(update={"step_name": step_name})


StepConfig = Processing | Training


def _check_s3(value: str) -> str:
    if not _S3_URI.match(value):
        raise ValueError(f"{value!r} is not an S3 URI (s3://bucket/key)")
    return value


def _as_inputs(value: Any) -> Any:
    """A config's ``inputs`` mapping with each value turned into an :data:`InputSource`."""
    if isinstance(value, dict):
        return {k: _as_input_source(v) for k, v in value.items()}
    return value


def _as_input_source(value: Any) -> Any:
    """Turn what a user may pass as an input into an :data:`InputSource`."""
    if isinstance(value, ProcessingOutput):
        if value.step is None:
            raise ValueError(
                f"output {value.name!r} belongs to a config that no step returned; refer to it "
                "as <step>.outputs[name] or pass the upstream step's config as a parameter"
            )
        return OutputRef(step=value.step, output=value.name)
    if isinstance(value, str):
        return _check_s3(value)
    return value


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf value inside a config, with the dotted field path that leads to it."""
    if isinstance(value, (Parameter, OutputRef, ModelArtifactsRef)):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value


def references(config: BaseModel) -> Iterator[tuple[str, StepRef]]:
    """The references to other steps inside ``config``, with their field paths."""
    for path, value in walk(config):
        if isinstance(value, (OutputRef, ModelArtifactsRef)):
            yield path, value


def parameters(config: BaseModel) -> Iterator[tuple[str, Parameter]]:
    """The pipeline parameters used inside ``config``, with their field paths."""
    for path, value in walk(config):
        if isinstance(value, Parameter):
            yield path, value

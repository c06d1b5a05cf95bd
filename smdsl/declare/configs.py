"""The typed configs a step function returns: what a job runs and what it reads and writes.

Configs are frozen pydantic models with ``extra="forbid"``, so a misspelt field is an error at
the line that builds the config. A config returned through a step decorator is stamped with its
step's name, which lets ``preprocess().outputs["train"]`` act as a reference to that output.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Annotated, Any, ClassVar

from pydantic import AllowInfNan, BaseModel, ConfigDict, field_validator, model_validator

from smdsl.declare.base import CodePaths, SecretScan, StepConfig
from smdsl.declare.expressions import Join
from smdsl.declare.names import CHANNEL_NAME, RESERVED_PROCESSING_NAMES, SAGEMAKER_NAME
from smdsl.declare.notsecret import Text
from smdsl.declare.options import StepOptions
from smdsl.declare.outputs import DeclaredOutputs, check_local_path
from smdsl.declare.outputs import ProcessingOutput as ProcessingOutput
from smdsl.declare.outputs import PropertyFile as PropertyFile
from smdsl.declare.params import Parameter
from smdsl.declare.refs import (
    ExecutionVariable,
    JsonGet,
    ModelArtifactsRef,
    ModelName,
    OutputRef,
    StepProperty,
)
from smdsl.declare.s3uri import check_s3_uri as _check_s3
from smdsl.declare.validation import accepting, shown
from smdsl.declare.walk import parameters as parameters
from smdsl.declare.walk import references as references
from smdsl.declare.walk import walk as walk
from smdsl.errors import DeclarationError, did_you_mean

InputSource = str | Parameter | OutputRef | ModelArtifactsRef | StepProperty | Join
"""Where an input comes from: an S3 URI, a pipeline parameter or another step's output."""

FiniteFloat = Annotated[float, AllowInfNan(False)]
"""A float JSON can hold: no NaN, no infinity."""

ArgumentValue = (
    Text
    | int
    | FiniteFloat
    | Parameter
    | OutputRef
    | ModelArtifactsRef
    | StepProperty
    | JsonGet
    | ExecutionVariable
    | Join
)
HyperparameterValue = (
    Text | int | FiniteFloat | bool | Parameter | StepProperty | JsonGet | ExecutionVariable | Join
)
"""Script arguments and hyperparameters: a string may be a :func:`~smdsl.not_secret` one."""

SCRIPT_ONLY_FRAMEWORKS = frozenset({"sklearn", "pytorch", "tensorflow"})
"""Framework images that run only a script of the user's: no built-in algorithm."""

_URI = "an S3 URI, a parameter, join()"
_NESTED = "pass a nested structure as one string, e.g. json.dumps(value)"


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)


class _Input(_Config):
    source: Annotated[
        InputSource,
        accepting(f"{_URI} or another step's output", prepare=lambda v: _as_input_source(v)),
    ]


class ProcessingInput(_Input):
    """An input of a processing job with a chosen container path."""

    local_path: str | None = None

    @field_validator("local_path")
    @classmethod
    def _local_path(cls, value: str | None) -> str | None:
        return check_local_path(value, "input")


class TrainingInput(_Input):
    """A training channel with options beyond its source."""

    content_type: str | None = None


_ProcessingSource = Annotated[
    InputSource | ProcessingInput,
    accepting(
        f"{_URI}, another step's output or a ProcessingInput", prepare=lambda v: _as_input_source(v)
    ),
]
_TrainingSource = Annotated[
    InputSource | TrainingInput,
    accepting(
        f"{_URI}, another step's output or a TrainingInput", prepare=lambda v: _as_input_source(v)
    ),
]
_Output = Annotated[
    ProcessingOutput,
    accepting(
        f"{_URI}, a ProcessingOutput or None (a fresh path per execution)",
        prepare=lambda v: _as_output(v),
    ),
]
_Argument = Annotated[
    ArgumentValue,
    accepting(
        "a string, a number, a parameter, join() or another step's output",
        prepare=lambda v: _as_argument(v),
        nested=f"{_NESTED}, or as separate arguments",
    ),
]
_Hyperparameter = Annotated[
    HyperparameterValue,
    accepting("a string, a number, a boolean, a parameter or join()", nested=_NESTED),
]


class Processing(StepConfig):
    """What a processing step runs.

    Give either ``code`` (one script) or ``source_dir`` with an ``entry_point`` inside it; paths
    are relative to the file that defines the step. ``property_files`` names JSON files inside
    the outputs that later steps read with :meth:`json_get`.
    """

    code: str | None = None
    source_dir: str | None = None
    entry_point: str | None = None
    inputs: dict[str, _ProcessingSource] = {}
    outputs: dict[str, _Output] = {}
    arguments: list[_Argument] = []
    property_files: dict[str, PropertyFile] = {}

    text_fields: ClassVar[frozenset[str]] = frozenset({"arguments"})

    @model_validator(mode="after")
    def _property_files_in_outputs(self) -> Processing:
        for name, spec in self.property_files.items():
            if spec.output not in self.outputs:
                declared = ", ".join(self.outputs) or "none"
                raise ValueError(
                    f"property file {name!r} is in output {spec.output!r}, which this step "
                    f"does not declare{did_you_mean(spec.output, self.outputs)} (declared: "
                    f"{declared})"
                )
        return self

    def json_get(self, property_file: str, json_path: str, type: Any = None) -> JsonGet:
        """A value of this step's property file, read when the pipeline runs."""
        if self.step_name is None:
            raise ValueError(
                "this Processing config was not returned by a step function; use "
                "<step>.json_get(...) on the step function"
            )
        if property_file not in self.property_files:
            declared = ", ".join(self.property_files) or "none"
            raise DeclarationError(
                f"{self.step_name}.json_get({property_file!r}, ...): step {self.step_name!r} "
                f"declares no property file {property_file!r}"
                f"{did_you_mean(property_file, self.property_files)} (declared: {declared})"
            )
        return JsonGet(
            step=self.step_name, property_file=property_file, json_path=json_path, type=type
        )

    def declared(self, what: str) -> Collection[str] | None:
        found: dict[str, Collection[str]] = {
            "outputs": self.outputs,
            "property_files": self.property_files,
        }
        return found.get(what)

    def code_paths(self) -> CodePaths:
        return CodePaths(self.code, self.source_dir, self.entry_point)

    def secret_scans(self) -> Iterator[SecretScan]:
        yield "arguments", "arguments", self.arguments

    def name_problems(self) -> Iterator[tuple[str, str]]:
        for field_name, keys in (("input", self.inputs), ("output", self.outputs)):
            for key in keys:
                if key in RESERVED_PROCESSING_NAMES:
                    yield (
                        f"{field_name} name {key!r} is reserved: {RESERVED_PROCESSING_NAMES[key]}, "
                        "and the names of a job's inputs and outputs must be unique; choose "
                        "another name",
                        f"{field_name}s[{key!r}]",
                    )
                elif not SAGEMAKER_NAME.match(key):
                    yield (
                        f"{field_name} name {key!r} would be rejected: use 1-64 letters, "
                        "digits, '-' or '_'",
                        f"{field_name}s[{key!r}]",
                    )
        for key in sorted(self.inputs.keys() & self.outputs.keys()):
            yield (
                f"{key!r} names both an input and an output: SageMaker needs the names of a "
                "job's inputs and outputs to be unique",
                f"outputs[{key!r}]",
            )
        for key in self.property_files:
            if not SAGEMAKER_NAME.match(key):
                yield (
                    f"property file name {key!r} would be rejected: use 1-64 letters, digits, "
                    "'-' or '_'",
                    f"property_files[{key!r}]",
                )

    @model_validator(mode="after")
    def _code_or_source_dir(self) -> Processing:
        if self.code and (self.source_dir or self.entry_point):
            raise ValueError("give either code= or source_dir= with entry_point=, not both")
        if not self.code and not (self.source_dir and self.entry_point):
            raise ValueError("give code= (a script) or source_dir= together with entry_point=")
        return self

    @field_validator("outputs", mode="before")
    @classmethod
    def _output_names(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            for name in value:
                if not isinstance(name, str):
                    raise ValueError(f"an output name is a string, not {shown(name)}")
            twice = sorted({name for name in value if value.count(name) > 1})
            if twice:
                raise ValueError(
                    f"output {twice[0]!r} is named twice: each output is a folder the job writes "
                    "and SageMaker uploads, so each needs a name of its own"
                )
            return dict.fromkeys(value)
        if not isinstance(value, dict):
            example = f"[{value!r}]" if isinstance(value, str) else '["train", "test"]'
            raise ValueError(
                "must be a list of names or a dict of name -> destination, not "
                f"{shown(value)}: write outputs={example}"
            )
        return value

    @field_validator("outputs")
    @classmethod
    def _named(cls, value: dict[str, ProcessingOutput]) -> dict[str, ProcessingOutput]:
        return {name: spec.model_copy(update={"name": name}) for name, spec in value.items()}

    def stamped(self, step_name: str) -> Processing:
        outputs = {k: v.model_copy(update={"step": step_name}) for k, v in self.outputs.items()}
        declared = DeclaredOutputs(step_name, outputs)
        return self.model_copy(update={"step_name": step_name, "outputs": declared})


class Training(StepConfig):
    """What a training step runs.

    ``entry_point`` is a script, relative to ``source_dir`` when one is given and otherwise to
    the file that defines the step. Without an ``entry_point`` the image runs its own code, as
    SageMaker's built-in algorithms do (``framework="xgboost"`` or an ``image_uri``), and
    ``hyperparameters`` pass to it as strings. ``inputs`` maps channel names to their data.
    """

    entry_point: str | None = None
    source_dir: str | None = None
    inputs: dict[str, _TrainingSource] = {}
    hyperparameters: dict[str, _Hyperparameter] = {}
    output_path: str | Parameter | Join | None = None
    metric_definitions: dict[str, str] = {}

    @model_validator(mode="after")
    def _entry_point_for_source_dir(self) -> Training:
        if self.source_dir is not None and self.entry_point is None:
            raise ValueError(
                "source_dir= needs entry_point=, the script inside it to run; without both, the "
                "image runs its own code (a built-in algorithm)"
            )
        return self

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

    def option_problems(self, options: StepOptions) -> Iterator[tuple[str, str]]:
        framework = getattr(options, "framework", None)
        if self.entry_point is None and framework in SCRIPT_ONLY_FRAMEWORKS:
            yield (
                f"a {framework} image has no built-in algorithm to run: give entry_point= (the "
                "training script), or an image that brings its own code (framework='xgboost' "
                "or an image_uri=)",
                "entry_point",
            )

    def code_paths(self) -> CodePaths | None:
        if self.entry_point is None:
            return None  # a built-in algorithm: the image brings its code
        return CodePaths(None, self.source_dir, self.entry_point)

    def secret_scans(self) -> Iterator[SecretScan]:
        yield "hyperparameters", "mapping", self.hyperparameters

    def name_problems(self) -> Iterator[tuple[str, str]]:
        for key in self.inputs:
            if not CHANNEL_NAME.match(key):
                yield (
                    f"channel name {key!r} would be rejected: use 1-64 letters, digits, '.', "
                    "'-' or '_'",
                    f"inputs[{key!r}]",
                )


def _as_argument(value: Any) -> Any:
    """A script argument as the field holds it; a Python bool is refused, since SageMaker
    passes arguments as strings and ``True`` would reach the script as ``"1"``."""
    if isinstance(value, bool):
        raise ValueError(
            f"{value} is a Python bool, which would reach the script as {str(int(value))!r}: "
            f"SageMaker passes arguments as strings; write the string the script expects, e.g. "
            f"{str(value).lower()!r} or {str(int(value))!r}"
        )
    return _as_input_source(value) if isinstance(value, ProcessingOutput) else value


def _as_output(value: Any) -> Any:
    """Turn what a user may give as an output's destination into a :class:`ProcessingOutput`."""
    if value is None:
        return ProcessingOutput()
    if isinstance(value, str):
        return ProcessingOutput(destination=_check_s3(value))
    if isinstance(value, (Parameter, Join)):
        return ProcessingOutput(destination=value)
    return value


def _as_input_source(value: Any) -> Any:
    """Turn what a user may pass as an input into an :data:`InputSource`."""
    if isinstance(value, ModelName):
        raise ValueError(f"{value!s} is the name of a model, not an S3 URI")
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


input_source = _as_input_source

"""What a processing step writes: its outputs, and the JSON files in them later steps read."""

from __future__ import annotations

import posixpath
from typing import Annotated, Any, NoReturn

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smdsl.declare.expressions import Join
from smdsl.declare.params import Parameter
from smdsl.declare.refs import OutputRef
from smdsl.declare.s3uri import check_s3_uri
from smdsl.declare.validation import accepting
from smdsl.errors import DeclarationError, did_you_mean

_URI = "an S3 URI, a parameter, join()"

PROCESSING_ROOT = "/opt/ml/processing/"
"""Where a processing job's inputs are mounted and its outputs read: SageMaker refuses a
``LocalPath`` elsewhere."""


def check_local_path(value: str | None, what: str) -> str | None:
    """``value`` if it is a folder under ``/opt/ml/processing/``, else a ValueError saying why;
    ``what`` names what is mounted there ("input", "output")."""
    if value is None:
        return value
    normal = posixpath.normpath(value) if value.startswith("/") else value
    if not normal.startswith(PROCESSING_ROOT) or normal == PROCESSING_ROOT.rstrip("/"):
        name = posixpath.basename(normal.rstrip("/"))
        name = what if name in ("", "processing") else name
        raise ValueError(
            f"{value!r} is not a folder under {PROCESSING_ROOT}: SageMaker mounts a processing "
            f"job's inputs and reads its outputs only there; write e.g. '{PROCESSING_ROOT}{name}'"
        )
    return value


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)


class PropertyFile(_Config):
    """A JSON file inside one of a processing step's outputs that later steps read values
    from with ``json_get`` (the SDK's ``PropertyFile``).

    Example: ``property_files={"EvaluationReport": PropertyFile("evaluation", "evaluation.json")}``
    """

    output: str
    path: str

    def __init__(self, output: str | None = None, path: str | None = None, **data: Any) -> None:
        if output is not None:
            data["output"] = output
        if path is not None:
            data["path"] = path
        super().__init__(**data)

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if not value or value.startswith("/") or value.startswith("s3://"):
            raise ValueError(
                f"{value!r}: give the file's path inside the output folder, e.g. 'evaluation.json'"
            )
        return value


class ProcessingOutput(_Config):
    """A directory a processing job writes, uploaded to S3 when the job ends.

    ``destination`` defaults to a path unique to each execution:
    ``s3://<bucket>/<prefix>/<pipeline>/<execution id>/<step>/<output>``.
    """

    destination: Annotated[str | Parameter | Join, accepting(f"{_URI} or None")] | None = None
    local_path: str | None = None
    name: str = ""
    step: str | None = Field(default=None, exclude=True)

    @field_validator("destination")
    @classmethod
    def _s3(cls, value: str | Parameter | Join | None) -> str | Parameter | Join | None:
        return check_s3_uri(value) if isinstance(value, str) else value

    @field_validator("local_path")
    @classmethod
    def _local_path(cls, value: str | None) -> str | None:
        return check_local_path(value, "output")

    @property
    def container_path(self) -> str:
        """Where the job writes this output inside its container."""
        return self.local_path or f"/opt/ml/processing/output/{self.name}"

    def _reference(self) -> OutputRef:
        """This output as a reference, as ``<step>.outputs[name]`` gives it."""
        return OutputRef(step=self.step or "<step>", output=self.name)

    # An output of a received config stands for its S3 URI, known only when the pipeline runs:
    # formatting or adding it fails as a reference does, pointing at join().
    def __format__(self, spec: str) -> str:
        return format(self._reference(), spec)

    def __add__(self, other: object) -> NoReturn:
        self._reference().__add__(other)

    def __radd__(self, other: object) -> NoReturn:
        self._reference().__radd__(other)


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

"""References from one step to what another step produces."""

from __future__ import annotations

from typing import ClassVar, NoReturn

from pydantic import BaseModel, ConfigDict

from smdsl.declare.params import concatenation_error


class _Reference(BaseModel):
    """What every reference shares: it has no value until the pipeline runs.

    ``str(ref)`` names it (``preprocess.outputs['train']``) for messages; an f-string or ``+``
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


class OutputRef(_Reference):
    """The S3 URI of a named output of a processing step, known once that step has run."""

    kind: ClassVar[str] = "output"

    step: str
    output: str

    def __str__(self) -> str:
        return f"{self.step}.outputs[{self.output!r}]"


class ModelArtifactsRef(_Reference):
    """The S3 URI of the model artifacts (``model.tar.gz``) a training step produces."""

    kind: ClassVar[str] = "model"

    step: str

    def __str__(self) -> str:
        return f"{self.step}.model_artifacts"


StepRef = OutputRef | ModelArtifactsRef

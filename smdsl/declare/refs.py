"""References from one step to what another step produces."""

from __future__ import annotations

from typing import NoReturn

from pydantic import BaseModel, ConfigDict

from smdsl.declare.params import concatenation_error


class OutputRef(BaseModel):
    """The S3 URI of a named output of a processing step, known once that step has run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    output: str

    def __str__(self) -> str:
        return f"{self.step}.outputs[{self.output!r}]"

    def __add__(self, other: object) -> NoReturn:
        raise concatenation_error(f"the output {self}", str(self), other)

    def __radd__(self, other: object) -> NoReturn:
        raise concatenation_error(f"the output {self}", str(self), other, after=True)


class ModelArtifactsRef(BaseModel):
    """The S3 URI of the model artifacts (``model.tar.gz``) a training step produces."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str

    def __str__(self) -> str:
        return f"{self.step}.model_artifacts"

    def __add__(self, other: object) -> NoReturn:
        raise concatenation_error(f"the model {self}", str(self), other)

    def __radd__(self, other: object) -> NoReturn:
        raise concatenation_error(f"the model {self}", str(self), other, after=True)


StepRef = OutputRef | ModelArtifactsRef

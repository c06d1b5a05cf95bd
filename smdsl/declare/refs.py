"""References from one step to what another step produces."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class OutputRef(BaseModel):
    """The S3 URI of a named output of a processing step, known once that step has run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    output: str

    def __str__(self) -> str:
        return f"{self.step}.outputs[{self.output!r}]"


class ModelArtifactsRef(BaseModel):
    """The S3 URI of the model artifacts (``model.tar.gz``) a training step produces."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str

    def __str__(self) -> str:
        return f"{self.step}.model_artifacts"


StepRef = OutputRef | ModelArtifactsRef

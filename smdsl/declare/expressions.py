"""Values computed when the pipeline runs, built from parameters and step references."""

from __future__ import annotations

from typing import Annotated

from pydantic import AllowInfNan, BaseModel, ConfigDict

from smdsl.declare.params import Parameter
from smdsl.declare.refs import (
    ExecutionVariable,
    JsonGet,
    ModelArtifactsRef,
    OutputRef,
    StepProperty,
)
from smdsl.declare.validation import accepting

JoinPart = (
    str
    | int
    | Annotated[float, AllowInfNan(False)]
    | bool
    | Parameter
    | OutputRef
    | ModelArtifactsRef
    | StepProperty
    | JsonGet
    | ExecutionVariable
)


def _part(value: object) -> object:
    """A processing output of a received config stands for its S3 URI, as in inputs."""
    from smdsl.declare.configs import ProcessingOutput, input_source

    return input_source(value) if isinstance(value, ProcessingOutput) else value


class Join(BaseModel):
    """Strings, numbers, parameters and step outputs joined into one string at run time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    values: tuple[
        Annotated[
            JoinPart,
            accepting(
                prepare=lambda v: _part(v),
                what="a string, a number, a boolean, a parameter, a step's output or property, a "
                "JsonGet value or an execution variable",
            ),
        ],
        ...,
    ]
    on: str = ""

    def __format__(self, spec: str) -> str:
        raise TypeError(
            "join() has no value until the pipeline runs, so it cannot be formatted into a "
            "string; pass it itself where a value is expected, or put the other parts inside "
            "it: join(a, b, 'c', on='/')"
        )


def join(*values: JoinPart, on: str = "") -> Join:
    """Join ``values`` with ``on`` when the pipeline runs: the f-string of pipeline values.

    Example::

        input_uri = param("InputUri", default="s3://my-bucket/raw")
        path = join(input_uri, "2024", on="/")   # s3://my-bucket/raw/2024 by default
    """
    return Join(values=values, on=on)

"""Pipeline parameters: values chosen when an execution starts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

from smdsl.declare.location import caller_location
from smdsl.errors import DeclarationError, SourceLocation

ParameterType = Literal["String", "Integer", "Float", "Boolean"]
ParameterValue = str | int | float | bool

_PY_TYPES: dict[type, ParameterType] = {
    bool: "Boolean",
    int: "Integer",
    float: "Float",
    str: "String",
}


class Parameter(BaseModel):
    """A pipeline parameter: a name, a type and an optional default.

    Use it wherever a step accepts a value that may change per execution: an input's S3 URI,
    a script argument, a hyperparameter.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: ParameterType
    default: ParameterValue | None = None
    _location: SourceLocation | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _default_matches_type(self) -> Parameter:
        if self.default is None:
            return self
        expected = {"String": (str,), "Integer": (int,), "Float": (float, int), "Boolean": (bool,)}
        ok = isinstance(self.default, expected[self.type])
        if self.type in ("Integer", "Float") and isinstance(self.default, bool):
            ok = False
        if not ok:
            raise ValueError(
                f"parameter {self.name!r} is {self.type} but its default "
                f"{self.default!r} is a {type(self.default).__name__}"
            )
        return self

    @property
    def location(self) -> SourceLocation | None:
        """The line that declared this parameter."""
        return self._location

    def __str__(self) -> str:
        raise TypeError(
            f"pipeline parameter {self.name!r} has no value until the pipeline runs, so it "
            "cannot be formatted into a string; pass the parameter itself where a value is "
            "expected, or build the string with smdsl.join(), e.g. join(prefix, 'train', on='/')"
        )

    def __format__(self, spec: str) -> str:
        return self.__str__()


def param(
    name: str,
    default: ParameterValue | None = None,
    *,
    type: type[str] | type[int] | type[float] | type[bool] | None = None,
) -> Parameter:
    """Declare a pipeline parameter.

    The type follows from ``default`` (``str``, ``int``, ``float`` or ``bool``); give ``type=``
    when there is no default. Example::

        input_uri = param("InputData", default="s3://my-bucket/raw/")
        epochs = param("Epochs", type=int)
    """
    py_type: Any = (
        type if type is not None else (default.__class__ if default is not None else None)
    )
    if py_type is None:
        raise DeclarationError(
            f"parameter {name!r} needs a default or an explicit type=str|int|float|bool"
        )
    if py_type not in _PY_TYPES:
        raise DeclarationError(
            f"parameter {name!r}: type must be str, int, float or bool, not {py_type!r}"
        )
    if py_type is float and isinstance(default, int) and not isinstance(default, bool):
        default = float(default)
    try:
        parameter = Parameter(name=name, type=_PY_TYPES[py_type], default=default)
    except ValueError as exc:
        raise DeclarationError(_first_error(exc)) from None
    parameter._location = caller_location()
    return parameter


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("ctx", {}).get("error", first["msg"]))
    return str(exc)


__all__ = ["Parameter", "ParameterType", "ParameterValue", "param"]

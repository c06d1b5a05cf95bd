"""Pipeline parameters: values chosen when an execution starts."""

from __future__ import annotations

import math
import re
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

from smdsl.declare.conditions import Comparable
from smdsl.declare.location import caller_location
from smdsl.declare.validation import describe_validation
from smdsl.errors import DeclarationError, SourceLocation

ParameterType = Literal["String", "Integer", "Float", "Boolean"]
ParameterValue = str | int | float | bool

_PY_TYPES: dict[type, ParameterType] = {
    bool: "Boolean",
    int: "Integer",
    float: "Float",
    str: "String",
}


class Parameter(Comparable, BaseModel):
    """A pipeline parameter: a name, a type and an optional default.

    Use it wherever a step accepts a value that may change per execution: an input's S3 URI,
    a script argument, a hyperparameter, a condition (``threshold >= 0.5``).
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
        if isinstance(self.default, float) and not math.isfinite(self.default):
            raise ValueError(
                f"parameter {self.name!r}: its default {self.default!r} is not a finite number, "
                "which a pipeline definition (JSON) cannot hold"
            )
        return self

    @property
    def location(self) -> SourceLocation | None:
        """The line that declared this parameter."""
        return self._location

    @property
    def operand_type(self) -> str | None:
        return self.type

    def label(self) -> str:
        return f"param({self.name!r})"

    def __str__(self) -> str:
        raise TypeError(
            f"pipeline parameter {self.name!r} has no value until the pipeline runs, so it "
            "cannot be formatted into a string; pass the parameter itself where a value is "
            "expected, or build the string with smdsl.join(), e.g. join(prefix, 'train', on='/')"
        )

    def __format__(self, spec: str) -> str:
        return self.__str__()

    def __add__(self, other: object) -> NoReturn:
        raise concatenation_error(f"pipeline parameter {self.name!r}", _variable(self.name), other)

    def __radd__(self, other: object) -> NoReturn:
        raise concatenation_error(
            f"pipeline parameter {self.name!r}", _variable(self.name), other, after=True
        )


def concatenation_error(
    what: str, expression: str, other: object, after: bool = False
) -> TypeError:
    """The error for ``value + other`` (or ``other + value``, ``after``) where ``value`` has no
    value until the pipeline runs: it names the :func:`~smdsl.join` that does it then."""
    other_text = f"parameter {other.name!r}" if isinstance(other, Parameter) else repr(other)
    if isinstance(other, str) and after and len(other) > 1 and other.endswith("/"):
        parts = f"{other[:-1]!r}, {expression}, on='/'"
    elif isinstance(other, str) and not after and len(other) > 1 and other.startswith("/"):
        parts = f"{expression}, {other[1:]!r}, on='/'"
    else:
        if isinstance(other, Parameter):
            shown = _variable(other.name)
        else:
            shown = repr(other) if isinstance(other, (str, int, float)) else "..."
        parts = f"{shown}, {expression}" if after else f"{expression}, {shown}"
    return TypeError(
        f"{what} has no value until the pipeline runs, so + cannot combine it with "
        f"{other_text}; build the string with smdsl.join(), which joins its parts when the "
        f"pipeline runs: join({parts})"
    )


def _variable(name: str) -> str:
    """A Python name for the parameter ``name`` in an example: ``InputData`` -> ``input_data``."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return snake if snake.isidentifier() else "parameter"


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
    except ValidationError as exc:
        raise DeclarationError(describe_validation(exc, title=False)) from None
    parameter._location = caller_location()
    return parameter


__all__ = ["Parameter", "ParameterType", "ParameterValue", "param"]

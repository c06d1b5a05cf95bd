"""``--param NAME=VALUE``: a pipeline parameter's value for one run, parsed by its type.

A value of the wrong type, an unknown name or a parameter left without a value is an error
before anything runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from smdsl.declare.params import Parameter
from smdsl.errors import UsageError, did_you_mean

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_WHAT = {
    "Integer": "a whole number, e.g. 5",
    "Float": "a number, e.g. 0.5",
    "Boolean": "true or false (or yes/no, on/off, 1/0)",
    "String": "text",
}
_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_value(parameter: Parameter, text: str) -> Any:
    """``text`` as a value of ``parameter``'s type; raises ValueError saying what it wants."""
    kind = parameter.type
    if kind == "String":
        return text
    if kind == "Boolean":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(_WHAT[kind])
    if not (_INTEGER if kind == "Integer" else _FLOAT).fullmatch(text):
        raise ValueError(_WHAT[kind])
    value: int | float = int(text) if kind == "Integer" else float(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a finite number")
    return value


def parse_overrides(
    parameters: Sequence[Parameter], pairs: Iterable[str], need_all: bool = True
) -> dict[str, Any]:
    """The values of ``--param NAME=VALUE`` pairs by name, each parsed by its parameter's type.

    With ``need_all`` a parameter without a default must be given a value.
    """
    known = {p.name: p for p in parameters}
    values: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        name = name.strip()
        if not equals or not name:
            raise UsageError(f"--param {pair!r}: write NAME=VALUE, e.g. --param MaxDepth=6")
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise UsageError(
                f"--param {pair!r}: the pipeline has no parameter {name!r}"
                f"{did_you_mean(name, known)} (parameters: {listed})"
            )
        parameter = known[name]
        if name in values:
            raise UsageError(f"--param {name}: given twice; give each parameter once")
        try:
            values[name] = parse_value(parameter, text)
        except ValueError as exc:
            raise UsageError(
                f"--param {pair!r}: {name} is {_article(parameter.type)} {parameter.type} "
                f"parameter, and {text!r} is not {exc}"
            ) from None
    if need_all:
        missing = [p.name for p in parameters if p.default is None and p.name not in values]
        if missing:
            raise UsageError(
                "no value for parameter"
                + ("s " if len(missing) > 1 else " ")
                + ", ".join(missing)
                + ", which "
                + ("have" if len(missing) > 1 else "has")
                + " no default: give --param "
                + " --param ".join(f"{m}=VALUE" for m in missing)
            )
    return values


def _article(word: str) -> str:
    return "an" if word[:1] in "AEIOU" else "a"

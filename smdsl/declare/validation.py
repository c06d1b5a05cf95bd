"""How pydantic's validation errors read to a user: one sentence per field.

pydantic reports a value that fits no member of a union once per member, in its own terms
(``union_tag``, ``is-instance[Parameter]``, ``Input should be a valid dictionary ...``). A field
whose value may take several types therefore says what it accepts with :func:`accepting`, which
turns any such failure into one sentence, and :func:`describe_validation` is the one place that
turns a :class:`~pydantic.ValidationError` into text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import ErrorDetails

_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "True or False",
    "bool_parsing": "True or False",
    "dict_type": "a dict",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a set",
    "none_required": "None",
}
"""What a value must be, for the pydantic error types that mean "the wrong type"."""

_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}

_UNION_MEMBERS = {"str", "int", "float", "bool", "none", "list", "dict", "tuple"}
"""How pydantic tags the members of a union it reports one by one (besides ``name[...]``)."""

_TAG = re.compile(r"^[A-Za-z][\w-]*\[.*\]$")


def accepting(
    what: str, *, prepare: Callable[[Any], Any] | None = None, nested: str = ""
) -> WrapValidator:
    """Field metadata: a value the field cannot take reads ``must be <what>, not <value>``.

    ``prepare`` turns what users write into what the field holds (and may raise a ValueError
    that explains a value); ``nested`` is a hint added when the value is a dict or a list.
    Example: ``count: Annotated[int | Parameter, accepting("a whole number or a parameter")]``.
    """

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if prepare is not None:
            value = prepare(value)
        try:
            return handler(value)
        except ValidationError as exc:
            explained = [e for e in exc.errors() if e["type"] in ("value_error", "assertion_error")]
            if explained:
                raise ValueError(error_sentence(explained[0])) from None
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(
                    f"{shown(value)} is not a finite number, which a pipeline definition (JSON) "
                    "cannot hold"
                ) from None
            hint = f"; {nested}" if nested and isinstance(value, (dict, list, tuple, set)) else ""
            raise ValueError(f"must be {what}, not {shown(value)}{hint}") from None

    return WrapValidator(validate)


def describe_validation(exc: ValidationError, *, title: bool = True) -> str:
    """``exc`` as one line: ``Model: field: sentence; other[key]: sentence``.

    ``title`` puts the name of the model in front, for a config the user built
    (``Processing: outputz: unknown field``).
    """
    parts = [f"{path}: {text}" if path else text for path, text in validation_problems(exc)]
    return (f"{exc.title}: " if title else "") + "; ".join(parts)


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(field path, sentence) for each field of ``exc``: one per field, never one per union
    member."""
    found: dict[tuple[Any, ...], tuple[str, str]] = {}
    errors = exc.errors()
    unions = _unions([tuple(e["loc"]) for e in errors])
    for error in errors:
        loc = tuple(error["loc"])
        union = next((u for u in unions if loc[: len(u)] == u and len(loc) > len(u)), None)
        if union is not None:
            text = f"has the wrong type: {shown(error['input'])}"
            found.setdefault(union, (field_path(union), text))
        elif loc[-1:] == ("[key]",):
            text = f"key {shown(loc[-2])}: {error_sentence(error)}"
            found.setdefault(loc, (field_path(loc[:-2]), text))
        else:
            found.setdefault(loc, (field_path(loc), error_sentence(error)))
    return list(found.values())


def error_sentence(error: ErrorDetails) -> str:
    """What one pydantic error means, in the words of the field's user."""
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error") and "error" in context:
        return str(context["error"])
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    if kind == "frozen_instance":
        return "cannot be changed: a config is frozen once built; build a new one"
    if kind in _EXPECTED:
        return f"must be {_EXPECTED[kind]}, not {shown(error['input'])}"
    if kind in ("model_type", "model_attributes_type", "is_instance_of"):
        name = context.get("class_name") or context.get("class") or "another kind of value"
        return f"must be a {name}, not {shown(error['input'])}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}, not {shown(error['input'])}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"must be {words} {context.get(key)}, not {shown(error['input'])}"
    return str(error["msg"]).removeprefix("Value error, ")


def field_path(loc: Sequence[Any]) -> str:
    """``('hyperparameters', 'depth')`` as ``hyperparameters['depth']``, ``('arguments', 2)`` as
    ``arguments[2]``: the first part is a field, the rest are keys and indexes."""
    if not loc:
        return ""
    head, *rest = loc
    return str(head) + "".join(f"[{part!r}]" for part in rest)


def shown(value: Any, limit: int = 60) -> str:
    """``value`` as the user would write it, cut short when long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unions(locs: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """Where pydantic reported a union member by member: a place in ``locs`` followed by two or
    more member tags (``str``, ``int``, ``function-after[...]``, ...)."""
    tags: dict[tuple[Any, ...], set[str]] = {}
    for loc in locs:
        for index, part in enumerate(loc[1:], 1):
            if isinstance(part, str) and (part in _UNION_MEMBERS or _TAG.match(part)):
                tags.setdefault(loc[:index], set()).add(part)
    return {prefix for prefix, members in tags.items() if len(members) > 1}


__all__ = [
    "accepting",
    "describe_validation",
    "error_sentence",
    "field_path",
    "shown",
    "validation_problems",
]

"""Walking a config: every value inside it, with the field path that leads to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from smdsl.declare.params import Parameter
from smdsl.declare.refs import ExecutionVariable, StepReference

VALUES = (Parameter, StepReference, ExecutionVariable)
"""What a walk stops at by default: the values known only when the pipeline runs."""


def walk(
    value: Any, path: str = "", leaves: tuple[type, ...] = VALUES
) -> Iterator[tuple[str, Any]]:
    """Every leaf value inside a config, with the dotted field path that leads to it; an
    instance of one of ``leaves`` is a leaf even when it is a model itself."""
    if isinstance(value, leaves):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from walk(getattr(value, name), f"{path}.{name}" if path else name, leaves)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}[{key!r}]", leaves)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]", leaves)
    else:
        yield path, value


def references(config: BaseModel) -> Iterator[tuple[str, StepReference]]:
    """The references to other steps inside ``config``, with their field paths."""
    for path, value in walk(config):
        if isinstance(value, StepReference):
            yield path, value


def parameters(config: BaseModel) -> Iterator[tuple[str, Parameter]]:
    """The pipeline parameters used inside ``config``, with their field paths."""
    for path, value in walk(config):
        if isinstance(value, Parameter):
            yield path, value

"""Walking a config: every value inside it, with the field path that leads to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from smdsl.declare.params import Parameter
from smdsl.declare.refs import ExecutionVariable, StepReference


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf value inside a config, with the dotted field path that leads to it."""
    if isinstance(value, (Parameter, StepReference, ExecutionVariable)):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
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

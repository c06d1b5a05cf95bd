"""Checks of one step at a time: names, code paths and instance types SageMaker would refuse."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from smdsl.declare.configs import Processing, StepConfig
from smdsl.declare.params import Parameter
from smdsl.declare.validation import describe_validation as describe_validation
from smdsl.errors import did_you_mean
from smdsl.graph.codepaths import code_problems
from smdsl.graph.instances import instance_types

SAGEMAKER_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
"""What SageMaker accepts as a step, parameter, input or output name."""

CHANNEL_NAME = re.compile(r"^[A-Za-z0-9\.\-_]{1,64}$")

RESERVED_PROCESSING_NAMES = {
    "code": "the SageMaker SDK adds an input named 'code' that carries the step's script",
    "smdsl-source": "smdsl adds an input named 'smdsl-source' that carries a source_dir",
}
"""Input names a processing job gets besides the user's, with the reason, for messages."""


def config_problems(
    config: StepConfig, base: Path, root: Path | None = None
) -> Iterator[tuple[str, str]]:
    """(message, field) for each name SageMaker would reject and each code path missing.

    ``base`` is the pipeline file's folder; code must lie in the project folder ``root``
    (default ``base``), see :mod:`smdsl.graph.codepaths`.
    """
    if isinstance(config, Processing):
        for field_name, keys in (("input", config.inputs), ("output", config.outputs)):
            for key in keys:
                if key in RESERVED_PROCESSING_NAMES:
                    yield (
                        f"{field_name} name {key!r} is reserved: {RESERVED_PROCESSING_NAMES[key]}, "
                        "and the names of a job's inputs and outputs must be unique; choose "
                        "another name",
                        f"{field_name}s[{key!r}]",
                    )
                elif not SAGEMAKER_NAME.match(key):
                    yield (
                        f"{field_name} name {key!r} would be rejected: use 1-64 letters, "
                        "digits, '-' or '_'",
                        f"{field_name}s[{key!r}]",
                    )
        for key in sorted(config.inputs.keys() & config.outputs.keys()):
            yield (
                f"{key!r} names both an input and an output: SageMaker needs the names of a "
                "job's inputs and outputs to be unique",
                f"outputs[{key!r}]",
            )
    else:
        for key in config.inputs:
            if not CHANNEL_NAME.match(key):
                yield (
                    f"channel name {key!r} would be rejected: use 1-64 letters, digits, '.', "
                    "'-' or '_'",
                    f"inputs[{key!r}]",
                )
    yield from code_problems(config, base, root or base)


def instance_type_problem(kind: str, declared: str | Parameter) -> str | None:
    """Why ``declared`` (or a parameter's default) is no ``kind`` instance type, if it is not."""
    value = declared if isinstance(declared, str) else declared.default
    known = instance_types(kind)
    if isinstance(value, str) and value not in known:
        return (
            f"{value!r} is not a {kind} instance type SageMaker offers{did_you_mean(value, known)}"
        )
    return None

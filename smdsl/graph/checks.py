"""Checks of one step at a time: names, code paths and instance types SageMaker would refuse."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from smdsl.declare.configs import Processing, StepConfig
from smdsl.declare.options import StepOptions
from smdsl.declare.params import Parameter
from smdsl.errors import did_you_mean, display_path
from smdsl.graph.frameworks import framework_versions
from smdsl.graph.instances import instance_types

SAGEMAKER_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
"""What SageMaker accepts as a step, parameter, input or output name."""

CHANNEL_NAME = re.compile(r"^[A-Za-z0-9\.\-_]{1,64}$")


def config_problems(config: StepConfig, base: Path) -> Iterator[tuple[str, str]]:
    """(message, field) for each name SageMaker would reject and each code path missing."""
    if isinstance(config, Processing):
        for field_name, keys in (("input", config.inputs), ("output", config.outputs)):
            for key in keys:
                if not SAGEMAKER_NAME.match(key) or key == "code":
                    yield (
                        f"{field_name} name {key!r} would be rejected: use 1-64 letters, "
                        "digits, '-' or '_' ('code' is reserved)",
                        f"{field_name}s[{key!r}]",
                    )
        paths = [("code", config.code)] if config.code else [("source_dir", config.source_dir)]
        if config.source_dir and config.entry_point:
            paths.append(("entry_point", str(Path(config.source_dir) / config.entry_point)))
    else:
        for key in config.inputs:
            if not CHANNEL_NAME.match(key):
                yield (
                    f"channel name {key!r} would be rejected: use 1-64 letters, digits, '.', "
                    "'-' or '_'",
                    f"inputs[{key!r}]",
                )
        paths = [("source_dir", config.source_dir)] if config.source_dir else []
        paths.append(("entry_point", str(Path(config.source_dir or ".") / config.entry_point)))
    for field_name, relative in paths:
        if relative is None:
            continue
        target = base / relative
        wanted_dir = field_name == "source_dir"
        if not (target.is_dir() if wanted_dir else target.is_file()):
            kind = "folder" if wanted_dir else "file"
            yield f"{kind} {relative!r} not found (looked for {display_path(target)})", field_name


def instance_type_problem(kind: str, declared: str | Parameter) -> str | None:
    """Why ``declared`` (or a parameter's default) is no ``kind`` instance type, if it is not."""
    value = declared if isinstance(declared, str) else declared.default
    known = instance_types(kind)
    if isinstance(value, str) and value not in known:
        return (
            f"{value!r} is not a {kind} instance type SageMaker offers{did_you_mean(value, known)}"
        )
    return None


def framework_version_problem(options: StepOptions) -> str | None:
    """Why the step's framework version has no SageMaker image, if it has none."""
    if options.framework is None or options.framework_version is None:
        return None
    known = framework_versions(options.framework)
    if known is None or options.framework_version in known:
        return None
    newest = sorted(known, key=_version_key)[-4:]
    return (
        f"{options.framework} {options.framework_version!r} has no SageMaker image"
        f"{did_you_mean(options.framework_version, known)}; recent versions: {', '.join(newest)}"
    )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def describe_validation(exc: ValidationError) -> str:
    """A pydantic validation error as one line: ``Model: field: message; ...``."""
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"])
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{loc}: {message}" if loc else message)
    return f"{exc.title}: " + "; ".join(parts)

"""The file that holds a project's environment profiles, and where a value in it came from.

``[envs.NAME]`` in an ``smdsl.toml`` beside the pipeline file, else ``[tool.smdsl.envs.NAME]`` in
the nearest pyproject.toml that has a ``[tool.smdsl]`` table.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smdsl.declare.envvars import setting_variable
from smdsl.errors import EnvConfigError, display_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class EnvFile:
    """The file that holds a project's environment profiles."""

    path: Path | None
    table: str  # how the profiles table is written in that file, for messages
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignored: dict[str, Any] = field(default_factory=dict)
    """What the file's smdsl table holds besides ``envs``, which nothing reads: key -> value."""

    def describe(self, name: str) -> str:
        where = display_path(self.path) if self.path else "(no config file)"
        return f"{where}: [{self.table}.{name}]"

    def origin(self, name: str, *loc: str, with_key: bool = False) -> str:
        """Where profile ``name`` got its value at ``loc`` (``"region"``, or ``"steps", "train",
        "instance_type"``), for messages: the environment variable that set it, else the file.

        ``smdsl.toml: [envs.dev] region``, or ``SMDSL_REGION (environment variable, profile
        'dev')``, followed by ``: region`` ``with_key``.
        """
        variable = setting_variable(loc)
        if variable is None and loc == ("region",) and "region" not in self.profiles.get(name, {}):
            variable = next((v for v in REGION_VARIABLES if os.environ.get(v)), None)
        key = ".".join(loc)
        if variable is None:
            return f"{self.describe(name)} {key}"
        by = self.by_variables([variable], name)
        return f"{by}: {key}" if with_key else by

    def by_variables(self, variables: list[str], name: str) -> str:
        """``SMDSL_X (environment variable, profile 'dev')``: what set a value of profile
        ``name``, for messages."""
        noun = "environment variable" if len(variables) == 1 else "environment variables"
        profile = f", profile {name!r}" if name in self.profiles else ""
        return f"{' and '.join(variables)} ({noun}{profile})"

    def step_keys(self, name: str) -> dict[str, Any]:
        """The ``steps`` table of profile ``name`` as the file writes it (no variables)."""
        steps = self.profiles.get(name, {}).get("steps", {})
        return steps if isinstance(steps, dict) else {}


REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
"""Where a profile without a region gets one, in this order (after ``SMDSL_REGION``)."""


def find_env_file(pipeline_file: Path) -> EnvFile:
    """The smdsl.toml beside ``pipeline_file``, else the nearest pyproject.toml with smdsl in it."""
    folder = pipeline_file.resolve().parent
    beside = folder / "smdsl.toml"
    if beside.is_file():
        data = _read_toml(beside)
        ignored = {k: v for k, v in data.items() if k != "envs"}
        return EnvFile(beside, "envs", _profiles(data.get("envs", {}), beside, "envs"), ignored)
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            tool = _read_toml(pyproject).get("tool", {}).get("smdsl")
            if tool is not None:
                table = "tool.smdsl.envs"
                if not isinstance(tool, dict):
                    raise EnvConfigError(
                        f"{display_path(pyproject)}: tool.smdsl must be a table, e.g. [{table}.dev]"
                    )
                envs = tool.get("envs", {})
                ignored = {k: v for k, v in tool.items() if k != "envs"}
                return EnvFile(pyproject, table, _profiles(envs, pyproject, table), ignored)
    return EnvFile(None, "tool.smdsl.envs")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise EnvConfigError(f"{display_path(path)}: not valid TOML: {exc}") from None


def _profiles(envs: Any, path: Path, table: str) -> dict[str, dict[str, Any]]:
    """The profile tables under ``table`` (``envs`` or ``tool.smdsl.envs``) of ``path``."""
    if not isinstance(envs, dict) or not all(isinstance(v, dict) for v in envs.values()):
        raise EnvConfigError(
            f"{display_path(path)}: {table} must hold one table per profile, e.g. [{table}.dev]"
        )
    return envs

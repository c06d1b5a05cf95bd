"""Environments: per-deployment settings read from pyproject.toml or smdsl.toml.

A profile lives in ``[tool.smdsl.envs.NAME]`` of the pyproject.toml nearest to the pipeline
file, or in ``[envs.NAME]`` of an ``smdsl.toml`` beside it. Any field can be overridden by an
``SMDSL_``-prefixed environment variable (``SMDSL_ROLE_ARN``, ``SMDSL_BUCKET``,
``SMDSL_STEPS__TRAIN__INSTANCE_TYPE``...). A step function receives the resolved profile by
taking a parameter annotated :class:`Env`.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from smdsl.declare.durations import to_seconds
from smdsl.declare.envfile import REGION_VARIABLES, EnvFile, find_env_file
from smdsl.declare.envvars import check_variables, setting_variable, variable_path
from smdsl.declare.options import check_instance_type
from smdsl.declare.validation import error_sentence
from smdsl.errors import EnvConfigError, Problem, did_you_mean, display_path

ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]{1,512}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
RESERVED_TAG_PREFIXES = ("aws:", "sagemaker:")
"""Tag keys AWS and SageMaker set themselves: a profile may not set them, deploy never removes
them."""
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class StepOverride(BaseModel):
    """Per-step settings an environment changes, e.g. a bigger instance in prod."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instance_type: str | None = None
    instance_count: int | None = Field(default=None, ge=1)
    volume_size_gb: int | None = Field(default=None, ge=1, le=16384)
    max_runtime: int | None = None
    environment: dict[str, str] = {}

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str | None) -> str | None:
        return None if value is None else check_instance_type(value)

    @field_validator("max_runtime", mode="before")
    @classmethod
    def _max_runtime(cls, value: int | str | timedelta | None) -> int | None:
        return None if value is None else to_seconds(value)


class _ProfileVariables(EnvSettingsSource):
    """The ``SMDSL_*`` variables, but never ``SMDSL_NAME``: a profile's name is its table name.

    ``load_env`` refuses ``SMDSL_NAME`` outright; an ``Env(name="dev")`` built in a test is not
    renamed by it either.
    """

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        values.pop("name", None)
        return values


class Env(BaseSettings):
    """A resolved environment profile.

    ``name`` is the name of its table (``[envs.dev]`` is ``dev``; ``default`` without one): a
    profile file cannot set it, nor can an environment variable.
    """

    model_config = SettingsConfigDict(
        env_prefix="SMDSL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    name: str = "default"
    region: str | None = None
    role_arn: str | None = None
    bucket: str | None = None
    prefix: str = ""
    pipeline_name: str | None = None
    description: str | None = None
    tags: dict[str, str] = {}
    steps: dict[str, StepOverride] = {}
    local_data: str | None = None
    """The folder ``smdsl run --local`` reads ``s3://`` data from, laid out as
    ``<bucket>/<key>``; relative to the profile file (default: ``data/`` beside the pipeline)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment variables beat the profile file, so CI can point a profile elsewhere.
        return (_ProfileVariables(settings_cls), init_settings)

    @field_validator("role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None and not ROLE_ARN.match(value):
            raise ValueError(
                f"{value!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/Name)"
            )
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.removeprefix("s3://").rstrip("/")
            if not BUCKET.match(value):
                raise ValueError(f"{value!r} is not an S3 bucket name")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.lower().startswith(RESERVED_TAG_PREFIXES):
                raise _RefusedKey(
                    key,
                    f"tag key {key!r}: keys starting with "
                    f"{' or '.join(repr(p) for p in RESERVED_TAG_PREFIXES)} are reserved for "
                    "AWS and SageMaker, which set them; choose another key",
                )
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region (e.g. 'eu-west-1')")
        return value

    @field_validator("pipeline_name")
    @classmethod
    def _pipeline_name(cls, value: str | None) -> str | None:
        if value is not None and not PIPELINE_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a valid pipeline name: up to 256 letters, digits and "
                "hyphens, starting with a letter or digit"
            )
        return value

    def s3_prefix(self, *parts: str) -> str:
        """``<prefix>/<parts...>`` as an S3 key, without empty segments."""
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p and p.strip("/"))


class _RefusedKey(ValueError):
    """A table field refused for one of its keys: a message names the variable that set it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


PROFILE_FIELDS = tuple(f for f in Env.model_fields if f != "name")
"""The fields a profile sets, in a file or by ``SMDSL_<FIELD>``."""

STEP_FIELDS = tuple(StepOverride.model_fields)
"""The fields of a per-step override, ``[envs.NAME.steps.STEP]``."""


DEPLOY_SETTINGS = {
    "region": "SMDSL_REGION or AWS_REGION",
    "role_arn": "SMDSL_ROLE_ARN",
    "bucket": "SMDSL_BUCKET",
}
"""What compiling and deploying need from a profile, with the variables that can set each."""


def missing_deploy_settings(env: Env, where: str) -> list[str]:
    """One message per setting that compiling and deploying need and ``env`` lacks.

    ``where`` names the profile (:meth:`EnvFile.describe`). ``smdsl validate`` reports these
    along with every other problem; ``smdsl definition`` and ``deploy`` refuse to start on them.
    """
    return [
        f"{where} {name}: missing; compiling and deploying need it (set it in the file, or by "
        f"{variables})"
        for name, variables in DEPLOY_SETTINGS.items()
        if not getattr(env, name)
    ]


def require_deploy_settings(env: Env, where: str) -> tuple[str, str, str]:
    """The region, role ARN and bucket of ``env``, or one error naming every missing one."""
    missing = missing_deploy_settings(env, where)
    if len(missing) == 1:
        raise EnvConfigError(missing[0])
    if missing:
        raise EnvConfigError(
            f"{where}: {len(missing)} settings missing", [Problem(line) for line in missing]
        )
    assert env.region and env.role_arn and env.bucket
    return env.region, env.role_arn, env.bucket


def load_env(pipeline_file: Path, name: str | None) -> Env:
    """Resolve the profile ``name`` for ``pipeline_file``; with no name, a profile of defaults."""
    env_file = find_env_file(pipeline_file)
    if name is None:
        return _build(env_file, "default", {})
    if name not in env_file.profiles:
        known = ", ".join(sorted(env_file.profiles)) or "none"
        where = (
            display_path(env_file.path)
            if env_file.path
            else (
                "no smdsl.toml beside the pipeline and no pyproject.toml with [tool.smdsl] above it"
            )
        )
        raise EnvConfigError(
            f"unknown environment {name!r} ({where}; defined: {known}){_misplaced(env_file, name)}"
        )
    return _build(env_file, name, env_file.profiles[name])


def _misplaced(env_file: EnvFile, name: str) -> str:
    """``; [dev] is not read: ...`` when the file holds profile ``name`` outside its table
    (``[dev]`` or ``[env.dev]`` for ``[envs.dev]``), or nothing."""
    outside = env_file.table.removesuffix("envs")  # "" in smdsl.toml, "tool.smdsl." in pyproject
    for key, value in env_file.ignored.items():
        if not isinstance(value, dict):
            continue
        if key == name:
            table = f"{outside}{key}"
        elif isinstance(value.get(name), dict):
            table = f"{outside}{key}.{name}"
        else:
            continue
        return f"; [{table}] is not read: a profile goes in [{env_file.table}.{name}]"
    return ""


def _build(env_file: EnvFile, name: str, profile: dict[str, Any]) -> Env:
    where = env_file.describe(name)
    lines = []
    if "name" in profile:
        lines.append(
            f"{where} name: unknown field: a profile's name is its table name, here {name!r}; "
            "choose the profile with --env or SMDSL_ENV"
        )
    values = {key: value for key, value in profile.items() if key != "name"}
    values["name"] = name
    region = next((os.environ[v] for v in REGION_VARIABLES if os.environ.get(v)), None)
    if "region" not in values and region:
        values["region"] = region
    check_variables(os.environ)
    env: Env | None = None
    try:
        env = Env(**values)
    except SettingsError as exc:
        raise EnvConfigError(
            f"{where}: an SMDSL_* environment variable cannot be read: {exc}"
        ) from None
    except ValidationError as exc:
        lines += [_describe_field_error(env_file, name, error) for error in exc.errors()]
    if env is not None and not lines:
        return env
    if len(lines) == 1:
        raise EnvConfigError(lines[0])
    raise EnvConfigError(f"{where}: {len(lines)} invalid fields", [Problem(line) for line in lines])


def _describe_field_error(env_file: EnvFile, name: str, error: Any) -> str:
    """``<where> <field>: <what is wrong>``: ``where`` names the environment variable that set
    the value (``SMDSL_BUCKET (environment variable, profile 'dev'): bucket``), else the file
    and the profile (``smdsl.toml: [envs.dev] bucket``)."""
    loc = tuple(str(p) for p in error["loc"])
    key = getattr((error.get("ctx") or {}).get("error"), "key", None)
    if key is None:
        where = env_file.origin(name, *loc, with_key=True)
    else:  # a table refused for one key (a reserved tag): whatever set that key is at fault
        variable = setting_variable((*loc, key))
        where = (
            f"{env_file.by_variables([variable], name)}: {'.'.join(loc)}"
            if variable
            else f"{env_file.describe(name)} {'.'.join(loc)}"
        )
    if error["type"] != "extra_forbidden":
        return f"{where}: {error_sentence(error)}"
    if len(loc) == 1:
        hint = did_you_mean(loc[0], PROFILE_FIELDS)
        if loc[0] in STEP_FIELDS:
            hint += "; per-step settings go in a [...steps.STEP] table"
        return f"{where}: unknown field (known: {', '.join(PROFILE_FIELDS)}){hint}"
    if len(loc) == 3 and loc[0] == "steps":
        return (
            f"{where}: unknown field of a per-step override (known: {', '.join(STEP_FIELDS)})"
            f"{_step_field_hint(loc)}"
        )
    return f"{where}: unknown field"


def _step_field_hint(loc: tuple[str, ...]) -> str:
    """`` (did you mean 'instance_type'?)`` for an unknown field of a per-step override, or the
    variable to use instead of the ``SMDSL_STEPS__FIT__INSTANCE_TPYE`` that set it."""
    close = difflib.get_close_matches(loc[-1].lower(), STEP_FIELDS, n=1)
    if not close:
        return ""
    variable = setting_variable(loc)
    if variable is None or variable_path(variable) != loc:
        return f" (did you mean {close[0]!r}?)"
    written = variable.rsplit("__", 1)[0]  # the variable as written, up to the field
    return f" (did you mean {written}__{close[0].upper()}?)"

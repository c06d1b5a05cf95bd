"""The ``SMDSL_*`` environment variables: which one set a value, and the forms that are refused.

pydantic-settings reads them into a profile (``SMDSL_BUCKET``, ``SMDSL_STEPS__TRAIN__...``); this
module says which variable a message should name, refuses the forms it would misread, and finds
the ones it would silently ignore.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Collection, Mapping
from typing import Any

from smdsl.errors import EnvConfigError

PREFIX = "SMDSL_"

COMMAND_LINE_VARIABLES = (
    "SMDSL_ENV",
    "SMDSL_DEBUG",
    "SMDSL_CACHE_DIR",
    "SMDSL_NO_CACHE",
    "SMDSL_LOCAL_DIR",
    "SMDSL_CONNECT_TIMEOUT",
    "SMDSL_READ_TIMEOUT",
    "SMDSL_MAX_ATTEMPTS",
)
"""Read by smdsl's command line, as written: the profile to use without ``--env``, whether to
show the traceback of an error, where the cache is and whether to use it, where local runs keep
their state, and the timeouts and attempts of AWS calls. Not profile settings."""

NOT_SETTINGS = (*COMMAND_LINE_VARIABLES, "SMDSL_SHARED_DIR")
"""``SMDSL_*`` variables that are read but are not profile settings: the command line's, and
the one smdsl's own test suite reads (where its shared files are)."""


def variable_path(variable: str) -> tuple[str, ...]:
    """The field path an ``SMDSL_*`` variable sets, as pydantic-settings reads it (no case)."""
    return tuple(part.lower() for part in variable[len(PREFIX) :].split("__"))


def setting_variables(loc: tuple[str, ...], environ: Mapping[str, str] | None = None) -> list[str]:
    """The ``SMDSL_*`` environment variables that set the field at ``loc``, or a part of it.

    pydantic-settings matches names case-insensitively, and reads ``SMDSL_STEPS__TRAIN`` (or
    ``SMDSL_STEPS``) as JSON holding the rest of the path, so those count when they hold it. A
    variable naming ``loc`` itself comes first, then those setting a part of it (``loc`` being
    ``("steps", "train")``, ``SMDSL_STEPS__TRAIN__INSTANCE_TYPE``), then a JSON one holding it.
    """
    environ = os.environ if environ is None else environ
    wanted = tuple(loc)  # a variable sets a lower-cased path: it cannot set a key "Train"
    exact: list[str] = []
    deeper: list[str] = []
    holding: list[str] = []
    for variable in sorted(environ):
        if not variable.upper().startswith(PREFIX):
            continue
        path = variable_path(variable)
        if path == wanted:
            exact.append(variable)
        elif path[: len(wanted)] == wanted:
            deeper.append(variable)
        elif wanted[: len(path)] == path and _json_holds(environ[variable], loc[len(path) :]):
            holding.append(variable)
    return exact + deeper + holding


def setting_variable(loc: tuple[str, ...]) -> str | None:
    """The ``SMDSL_*`` environment variable that sets the field at ``loc``, if one does."""
    return next(iter(setting_variables(loc)), None)


def _json_holds(text: str, rest: tuple[str, ...]) -> bool:
    try:
        value: Any = json.loads(text)
    except ValueError:
        return False
    for part in rest:
        value = value.get(part) if isinstance(value, dict) else None
    return value is not None


_JSON_TABLES = {
    ("tags",): '{"team": "ml"}',
    ("steps",): '{"train": {"instance_type": "ml.m5.2xlarge"}}',
    ("steps", "*"): '{"instance_type": "ml.m5.2xlarge"}',
    ("steps", "*", "environment"): '{"LOG_LEVEL": "debug"}',
}
"""The SMDSL_* variables that hold a table, read as JSON, with an example of each."""

_KEYED_TABLES = {("tags", "*"), ("steps", "*", "environment", "*")}
"""Variables that set one key of a table whose keys are the user's own (tag keys, environment
variable names): their case matters, and pydantic-settings lower-cases it."""


def _pattern(path: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("*" if i == 1 and path[0] == "steps" else p for i, p in enumerate(path))


def _case_refusal(variable: str) -> str | None:
    """Why ``variable`` would lose the case of a tag key or environment variable name."""
    raw = variable[len(PREFIX) :].split("__")
    if (*_pattern(variable_path(variable))[:-1], "*") in _KEYED_TABLES and raw[-1] != raw[
        -1
    ].lower():
        table = variable[: -len(raw[-1]) - 2]
        return (
            f"{variable} would set the key {raw[-1].lower()!r}: SMDSL_* names are read "
            f"without case; to keep {raw[-1]!r} as written, set the whole table as JSON, "
            f'e.g. {table}=\'{{"{raw[-1]}": "..."}}\''
        )
    return None


def refusal(variable: str, value: str) -> str | None:
    """Why smdsl refuses ``variable`` set to ``value``, or None if it does not."""
    if not variable.upper().startswith(PREFIX):
        return None
    if variable_path(variable) == ("name",):
        return (
            f"{variable} cannot rename the profile: a profile's name is the name of its table "
            "(dev for [envs.dev]); choose the profile with --env NAME or SMDSL_ENV=NAME"
        )
    reason = _case_refusal(variable)
    if reason is not None:
        return reason
    pattern = _pattern(variable_path(variable))
    if pattern not in _JSON_TABLES:
        return None
    try:
        ok = isinstance(json.loads(value), dict)
    except ValueError:
        ok = False
    if not ok:
        return f"{variable} must hold a JSON object, e.g. {variable}='{_JSON_TABLES[pattern]}'"
    return None


def check_variables(environ: Mapping[str, str]) -> None:
    """Refuse an ``SMDSL_*`` variable that smdsl does not take or pydantic-settings would misread.

    ``SMDSL_NAME`` would rename the profile (``env.name``) and so the pipeline: the name is the
    profile's table name, chosen with ``--env``. A table variable must hold a JSON object:
    pydantic-settings fails on anything else with no word about which variable or what form it
    wants. A variable that sets one key of a tag or environment table would lose the key's case
    (``..._ENVIRONMENT__LOG_LEVEL`` sets ``log_level``). Values are never echoed: they may be
    secrets.
    """
    for variable, value in sorted(environ.items()):
        reason = refusal(variable, value)
        if reason is not None:
            raise EnvConfigError(reason)


def _is_setting(
    path: tuple[str, ...], fields: Collection[str], step_fields: Collection[str]
) -> bool:
    """Whether pydantic-settings reads a variable of this path into a profile."""
    head, rest = path[0], path[1:]
    if head == "steps":
        if len(rest) <= 1:
            return True  # the steps table, or one step's, as JSON
        keyed = len(rest) == 3 and rest[1] == "environment"
        return rest[1] in step_fields and (len(rest) == 2 or keyed)
    if head == "tags":
        return len(rest) <= 1
    return head in fields and not rest


def unknown_variables(
    environ: Mapping[str, str], fields: Collection[str], step_fields: Collection[str]
) -> list[str]:
    """One message per ``SMDSL_*`` variable that nothing reads, e.g. ``SMDSL_BUCKT``.

    ``fields`` are the profile's fields, ``step_fields`` those of a per-step override. The
    variables smdsl's command line and test suite read (:data:`NOT_SETTINGS`) are not settings
    but are read, so they are left alone.
    """
    found = []
    for variable in sorted(environ):
        if not variable.upper().startswith(PREFIX) or variable in NOT_SETTINGS:
            continue
        if _is_setting(variable_path(variable), fields, step_fields):
            continue
        # A key with capitals can only be set in its table's JSON form: suggest that.
        candidates = {
            c.upper(): c if _case_refusal(c) is None else c.rsplit("__", 1)[0]
            for c in _candidates(variable, fields, step_fields)
        }
        close = difflib.get_close_matches(variable.upper(), list(candidates), n=1)
        hint = f" (did you mean {candidates[close[0]]}?)" if close else ""
        found.append(f"{variable} is not an smdsl setting{hint}; it is ignored")
    return found


def _candidates(variable: str, fields: Collection[str], step_fields: Collection[str]) -> list[str]:
    """Settings ``variable`` may have meant: every field, and its own path under another one."""
    names = [f"{PREFIX}{f.upper()}" for f in fields] + list(COMMAND_LINE_VARIABLES)
    raw = variable[len(PREFIX) :].split("__")
    rest = raw[1:]
    if rest:
        names += [f"{PREFIX}{table}__" + "__".join(rest) for table in ("STEPS", "TAGS")]
    if raw[0].lower() == "steps" and len(rest) >= 2:
        tail = "".join(f"__{part}" for part in rest[2:])
        names += [f"{PREFIX}STEPS__{rest[0]}__{f.upper()}{tail}" for f in step_fields]
    return [
        n
        for n in names
        if n in COMMAND_LINE_VARIABLES or _is_setting(variable_path(n), fields, step_fields)
    ]

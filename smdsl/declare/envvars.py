"""The ``SMDSL_*`` environment variables: which one set a value, and the forms that are refused.

pydantic-settings reads them into a profile (``SMDSL_BUCKET``, ``SMDSL_STEPS__TRAIN__...``); this
module says which variable a message should name, and refuses the forms it would misread.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from smdsl.errors import EnvConfigError


def setting_variable(loc: tuple[str, ...]) -> str | None:
    """The ``SMDSL_*`` environment variable that sets the field at ``loc``, if one does.

    pydantic-settings matches names case-insensitively and reads ``SMDSL_STEPS__TRAIN`` (or
    ``SMDSL_STEPS``) as JSON holding the rest of the path, so those count when they hold it.
    """
    names = {key.upper(): key for key in os.environ}
    for depth in range(len(loc), 0, -1):
        variable = names.get("SMDSL_" + "__".join(loc[:depth]).upper())
        if variable is None:
            continue
        if depth == len(loc):
            return variable
        try:
            value: Any = json.loads(os.environ[variable])
        except ValueError:
            continue
        for part in loc[depth:]:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return variable
    return None


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


def check_json_variables(environ: Mapping[str, str]) -> None:
    """Refuse an ``SMDSL_*`` variable that pydantic-settings would misread.

    A table variable must hold a JSON object: pydantic-settings fails on anything else with no
    word about which variable or what form it wants. A variable that sets one key of a tag or
    environment table would lose the key's case (``..._ENVIRONMENT__LOG_LEVEL`` sets
    ``log_level``). Values are never echoed: they may be secrets.
    """
    for variable, value in sorted(environ.items()):
        if not variable.upper().startswith("SMDSL_"):
            continue
        raw = variable[len("SMDSL_") :].split("__")
        path = tuple(p.lower() for p in raw)
        pattern = tuple("*" if i == 1 and path[0] == "steps" else p for i, p in enumerate(path))
        if (*pattern[:-1], "*") in _KEYED_TABLES and raw[-1] != raw[-1].lower():
            table = variable[: -len(raw[-1]) - 2]
            raise EnvConfigError(
                f"{variable} would set the key {raw[-1].lower()!r}: SMDSL_* names are read "
                f"without case; to keep {raw[-1]!r} as written, set the whole table as JSON, "
                f'e.g. {table}=\'{{"{raw[-1]}": "..."}}\''
            )
        if pattern not in _JSON_TABLES:
            continue
        try:
            ok = isinstance(json.loads(value), dict)
        except ValueError:
            ok = False
        if not ok:
            raise EnvConfigError(
                f"{variable} must hold a JSON object, e.g. {variable}='{_JSON_TABLES[pattern]}'"
            )

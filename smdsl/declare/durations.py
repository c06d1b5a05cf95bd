"""Durations written the way people write them: 3600, "90m", "2h", timedelta(hours=2)."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_NOT_A_DURATION = 'expected a duration: seconds (3600), "90m", "2h", "1d" or a timedelta, not {!r}'


def to_seconds(value: int | str | timedelta) -> int:
    """Seconds in ``value``; raises ValueError for anything that is not a positive duration."""
    if isinstance(value, bool):
        raise ValueError(_NOT_A_DURATION.format(value))
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
    elif isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if match is None:
            raise ValueError(
                f"{value!r} is not a duration: use seconds (3600) or a number with "
                's, m, h or d ("90m", "2h")'
            )
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(_NOT_A_DURATION.format(value))
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds

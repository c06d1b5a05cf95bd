"""Where in the user's code a declaration was made."""

from __future__ import annotations

import sys

from smdsl.errors import SourceLocation

_OWN_PACKAGE = __name__.split(".")[0] + "."


def caller_location() -> SourceLocation:
    """The first frame outside smdsl on the stack: the user's line that declared something."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not (module + ".").startswith(_OWN_PACKAGE) and not module.startswith("pydantic"):
            return SourceLocation(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return SourceLocation("<unknown>", 0)

"""Find the user's line in a traceback, leaving smdsl's and libraries' own frames out."""

from __future__ import annotations

import contextlib
import sys
import sysconfig
import traceback
from pathlib import Path
from types import TracebackType

from smdsl.errors import SmdslError, SourceLocation

_SMDSL_DIR = Path(__file__).resolve().parents[1]
_LIBRARY_DIRS = {
    Path(p).resolve() for key in ("purelib", "platlib", "stdlib") if (p := sysconfig.get_path(key))
}


def is_user_file(filename: str) -> bool:
    """True for a file of the user's, not smdsl's nor an installed library's."""
    if filename.startswith("<"):
        return False
    path = Path(filename).resolve()
    if path.is_relative_to(_SMDSL_DIR):
        return False
    return not any(path.is_relative_to(d) for d in _LIBRARY_DIRS)


def user_location(tb: TracebackType | None, prefer: str | None = None) -> SourceLocation | None:
    """The innermost frame in the user's code, preferring frames in the file ``prefer``."""
    frames = [f for f in traceback.extract_tb(tb) if is_user_file(f.filename)]
    if prefer is not None:
        preferred = [f for f in frames if Path(f.filename).resolve() == Path(prefer).resolve()]
        frames = preferred or frames
    if not frames:
        return None
    last = frames[-1]
    return SourceLocation(last.filename, last.lineno or 0)


def describe_raised(exc: BaseException) -> str:
    """What the user's code did instead of returning, in words (never a traceback)."""
    if isinstance(exc, SmdslError):
        return str(exc)
    if isinstance(exc, SystemExit):
        code = "" if exc.code is None else repr(exc.code)
        return (
            f"called sys.exit({code}) (raised SystemExit); pipeline code must not end the "
            "process: raise an exception to report a problem"
        )
    if isinstance(exc, KeyboardInterrupt):
        return "was interrupted (raised KeyboardInterrupt)"
    text = " ".join(str(exc).split())  # one line per problem, whatever the message holds
    return f"raised {type(exc).__name__}: {text}" if text else f"raised {type(exc).__name__}"


def user_output_to_stderr() -> contextlib.AbstractContextManager[object]:
    """While the user's code runs, what it prints goes to standard error.

    Standard output is smdsl's: ``smdsl definition > definition.json`` must hold the definition
    alone, whatever the pipeline file prints while it loads.
    """
    return contextlib.redirect_stdout(sys.stderr)

"""Run a script as if it were inside a SageMaker container: ``/opt/ml/...`` paths are redirected.

Executed by path (``python sandbox.py SCRIPT [ARGS...]``) in the subprocess that runs a step's
script, before the script and anything it imports. It reads ``SMDSL_PATH_MAP``, a JSON object of
container path -> host folder (``{"/opt/ml": "/home/me/.smdsl/runs/p/r/step/.container"}``),
and wraps the Python functions that take a path (``open``, ``os.stat``, ``os.listdir``,
``os.scandir``, ``os.makedirs`` through ``os.mkdir``...), so that ``glob``, ``pathlib``,
``shutil``, ``tarfile``, pandas and numpy see the container's layout. Code that opens files
outside Python (a C library given a path, a subprocess) is not redirected: docs/local.md says so,
and smdsl's runner shows the one-line change when such a script fails.

Standard library only: it runs in whatever Python runs the script.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import runpy
import sys
import traceback
from collections.abc import Callable
from typing import Any

_MAP: list[tuple[str, str]] = []

_PATH_FIRST = (
    "stat",
    "lstat",
    "listdir",
    "scandir",
    "mkdir",
    "rmdir",
    "remove",
    "unlink",
    "chdir",
    "access",
    "utime",
    "chmod",
    "lchmod",
    "chown",
    "lchown",
    "chflags",
    "lchflags",
    "readlink",
    "truncate",
    "statvfs",
    "pathconf",
    "mkfifo",
    "mknod",
    "listxattr",
    "getxattr",
    "setxattr",
    "removexattr",
)
_TWO_PATHS = ("rename", "replace", "link", "symlink")
_FIRST_KEYWORDS = ("path", "file", "name")
_BOTH_KEYWORDS = ("src", "dst")


def host_path(path: Any) -> Any:
    """``path`` on the host when it lies under a mapped container path; otherwise unchanged."""
    if isinstance(path, int) or not _MAP:
        return path
    try:
        text = os.fspath(path)
    except TypeError:
        return path
    as_bytes = isinstance(text, bytes)
    name = os.fsdecode(text) if as_bytes else text
    for container, host in _MAP:
        if name == container or name.startswith(container + "/"):
            mapped = host + name[len(container) :]
            return os.fsencode(mapped) if as_bytes else mapped
    return path


def _wrap(function: Callable[..., Any], positions: int, keywords: tuple[str, ...]) -> Any:
    """``function`` with its first ``positions`` arguments, and the ``keywords`` arguments,
    redirected when they are container paths."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        args = tuple(host_path(a) if i < positions else a for i, a in enumerate(args))
        for key in keywords:
            if key in kwargs:
                kwargs[key] = host_path(kwargs[key])
        return function(*args, **kwargs)

    wrapped.__name__ = getattr(function, "__name__", "wrapped")
    wrapped.__doc__ = function.__doc__
    return wrapped


def install(mapping: dict[str, str]) -> None:
    """Redirect the container paths in ``mapping`` (longest first) to their host folders."""
    _MAP[:] = sorted(
        ((c.rstrip("/") or "/", h.rstrip("/")) for c, h in mapping.items()),
        key=lambda item: -len(item[0]),
    )
    opener = _wrap(io.open, 1, _FIRST_KEYWORDS)
    builtins.open = opener
    io.open = opener
    os.open = _wrap(os.open, 1, _FIRST_KEYWORDS)
    for name in _PATH_FIRST:
        if hasattr(os, name):
            setattr(os, name, _wrap(getattr(os, name), 1, _FIRST_KEYWORDS))
    for name in _TWO_PATHS:
        if hasattr(os, name):
            setattr(os, name, _wrap(getattr(os, name), 2, _BOTH_KEYWORDS))
    tarfile = sys.modules.get("tarfile")
    if tarfile is not None:  # it keeps its own reference to open
        tarfile.bltn_open = opener  # type: ignore[attr-defined]


def _report(error: BaseException, sources: dict[str, str]) -> None:
    """Print the traceback of the script's error without the sandbox's own frames, naming the
    user's files (``SMDSL_SOURCE_MAP``: staged code folder -> the folder it was copied from)."""
    shown = traceback.TracebackException.from_exception(error)
    frames = [
        frame
        for frame in shown.stack
        if frame.filename != __file__ and not frame.filename.startswith("<frozen")
    ]

    def original(name: str) -> str:
        for staged, source in sources.items():
            if name.startswith(staged + os.sep):
                return source + name[len(staged) :]
        return name

    for frame in frames:
        frame.filename = original(frame.filename)
    if getattr(shown, "filename", None):  # a SyntaxError names its file apart from its frames
        shown.filename = original(shown.filename)
    shown.stack = traceback.StackSummary.from_list(frames)
    sys.stderr.write("".join(shown.format()))


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage: sandbox.py SCRIPT [ARGS...]")
    install(json.loads(os.environ.get("SMDSL_PATH_MAP", "{}")))
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as error:
        _report(error, json.loads(os.environ.get("SMDSL_SOURCE_MAP", "{}")))
        sys.exit(1)


if __name__ == "__main__":
    main()

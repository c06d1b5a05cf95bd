"""What the graph layer derives from botocore's data files, kept on disk between runs.

Checking instance types means loading botocore's whole model of the SageMaker API (about 0.3 s)
for four enums of a few hundred names; checking a region means reading its endpoint data. Both
are the same until botocore changes, so what is derived from them (the enums, the region list)
is kept in a small JSON file and reused, keyed by botocore's version and the path, size and
modification time of each data file it was derived from. Any change to these is a miss, and the
value is derived anew from botocore and written again.

The cache is used only when botocore reads nothing but its own data folder: with
``AWS_DATA_PATH`` set, a ``data_path`` in the AWS config file, or a model of the same name under
``~/.aws/models``, botocore may read other files, and the value is derived from botocore
every time.

It lives in ``$SMDSL_CACHE_DIR`` (default ``$XDG_CACHE_HOME/smdsl``, or ``~/.cache/smdsl``), one
file per kind of value and botocore installation; ``SMDSL_NO_CACHE=1`` turns it off. It never
fails a command and never prints: a cache that cannot be read, is corrupt or cannot be written
is a miss, and files are replaced atomically so that concurrent runs never see half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

FORMAT = "smdsl-botocore-derived-1"

DataKey = dict[str, Any]
"""What a derived value depends on: botocore's version and its data files (path, size, mtime)."""


def cache_dir() -> Path | None:
    """Where smdsl keeps what it derives once and reuses; None when no folder can be named."""
    configured = os.environ.get("SMDSL_CACHE_DIR")
    if configured:
        return Path(configured)
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:  # no home folder to be found
        return None
    return Path(base) / "smdsl"


def cache_enabled() -> bool:
    return not os.environ.get("SMDSL_NO_CACHE")


def botocore_key(*data_files: tuple[str, ...]) -> DataKey | None:
    """The key of a value derived from botocore's data files ``data_files`` (each a path under
    its data folder without the ``.json`` or ``.json.gz`` ending: ``("endpoints",)``; a path
    whose second part is ``*`` is the newest API version: ``("sagemaker", "*", "service-2")``).

    None when the cache must not be used: it is off, botocore may read files from elsewhere,
    or one of the files cannot be found.
    """
    if not cache_enabled() or os.environ.get("AWS_DATA_PATH"):
        return None
    try:
        import botocore  # its __init__ alone: a few milliseconds

        data = Path(botocore.__file__).resolve().parent / "data"
        if _config_sets_data_path():
            return None
        customer = Path(os.path.expanduser("~")) / ".aws" / "models"
        files = []
        for parts in data_files:
            first = parts[0]
            if any(
                (customer / name).exists() for name in (first, f"{first}.json", f"{first}.json.gz")
            ):
                return None
            path = _data_file(data, parts)
            if path is None:
                return None
            stat = path.stat()
            files.append([str(path), stat.st_size, stat.st_mtime_ns])
        return {"botocore": str(botocore.__version__), "files": files}
    except Exception:  # whatever goes wrong, botocore itself is asked
        return None


def load(name: str, key: DataKey | None) -> Any:
    """The value stored as ``name`` under ``key``, or None on a miss (or when ``key`` is)."""
    path = _path(name, key)
    if path is None:
        return None
    try:
        entry = json.loads(path.read_text())
    except Exception:  # missing, unreadable, not UTF-8, not JSON: a miss
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key:
        return None
    return entry.get("value")


def store(name: str, key: DataKey | None, value: Any) -> None:
    """Keep ``value`` as ``name`` under ``key``, replacing the file atomically; any failure is
    ignored (the next run derives the value again)."""
    path = _path(name, key)
    if path is None:
        return
    temporary = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-", suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump({"format": FORMAT, "key": key, "value": value}, out)
        os.replace(temporary, path)
        temporary = None
    except Exception:
        pass  # a cache that cannot be written is only slower
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _path(name: str, key: DataKey | None) -> Path | None:
    """One file per value and botocore installation, so two virtual environments with other
    botocore versions do not take turns overwriting one file."""
    folder = cache_dir() if key is not None else None
    if folder is None or key is None:
        return None
    installation = str(key["files"][0][0]) if key.get("files") else ""
    digest = hashlib.sha256(installation.encode()).hexdigest()[:16]
    return folder / f"{name}-{digest}.json"


def _data_file(data: Path, parts: tuple[str, ...]) -> Path | None:
    """The file botocore's loader reads for ``parts`` from its own data folder, if any."""
    if len(parts) > 1 and parts[1] == "*":
        service = data / parts[0]
        versions = sorted(
            p.name
            for p in service.iterdir()
            if any((p / f"{parts[2]}{ending}").is_file() for ending in (".json", ".json.gz"))
        )
        if not versions:
            return None
        parts = (parts[0], versions[-1], *parts[2:])
    base = data.joinpath(*parts)
    for ending in (".json", ".json.gz"):  # the order botocore tries them in
        candidate = base.with_name(base.name + ending)
        if candidate.is_file():
            return candidate
    return None


def _config_sets_data_path() -> bool:
    """Whether the AWS config file may set ``data_path`` (any mention counts)."""
    configured = os.environ.get("AWS_CONFIG_FILE") or os.path.join("~", ".aws", "config")
    try:
        text = Path(os.path.expanduser(configured)).read_bytes()
    except OSError:
        return False  # no config file: botocore reads none either
    return b"data_path" in text

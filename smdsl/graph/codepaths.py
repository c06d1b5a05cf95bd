"""Where a step's code may come from: inside its project, never from elsewhere on the disk.

smdsl uploads a step's code to S3. A ``code="/etc/passwd"``, a ``../../`` path, an entry point
outside its ``source_dir`` or a symbolic link inside ``source_dir`` that points out of the project
would upload a file nobody meant to publish, so each is an error. So is a ``.env`` file (or
``.env.local``, ``.env.production``...) inside ``source_dir``: it usually holds secrets, and the
packer leaves it out anyway (see :func:`dotenv_file`). The project is the folder of the file that
holds the environment profiles (smdsl.toml beside the pipeline, or the nearest pyproject.toml
with a ``[tool.smdsl]`` table), else the folder of the pipeline file. Paths are checked after
symbolic links are resolved.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from smdsl.declare.base import CodePaths
from smdsl.declare.envfile import find_env_file
from smdsl.errors import display_path


def project_root(pipeline_file: Path) -> Path:
    """The folder a pipeline's code must lie in (resolved): its env file's, else its own."""
    env_file = find_env_file(pipeline_file).path
    return (env_file or pipeline_file).resolve().parent


def dotenv_file(name: str) -> bool:
    """Whether a file called ``name`` is a dotenv file (``.env``, ``.env.local``...).

    Such a file usually holds secrets: smdsl neither packs it nor lets validate pass it.
    """
    return name == ".env" or name.startswith(".env.")


def inside(path: Path, root: Path) -> bool:
    """Whether the resolved ``path`` is ``root`` or lies below it (``root`` resolved too)."""
    return path == root or root in path.parents


def code_problems(config: CodePaths, base: Path, root: Path) -> Iterator[tuple[str, str]]:
    """(message, field) for each code path of a step that is missing or leaves ``root``.

    ``base`` is the folder relative paths start from (the pipeline file's), ``root`` the
    project's (see :func:`project_root`).
    """
    root = root.resolve()
    if config.code:
        yield from _script_problems("code", config.code, base, root)
        return
    entry_point = config.entry_point
    if config.source_dir is None:
        if entry_point is not None:  # a script beside the pipeline
            yield from _script_problems("entry_point", str(Path(entry_point)), base, root)
        return
    source_dir = config.source_dir
    folder = base / source_dir
    escape = _escape(source_dir, folder, root)
    if escape:
        yield escape, "source_dir"
        return
    if not folder.is_dir():
        yield f"folder {source_dir!r} not found (looked for {display_path(folder)})", "source_dir"
    else:
        for link, target in escaping_links(folder, root):
            shown = str(Path(source_dir) / link.relative_to(folder))
            yield (
                f"{shown!r} is a symbolic link to {target}, outside the project folder "
                f"{_folder(root)}: smdsl would pack the file it points to. Copy what the "
                "job needs into the project, or remove the link",
                "source_dir",
            )
        for found in dotenv_files(folder, root):
            shown = str(Path(source_dir) / found.relative_to(folder))
            what = "is" if dotenv_file(found.name) else "links to"
            yield (
                f"{shown!r} {what} a .env file, which usually holds secrets: smdsl will not upload "
                f"it. Move it out of source_dir {source_dir!r}; pass the job its settings with "
                "environment= (docs/security.md)",
                "source_dir",
            )
    if entry_point is None:
        return
    if Path(entry_point).is_absolute() or Path(os.path.normpath(entry_point)).parts[:1] == ("..",):
        yield (
            f"{entry_point!r} lies outside source_dir {source_dir!r}: the entry point is a "
            "script inside that folder, given relative to it (e.g. entry_point='main.py')",
            "entry_point",
        )
        return
    yield from _script_problems("entry_point", str(Path(source_dir) / entry_point), base, root)


def escaping_links(folder: Path, root: Path) -> Iterator[tuple[Path, Path]]:
    """Each symbolic link under ``folder`` that points outside ``root``, with its target.

    Links to folders inside ``root`` are followed (smdsl packs what they point to), each folder
    once along a path, so a link loop ends.
    """
    root = root.resolve()
    for entry, real in _walk(folder, root, (folder.resolve(),)):
        if entry.is_symlink() and not inside(real, root):
            yield entry, real


def dotenv_files(folder: Path, root: Path) -> Iterator[Path]:
    """Each ``.env`` file under ``folder``, or link to one, as the packer walks the folder."""
    for entry, real in _walk(folder, root.resolve(), (folder.resolve(),)):
        if (dotenv_file(entry.name) or dotenv_file(real.name)) and entry.is_file():
            yield entry


def _walk(folder: Path, root: Path, seen: tuple[Path, ...]) -> Iterator[tuple[Path, Path]]:
    """Each entry under ``folder`` and where it resolves to.

    Links to folders inside ``root`` are followed, each folder once along a path, so a link
    loop ends.
    """
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        try:
            real = entry.resolve()
        except (OSError, RuntimeError):  # a link loop
            continue
        yield entry, real
        if entry.is_dir() and inside(real, root) and real not in seen:
            yield from _walk(entry, root, (*seen, real))


def _script_problems(
    field: str, relative: str, base: Path, root: Path
) -> Iterator[tuple[str, str]]:
    target = base / relative
    escape = _escape(relative, target, root)
    if escape:
        yield escape, field
    elif target.is_dir():
        yield (
            f"{relative!r} is a folder, not a script: to run a folder, give "
            f"source_dir={relative!r} with entry_point='<the script inside it>'",
            field,
        )
    elif not target.is_file():
        yield f"file {relative!r} not found (looked for {display_path(target)})", field


def _folder(root: Path) -> str:
    """``root`` as messages show it: relative to the working folder, absolute when it is it."""
    shown = display_path(root)
    return str(root) if shown == "." else shown


def _escape(relative: str, target: Path, root: Path) -> str | None:
    """Why ``target`` may not be uploaded, if it leaves the project ``root``."""
    try:
        real = target.resolve()
    except (OSError, RuntimeError) as exc:  # a link loop
        return f"{relative!r} cannot be resolved: {exc}"
    if inside(real, root):
        return None
    return (
        f"{relative!r} resolves to {real}, outside the project folder {_folder(root)}: code "
        "must lie in the folder of the pipeline file or of its smdsl.toml / pyproject.toml"
    )

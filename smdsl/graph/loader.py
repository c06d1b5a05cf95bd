"""Load a pipeline file as a module of its own and collect what it declares."""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from smdsl.declare.params import Parameter
from smdsl.declare.steps import MODULE_STEPS, StepFunction
from smdsl.errors import PipelineLoadError, display_path
from smdsl.graph.tracebacks import describe_raised, user_location, user_output_to_stderr

_counter = itertools.count()


@dataclass(frozen=True)
class PipelineModule:
    """A loaded pipeline file: its steps and parameters in the order they were declared."""

    path: Path
    module: ModuleType
    steps: tuple[StepFunction[Any], ...]
    parameters: tuple[Parameter, ...]

    @property
    def description(self) -> str | None:
        """The module docstring, which becomes the pipeline's description."""
        doc = inspect.getdoc(self.module)
        return doc.strip() if doc else None


def load_pipeline(path: str | Path) -> PipelineModule:
    """Import the pipeline file at ``path`` under a fresh module name.

    Each call gets a module of its own, so loading two files (or one file twice) never mixes
    their steps.
    """
    path = Path(path)
    if not path.is_file():
        raise PipelineLoadError(f"{display_path(path)}: no such file")
    if path.suffix != ".py":
        raise PipelineLoadError(f"{display_path(path)}: a pipeline file is a Python file (.py)")
    module = _execute(path.resolve())
    return PipelineModule(path.resolve(), module, _steps(module), _parameters(module))


def _execute(path: Path) -> ModuleType:
    name = f"smdsl_pipeline_{next(_counter)}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PipelineLoadError(f"{display_path(path)}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(path.parent)
    sys.path.insert(0, folder)
    before = set(sys.modules)
    try:
        with user_output_to_stderr():
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        where = f'File "{display_path(exc.filename or path)}", line {exc.lineno}'
        text = f"\n    {exc.text.strip()}" if exc.text else ""
        raise PipelineLoadError(f"{where}: syntax error: {exc.msg}{text}") from None
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are the pipeline's too
        sys.modules.pop(name, None)
        location = user_location(exc.__traceback__, prefer=str(path))
        where = f"{location}: " if location else f"{display_path(path)}: "
        raise PipelineLoadError(f"{where}{describe_raised(exc)}") from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
        _forget_local_modules(before, path.parent)
    return module


def _forget_local_modules(before: set[str], folder: Path) -> None:
    """Drop helper modules this load imported from the pipeline's own source files.

    They stay alive through the pipeline module's references, but the next pipeline that
    imports a helper of the same name (``common.py`` beside another pipeline) gets its own.
    Installed packages are never forgotten, even when their virtual environment lies inside the
    pipeline's folder (``project/.venv``): importing numpy a second time in one process fails.
    """
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None)
        if file and is_own_source(Path(file), folder):
            del sys.modules[name]


_INSTALL_DIRS = {"site-packages", "dist-packages"}
_PREFIXES = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
"""Where this interpreter and its installed packages live."""


def is_own_source(file: Path, folder: Path) -> bool:
    """True when ``file`` is a source file of the project in ``folder``, not an installed one."""
    resolved = file.resolve()
    if not resolved.is_relative_to(folder):
        return False
    if any(part in _INSTALL_DIRS for path in (file, resolved) for part in path.parts):
        return False
    return not any(
        resolved.is_relative_to(prefix) and not folder.is_relative_to(prefix)
        for prefix in _PREFIXES
    )


def _steps(module: ModuleType) -> tuple[StepFunction[Any], ...]:
    found: list[StepFunction[Any]] = list(vars(module).get(MODULE_STEPS, []))
    found += [v for v in vars(module).values() if isinstance(v, StepFunction)]
    unique: dict[int, StepFunction[Any]] = {}
    for step in found:
        unique.setdefault(id(step), step)
    return tuple(unique.values())


def _parameters(module: ModuleType) -> tuple[Parameter, ...]:
    return tuple(v for v in vars(module).values() if isinstance(v, Parameter))

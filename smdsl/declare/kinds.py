"""The registry of step kinds: one entry per kind, the one place each kind is found.

A :class:`StepKind` ties a kind's name to its config class and options class (declare layer)
and to its compile function (compile layer), named by an import path so that declaring and
checking a pipeline never import the SageMaker SDK. smdsl registers its own kinds here; a user
registers theirs the same way (see docs/step-kinds.md, "Your own step kind")::

    EMR = register_step_kind(StepKind(name="emr", config=Emr, compile="my_steps:compile_emr"))
    emr_step = EMR.decorator

    @emr_step(display_name="Spark")
    def spark() -> Emr: ...
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smdsl.declare.base import StepConfig
from smdsl.declare.options import StepOptions
from smdsl.errors import DeclarationError

Provides = frozenset[str]
"""What a kind's steps offer to references: "outputs", "property_files", "model_artifacts"."""


@dataclass(frozen=True)
class StepKind:
    """A kind of step: its config, its options, how it compiles and what it offers.

    ``compile`` is a function ``(build: StepBuild) -> SDK step`` (see
    :class:`smdsl.compile.context.StepBuild`) or its import path ``"package.module:function"``;
    ``code``, when given, plans the code objects a step uploads the same way; ``local`` names
    how ``smdsl run --local`` runs the kind's steps; ``fields`` names the smdsl field a path
    of the step's compiled Arguments came from, for messages.
    """

    name: str
    config: type[StepConfig]
    compile: str | Callable[..., Any]
    options: type[StepOptions] = StepOptions
    code: str | Callable[..., Any] | None = None
    provides: Provides = field(default_factory=frozenset)
    local: str | Callable[..., Any] | None = None
    """How ``smdsl run --local`` runs a step of this kind: a :class:`smdsl.local.LocalRunner`
    subclass or its import path; a kind without one is reported as not runnable locally."""
    fields: str | Callable[..., Any] | None = None
    """Names the smdsl field a problem in the step's definition came from: a function
    ``(path, arguments) -> str | None`` or its import path, given the JSON path inside the step's
    Arguments (``HyperParameters.max_depth``) and those Arguments; it answers e.g.
    ``"hyperparameters['max_depth']"``, or None when the path is none of its fields."""
    namespace: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """The namespace of the module that registered the kind (set by register_step_kind): a
    compile function named by path in that very module is found there, so a kind module that
    lies beside the pipeline (imported while it loads, forgotten afterwards) still works."""

    def decorator(self, _function: Callable[..., Any] | None = None, /, **settings: Any) -> Any:
        """Declare a step of this kind: ``@kind.decorator(...)`` or ``@kind.decorator``."""
        from smdsl.declare.steps import declare_step

        if _function is not None:
            return declare_step(self, {})(_function)
        return declare_step(self, settings)

    def compile_function(self) -> Callable[..., Any]:
        """The compile function, imported when it is named by path."""
        return self._resolve(self.compile, "compile function")

    def code_function(self) -> Callable[..., Any] | None:
        """The function planning this kind's code objects, if it has code."""
        if self.code is None:
            return None
        return self._resolve(self.code, "code planner")

    def local_runner(self) -> Any:
        """The local runner class of this kind, imported when it is named by path; or None."""
        if self.local is None:
            return None
        return self._resolve(self.local, "local runner")

    def fields_function(self) -> Callable[..., Any] | None:
        """The function naming this kind's fields (see ``fields``), if it has one."""
        if self.fields is None:
            return None
        return self._resolve(self.fields, "field namer")

    def target_problems(self) -> list[str]:
        """Why a function named by path cannot be found, checked without importing it."""
        found = []
        targets = (
            ("compile function", self.compile),
            ("code planner", self.code),
            ("local runner", self.local),
            ("field namer", self.fields),
        )
        for role, target in targets:
            if isinstance(target, str):
                problem = self._path_problem(target)
                if problem:
                    found.append(f"the {role} of step kind {self.name!r}, {target!r}, {problem}")
        return found

    def _path_problem(self, target: str) -> str | None:
        module_name, colon, attribute = target.partition(":")
        if not colon or not module_name or not attribute:
            return "is not a path of the form 'package.module:function'"
        if module_name == self.namespace.get("__name__"):
            return None if attribute in self.namespace else f"names no {attribute!r} in it"
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError):
            spec = None
        return None if spec is not None else "names a module that cannot be found"

    def _resolve(self, target: str | Callable[..., Any], role: str) -> Callable[..., Any]:
        what = f"the {role} of step kind {self.name!r}"
        if callable(target):
            return target
        problem = self._path_problem(target)
        if problem:
            raise DeclarationError(f"{what}, {target!r}, {problem}")
        module_name, _, attribute = target.partition(":")
        if module_name == self.namespace.get("__name__"):
            found = self.namespace[attribute]
        else:
            try:
                found = getattr(importlib.import_module(module_name), attribute)
            except (ImportError, AttributeError) as exc:
                raise DeclarationError(f"{what}, {target!r}, cannot be imported: {exc}") from None
        if not callable(found):
            raise DeclarationError(f"{what}, {target!r}, is not a function")
        return found  # type: ignore[no-any-return]


_KINDS: dict[str, StepKind] = {}


def register_step_kind(kind: StepKind) -> StepKind:
    """Add ``kind`` to the registry and return it.

    Registering a kind again under its name is allowed only when it is the same kind (a module
    loaded twice: the same config class, options class and functions by their qualified names);
    any other kind under a taken name is an error.
    """
    if not isinstance(kind.config, type) or not issubclass(kind.config, StepConfig):
        raise DeclarationError(
            f"step kind {kind.name!r}: config must be a subclass of smdsl.StepConfig, "
            f"not {kind.config!r}"
        )
    if not isinstance(kind.options, type) or not issubclass(kind.options, StepOptions):
        raise DeclarationError(
            f"step kind {kind.name!r}: options must be a subclass of smdsl.StepOptions, "
            f"not {kind.options!r}"
        )
    if not callable(kind.compile) and not isinstance(kind.compile, str):
        raise DeclarationError(
            f"step kind {kind.name!r}: compile must be a function or a 'module:function' path"
        )
    known = _KINDS.get(kind.name)
    if known is not None and _identity(known) != _identity(kind):
        raise DeclarationError(
            f"step kind {kind.name!r} is registered already (config "
            f"{_name(known.config)}, compile {_name(known.compile)}); choose another name"
        )
    if not kind.namespace:
        caller = inspect.currentframe()
        caller = caller.f_back if caller is not None else None
        if caller is not None:
            object.__setattr__(kind, "namespace", caller.f_globals)
    _KINDS[kind.name] = kind
    return kind


BUILTIN_KIND_MODULES = ("smdsl.declare.steps", "smdsl.declare.control", "smdsl.declare.models")
"""The modules that register smdsl's own kinds (imported when the registry is read)."""


def step_kinds() -> list[StepKind]:
    """Every registered kind, in registration order: smdsl's own, then any others."""
    _import_builtin_kinds()
    return list(_KINDS.values())


def _import_builtin_kinds() -> None:
    for module in BUILTIN_KIND_MODULES:
        importlib.import_module(module)


def _name(target: object) -> str:
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", "?")
    return f"{module}.{getattr(target, '__qualname__', repr(target))}"


def _identity(kind: StepKind) -> tuple[str, ...]:
    """What makes two registrations the same kind, by names (a reloaded module's classes are
    new objects with the same names)."""
    return (
        _name(kind.config),
        _name(kind.options),
        _name(kind.compile),
        _name(kind.code) if kind.code is not None else "",
        ",".join(sorted(kind.provides)),
        _name(kind.local) if kind.local is not None else "",
        _name(kind.fields) if kind.fields is not None else "",
    )

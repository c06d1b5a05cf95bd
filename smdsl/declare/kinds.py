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
    ``code``, when given, plans the code objects a step uploads the same way.
    """

    name: str
    config: type[StepConfig]
    compile: str | Callable[..., Any]
    options: type[StepOptions] = StepOptions
    code: str | Callable[..., Any] | None = None
    provides: Provides = field(default_factory=frozenset)

    def decorator(self, _function: Callable[..., Any] | None = None, /, **settings: Any) -> Any:
        """Declare a step of this kind: ``@kind.decorator(...)`` or ``@kind.decorator``."""
        from smdsl.declare.steps import declare_step

        if _function is not None:
            return declare_step(self, {})(_function)
        return declare_step(self, settings)

    def compile_function(self) -> Callable[..., Any]:
        """The compile function, imported when it is named by path."""
        return _resolve(self.compile, f"the compile function of step kind {self.name!r}")

    def code_function(self) -> Callable[..., Any] | None:
        """The function planning this kind's code objects, if it has code."""
        if self.code is None:
            return None
        return _resolve(self.code, f"the code planner of step kind {self.name!r}")


_KINDS: dict[str, StepKind] = {}


def register_step_kind(kind: StepKind) -> StepKind:
    """Add ``kind`` to the registry and return it.

    Registering a kind again under its name replaces it only when it comes from the same place
    (a module loaded twice); a second, different kind under a taken name is an error.
    """
    known = _KINDS.get(kind.name)
    if known is not None and _origin(known) != _origin(kind):
        raise DeclarationError(
            f"step kind {kind.name!r} is registered already (config {_origin(known)}); "
            "choose another name"
        )
    if not isinstance(kind.config, type) or not issubclass(kind.config, StepConfig):
        raise DeclarationError(
            f"step kind {kind.name!r}: config must be a subclass of smdsl.StepConfig"
        )
    if not isinstance(kind.options, type) or not issubclass(kind.options, StepOptions):
        raise DeclarationError(
            f"step kind {kind.name!r}: options must be a subclass of smdsl.StepOptions"
        )
    _KINDS[kind.name] = kind
    return kind


def step_kind(name: str) -> StepKind:
    """The registered kind called ``name``."""
    return _KINDS[name]


def step_kinds() -> list[StepKind]:
    """Every registered kind, in registration order."""
    return list(_KINDS.values())


def _origin(kind: StepKind) -> str:
    return f"{kind.config.__module__}.{kind.config.__qualname__}"


def _resolve(target: str | Callable[..., Any], what: str) -> Callable[..., Any]:
    if callable(target):
        return target
    module_name, _, attribute = target.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise DeclarationError(f"{what}, {target!r}, cannot be imported: {exc}") from None
    if not callable(found):
        raise DeclarationError(f"{what}, {target!r}, is not a function")
    return found  # type: ignore[no-any-return]

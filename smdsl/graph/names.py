"""How one step names another: by the step's name or by the name of its function.

``@processing_step(name="AbaloneProcess") def preprocess(...)`` is the step ``AbaloneProcess``;
a downstream parameter or ``depends_on`` entry may call it ``preprocess`` too. A step's own name
wins over another step's function name, and a function name two steps share names neither.
"""

from __future__ import annotations

from typing import Any

from smdsl.errors import did_you_mean


class StepNames:
    """The steps of one pipeline by name, with the function names that also refer to them."""

    def __init__(self) -> None:
        self.functions_of: dict[str, str] = {}  # step name -> its function's name
        self.by_function: dict[str, list[str]] = {}  # function name -> steps named otherwise

    def add(self, step: str, function: str) -> None:
        self.functions_of[step] = function
        if function != step:
            self.by_function.setdefault(function, []).append(step)

    def resolve(self, name: str) -> str | None:
        """The step ``name`` refers to, if exactly one."""
        if name in self.functions_of:
            return name
        named = self.by_function.get(name, [])
        return named[0] if len(named) == 1 else None

    def suggest(self, name: str) -> str:
        """`` (did you mean 'x'?)`` among step and function names, or nothing."""
        return did_you_mean(name, [*self.functions_of, *self.by_function])

    def listing(self, but: str | None = None) -> str:
        """``steps: a, b (function c)``: the steps other than ``but``, for a message."""
        names = [
            step if function == step else f"{step} (function {function})"
            for step, function in self.functions_of.items()
            if step != but
        ]
        if not names:
            return "steps: none besides this one"
        shown = names[:20] + ([f"{len(names) - 20} more"] if len(names) > 20 else [])
        return "steps: " + ", ".join(shown)

    def unknown_parameter(self, step: str, parameter: str, hint: Any) -> str:
        """Why ``parameter`` of ``step`` is neither an upstream step nor the env."""
        named = self.by_function.get(parameter, [])
        if len(named) > 1:
            return (
                f"parameter {parameter!r} could mean step "
                f"{' or '.join(repr(n) for n in named)}, whose functions are all named "
                f"{parameter!r}; name it after one of these steps"
            )
        if parameter == "env" and hint is not None:
            annotation = getattr(hint, "__name__", str(hint))
            return (
                f"parameter 'env' is annotated {annotation}, not Env: annotate it env: Env "
                "(from smdsl import Env) to receive the environment profile; "
                f"{self.listing(step)}"
            )
        return (
            f"parameter {parameter!r} does not name a step{self.suggest(parameter)}; "
            f"{self.listing(step)}; a parameter annotated Env (env: Env) receives the "
            "environment profile"
        )

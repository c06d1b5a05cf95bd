"""Control steps: a condition that chooses a branch, and a fail step that ends an execution."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Annotated, Any

from pydantic import field_validator

from smdsl.declare.base import SecretScan, StepConfig
from smdsl.declare.conditions import AllOf, Predicate
from smdsl.declare.expressions import Join
from smdsl.declare.kinds import StepKind, register_step_kind
from smdsl.declare.notsecret import Text
from smdsl.declare.options import StepOptions
from smdsl.declare.params import Parameter
from smdsl.declare.refs import ExecutionVariable, JsonGet, StepProperty
from smdsl.declare.steps import StepFunction, declare_step, settings
from smdsl.declare.validation import accepting, shown


def _branch(value: Any) -> Any:
    if isinstance(value, StepFunction):
        return value.name
    if isinstance(value, str):
        return value
    raise ValueError(f"a branch lists steps (step functions or their names), not {shown(value)}")


def _steps(value: Any) -> Any:
    if isinstance(value, (StepFunction, str)):
        return (value,)
    return value


def _when(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(
            f"is the Python value {value}, decided before the pipeline runs: compare a "
            "pipeline value (a parameter, a JsonGet value, a step property or an execution "
            "variable) with a literal, e.g. when=evaluate.json_get('Report', 'mse') <= 6.0; "
            "two parameters compare as Python objects with == and !=, so compare them with "
            "<, <=, >, >= or is_in"
        )
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("is an empty list: give at least one condition")
        return AllOf(conditions=tuple(value)) if len(value) > 1 else value[0]
    return value


BranchStep = Annotated[str, accepting("a step function or a step's name", prepare=_branch)]


class Condition(StepConfig):
    """A condition step: when ``when`` holds the ``then`` steps run, else the ``otherwise``
    steps. A list of conditions in ``when`` must all hold.

    Example::

        Condition(when=evaluate.json_get("EvaluationReport", "mse", type=float) <= 6.0,
                  then=[register, create_model], otherwise=[fail])
    """

    when: Annotated[
        Predicate,
        accepting(
            "a condition such as value <= 6.0 (or a list of them, all of which must hold)",
            prepare=_when,
        ),
    ]
    then: tuple[BranchStep, ...] = ()
    otherwise: tuple[BranchStep, ...] = ()

    @field_validator("then", "otherwise", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _steps(value)

    def branches(self) -> Mapping[str, Sequence[str]]:
        return {"then": self.then, "otherwise": self.otherwise}

    def summary(self) -> str:
        parts = [f"when {self.when}"]
        if self.then:
            parts.append(f"then {', '.join(self.then)}")
        if self.otherwise:
            parts.append(f"otherwise {', '.join(self.otherwise)}")
        return "; ".join(parts)


MessagePart = Text | int | float | Parameter | JsonGet | StepProperty | ExecutionVariable | Join


class Fail(StepConfig):
    """A fail step: the execution stops here as failed, with ``message``.

    Example: ``Fail(message=join("MSE", mse, "is above", threshold, on=" "))``
    """

    message: Annotated[
        MessagePart,
        accepting(
            "a string, a parameter, a JsonGet value, a step property, an execution variable or "
            "join() of them"
        ),
    ] = ""

    def secret_scans(self) -> Iterator[SecretScan]:
        yield "message", "value", self.message

    def summary(self) -> str:
        return "fails the execution"


CONDITION = register_step_kind(
    StepKind(
        name="condition",
        config=Condition,
        compile="smdsl.compile.kinds.control:compile_condition",
        local="smdsl.local.kinds.control:ConditionRunner",
    )
)
FAIL = register_step_kind(
    StepKind(
        name="fail",
        config=Fail,
        compile="smdsl.compile.kinds.control:compile_fail",
        local="smdsl.local.kinds.control:FailRunner",
    )
)


def condition_step(
    _function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    depends_on: Sequence[str | StepFunction[Any]] | str | StepFunction[Any] | None = None,
) -> Any:
    """Declare a condition step; the function returns a :class:`Condition`.

    Example::

        @condition_step
        def check_mse(evaluate: Processing) -> Condition:
            mse = evaluate.json_get("EvaluationReport", "regression_metrics.mse.value")
            return Condition(when=mse <= 6.0, then=[register], otherwise=[fail])
    """
    decorate = declare_step(CONDITION, settings(locals()))
    return decorate(_function) if _function is not None else decorate


def fail_step(
    _function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    depends_on: Sequence[str | StepFunction[Any]] | str | StepFunction[Any] | None = None,
) -> Any:
    """Declare a fail step; the function returns a :class:`Fail`.

    Example::

        @fail_step
        def fail() -> Fail:
            return Fail(message=join("MSE is above", threshold, on=" "))
    """
    decorate = declare_step(FAIL, settings(locals()))
    return decorate(_function) if _function is not None else decorate


__all__ = ["CONDITION", "FAIL", "Condition", "Fail", "StepOptions", "condition_step", "fail_step"]

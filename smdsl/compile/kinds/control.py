"""Compile control steps: a condition with its branches, and a fail step.

SageMaker ANDs the list of a condition step's conditions and offers ``Or`` and ``Not``, but no
``And`` inside them: a ``&`` nested in ``|`` or ``~`` is written as ``Not(Or(Not a, Not b))``,
which holds exactly when ``a & b`` does. ``!=`` is ``Not(Equals)``.
"""

from __future__ import annotations

from typing import Any

from smdsl.compile.context import StepBuild
from smdsl.declare.conditions import AllOf, AnyOf, Comparison, IsIn, Not, Predicate
from smdsl.declare.control import Condition, Fail


def compile_condition(build: StepBuild) -> Any:
    from sagemaker.mlops.workflow.condition_step import ConditionStep

    config = build.config
    assert isinstance(config, Condition)
    when = config.when
    top = when.conditions if isinstance(when, AllOf) else (when,)
    return ConditionStep(
        conditions=[sdk_condition(build, c) for c in top],
        if_steps=[build.step(name) for name in _resolved(build, "then")],
        else_steps=[build.step(name) for name in _resolved(build, "otherwise")],
        **build.settings,
    )


def _resolved(build: StepBuild, side: str) -> list[str]:
    """The branch's steps by step name, in the order the config lists them."""
    placement = build.compilation.graph.placement  # in the order the branches list them
    return [n for n, (c, s) in placement.items() if c == build.name and s == side]


def sdk_condition(build: StepBuild, predicate: Predicate) -> Any:
    """The SDK condition for ``predicate``."""
    from sagemaker.core.workflow import conditions as sdk

    if isinstance(predicate, Comparison):
        left, right = build.value(predicate.left), build.value(predicate.right)
        if predicate.type == "NotEquals":
            return sdk.ConditionNot(expression=sdk.ConditionEquals(left=left, right=right))
        classes = {
            "Equals": sdk.ConditionEquals,
            "LessThan": sdk.ConditionLessThan,
            "LessThanOrEqualTo": sdk.ConditionLessThanOrEqualTo,
            "GreaterThan": sdk.ConditionGreaterThan,
            "GreaterThanOrEqualTo": sdk.ConditionGreaterThanOrEqualTo,
        }
        return classes[predicate.type](left=left, right=right)
    if isinstance(predicate, IsIn):
        return sdk.ConditionIn(
            value=build.value(predicate.value),
            in_values=[build.value(v) for v in predicate.values],
        )
    if isinstance(predicate, AnyOf):
        return sdk.ConditionOr(conditions=[sdk_condition(build, c) for c in predicate.conditions])
    if isinstance(predicate, Not):
        inner = predicate.condition
        if isinstance(inner, AllOf):  # not (a and b) = (not a) or (not b)
            return sdk.ConditionOr(
                conditions=[
                    sdk.ConditionNot(expression=sdk_condition(build, c)) for c in inner.conditions
                ]
            )
        return sdk.ConditionNot(expression=sdk_condition(build, inner))
    assert isinstance(predicate, AllOf)
    negated = [sdk.ConditionNot(expression=sdk_condition(build, c)) for c in predicate.conditions]
    return sdk.ConditionNot(expression=sdk.ConditionOr(conditions=negated))


def compile_fail(build: StepBuild) -> Any:
    from sagemaker.mlops.workflow.fail_step import FailStep

    config = build.config
    assert isinstance(config, Fail)
    message = config.message
    text = str(message) if isinstance(message, (int, float)) else build.value(message)
    return FailStep(error_message=text, **build.settings)

"""The pipeline parameters: those a module declares and those its steps use, checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smdsl.declare.base import StepConfig
from smdsl.declare.configs import parameters
from smdsl.declare.params import Parameter
from smdsl.declare.steps import StepFunction
from smdsl.errors import Problem
from smdsl.graph.checks import SAGEMAKER_NAME
from smdsl.graph.loader import PipelineModule


@dataclass
class CollectedParameters:
    """The parameters of a pipeline by name, with what is wrong and what is odd about them."""

    parameters: list[Parameter] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def collect_parameters(
    module: PipelineModule,
    steps: Mapping[str, StepFunction[Any]],
    configs: Mapping[str, StepConfig],
) -> CollectedParameters:
    """Every parameter declared in ``module`` or used by a step, sorted by name.

    A name SageMaker rejects and two different parameters under one name are problems; a
    declared parameter no step uses is a warning (it is still offered when an execution starts).
    """
    collected = CollectedParameters()
    sources: list[tuple[Parameter, StepFunction[Any] | None, str | None]] = [
        (p, None, None) for p in module.parameters
    ]
    for name, step in steps.items():
        for option in ("instance_type", "instance_count"):
            value = getattr(step.spec.options, option, None)
            if isinstance(value, Parameter):
                sources.append((value, step, option))
        if name in configs:
            sources += [(p, step, path) for path, p in parameters(configs[name])]
    used = {parameter.name for parameter, user, _ in sources if user is not None}
    declared = {parameter.name: parameter for parameter in module.parameters}
    collected.warnings += [
        Problem(
            f"parameter {name!r} is declared but no step uses it; it is still a parameter of "
            "the pipeline, offered when an execution starts",
            parameter.location,
        )
        for name, parameter in declared.items()
        if name not in used
    ]
    found: dict[str, Parameter] = {}
    for parameter, user, path in sources:
        where = parameter.location or (user.spec.location if user else None)
        step_name = user.name if user else None
        known = found.get(parameter.name)
        if known is None:
            if not SAGEMAKER_NAME.match(parameter.name):
                collected.problems.append(
                    Problem(
                        f"parameter name {parameter.name!r} would be rejected by SageMaker: use "
                        "1-64 letters, digits, '-' or '_'",
                        where,
                        step_name,
                        path,
                    )
                )
            found[parameter.name] = parameter
        elif known != parameter:
            collected.problems.append(
                Problem(
                    f"two different parameters are named {parameter.name!r}: {known.type} "
                    f"default {known.default!r} and {parameter.type} default "
                    f"{parameter.default!r}",
                    where,
                    step_name,
                    path,
                )
            )
    collected.parameters = sorted(found.values(), key=lambda p: p.name)
    return collected

"""Checks of a pipeline under one environment profile: what definition and deploy would refuse.

These need the profile, not the graph: the region, the settings a deploy needs, each step's
options once the profile's overrides are applied (instance types, framework images), literal
secrets, and a description longer than SageMaker keeps. Each returns :class:`Problem` objects
aimed at the user's file and line, or at the profile's key when the profile set the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smdsl.declare.configs import StepConfig
from smdsl.declare.env import Env, EnvFile, missing_deploy_settings
from smdsl.declare.options import StepOptions
from smdsl.declare.params import Parameter
from smdsl.declare.steps import StepFunction
from smdsl.errors import Problem, display_path
from smdsl.graph.checks import instance_type_problem
from smdsl.graph.frameworks import image_problems
from smdsl.graph.loader import PipelineModule
from smdsl.graph.model import DESCRIPTION_LIMIT
from smdsl.graph.regions import closest_region, sagemaker_regions
from smdsl.graph.secrets import parameter_problem, step_problems

Steps = Mapping[str, StepFunction[Any]]


def region_problems(env: Env, env_file: EnvFile, for_deploy: bool) -> list[Problem]:
    """The profile's region is one SageMaker runs in; with ``for_deploy``, nothing is missing."""
    found = []
    region = env.region
    if region is not None and region not in sagemaker_regions():
        close = closest_region(region)
        found.append(
            Problem(
                f"{env_file.origin(env.name, 'region')}: {region!r} is not a region where "
                "SageMaker runs" + (f" (did you mean {close!r}?)" if close else "")
            )
        )
    if for_deploy:
        found += [Problem(m) for m in missing_deploy_settings(env, env_file.describe(env.name))]
    return found


def option_problems(
    steps: Steps,
    options: Mapping[str, StepOptions],
    env: Env,
    env_file: EnvFile,
    instance_origins: Mapping[str, str],
) -> list[Problem]:
    """Instance types SageMaker offers, and a framework image for each step.

    A problem with an instance type a profile set is reported at the profile's key (or the
    variable that set it, from ``instance_origins``), not at the decorator the profile overrode.
    """
    region = env.region
    if region is not None and region not in sagemaker_regions():
        region = None  # reported by region_problems; no image would match it
    region_origin = env_file.origin(env.name, "region")
    found = []
    for name, step in steps.items():
        origin = instance_origins.get(name)
        messages = list(image_problems(options[name], region, region_origin))
        message = instance_type_problem(step.spec.kind, options[name].instance_type)
        if message:
            messages.insert(0, (message, "instance_type"))
        for message, field_name in messages:
            if field_name == "instance_type" and origin is not None:
                found.append(Problem(f"{origin}: {message}"))
            else:
                found.append(Problem(message, step.spec.location, name, field_name))
    return found


def secret_problems(
    steps: Steps,
    options: Mapping[str, StepOptions],
    configs: Mapping[str, StepConfig],
    parameters: list[Parameter],
    profile: str,
) -> list[Problem]:
    """Literal secrets: in each step's resolved options and config, and in parameter defaults."""
    found = []
    for name, step in steps.items():
        declared = step.spec.options
        for message, field_name in step_problems(
            name, declared, options[name], configs.get(name), profile
        ):
            found.append(Problem(message, step.spec.location, name, field_name))
    for parameter in parameters:
        reason = parameter_problem(parameter)
        if reason:
            found.append(Problem(reason, parameter.location))
    return found


def description_warnings(env: Env, env_file: EnvFile, module: PipelineModule) -> list[Problem]:
    """A description longer than SageMaker keeps is cut: say so, naming where it was written."""
    text = env.description or module.description
    if not text or len(text) <= DESCRIPTION_LIMIT:
        return []
    if env.description:
        source = f"{env_file.describe(env.name)} description"
    else:
        source = f"the docstring of {display_path(module.path)}"
    return [
        Problem(
            f"the pipeline description ({source}) is {len(text):,} characters long; "
            f"SageMaker keeps {DESCRIPTION_LIMIT:,}, so it is cut to that length"
        )
    ]

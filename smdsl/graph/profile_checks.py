"""Checks of a pipeline under one environment profile: what definition and deploy would refuse.

These need the profile, not the graph: the region, the settings a deploy needs, the step each
per-step override names, each step's options once the profile's overrides are applied (instance
types, framework images), literal secrets, and a description longer than SageMaker keeps. Each
returns :class:`Problem` objects aimed at the user's file and line, or at the profile's key (or
the ``SMDSL_*`` variable) that set the value. What smdsl would silently ignore, an ``SMDSL_*``
variable or a table of the profile file that nothing reads, is a warning.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from typing import Any

from smdsl.declare.base import StepConfig
from smdsl.declare.env import (
    PROFILE_FIELDS,
    STEP_FIELDS,
    Env,
    missing_deploy_settings,
)
from smdsl.declare.envfile import EnvFile
from smdsl.declare.envvars import refusal, setting_variables, unknown_variables, variable_path
from smdsl.declare.options import ImageOptions, StepOptions
from smdsl.declare.params import Parameter
from smdsl.declare.steps import StepFunction
from smdsl.errors import Problem, did_you_mean, display_path
from smdsl.graph.checks import instance_type_problem
from smdsl.graph.frameworks import image_problems
from smdsl.graph.loader import PipelineModule
from smdsl.graph.model import DESCRIPTION_LIMIT
from smdsl.graph.names import StepNames
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


def override_target(key: str, names: StepNames) -> str | None:
    """The step a profile's ``steps.KEY`` overrides, named as a reference would name it.

    ``KEY`` is the step's name; else the step's name without case, since an ``SMDSL_STEPS__...``
    variable reaches the profile lower-cased; else the name of the step's function
    (``[envs.dev.steps.preprocess]`` for ``@processing_step(name="Abalone-Process") def
    preprocess``), with or without case. None when it names no step, or two.
    """
    if key in names.functions_of:
        return key
    folded = [step for step in names.functions_of if step.lower() == key.lower()]
    if len(folded) == 1:
        return folded[0]
    if folded:
        return None
    target = names.resolve(key)
    if target is not None:
        return target
    functions = [f for f in names.by_function if f.lower() == key.lower()]
    return names.resolve(functions[0]) if len(functions) == 1 else None


def override_origin(key: str, env: Env, env_file: EnvFile) -> str:
    """Who wrote the override ``steps.KEY`` of ``env``, for messages: the profile file when it
    has that key, else the variables that set it."""
    variables = setting_variables(("steps", key))
    if key in env_file.step_keys(env.name) or not variables:
        return f"{env_file.describe(env.name)}: steps.{key}"
    return f"{env_file.by_variables(variables, env.name)}: steps.{key}"


def unknown_override_problems(
    key: str, env: Env, env_file: EnvFile, names: StepNames
) -> list[Problem]:
    """``steps.KEY`` names no step: say so where it was written, with the name it may mean.

    An override a variable set is reported at each variable, and the suggestion is a variable
    smdsl would read: one naming the step by a name that fits in a variable's name.
    """
    variables = setting_variables(("steps", key))
    if key in env_file.step_keys(env.name) or not variables:
        return [
            Problem(
                f"{env_file.describe(env.name)}: steps.{key} overrides unknown step {key!r}"
                f"{names.suggest(key)}"
            )
        ]
    return [
        Problem(
            f"{env_file.by_variables([variable], env.name)}: steps.{key} overrides unknown step "
            f"{key!r}{_variable_suggestion(key, variable, names)}"
        )
        for variable in variables
    ]


_VARIABLE_PART = re.compile(r"[A-Za-z0-9]+(_[A-Za-z0-9]+)*")
"""A step or function name that can stand in an SMDSL_STEPS__<NAME>__... variable."""


def _variable_suggestion(key: str, variable: str, names: StepNames) -> str:
    """`` (did you mean SMDSL_STEPS__TRAIN__INSTANCE_TYPE?)`` for a variable naming no step."""
    choices = {name.lower(): name for name in [*names.functions_of, *names.by_function]}
    close = difflib.get_close_matches(key.lower(), list(choices), n=1)
    if not close:
        return ""
    meant = choices[close[0]]
    step = names.resolve(meant)
    parts = variable.split("__")
    if step is None or len(variable_path(variable)) < 3:  # two steps, or a JSON variable
        return f" (did you mean {meant!r}?)"
    for name in (step, names.functions_of[step]):
        if not _VARIABLE_PART.fullmatch(name) or override_target(name.lower(), names) != step:
            continue
        written = "__".join([parts[0], name.upper(), *parts[2:]])
        if refusal(written, os.environ.get(variable, "")) is not None:
            continue
        if name == step:
            return f" (did you mean {written}?)"
        return (
            f" (did you mean step {step!r}? a variable names it by its function "
            f"{name!r}: {written})"
        )
    return (
        f" (did you mean step {step!r}? no variable name can hold its name: set "
        f"SMDSL_STEPS='{{\"{step}\": {{...}}}}' as JSON)"
    )


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
        resolved = options[name]
        messages: list[tuple[str, str]] = []
        if isinstance(resolved, ImageOptions):
            messages += image_problems(resolved, region, region_origin)
        shape = resolved.instance_shape
        declared = getattr(resolved, "instance_type", None)  # what the kind's options hold
        if shape is not None and declared is not None:
            message = instance_type_problem(step.spec.kind, shape, declared)
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


def profile_warnings(env: Env, env_file: EnvFile, module: PipelineModule) -> list[Problem]:
    """What the profile, its file and the ``SMDSL_*`` variables have that smdsl ignores or
    cuts: a pipeline builds with it, but probably not as the user meant."""
    return (
        file_warnings(env_file)
        + variable_warnings(os.environ)
        + description_warnings(env, env_file, module)
    )


def variable_warnings(environ: Mapping[str, str]) -> list[Problem]:
    """An ``SMDSL_*`` variable that nothing reads (``SMDSL_BUCKT``), with the one it may mean."""
    return [Problem(m) for m in unknown_variables(environ, PROFILE_FIELDS, STEP_FIELDS)]


def file_warnings(env_file: EnvFile) -> list[Problem]:
    """A key or table of the profile file's smdsl table besides ``envs``: nothing reads it."""
    if env_file.path is None:
        return []
    path = display_path(env_file.path)
    outside = env_file.table.removesuffix("envs")  # "" in smdsl.toml, "tool.smdsl." in pyproject
    found = []
    for key, value in env_file.ignored.items():
        table = isinstance(value, dict)
        shown = f"[{outside}{key}]" if table else f"{outside}{key}"
        close = did_you_mean(key, ["envs"]).replace("'envs'", f"[{env_file.table}]")
        if close:
            advice = ""
        elif key in PROFILE_FIELDS:
            advice = f" (a profile setting goes in a profile: [{env_file.table}.NAME] {key} = ...)"
        elif table:
            advice = f" (a profile goes in [{env_file.table}.{key}])"
        else:
            advice = f" (smdsl reads only [{env_file.table}.NAME] tables here)"
        found.append(
            Problem(f"{path}: {shown} is not an smdsl setting{close}; it is ignored{advice}")
        )
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

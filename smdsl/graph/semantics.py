"""Checks of what a pipeline means that the shapes of SageMaker's API cannot see.

A compiled definition holds a ``{"Get": "Parameters.X"}`` where a parameter is used, so
checking the API's request shapes cannot tell an Integer parameter where a string URI belongs,
nor a default out of the range of the member it lands in. Neither can it see what Python merged
before smdsl was called (a dict literal naming one key twice), nor which steps can never run.
Each check here returns :class:`Problem` objects aimed at the user's file, line, step and field:

- a parameter whose type the field it is used in cannot take (an Integer parameter as an input's
  S3 URI), read from the field's declared types, so a step kind of one's own is checked too;
- a parameter's default outside the range of the API member it is used as (an Integer parameter
  defaulting to 101 as a processing job's instance count), the range read from botocore;
- an environment variable name the API's pattern refuses (``LOG-LEVEL``), the pattern from
  botocore, in the decorator or in a profile's per-step override;
- a key written twice in one dict literal of a step function (two channels named ``train``):
  Python keeps the last one and drops the first without a word;
- a step that can never run: one that comes after a fail step, which ends the execution.
  (A step that uses steps of both branches of a condition, or a branch step used from outside
  its branch, is reported by :mod:`smdsl.graph.branches`.)
- a step of a condition's branch that also waits for that condition by another way (through a
  step that waits for it): a condition is built with its branch steps inside it, so no order
  builds them, and ``smdsl definition`` would refuse the pipeline.
"""

from __future__ import annotations

import ast
import functools
import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from smdsl.declare.base import StepConfig
from smdsl.declare.control import Fail
from smdsl.declare.env import Env
from smdsl.declare.envfile import EnvFile
from smdsl.declare.expressions import Join
from smdsl.declare.options import (
    ModelOptions,
    ProcessingOptions,
    StepOptions,
    TrainingOptions,
    TransformOptions,
)
from smdsl.declare.params import Parameter
from smdsl.declare.refs import ModelArtifactsRef, OutputRef
from smdsl.declare.steps import StepFunction
from smdsl.errors import Problem, SourceLocation
from smdsl.graph.limits import Limits, member_limits
from smdsl.graph.names import StepNames
from smdsl.graph.profile_checks import override_target

if typing.TYPE_CHECKING:
    import networkx as nx

Steps = Mapping[str, StepFunction[Any]]

API_MEMBERS: tuple[tuple[type[StepOptions], Mapping[str, tuple[str, str]]], ...] = (
    (
        ProcessingOptions,
        {
            "instance_count": ("ProcessingClusterConfig", "InstanceCount"),
            "volume_size_gb": ("ProcessingClusterConfig", "VolumeSizeInGB"),
            "max_runtime": ("ProcessingStoppingCondition", "MaxRuntimeInSeconds"),
            "environment": ("CreateProcessingJobRequest", "Environment"),
        },
    ),
    (
        TrainingOptions,
        {
            "instance_count": ("ResourceConfig", "InstanceCount"),
            "volume_size_gb": ("ResourceConfig", "VolumeSizeInGB"),
            "max_runtime": ("StoppingCondition", "MaxRuntimeInSeconds"),
            "environment": ("CreateTrainingJobRequest", "Environment"),
        },
    ),
    (
        TransformOptions,
        {
            "instance_count": ("TransformResources", "InstanceCount"),
            "environment": ("CreateTransformJobRequest", "Environment"),
        },
    ),
    (ModelOptions, {"environment": ("ContainerDefinition", "Environment")}),
)
"""Where each setting of a step's options lands in the API request of its job, by options
class: the member whose limits (from botocore) the setting's value must keep."""


def api_member(options: StepOptions, setting: str) -> tuple[str, str] | None:
    """The request member (shape, member) the setting ``setting`` of ``options`` lands in."""
    for options_class, members in API_MEMBERS:
        if isinstance(options, options_class):
            return members.get(setting)
    return None


def semantic_problems(
    steps: Steps,
    options: Mapping[str, StepOptions],
    configs: Mapping[str, StepConfig],
    dag: nx.DiGraph,
    env: Env,
    env_file: EnvFile,
    names: StepNames,
) -> list[Problem]:
    """Every problem of the module's steps that the API's shapes would not see (see above).

    ``options`` are the steps' options with the profile applied, ``configs`` what the step
    functions returned (a step whose function failed has none).
    """
    found: list[Problem] = []
    for name, step in steps.items():
        where = step.spec.location
        if name in configs:
            for message, path in parameter_type_problems(configs[name]):
                found.append(Problem(message, where, name, path))
        if name in options:
            for message, setting in parameter_range_problems(options[name]):
                found.append(Problem(message, where, name, setting))
            found += environment_problems(step, options[name], env, env_file, names)
        found += duplicate_key_problems(step)
    found += unreachable_problems(steps, configs, dag)
    found += branch_order_problems(steps, dag)
    return found


# -- a parameter of a type its field cannot take -----------------------------------------------

_SCALARS: dict[object, str] = {str: "String", bool: "Boolean", int: "Integer", float: "Float"}

_TAKES = {
    "String": "a String parameter",
    "Integer": "an Integer parameter",
    "Float": "a Float parameter",
    "Boolean": "a Boolean parameter",
}


def parameter_type_problems(config: StepConfig) -> Iterator[tuple[str, str]]:
    """(message, field) for each parameter used where its type cannot go: the field's declared
    types say which parameter types it takes (``str | Parameter | OutputRef`` takes a String
    one; a field that also takes ``int`` takes an Integer one too)."""
    for path, parameter, annotation in _typed_values(config, type(config), ""):
        if re.split(r"[.\[]", path, maxsplit=1)[0] in type(config).text_fields:
            continue  # rendered as text: every parameter type goes
        taken = _parameter_types(annotation)
        if taken is None or parameter.type in taken:
            continue
        if parameter.type == "Integer" and "Float" in taken:
            continue  # a whole number is a number
        wanted = " or ".join(_TAKES[t] for t in sorted(taken))
        if taken == {"String"} and _is_uri(annotation):
            why = "SageMaker wants a string there (an S3 URI)"
            example = f"param({parameter.name!r}, default='s3://bucket/prefix/')"
        elif taken == {"String"}:
            why = "SageMaker wants a string there"
            example = f"param({parameter.name!r}, default='...')"
        else:
            why = f"SageMaker wants a {' or '.join(t.lower() for t in sorted(taken))} there"
            example = ""
        yield (
            f"parameter {parameter.name!r} is {parameter.type}, but this field takes {wanted}: "
            f"{why}" + (f"; declare it as one, e.g. {example}" if example else ""),
            path,
        )


def _typed_values(value: Any, annotation: Any, path: str) -> Iterator[tuple[str, Parameter, Any]]:
    """Every parameter inside ``value`` with its field path and the annotation it sits under."""
    if isinstance(value, Parameter):
        yield path, value, annotation
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            inner = getattr(value, name)
            yield from _typed_values(inner, field.annotation, f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        item = _container_item(annotation, dict)
        for key, inner in value.items():
            yield from _typed_values(inner, item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        item = _container_item(annotation, (list, tuple))
        for index, inner in enumerate(value):
            yield from _typed_values(inner, item, f"{path}[{index}]")


def _members(annotation: Any) -> Iterator[Any]:
    """The members of a union annotation, with ``Annotated`` and nested unions undone."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _members(typing.get_args(annotation)[0])
    elif origin is typing.Union or origin is types.UnionType:
        for member in typing.get_args(annotation):
            yield from _members(member)
    else:
        yield annotation


def _container_item(annotation: Any, kinds: type | tuple[type, ...]) -> Any:
    """The annotation of the items of a dict (its values) or a sequence, from ``annotation``;
    ``Any`` when it does not say."""
    for member in _members(annotation):
        origin = typing.get_origin(member)
        if isinstance(origin, type) and issubclass(origin, kinds):
            args = typing.get_args(member)
            if origin is dict and len(args) == 2:
                return args[1]
            if args and origin is not dict:
                return args[0]
    return Any


def _parameter_types(annotation: Any) -> set[str] | None:
    """The parameter types a field of ``annotation`` takes; None when it does not say."""
    taken: set[str] = set()
    for member in _members(annotation):
        if member is Any:
            return None
        if typing.get_origin(member) is Literal:
            taken |= {_SCALARS[type(v)] for v in typing.get_args(member) if type(v) in _SCALARS}
        elif member in _SCALARS:
            taken.add(_SCALARS[member])
    return taken or None


def _is_uri(annotation: Any) -> bool:
    """Whether a String-only field holds a URI: one that also takes a step's output, a model's
    artifacts or a ``join()``."""
    members = set(_members(annotation))
    return bool(members & {OutputRef, ModelArtifactsRef, Join})


# -- a parameter's default out of the range of the API member it is used as ---------------------


def parameter_range_problems(options: StepOptions) -> Iterator[tuple[str, str]]:
    """(message, setting) for each setting given a parameter whose default lies outside the
    range botocore's model gives the request member the setting lands in."""
    for setting in type(options).model_fields:
        value = getattr(options, setting)
        if not isinstance(value, Parameter) or not isinstance(value.default, (int, float)):
            continue
        member = api_member(options, setting)
        if member is None or isinstance(value.default, bool):
            continue
        limits = member_limits(*member)
        if limits.out_of_range(value.default):
            yield (
                f"parameter {value.name!r} defaults to {value.default:,}, but SageMaker takes "
                f"{limits.describe_range()} here ({'.'.join(member)}); an execution started "
                "with the default would be refused",
                setting,
            )


# -- environment variable names the API refuses --------------------------------------------------

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_]")


def environment_problems(
    step: StepFunction[Any], options: StepOptions, env: Env, env_file: EnvFile, names: StepNames
) -> list[Problem]:
    """Each environment variable name of ``step`` the API's pattern refuses: at the decorator
    when it wrote the name, else at the profile key (or variable) that added it."""
    variables = options.variables
    member = api_member(options, "environment")
    if not variables or member is None:
        return []
    limits = member_limits(*member).key
    if limits is None:
        return []
    declared = step.spec.options.variables
    found = []
    for key in variables:
        if limits.matches(key):
            continue
        message = _environment_message(key, limits, member)
        if key in declared:
            found.append(Problem(message, step.spec.location, step.name, "environment"))
            continue
        origin = _override_origin(step.name, key, env, env_file, names)
        found.append(Problem(f"{origin}: {message}"))
    return found


def _environment_message(key: str, limits: Limits, member: tuple[str, str]) -> str:
    if limits.max is not None and len(key) > limits.max:
        return (
            f"environment variable name {key[:20]!r}... is {len(key):,} characters long; "
            f"SageMaker takes at most {limits.max:,} ({'.'.join(member)})"
        )
    fixed = _NOT_IN_NAME.sub("_", key)
    fixed = f"_{fixed}" if fixed[:1].isdigit() else fixed
    advice = f": write {fixed!r}" if limits.matches(fixed) else ""
    return (
        f"environment variable name {key!r} would be rejected by SageMaker, which takes names "
        f"matching {limits.pattern} ({'.'.join(member)}){advice}"
    )


def _override_origin(step: str, key: str, env: Env, env_file: EnvFile, names: StepNames) -> str:
    """Who added the environment variable ``key`` to ``step``: the profile's per-step override
    (or the variable that set it)."""
    for override, settings in env.steps.items():
        if key in settings.environment and override_target(override, names) == step:
            return env_file.origin(env.name, "steps", override, "environment", with_key=True)
    return env_file.describe(env.name)


# -- a key written twice in one dict literal ------------------------------------------------------


def duplicate_key_problems(step: StepFunction[Any]) -> list[Problem]:
    """A dict literal in ``step``'s function or decorator that names one key twice.

    Python keeps the last value and drops the first silently, so ``inputs={"train": a,
    "train": b}`` would be one channel. Only literal keys (strings, numbers) are compared.
    """
    code = getattr(step.fn, "__code__", None)
    if code is None:
        return []
    file = code.co_filename
    return [
        Problem(
            f"key {key!r} is written twice in this dict (first at line {first}): Python keeps "
            "only the last value and drops the first without a word; give each its own name",
            SourceLocation(file, line),
            step.name,
            keyword,
        )
        for key, line, first, keyword in _duplicates(file, step.fn.__name__, code.co_firstlineno)
    ]


Duplicate = tuple[object, int, int, "str | None"]
"""A key written twice: (key, its line, the line that wrote it first, the keyword argument the
dict is passed as)."""


def _duplicates(file: str, name: str, first_line: int) -> tuple[Duplicate, ...]:
    try:
        stat = Path(file).stat()
    except OSError:
        return ()
    return _duplicates_at(file, (stat.st_size, stat.st_mtime_ns), name, first_line)


@functools.lru_cache(maxsize=4096)
def _duplicates_at(
    file: str, stamp: tuple[int, int], name: str, first_line: int
) -> tuple[Duplicate, ...]:
    """The keys written twice in the dict literals of the function ``name`` of ``file`` (at
    ``first_line``), computed once per function even when many steps share it."""
    functions = _functions_at(file, stamp)
    node = functions.get((name, first_line)) if functions else None
    if node is None:
        return ()
    keywords: dict[int, str] = {}  # the keyword argument each dict literal is passed as
    dicts: list[ast.Dict] = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Dict):
            dicts.append(inner)
        elif isinstance(inner, ast.Call):
            for keyword in inner.keywords:
                if keyword.arg is not None:
                    for value in ast.walk(keyword.value):
                        if isinstance(value, ast.Dict):
                            keywords.setdefault(id(value), keyword.arg)
    found: list[Duplicate] = []
    for literal in dicts:
        seen: dict[object, int] = {}
        for key in literal.keys:
            if not isinstance(key, ast.Constant) or not isinstance(key.value, (str, int, float)):
                continue
            if key.value in seen:
                found.append((key.value, key.lineno, seen[key.value], keywords.get(id(literal))))
            else:
                seen[key.value] = key.lineno
    return tuple(found)


Functions = dict[tuple[str, int], "ast.FunctionDef | ast.AsyncFunctionDef"]


@functools.lru_cache(maxsize=32)
def _functions_at(file: str, stamp: tuple[int, int]) -> Functions | None:
    """Every function defined in ``file`` by its name and first line: that of its first
    decorator (as ``co_firstlineno`` gives it) and that of its ``def``."""
    try:
        tree = ast.parse(Path(file).read_bytes(), filename=file)
    except (OSError, SyntaxError, ValueError):
        return None
    found: Functions = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found[(node.name, first)] = node
            found.setdefault((node.name, node.lineno), node)
    return found


# -- steps that can never run ----------------------------------------------------------------


def unreachable_problems(
    steps: Steps, configs: Mapping[str, StepConfig], dag: nx.DiGraph
) -> list[Problem]:
    """A step that comes after a fail step: a fail step ends the execution, so no step that
    waits for it ever runs."""
    found = []
    for name, config in configs.items():
        if not isinstance(config, Fail) or name not in dag:
            continue
        for downstream, data in sorted(dag.succ[name].items()):
            if downstream not in steps:
                continue
            via = sorted(data.get("via", ()))
            how = " and ".join(via) or "an edge"
            found.append(
                Problem(
                    f"can never run: it comes after fail step {name!r} ({how}), which ends the "
                    "execution as failed; remove that dependency, or put this step in the other "
                    "branch of the condition that leads to the fail step",
                    steps[downstream].spec.location,
                    downstream,
                )
            )
    return found


# -- a branch step that waits for its own condition by another way ------------------------------


def _is_branch(vias: Any) -> bool:
    return any(str(via).startswith("branch") for via in vias)


def branch_order_problems(steps: Steps, dag: nx.DiGraph) -> list[Problem]:
    """A step in a condition's branch (or a branch nested in it) that also waits for that
    condition through other steps: ``check -> report -> publish`` with ``publish`` in the
    then= of ``check``.

    The condition is built with its branch steps inside it, so each branch step must be built
    first, and each step after what it waits for: here ``publish`` before ``check`` before
    ``report`` before ``publish``. The compiler builds steps in that order
    (``smdsl.compile.builder.build_order``); this check finds the same cycles before it.
    """
    import networkx as nx

    if not nx.is_directed_acyclic_graph(dag):
        return []  # reported as cycles
    build = nx.DiGraph()
    build.add_nodes_from(dag.nodes)
    for upstream, downstream, data in dag.edges(data=True):
        if _is_branch(data.get("via", ())):
            build.add_edge(downstream, upstream, inside=True)
        else:
            build.add_edge(upstream, downstream, inside=False)
    found = []
    for component in nx.strongly_connected_components(build):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(build.subgraph(component))
        step, condition, path = _blamed(cycle, build)
        if step not in steps:
            continue
        found.append(
            Problem(
                f"runs inside a branch of condition {condition!r} but also waits for it: "
                f"{' -> '.join(path)}; a condition is built with the steps of its branches "
                "inside it, so no step of them may wait for it by another way: drop that "
                "dependency, or list the steps in between in the branch too",
                steps[step].spec.location,
                step,
            )
        )
    return found


def _blamed(cycle: list[tuple[str, str]], build: nx.DiGraph) -> tuple[str, str, list[str]]:
    """(the branch step to blame, the condition it waits for, the path from that condition
    back to the step) for a cycle of the build order."""
    inside = [bool(build.edges[edge]["inside"]) for edge in cycle]
    count = len(cycle)
    start = next(i for i in range(count) if inside[i] and not inside[i - 1])
    step = cycle[start][0]
    at = start
    while inside[at % count]:
        at += 1
    condition = cycle[(at - 1) % count][1]
    path = [condition] + [cycle[(at + k) % count][1] for k in range(count - (at - start))]
    return step, condition, path

"""Build and check the DAG of a pipeline's steps.

Edges come from three places: a step function's parameter named after another step, a
reference inside a returned config (``preprocess.outputs["train"]``, ``train.model_artifacts``),
and an explicit ``depends_on``. Every problem found is reported at once, each aimed at the
user's file and line.
"""

from __future__ import annotations

import functools
import typing
from pathlib import Path
from typing import Any

import networkx as nx
from pydantic import ValidationError

from smdsl.declare.base import StepConfig
from smdsl.declare.configs import Processing, Training, references
from smdsl.declare.env import Env
from smdsl.declare.envfile import find_env_file
from smdsl.declare.options import StepOptions
from smdsl.declare.refs import StepReference
from smdsl.declare.steps import StepFunction
from smdsl.errors import (
    GraphError,
    Problem,
    SourceLocation,
    did_you_mean,
    display_path,
)
from smdsl.graph.branches import Branch, decided_by_branch, place_steps, placement_problems
from smdsl.graph.checks import (
    SAGEMAKER_NAME,
    config_problems,
    describe_validation,
)
from smdsl.graph.codepaths import project_root
from smdsl.graph.failed_upstream import FailedUpstream, caused_by_stand_in
from smdsl.graph.loader import PipelineModule
from smdsl.graph.model import PipelineGraph, StepNode
from smdsl.graph.names import StepNames
from smdsl.graph.parameters import collect_parameters
from smdsl.graph.profile_checks import (
    option_problems,
    override_origin,
    override_target,
    profile_warnings,
    region_problems,
    secret_problems,
    unknown_override_problems,
)
from smdsl.graph.references import operand_problems, reference_problem
from smdsl.graph.semantics import semantic_problems
from smdsl.graph.tracebacks import describe_raised, user_location, user_output_to_stderr

__all__ = ["PipelineGraph", "StepNode", "build_graph"]


def build_graph(module: PipelineModule, env: Env, *, for_deploy: bool = False) -> PipelineGraph:
    """Check the steps of ``module`` under ``env`` and return their graph.

    With ``for_deploy``, also report each setting that compiling and deploying need and the
    profile lacks (region, role ARN, bucket), as ``smdsl validate`` does for a named profile.
    Raises :class:`GraphError` listing every problem found.
    """
    return _Builder(module, env, for_deploy).build()


class _Builder:
    def __init__(self, module: PipelineModule, env: Env, for_deploy: bool = False) -> None:
        self.module = module
        self.env = env
        self.for_deploy = for_deploy
        self.env_file = find_env_file(module.path)
        self.instance_origins: dict[str, str] = {}  # step -> the profile key that set it
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.steps: dict[str, StepFunction[Any]] = {}
        self.index: dict[str, int] = {}
        self.dag: nx.DiGraph = nx.DiGraph()
        self.names = StepNames()
        self.upstreams: dict[str, dict[str, str]] = {}  # step -> {parameter: upstream step}
        self.options: dict[str, StepOptions] = {}  # with the env's overrides applied

    def problem(
        self,
        message: str,
        step: StepFunction[Any] | None = None,
        field: str | None = None,
        location: SourceLocation | None = None,
    ) -> None:
        where = location or (step.spec.location if step else None)
        self.problems.append(Problem(message, where, step.name if step else None, field))

    def fail_if_problems(self) -> None:
        if self.problems:
            count = len(self.problems)
            noun = "problem" if count == 1 else "problems"
            raise GraphError(
                f"{display_path(self.module.path)}: {count} {noun} in the pipeline", self.problems
            )

    def build(self) -> PipelineGraph:
        self.collect_steps()
        if not self.steps:
            self.problem(
                f"no steps found in {display_path(self.module.path)}: decorate functions "
                "with @processing_step, @training_step or another step decorator"
            )
        self.problems += region_problems(self.env, self.env_file, self.for_deploy)
        options = self.resolve_options()
        self.options = options
        env_params = self.add_declared_edges()
        if self.check_cycles():
            self.fail_if_problems()  # no order to call the steps in
        order = self.topological_order()
        configs = self.call_steps(order, env_params)
        self.add_reference_edges(configs)
        placement = self.place_branch_steps(configs)
        collected = collect_parameters(self.module, self.steps, configs)
        self.problems += collected.problems
        self.warnings += collected.warnings
        params = collected.parameters
        self.problems += option_problems(
            self.steps, options, self.env, self.env_file, self.instance_origins
        )
        profile = self.env_file.describe(self.env.name)
        self.problems += secret_problems(self.steps, options, configs, params, profile)
        self.problems += semantic_problems(
            self.steps, options, configs, self.dag, self.env, self.env_file, self.names
        )
        self.check_cycles()
        self.fail_if_problems()
        order = self.topological_order()
        nodes = {n: StepNode(self.steps[n], options[n], configs[n]) for n in order}
        graph = PipelineGraph(self.module, self.env, self.dag, nodes, order, params, placement)
        graph.warnings = self.warnings + profile_warnings(self.env, self.env_file, self.module)
        return graph

    # -- steps and names ---------------------------------------------------------------------

    def collect_steps(self) -> None:
        for step in self.module.steps:
            name = step.name
            if not SAGEMAKER_NAME.match(name):
                self.problem(
                    f"step name {name!r} would be rejected by SageMaker: use 1-64 "
                    "letters, digits, '-' or '_' (name= in the decorator sets another name)",
                    step,
                    "name",
                )
            if name in self.steps:
                first = self.steps[name].spec.location
                self.problem(f"duplicate step name {name!r}, first declared at {first}", step)
                continue
            self.steps[name] = step
            for message in step.spec.step_kind.target_problems():
                self.problem(message, step)
            self.index[name] = len(self.index)
            self.dag.add_node(name)
            self.names.add(name, step.spec.function_name.rsplit(".", 1)[-1])

    def resolve_options(self) -> dict[str, StepOptions]:
        """Each step's options with the env's overrides applied.

        ``steps.KEY`` names its step as a reference does (:func:`override_target`): exactly,
        else without case (environment variables reach pydantic-settings lower-cased), else by
        the step's function name. Keys the profile file wrote are applied first, exact names
        before others, and keys only variables set on top, so a variable beats the file. Two
        keys of the file for one step are refused: which one wins would be a guess.
        """
        written = self.env_file.step_keys(self.env.name)
        targets = {key: override_target(key, self.names) for key in self.env.steps}
        overrides: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        in_file: dict[str, str] = {}  # step -> the key of the file that overrides it
        for key in sorted(self.env.steps, key=lambda k: (k not in written, k != targets[k])):
            target = targets[key]
            if target is None:
                self.problems += unknown_override_problems(key, self.env, self.env_file, self.names)
                continue
            if key in written and target in in_file:
                self.problem(
                    f"{self.env_file.describe(self.env.name)}: steps.{in_file[target]} and "
                    f"steps.{key} both override step {target!r}; keep one"
                )
                continue
            if key in written:
                in_file[target] = key
            overrides.setdefault(target, []).append(
                (key, self.env.steps[key].model_dump(exclude_none=True, exclude_defaults=True))
            )
            if self.env.steps[key].instance_type is not None:  # applied in this order: last wins
                self.instance_origins[target] = self.env_file.origin(
                    self.env.name, "steps", key, "instance_type"
                )
        resolved: dict[str, StepOptions] = {}
        for name, step in self.steps.items():
            options: StepOptions = step.spec.options
            for key, override in overrides.get(name, []):
                try:
                    options = options.merged(override)
                except ValidationError as exc:
                    where = override_origin(key, self.env, self.env_file)
                    self.problem(f"{where}: {describe_validation(exc, title=False)}", step)
                except ValueError as exc:  # a setting this kind of step does not have
                    where = override_origin(key, self.env, self.env_file)
                    self.problem(f"{where}: {exc}", step)
            resolved[name] = options
        return resolved

    # -- edges ---------------------------------------------------------------------------------

    def add_edge(self, upstream: str, downstream: str, via: str) -> None:
        self.dag.add_edge(upstream, downstream)
        self.dag.edges[upstream, downstream].setdefault("via", set()).add(via)

    def add_declared_edges(self) -> dict[str, str | None]:
        """Edges from parameter names and depends_on; returns each step's env parameter."""
        env_params: dict[str, str | None] = {}
        for name, step in self.steps.items():
            env_params[name] = None
            upstreams = self.upstreams.setdefault(name, {})
            hints = _type_hints(step)
            for pname in step.spec.parameters:
                hint = hints.get(pname)
                if hint is Env or (hint is None and pname == "env"):
                    env_params[name] = pname
                    continue
                target = self.names.resolve(pname)
                if target is None:
                    if pname in step.spec.optional:  # has a default: not an upstream step
                        close = self.names.suggest(pname)
                        if close:  # but perhaps a misspelt one, whose edge would be lost
                            self.warnings.append(
                                Problem(
                                    f"parameter {pname!r} has a default and names no step, so "
                                    f"it makes no edge{close}",
                                    step.spec.location,
                                    name,
                                    pname,
                                )
                            )
                        continue
                    self.problem(self.names.unknown_parameter(name, pname, hint), step, pname)
                    continue
                upstream = self.steps[target]
                expected = upstream.spec.step_kind.config
                if (
                    isinstance(hint, type)
                    and issubclass(hint, StepConfig)
                    and not issubclass(expected, hint)
                ):
                    self.problem(
                        f"parameter {pname!r} is annotated {hint.__name__} but step "
                        f"{target!r} is a {upstream.spec.kind} step returning "
                        f"{expected.__name__}",
                        step,
                        pname,
                    )
                upstreams[pname] = target
                self.add_edge(target, name, "parameter")
            for dep in step.spec.options.depends_on:
                target = self.names.resolve(dep)
                if target is None:
                    self.problem(
                        f"unknown step {dep!r}{self.names.suggest(dep)}",
                        step,
                        "depends_on",
                    )
                else:
                    self.add_edge(target, name, "depends_on")
        return env_params

    def add_reference_edges(self, configs: dict[str, StepConfig]) -> None:
        for name, config in configs.items():
            step = self.steps[name]
            for path, ref in references(config):
                self.check_reference(step, path, ref, configs)
                if ref.step in self.steps and ref.step != name:
                    self.add_edge(ref.step, name, "reference")
                elif ref.step == name:
                    self.problem(f"refers to its own output {ref!s}", step, path)

    def check_reference(
        self,
        step: StepFunction[Any],
        path: str,
        ref: StepReference,
        configs: dict[str, StepConfig],
    ) -> None:
        target = self.steps.get(ref.step)
        if target is None:
            self.problem(
                f"refers to unknown step {ref.step!r}{did_you_mean(ref.step, self.steps)}",
                step,
                path,
            )
            return
        message = reference_problem(ref, target.spec.step_kind, configs.get(ref.step))
        if message:
            self.problem(message, step, path)

    def place_branch_steps(self, configs: dict[str, StepConfig]) -> dict[str, Branch]:
        """Add each condition's branch edges; return the branch each listed step runs in."""
        branches: dict[str, dict[str, list[str]]] = {}
        for name, config in configs.items():
            sides = config.branches()
            if sides:
                branches[name] = {
                    side: [self.names.resolve(entry) or entry for entry in entries]
                    for side, entries in sides.items()
                }
        placed, problems = place_steps(branches, self.steps)
        for branch_step, (condition, side) in list(placed.items()):
            if nx.has_path(self.dag, branch_step, condition):
                problems.append(decided_by_branch(condition, side, branch_step, self.dag))
                del placed[branch_step]
            else:
                self.add_edge(condition, branch_step, f"branch:{side}")
        if nx.is_directed_acyclic_graph(self.dag):  # else check_cycles reports each cycle
            problems += placement_problems(self.dag, placed)
        for found in problems:
            self.problem(found.message, self.steps[found.step], found.field)
        return placed

    def check_cycles(self) -> bool:
        """Report each cycle as its path; True if there was one."""
        cycles: list[list[str]] = list(nx.simple_cycles(self.dag))
        for cycle in sorted(cycles, key=sorted):
            start = min(cycle, key=lambda n: self.index.get(n, 0))
            at = cycle.index(start)
            ordered = cycle[at:] + cycle[:at] + [start]
            path = " -> ".join(ordered)
            self.problem(f"cycle: {path}", self.steps[start])
        return bool(cycles)

    def topological_order(self) -> list[str]:
        return list(nx.lexicographical_topological_sort(self.dag, key=self.index.__getitem__))

    # -- calling the step functions ----------------------------------------------------------

    def call_steps(
        self, order: list[str], env_params: dict[str, str | None]
    ) -> dict[str, StepConfig]:
        configs: dict[str, StepConfig] = {}
        for name in order:
            step = self.steps[name]
            kwargs: dict[str, Any] = {}
            ready = True
            stand_in = False
            for pname in step.spec.parameters:
                upstream = self.upstreams[name].get(pname)
                if pname == env_params[name]:
                    kwargs[pname] = self.env
                elif upstream is not None:
                    # An upstream that failed is reported already; this step is still called, so
                    # that its own problems are found too.
                    failed = upstream not in configs
                    stand_in = stand_in or failed
                    kwargs[pname] = FailedUpstream(upstream) if failed else configs[upstream]
                elif pname not in step.spec.optional:
                    ready = False  # names no step: reported already
            if not ready:
                continue
            try:
                with user_output_to_stderr():
                    configs[name] = step(**kwargs)
            except BaseException as exc:
                if stand_in and caused_by_stand_in(exc):
                    continue  # it used the failed upstream: that problem is reported already
                self.report_raised(step, exc)
            else:
                self.check_config(step, configs[name])
        return configs

    def report_raised(self, step: StepFunction[Any], exc: BaseException) -> None:
        """Report what calling ``step`` raised, at the user's line that raised it."""
        if isinstance(exc, ValidationError):
            message = describe_validation(exc)
        else:  # SystemExit and KeyboardInterrupt included
            message = describe_raised(exc)
        self.problem(message, step, location=user_location(exc.__traceback__) or step.spec.location)

    @functools.cached_property
    def project_root(self) -> Path:
        """The folder the pipeline's code must lie in."""
        return project_root(self.module.path)

    def check_config(self, step: StepFunction[Any], config: StepConfig) -> None:
        base = Path(step.spec.location.file).resolve().parent
        for message, field_name in config_problems(config, base, self.project_root):
            self.problem(message, step, field_name)
        for message, field_name in operand_problems(config):
            self.problem(message, step, field_name)
        options = self.options.get(step.name, step.spec.options)
        for message, field_name in config.option_problems(options):
            self.problem(message, step, field_name)


def _type_hints(step: StepFunction[Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(step.fn)
    except Exception:
        raw = getattr(step.fn, "__annotations__", {})
        names = {"Env": Env, "Processing": Processing, "Training": Training}
        return {k: names.get(v, v) if isinstance(v, str) else v for k, v in raw.items()}

"""Turn a checked :class:`PipelineGraph` into SageMaker SDK v3 objects and a definition."""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from smdsl.compile.bundles import CodeObject, StepCode
from smdsl.compile.context import Compilation, StepBuild
from smdsl.compile.sdk import offline_sdk
from smdsl.declare.env import Env, require_deploy_settings
from smdsl.declare.envfile import find_env_file
from smdsl.errors import CompileError, SmdslError, display_path
from smdsl.graph.codepaths import project_root
from smdsl.graph.model import PipelineGraph, StepNode


@dataclass(frozen=True)
class CompiledPipeline:
    """What deploy needs: the definition, where it goes, and the code objects it refers to."""

    name: str
    definition: str
    role_arn: str
    region: str
    bucket: str
    prefix: str
    description: str | None
    tags: dict[str, str]
    code: tuple[CodeObject, ...]


@dataclass(frozen=True)
class CompilePlan:
    """What compiling needs besides the SDK: the deploy settings and every step's code."""

    graph: PipelineGraph
    region: str
    role: str
    bucket: str
    code: dict[str, StepCode | None]

    def assemble(self, definition: str) -> CompiledPipeline:
        """The compiled pipeline with ``definition``, however it was obtained."""
        env = self.graph.env
        objects: dict[str, CodeObject] = {}
        for step_code in self.code.values():
            for obj in step_code.objects if step_code else ():
                objects.setdefault(obj.key, obj)
        return CompiledPipeline(
            name=self.graph.pipeline_name,
            definition=definition,
            role_arn=self.role,
            region=self.region,
            bucket=self.bucket,
            prefix=env.prefix,
            description=self.graph.description,
            tags=dict(env.tags),
            code=tuple(objects[k] for k in sorted(objects)),
        )


def plan_compile(graph: PipelineGraph) -> CompilePlan:
    """Check the deploy settings and pack every step's code: all of compiling but the SDK."""
    env = graph.env
    where = find_env_file(graph.module.path).describe(env.name)
    region, role, bucket = require_deploy_settings(env, where)
    project = project_root(graph.module.path)
    code = {name: _plan_code(node, env, project) for name, node in graph.nodes.items()}
    return CompilePlan(graph, region, role, bucket, code)


def compile_pipeline(graph: PipelineGraph, plan: CompilePlan | None = None) -> CompiledPipeline:
    """Compile ``graph`` to a definition with no network I/O.

    The definition is compact JSON, byte-stable: what deploy sends and compares. :func:`pretty`
    indents it for people.
    """
    plan = plan or plan_compile(graph)
    with offline_sdk(plan.region) as workdir, _no_cycle_collection():
        compilation = Compilation(graph, plan.code, plan.region, plan.role, plan.bucket, workdir)
        definition = _definition(compilation)
    return plan.assemble(definition)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while the SDK builds its objects: it would walk the growing
    heap of SDK objects again and again (compile time grew faster than the steps); what they
    leave is collected once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def pretty(definition: str) -> str:
    """A compiled definition indented for people, ending with a newline."""
    return json.dumps(json.loads(definition), indent=2) + "\n"


def _plan_code(node: StepNode, env: Env, project: Path) -> StepCode | None:
    plan = node.function.spec.step_kind.code_function()
    if plan is None:
        return None
    try:
        code: StepCode | None = plan(node, env, project)
    except OSError as exc:
        raise CompileError(
            f"{node.location}, in step {node.name!r}: cannot read code: {exc}"
        ) from None
    return code


def build_order(graph: PipelineGraph) -> list[str]:
    """The order SDK steps are built in: each after the steps it refers to, and a condition
    after the steps of its branches (the SDK takes them as objects)."""
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.order)
    for upstream, downstream, data in graph.dag.edges(data=True):
        if any(via.startswith("branch") for via in data["via"]):
            dag.add_edge(downstream, upstream)
        else:
            dag.add_edge(upstream, downstream)
    index = {name: i for i, name in enumerate(graph.order)}
    try:
        return list(nx.lexicographical_topological_sort(dag, key=index.__getitem__))
    except nx.NetworkXUnfeasible:
        raise CompileError(
            f"{display_path(graph.module.path)}: a condition's branch step is also upstream of "
            "the condition; no order builds them"
        ) from None


def _builtin(function: Any) -> bool:
    """Whether ``function`` is one of smdsl's own compile functions."""
    return str(getattr(function, "__module__", "")).startswith("smdsl.compile.")


def _definition(compilation: Compilation) -> str:
    from sagemaker.mlops.workflow.pipeline import Pipeline

    graph = compilation.graph
    for name in build_order(graph):
        node = graph.nodes[name]
        kind = node.function.spec.step_kind
        compile_step: Any = None
        try:
            compile_step = kind.compile_function()
            compilation.steps[name] = compile_step(StepBuild(compilation, node))
        except SmdslError as exc:
            if isinstance(exc, CompileError) and str(exc).startswith("File "):
                raise
            raise CompileError(f"{node.location}, in step {name!r}: {exc}") from None
        except Exception as exc:
            who = (
                "the SageMaker SDK refused this step"
                if _builtin(compile_step)
                else f"the compile function of step kind {kind.name!r} raised"
            )
            raise CompileError(
                f"{node.location}, in step {name!r}: {who}: {type(exc).__name__}: "
                f"{exc or repr(exc)}"
            ) from exc
    pipeline = Pipeline(
        name=graph.pipeline_name,
        parameters=list(compilation.parameters.values()),
        steps=[compilation.steps[n] for n in graph.top_level],
        sagemaker_session=compilation.session,
    )
    try:  # the SDK runs the steps' job functions (run, train, transform) here
        written = pipeline.definition()
    except Exception as exc:
        raise CompileError(
            f"{display_path(graph.module.path)}: the SageMaker SDK refused the pipeline while "
            f"writing its definition: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        return json.dumps(json.loads(written), separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # NaN or infinity: valid Python, not valid JSON
        raise CompileError(
            f"{display_path(graph.module.path)}: the definition holds a value JSON "
            f"cannot represent ({exc}); use finite numbers"
        ) from None

"""Properties of the graph layer over random pipelines (hypothesis).

A random valid pipeline of 1 to 60 steps of every kind (processing, training, condition with
branches, fail, model, register, transform) is written as a pipeline module to a temporary
folder, loaded with ``load_pipeline`` and built with ``build_graph``: it builds without a
problem, and its graph holds exactly the edges generated (each by the way it was made: a
parameter, a reference, ``depends_on``, a branch) and places each branch step where it was
listed. Small ones are compiled too, and their definitions pass the test oracle.

A random single mutation of a valid pipeline (a reference to a step the module does not have, a
cycle, an out-of-range value, an unknown instance type) is always reported, naming the step that
holds it.

The rules the generator keeps, which make a pipeline valid:

- a step uses (by parameter, reference or ``depends_on``) only steps declared before it;
- a step listed in a condition's branch is declared after that condition, and uses only steps of
  its own branch declared before it, or steps declared before the condition that it could use
  there (top-level ones, or ones of the branches around the condition);
- no step uses a fail step (a fail step ends the execution: a step after it never runs);
- no step of a branch uses the condition it runs inside, or a step that can be built only after
  that condition (a condition is built with its branch steps inside it).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import check_definition

from smdsl import Env
from smdsl.errors import GraphError, PipelineLoadError, SmdslError
from smdsl.graph.build import PipelineGraph, build_graph
from smdsl.graph.loader import load_pipeline

KINDS = ("processing", "training", "condition", "fail", "model", "register", "transform")
PREFIX = {
    "processing": "proc",
    "training": "train",
    "condition": "cond",
    "fail": "fail",
    "model": "model",
    "register": "reg",
    "transform": "xform",
}
COMPUTE = ("processing", "training", "transform")
"""Kinds whose decorator takes an instance type and count."""

REFERABLE = {
    # downstream kind -> upstream kinds it can refer to inside its config
    "processing": ("processing", "training"),
    "training": ("processing", "training"),
    "model": ("training",),
    "register": ("training",),
    "transform": ("model", "processing"),
    "condition": ("processing",),
    "fail": (),
}
SINGLE_REFERENCE = {"model", "register", "condition"}
"""Kinds whose config refers to at most one upstream step (transform: one of each kind)."""

PROFILE = Env(
    name="dev",
    region="us-east-1",
    role_arn="arn:aws:iam::111122223333:role/PropertiesRole",
    bucket="smdsl-properties",
)

Branch = tuple[str, str]


@dataclass
class Step:
    """One generated step: its kind, where it runs and the steps it uses."""

    name: str
    kind: str
    scope: Branch | None  # the condition branch it is listed in, if any
    uses: dict[str, str] = field(default_factory=dict)  # upstream step -> "parameter", ...
    then: list[str] = field(default_factory=list)
    otherwise: list[str] = field(default_factory=list)
    instance_type: str = "ml.m5.xlarge"
    instance_count: str = "1"  # the Python expression written in the decorator


@dataclass
class Plan:
    steps: list[Step]
    extra: list[str] = field(default_factory=list)  # module-level lines added by a mutation

    def by_name(self) -> dict[str, Step]:
        return {s.name: s for s in self.steps}

    def edges(self) -> dict[tuple[str, str], set[str]]:
        """Every edge the plan makes, with how: what the built graph must hold."""
        found: dict[tuple[str, str], set[str]] = {}
        for step in self.steps:
            for upstream, via in step.uses.items():
                found.setdefault((upstream, step.name), set()).add(via)
            for side in ("then", "otherwise"):
                for listed in getattr(step, side):
                    found.setdefault((step.name, listed), set()).add(f"branch:{side}")
        return found

    def placement(self) -> dict[str, Branch]:
        return {s.name: s.scope for s in self.steps if s.scope is not None}


# -- generating a valid plan ---------------------------------------------------------------------


def _chain(scope: Branch | None, steps: dict[str, Step]) -> list[Branch | None]:
    """``scope`` and the branches around it, innermost first, ending with the top level."""
    found: list[Branch | None] = []
    while scope is not None:
        found.append(scope)
        scope = steps[scope[0]].scope
    return [*found, None]


def _usable(
    step: Step, candidate: Step, steps: dict[str, Step], index: dict[str, int], after: set[str]
) -> bool:
    """Whether ``step`` may use ``candidate``; ``after`` holds the steps that can be built only
    after the condition ``step`` runs inside (:func:`plans`)."""
    if candidate.kind == "fail" or candidate.name in after:
        return False
    if candidate.scope not in _chain(step.scope, steps):
        return False
    if step.scope is None or candidate.scope == step.scope:
        return True
    return index[candidate.name] < index[step.scope[0]]  # declared before the condition


@st.composite
def plans(draw: st.DrawFn, min_steps: int = 1, max_steps: int = 60) -> Plan:
    count = draw(st.integers(min_steps, max_steps))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=count, max_size=count))
    steps: list[Step] = []
    by_name: dict[str, Step] = {}
    index: dict[str, int] = {}
    # The order the compiler builds steps in: each after the steps it uses, and a condition
    # after the steps of its branches. A step of a branch may not use a step built after its
    # condition (the condition itself included): no order would build them.
    build = nx.DiGraph()
    for position, kind in enumerate(kinds):
        conditions = [s for s in steps if s.kind == "condition"]
        scopes: list[Branch | None] = [None]
        scopes += [(c.name, side) for c in conditions for side in ("then", "otherwise")]
        scope = draw(st.sampled_from(scopes)) if len(scopes) > 1 else None
        step = Step(f"{PREFIX[kind]}{position}", kind, scope)
        after: set[str] = set()
        if scope is not None:
            getattr(by_name[scope[0]], scope[1]).append(step.name)
            after = {scope[0], *nx.descendants(build, scope[0])}
        candidates = [s for s in steps if _usable(step, s, by_name, index, after)]
        chosen = (
            draw(st.lists(st.sampled_from(candidates), max_size=3, unique_by=lambda s: s.name))
            if candidates
            else []
        )
        referred: set[str] = set()
        for upstream in chosen:
            ways = ["parameter", "depends_on"]
            if upstream.kind in REFERABLE[kind] and _may_refer(kind, upstream.kind, referred):
                ways.append("reference")
            via = draw(st.sampled_from(ways))
            if via == "reference":
                referred.add(upstream.kind)
            step.uses[upstream.name] = via
        steps.append(step)
        by_name[step.name] = step
        index[step.name] = position
        build.add_node(step.name)
        build.add_edges_from((upstream, step.name) for upstream in step.uses)
        if scope is not None:
            build.add_edge(step.name, scope[0])
    return Plan(steps)


def _may_refer(kind: str, upstream_kind: str, referred: set[str]) -> bool:
    if kind in SINGLE_REFERENCE:
        return not referred
    if kind == "transform":
        return upstream_kind not in referred
    return True


# -- writing a plan as a pipeline module --------------------------------------------------------

HEADER = '''"""A generated pipeline."""

from smdsl import (
    Condition,
    Fail,
    Model,
    Processing,
    PropertyFile,
    Register,
    Training,
    Transform,
    condition_step,
    fail_step,
    model_step,
    param,
    processing_step,
    register_step,
    training_step,
    transform_step,
)

threshold = param("Threshold", default=0.5)
'''


def render(plan: Plan) -> str:
    parts = [HEADER, *plan.extra]
    steps = plan.by_name()
    for step in plan.steps:
        parts.append(_render_step(step, steps))
    return "\n".join(parts)


def _references(step: Step, steps: dict[str, Step], kind: str) -> list[str]:
    return [u for u, via in step.uses.items() if via == "reference" and steps[u].kind == kind]


def _source(name: str, steps: dict[str, Step]) -> str:
    """A reference to what ``name`` produces, as data for an input."""
    if steps[name].kind == "processing":
        return f'{name}.outputs["o"]'
    return f"{name}.model_artifacts"


def _render_step(step: Step, steps: dict[str, Step]) -> str:
    parameters = ", ".join(u for u, via in step.uses.items() if via == "parameter")
    depends = [u for u, via in step.uses.items() if via == "depends_on"]
    settings = {
        "processing": f'instance_type="{step.instance_type}", framework="sklearn", '
        f"instance_count={step.instance_count}",
        "training": f'instance_type="{step.instance_type}", framework="xgboost", '
        f"instance_count={step.instance_count}",
        "model": 'framework="xgboost", framework_version="1.7-1"',
        "register": 'framework="xgboost", framework_version="1.7-1"',
        "transform": f'instance_type="{step.instance_type}", instance_count={step.instance_count}',
        "condition": "",
        "fail": "",
    }[step.kind]
    if depends:
        settings += (", " if settings else "") + f"depends_on={depends!r}"
    references = [u for u, via in step.uses.items() if via == "reference"]
    body = {
        "processing": lambda: (
            "Processing(code='code/run.py', inputs={"
            + ", ".join(f"'in{i}': {_source(u, steps)}" for i, u in enumerate(references))
            + "}, outputs=['o'], property_files={'Report': PropertyFile('o', 'report.json')})"
        ),
        "training": lambda: (
            "Training(inputs={"
            + ", ".join(f"'ch{i}': {_source(u, steps)}" for i, u in enumerate(references))
            + "})"
        ),
        "model": lambda: (
            f"Model(model_data={references[0]}.model_artifacts)"
            if references
            else "Model(model_data='s3://smdsl-properties/model.tar.gz')"
        ),
        "register": lambda: (
            "Register(model_data="
            + (
                f"{references[0]}.model_artifacts"
                if references
                else "'s3://smdsl-properties/model.tar.gz'"
            )
            + ", model_package_group='Properties', content_types=['text/csv'], "
            "response_types=['text/csv'])"
        ),
        "transform": lambda: (
            "Transform(model="
            + next(
                (f"{u}.model_name" for u in _references(step, steps, "model")),
                "'existing-model'",
            )
            + ", input="
            + next(
                (f'{u}.outputs["o"]' for u in _references(step, steps, "processing")),
                "'s3://smdsl-properties/batch/'",
            )
            + ")"
        ),
        "condition": lambda: (
            "Condition(when="
            + (
                f"{references[0]}.json_get('Report', 'score', type=float) >= 0.5"
                if references
                else "threshold >= 0.5"
            )
            + f", then={step.then!r}, otherwise={step.otherwise!r})"
        ),
        "fail": lambda: "Fail(message='stopped')",
    }[step.kind]()
    config = {
        "processing": "Processing",
        "training": "Training",
        "model": "Model",
        "register": "Register",
        "transform": "Transform",
        "condition": "Condition",
        "fail": "Fail",
    }[step.kind]
    return (
        f"\n@{step.kind}_step({settings})\n"
        f"def {step.name}({parameters}) -> {config}:\n"
        f"    return {body}\n"
    )


def build_plan(plan: Plan, folder: Path) -> PipelineGraph:
    (folder / "code").mkdir(exist_ok=True)
    (folder / "code" / "run.py").write_text("print('run')\n")
    path = folder / "pipeline.py"
    path.write_text(render(plan))
    return build_graph(load_pipeline(path), PROFILE)


def build_valid(plan: Plan, folder: Path) -> PipelineGraph:
    """The graph of a valid plan; its problems, if it has any, as the failure's message."""
    try:
        return build_plan(plan, folder)
    except SmdslError as exc:
        raise AssertionError(f"{exc.render()}\n\n{render(plan)}") from None


def assert_keeps_the_plan(plan: Plan, graph: PipelineGraph) -> None:
    expected = plan.edges()
    assert set(graph.dag.edges) == set(expected)
    for edge, vias in expected.items():
        assert vias <= graph.dag.edges[edge]["via"], (edge, vias, graph.dag.edges[edge])
    assert graph.placement == plan.placement()
    assert set(graph.order) == {s.name for s in plan.steps}


# -- the properties -----------------------------------------------------------------------------

QUICK = settings(
    database=None,  # nothing written into the repository
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(QUICK, max_examples=100)
@given(plans())
def test_a_valid_pipeline_builds_and_keeps_every_edge(plan: Plan) -> None:
    with tempfile.TemporaryDirectory() as folder:
        graph = build_valid(plan, Path(folder))
    assert_keeps_the_plan(plan, graph)
    kinds = {node.kind for node in graph.nodes.values()}
    assert kinds == {s.kind for s in plan.steps}


@settings(QUICK, max_examples=10)
@given(plans(min_steps=2, max_steps=8))
def test_a_small_valid_pipeline_compiles_and_passes_the_oracle(plan: Plan) -> None:
    from smdsl.compile.builder import compile_pipeline

    with tempfile.TemporaryDirectory() as folder:
        graph = build_valid(plan, Path(folder))
        definition = json.loads(compile_pipeline(graph).definition)
    assert check_definition(definition) == []
    compiled = _compiled_steps(definition["Steps"])
    assert set(compiled) == {s.name for s in plan.steps}
    for upstream, downstream in plan.edges():
        if (upstream, downstream) in _branch_edges(plan):
            assert downstream in _branch_of(definition["Steps"], upstream)
        else:
            assert _mentions(compiled[downstream], upstream), (upstream, downstream)


def _compiled_steps(steps: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """Every step of a definition by name, branch steps included."""
    found: dict[str, dict[str, object]] = {}
    for step in steps:
        found[str(step["Name"])] = step
        arguments = step.get("Arguments")
        if step.get("Type") == "Condition" and isinstance(arguments, dict):
            for side in ("IfSteps", "ElseSteps"):
                found.update(_compiled_steps(arguments.get(side, [])))
    return found


def _branch_edges(plan: Plan) -> set[tuple[str, str]]:
    return {
        edge for edge, vias in plan.edges().items() if any(v.startswith("branch") for v in vias)
    }


def _branch_of(steps: list[dict[str, object]], condition: str) -> set[str]:
    step = _compiled_steps(steps)[condition]
    arguments = step["Arguments"]
    assert isinstance(arguments, dict)
    return {str(s["Name"]) for side in ("IfSteps", "ElseSteps") for s in arguments.get(side, [])}


def _mentions(step: dict[str, object], upstream: str) -> bool:
    """Whether a compiled step waits for ``upstream``: in its DependsOn or by a reference."""
    text = json.dumps(step)
    return upstream in step.get("DependsOn", []) or f"Steps.{upstream}." in text


# -- mutations ---------------------------------------------------------------------------------

GHOST = "ghost_step"


@dataclass(frozen=True)
class Mutation:
    plan: Plan
    step: str  # the step the problem must name
    fragment: str  # what the message must say


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    plan = draw(plans(max_steps=30))
    steps = plan.by_name()
    kind = draw(st.sampled_from(["dangling", "cycle", "out_of_range", "instance_type"]))
    compute = [s for s in plan.steps if s.kind in COMPUTE]
    if kind in ("out_of_range", "instance_type") and not compute:
        kind = "dangling"
    if kind == "dangling":
        target = draw(st.sampled_from(plan.steps))
        how = draw(st.sampled_from(["parameter", "depends_on"]))
        changed = replace(target, uses={**target.uses, GHOST: how})
        fragment = (
            f"parameter {GHOST!r} does not name a step"
            if how == "parameter"
            else f"unknown step {GHOST!r}"
        )
        return Mutation(_with(plan, changed), target.name, fragment)
    if kind == "cycle":
        edges = [
            (u, v)
            for (u, v), vias in plan.edges().items()
            if steps[u].scope is None
            and steps[v].scope is None
            and not any(x.startswith("branch") for x in vias)
            and GHOST not in (u, v)
        ]
        if edges:
            upstream, downstream = draw(st.sampled_from(edges))
        else:  # a step that waits for itself
            upstream = downstream = draw(st.sampled_from(plan.steps)).name
        target = steps[upstream]
        changed = replace(target, uses={**target.uses, downstream: "depends_on"})
        return Mutation(_with(plan, changed), upstream, f"cycle: {upstream} -> ")
    target = draw(st.sampled_from(compute))
    if kind == "instance_type":
        changed = replace(target, instance_type="ml.m5.huge")
        return Mutation(_with(plan, changed), target.name, "'ml.m5.huge' is not a")
    processing = [s for s in compute if s.kind == "processing"]
    if processing and draw(st.booleans()):  # a parameter's default out of the API's range
        target = draw(st.sampled_from(processing))
        changed = replace(target, instance_count="workers")
        mutated = _with(plan, changed)
        mutated.extra.append('workers = param("Workers", default=101)\n')
        return Mutation(mutated, target.name, "parameter 'Workers' defaults to 101")
    changed = replace(target, instance_count="0")
    return Mutation(_with(plan, changed), target.name, "instance_count: must be at least 1")


def _with(plan: Plan, changed: Step) -> Plan:
    return Plan([changed if s.name == changed.name else s for s in plan.steps], list(plan.extra))


@settings(QUICK, max_examples=100)
@given(mutations())
def test_a_single_mutation_is_always_reported_at_its_step(mutation: Mutation) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.raises(SmdslError) as info:
        build_plan(mutation.plan, Path(folder))
    error = info.value
    if isinstance(error, PipelineLoadError):  # a decorator setting, refused where it is written
        assert f"step {mutation.step!r}: " in str(error), str(error)
        assert mutation.fragment in str(error), str(error)
        return
    assert isinstance(error, GraphError), error.render()
    found = [p for p in error.problems if p.step == mutation.step and mutation.fragment in str(p)]
    assert found, error.render()

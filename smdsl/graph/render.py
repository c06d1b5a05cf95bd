"""Show a pipeline graph as text, Mermaid or Graphviz dot."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smdsl.graph.model import PipelineGraph, StepNode

FORMATS = ("text", "mermaid", "dot")


def render(graph: PipelineGraph, fmt: str) -> str:
    """The graph in format ``fmt`` (one of :data:`FORMATS`)."""
    return {"text": _text, "mermaid": _mermaid, "dot": _dot}[fmt](graph)


def _summary(node: StepNode) -> str:
    parts = [node.kind, node.options.summary(), node.config.summary()]
    return ", ".join(p for p in parts if p)


def _via(graph: PipelineGraph, upstream: str, name: str) -> str:
    """How ``upstream`` leads to ``name``: "reference", "depends_on", "then", ..."""
    vias = graph.dag.edges[upstream, name]["via"]
    return ", ".join(sorted(v.removeprefix("branch:") for v in vias))


def _edges(graph: PipelineGraph) -> list[tuple[str, str, str]]:
    edges = []
    for name in graph.order:
        for upstream in graph.upstream(name):
            edges.append((upstream, name, _via(graph, upstream, name)))
    return edges


def _after(graph: PipelineGraph, name: str) -> str:
    parts = []
    for upstream in graph.upstream(name):
        branch = graph.placement.get(name)
        side = f" ({branch[1]})" if branch and branch[0] == upstream else ""
        parts.append(f"{upstream}{side}")
    return f"  <- {', '.join(parts)}" if parts else ""


def _text(graph: PipelineGraph) -> str:
    steps = len(graph.order)
    lines = [f"{graph.pipeline_name}: {steps} step{'s' if steps != 1 else ''}"]
    if graph.parameters:
        params = ", ".join(f"{p.name}={p.default!r}" for p in graph.parameters)
        lines.append(f"parameters: {params}")
    width = max((len(n) for n in graph.order), default=0)
    for name in graph.order:
        node = graph.nodes[name]
        lines.append(f"  {name.ljust(width)}  {_summary(node)}{_after(graph, name)}")
    return "\n".join(lines) + "\n"


def _mermaid(graph: PipelineGraph) -> str:
    ids = {name: f"s{i}" for i, name in enumerate(graph.order)}
    lines = ["flowchart TD"]
    for name in graph.order:
        node = graph.nodes[name]
        lines.append(f'    {ids[name]}["{name}<br/><small>{_summary(node)}</small>"]')
    for upstream, downstream, via in _edges(graph):
        arrow = "-.->" if via == "depends_on" else "-->"
        label = f"|{via}|" if via in ("then", "otherwise") else ""
        lines.append(f"    {ids[upstream]} {arrow}{label} {ids[downstream]}")
    return "\n".join(lines) + "\n"


def _dot(graph: PipelineGraph) -> str:
    lines = [f'digraph "{graph.pipeline_name}" {{', "    rankdir=LR;", "    node [shape=box];"]
    for name in graph.order:
        label = f"{name}\\n{_summary(graph.nodes[name])}"
        lines.append(f'    "{name}" [label="{label}"];')
    for upstream, downstream, via in _edges(graph):
        style = " [style=dashed]" if via == "depends_on" else ""
        if via in ("then", "otherwise"):
            style = f' [label="{via}"]'
        lines.append(f'    "{upstream}" -> "{downstream}"{style};')
    lines.append("}")
    return "\n".join(lines) + "\n"

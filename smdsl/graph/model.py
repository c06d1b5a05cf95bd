"""A checked pipeline: its steps, their options with the env applied, and the DAG."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smdsl.declare.base import StepConfig
from smdsl.declare.env import Env
from smdsl.declare.options import StepOptions
from smdsl.declare.params import Parameter
from smdsl.declare.steps import StepFunction
from smdsl.errors import Problem, SourceLocation
from smdsl.graph.loader import PipelineModule

if TYPE_CHECKING:  # the graph is built by smdsl.graph.build: this module needs no networkx
    import networkx as nx

DESCRIPTION_LIMIT = 3072
"""The longest pipeline description SageMaker accepts."""


@dataclass(frozen=True)
class StepNode:
    """One step of the graph: what was declared, what it returned, with the env applied."""

    function: StepFunction[Any]
    options: StepOptions
    config: StepConfig

    @property
    def name(self) -> str:
        return self.function.name

    @property
    def kind(self) -> str:
        return self.function.spec.kind

    @property
    def location(self) -> SourceLocation:
        return self.function.spec.location

    @property
    def base_dir(self) -> Path:
        """The folder that relative code paths of this step are resolved against."""
        return Path(self.location.file).resolve().parent


@dataclass
class PipelineGraph:
    """A checked pipeline: its steps in a deterministic topological order."""

    module: PipelineModule
    env: Env
    dag: nx.DiGraph
    nodes: dict[str, StepNode]
    order: list[str]
    parameters: list[Parameter] = field(default_factory=list)
    placement: dict[str, tuple[str, str]] = field(default_factory=dict)
    """The branch (condition step, "then" or "otherwise") each branch step runs in."""
    warnings: list[Problem] = field(default_factory=list)
    """What deploys but is probably not what the user meant (an unused parameter, ...)."""

    @property
    def description(self) -> str | None:
        """The pipeline's description as SageMaker stores it: cut to its limit."""
        text = self.env.description or self.module.description
        return text[:DESCRIPTION_LIMIT] if text else None

    @property
    def pipeline_name(self) -> str:
        """The env's pipeline name, else one derived from the pipeline file."""
        if self.env.pipeline_name:
            return self.env.pipeline_name
        path = self.module.path
        base = path.parent.name if path.stem in ("pipeline", "__init__") else path.stem
        name = base if self.env.name == "default" else f"{base}-{self.env.name}"
        # what SageMaker accepts: letters, digits and hyphens, up to 256 characters
        return re.sub(r"[^a-zA-Z0-9]+", "-", name).strip("-")[:256].rstrip("-") or "pipeline"

    @property
    def top_level(self) -> list[str]:
        """The steps that run at the top level of the pipeline, not inside a branch."""
        return [n for n in self.order if n not in self.placement]

    def upstream(self, name: str) -> list[str]:
        """The steps ``name`` directly depends on, in pipeline order."""
        preds = set(self.dag.predecessors(name))
        return [n for n in self.order if n in preds]

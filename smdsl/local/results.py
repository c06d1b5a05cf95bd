"""What a step left behind in a local run: its outputs, properties and decisions."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_QUOTED = re.compile(r"\[\"([^\"]*)\"\]")


def property_key(path: str) -> str:
    """A step property path in one spelling: ``['x']`` for ``["x"]``, no leading dot."""
    return _QUOTED.sub(r"['\1']", path.strip().lstrip("."))


@dataclass
class StepResult:
    """The result of one step: what later steps and the summary read.

    ``outputs`` are folders by output name; ``properties`` the step's properties by path, as
    SageMaker would report them (``ModelArtifacts.S3ModelArtifacts``, ``ModelName``...);
    ``property_files`` the JSON files later steps read with JsonGet; ``branch`` the branch a
    condition chose; ``failure`` the message of a fail step; ``metrics`` what a training job's
    metric definitions matched; ``notes`` lines for the summary.
    """

    outputs: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    property_files: dict[str, str] = field(default_factory=dict)
    branch: str | None = None
    failure: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    """What later steps' cache keys use for a reference to this step instead of its value
    (a model step: its artifacts, image and code by content, not its per-run name)."""

    def output(self, name: str) -> Path:
        return Path(self.outputs[name])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def exists(self) -> bool:
        """Whether every output folder and file it names is still on disk."""
        paths = [*self.outputs.values(), *self.property_files.values()]
        return all(Path(p).exists() for p in paths)

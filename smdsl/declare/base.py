"""What every step config shares, and the questions the graph layer asks of any config.

A step kind's config subclasses :class:`StepConfig`. The graph layer never asks which kind a
config is: it asks the config what it declares (outputs, property files), which steps its
branches hold, which code paths it reads and which values must hold no secret.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from smdsl.declare.options import StepOptions
from smdsl.declare.refs import StepProperty


@dataclass(frozen=True)
class CodePaths:
    """The code a step uploads: one script (``code``), or ``entry_point`` inside ``source_dir``
    (or beside the pipeline when there is no ``source_dir``)."""

    code: str | None = None
    source_dir: str | None = None
    entry_point: str | None = None


SecretScan = tuple[str, Literal["arguments", "mapping", "value"], Any]
"""(field, how to scan it, its value): script arguments, a mapping of names to values, or one
value."""


class StepConfig(BaseModel):
    """Base of every step config: frozen, typo-proof, stamped with its step's name."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=False)

    step_name: str | None = Field(default=None, exclude=True)

    text_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields whose values reach the job as text, a parameter of any type by its ``to_string()``
    (a processing step's script arguments): every parameter type goes there."""

    def stamped(self, step_name: str) -> StepConfig:
        """This config as returned by the step ``step_name``."""
        return self.model_copy(update={"step_name": step_name})

    def property(self, path: str) -> StepProperty:
        """A property of this step's job by its path in the Describe response (see
        :meth:`smdsl.StepFunction.property`)."""
        if self.step_name is None:
            raise ValueError(
                f"this {type(self).__name__} config was not returned by a step function, so "
                "it has no properties to refer to; use <step>.property(...)"
            )
        return StepProperty(step=self.step_name, path=path)

    def declared(self, what: str) -> Collection[str] | None:
        """The names of ``what`` ("outputs", "property_files") this config declares, if it
        declares any such thing; references to them are checked against these names."""
        return None

    def branches(self) -> Mapping[str, Sequence[str]]:
        """The steps that run only on a branch of this step, by branch ("then", "otherwise")."""
        return {}

    def code_paths(self) -> CodePaths | None:
        """The code this step uploads, if any."""
        return None

    def secret_scans(self) -> Iterator[SecretScan]:
        """The values that must hold no literal secret (environment variables aside)."""
        yield from ()

    def instance_types(self) -> Iterator[tuple[str, str, str]]:
        """(field, botocore shape listing the accepted types, value) for each instance type
        the config names (a register step's inference and transform instances)."""
        yield from ()

    def option_problems(self, options: StepOptions) -> Iterator[tuple[str, str]]:
        """(message, field) for each way the config does not fit its step's resolved options."""
        yield from ()

    def name_problems(self) -> Iterator[tuple[str, str]]:
        """(message, field) for each name in the config SageMaker would refuse."""
        yield from ()

    def summary(self) -> str:
        """A short description for ``smdsl graph`` beyond the step's options, if any."""
        return ""

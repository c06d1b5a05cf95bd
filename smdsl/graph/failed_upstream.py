"""A stand-in for the config of a step whose function failed.

The steps downstream of a failed step are still called with this stand-in, so that their own
problems are reported along with the upstream's, and their own downstream steps get real
configs. A reference to one of its outputs is kept but cannot be checked (which outputs the
failed step declares is unknown); anything else read from it stops the downstream step quietly,
since the upstream's problem is already reported.
"""

from __future__ import annotations

from typing import Any, NoReturn

from pydantic import ValidationError

from smdsl.declare.refs import JsonGet, ModelArtifactsRef, ModelName, OutputRef, StepProperty
from smdsl.errors import SmdslError


class UpstreamUnknown(Exception):
    """A step read more of a failed upstream step's config than its outputs and model."""


class FailedUpstream:
    """What a step function receives for an upstream step whose function failed."""

    def __init__(self, step: str) -> None:
        self.step_name = step

    @property
    def outputs(self) -> UnknownOutputs:
        """References to the failed step's outputs, whatever their names."""
        return UnknownOutputs(self.step_name)

    @property
    def model_artifacts(self) -> ModelArtifactsRef:
        """A reference to the failed step's model (checked against its kind later)."""
        return ModelArtifactsRef(step=self.step_name)

    @property
    def model_name(self) -> ModelName:
        """A reference to the failed step's model name (checked against its kind later)."""
        return ModelName(step=self.step_name)

    def json_get(self, property_file: str, json_path: str, type: Any = None) -> JsonGet:
        """A value of one of the failed step's property files (its name cannot be checked)."""
        return JsonGet(
            step=self.step_name, property_file=property_file, json_path=json_path, type=type
        )

    def property(self, path: str) -> StepProperty:
        """A property of the failed step's job."""
        return StepProperty(step=self.step_name, path=path)

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)
        raise UpstreamUnknown(f"step {self.step_name!r} failed: its config has no {name!r}")

    def __repr__(self) -> str:
        return f"<config of the failed step {self.step_name!r}>"


class UnknownOutputs:
    """``failed.outputs[name]``: a reference for any name; nothing else is known."""

    def __init__(self, step: str) -> None:
        self.step = step

    def __getitem__(self, name: str) -> OutputRef:
        return OutputRef(step=self.step, output=name)

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)
        raise UpstreamUnknown(f"step {self.step!r} failed: its outputs are unknown")

    def __iter__(self) -> NoReturn:
        raise UpstreamUnknown(f"step {self.step!r} failed: its outputs are unknown")

    def __contains__(self, name: object) -> NoReturn:
        raise UpstreamUnknown(f"step {self.step!r} failed: its outputs are unknown")

    def __len__(self) -> int:
        raise UpstreamUnknown(f"step {self.step!r} failed: its outputs are unknown")


def caused_by_stand_in(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a step called with a stand-in, may be the stand-in's doing.

    smdsl's own errors and validation errors about other values are the step's own problems,
    and so are an exit or an interrupt; any other exception may come from reading the stand-in.
    """
    if isinstance(exc, SmdslError) or not isinstance(exc, Exception):
        return False
    if isinstance(exc, ValidationError):
        return any(_holds_stand_in(error.get("input")) for error in exc.errors())
    return True


def _holds_stand_in(value: Any) -> bool:
    if isinstance(value, (FailedUpstream, UnknownOutputs)):
        return True
    if isinstance(value, dict):
        return any(_holds_stand_in(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_stand_in(v) for v in value)
    return False

"""The errors of a local run."""

from __future__ import annotations

from smdsl.errors import SmdslError


class LocalRunError(SmdslError):
    """A local run cannot start or go on: a step not runnable locally, missing data, a value
    no local step reports. Raised before anything runs when it can be known then."""


class StepFailed(SmdslError):
    """A step of a local run failed: its script exited non-zero, or a fail step was reached."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

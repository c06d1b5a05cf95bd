"""Condition and fail steps, run locally: a condition is decided on the run's real values (only
the chosen branch runs); a fail step ends the run with its message."""

from __future__ import annotations

from smdsl.declare.control import Condition, Fail
from smdsl.local.results import StepResult
from smdsl.local.step import LocalRunner, LocalStep


class ConditionRunner(LocalRunner):
    @classmethod
    def run(cls, step: LocalStep) -> StepResult:
        config = step.config
        assert isinstance(config, Condition)
        holds = step.run.values.holds(config.when)
        branch = "then" if holds else "otherwise"
        chosen = config.then if holds else config.otherwise
        values = ", ".join(step.run.values.operands(config.when))
        note = ("holds" if holds else "does not hold") + (f" ({values})" if values else "")
        note += f": runs {', '.join(chosen)}" if chosen else ": no step to run"
        return StepResult(branch=branch, properties={"Outcome": str(holds).lower()}, notes=[note])


class FailRunner(LocalRunner):
    @classmethod
    def run(cls, step: LocalStep) -> StepResult:
        config = step.config
        assert isinstance(config, Fail)
        message = step.text(config.message) if config.message != "" else ""
        return StepResult(failure=message or "(no message)")

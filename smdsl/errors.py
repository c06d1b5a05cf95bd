"""The one error root of smdsl and the problems it reports.

Every error that a user can cause derives from :class:`SmdslError`; the CLI prints its message
and exits with its ``exit_code``, never a traceback. Errors that point at the user's code carry
:class:`Problem` objects, each naming the file, line, step and field concerned.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceLocation:
    """A place in the user's code."""

    file: str
    line: int

    def __str__(self) -> str:
        return f'File "{display_path(self.file)}", line {self.line}'


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pipeline, aimed at the user's source line."""

    message: str
    location: SourceLocation | None = None
    step: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        head = []
        if self.location is not None:
            head.append(str(self.location))
        if self.step is not None:
            head.append(f"in step {self.step!r}")
        where = ", ".join(head)
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{where}: {what}" if where else what


def display_path(path: str | Path) -> str:
    """Show ``path`` relative to the working directory when it lies below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class SmdslError(Exception):
    """Root of every error smdsl raises for a user mistake or a refused AWS call."""

    exit_code = 1

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        self.problems = list(problems)
        super().__init__(message)

    def render(self) -> str:
        """The full text the CLI shows: the message, then one line per problem."""
        lines = [str(self)]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class UsageError(SmdslError):
    """The command was called in a way it cannot work (a missing folder, no --yes without a
    terminal): shown as one line, like every smdsl error, with the usage exit code."""

    exit_code = 2


class DeclarationError(SmdslError, ValueError):
    """A decorator, parameter or config was given values it cannot accept."""


class PipelineLoadError(SmdslError):
    """The pipeline file is missing, does not parse, or raised while being imported."""


class GraphError(SmdslError, ValueError):
    """The steps of a pipeline do not form a valid graph (unknown names, cycles, ...)."""


class EnvConfigError(SmdslError, ValueError):
    """An environment profile is missing, unknown or invalid."""


class CompileError(SmdslError):
    """The pipeline could not be turned into a SageMaker definition."""


class DeployError(SmdslError):
    """AWS refused a call, or the target account is not ready for the pipeline."""

    exit_code = 3

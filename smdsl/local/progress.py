"""How a local run shows its progress: a live table on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from typing import Any

import click

from smdsl.errors import display_path
from smdsl.local.engine import (
    CACHED,
    FAILED,
    NOT_RUN,
    NOT_SELECTED,
    REUSED,
    SKIPPED,
    SUCCEEDED,
    RunOutcome,
    StepRecord,
)

MARKS = {
    SUCCEEDED: ("ok", "green"),
    CACHED: ("cached", "cyan"),
    REUSED: ("reused", "cyan"),
    FAILED: ("FAILED", "red"),
    SKIPPED: ("skipped", "yellow"),
    NOT_RUN: ("not run", "bright_black"),
    NOT_SELECTED: ("not selected", "bright_black"),
}


def _detail(record: StepRecord) -> str:
    if record.state == CACHED:
        return f"unchanged since run {record.source_run}"
    if record.state == REUSED:
        extra = f"; {record.message}" if record.message else ""
        return f"outputs of run {record.source_run}{extra}"
    if record.state in (SKIPPED, FAILED, NOT_RUN):
        return record.message.splitlines()[0] if record.message else ""
    if record.result is not None:
        parts = list(record.result.notes)
        parts += [f"{k} = {v:g}" for k, v in record.result.metrics.items()]
        return "; ".join(parts)
    return ""


class PlainReporter:
    """One line per step as it ends: for logs, CI and pipes."""

    def __init__(self) -> None:
        self.clock: dict[str, float] = {}

    def begin(self, title: str, steps: list[tuple[str, str]]) -> None:
        click.echo(title)

    def started(self, step: str) -> None:
        self.clock[step] = time.monotonic()
        click.echo(f"  {step}: running")

    def note(self, step: str, text: str) -> None:
        click.echo(f"  {step}: {text}")

    def finished(self, record: StepRecord) -> None:
        word, colour = MARKS.get(record.state, (record.state, "white"))
        timing = f" in {record.seconds:.1f}s" if record.state in (SUCCEEDED, FAILED) else ""
        detail = _detail(record)
        click.echo(
            f"  {record.name}: "
            + click.style(word, fg=colour)
            + timing
            + (f" ({detail})" if detail else "")
        )

    def end(self) -> None:
        return None


class LiveReporter:
    """A live table (rich) of every step: its state, its time, what it did."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console()
        self.rows: dict[str, list[str]] = {}
        self.clock: dict[str, float] = {}
        self.live: Any = None
        self.title = ""

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(title=self.title, title_justify="left", show_edge=False, pad_edge=False)
        for column in ("step", "kind", "state", "time", "detail"):
            table.add_column(column, no_wrap=column != "detail")
        for name, (kind, state, seconds, detail) in self.rows.items():
            if state == "running":
                seconds = f"{time.monotonic() - self.clock[name]:.1f}s"
            table.add_row(name, kind, state, seconds, detail)
        return table

    def begin(self, title: str, steps: list[tuple[str, str]]) -> None:
        from rich.live import Live

        self.title = title
        self.rows = {name: [kind, "[bright_black]waiting[/]", "", ""] for name, kind in steps}
        self.live = Live(console=self.console, refresh_per_second=8, get_renderable=self._table)
        self.live.__enter__()

    def started(self, step: str) -> None:
        self.clock[step] = time.monotonic()
        self.rows[step][1] = "running"

    def note(self, step: str, text: str) -> None:
        self.rows[step][3] = text

    def finished(self, record: StepRecord) -> None:
        word, colour = MARKS.get(record.state, (record.state, "white"))
        row = self.rows[record.name]
        row[1] = f"[{colour}]{word}[/]"
        row[2] = f"{record.seconds:.1f}s" if record.state in (SUCCEEDED, FAILED) else ""
        row[3] = _detail(record)

    def end(self) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)
            self.live = None


def summary(outcome: RunOutcome) -> list[str]:
    """Where every output of the run went, and how it ended."""
    lines = ["outputs:"]
    for record in outcome.records.values():
        if record.result is None or record.state not in (SUCCEEDED, CACHED, REUSED):
            continue
        for name, folder in record.result.outputs.items():
            lines.append(f"  {record.name}.{name}: {display_path(folder)}")
    if len(lines) == 1:
        lines.append("  none")
    return lines

"""A local run of a pipeline: its steps in dependency order, on this machine, no AWS, no Docker.

:class:`LocalRun` plans the run (which steps run, which are taken from an earlier run for
``--from``/``--only``), checks before anything starts that every step can run here, then runs
the steps one by one through their kind's :class:`~smdsl.local.step.LocalRunner`, reusing a
step whose code, config and inputs are unchanged since a successful local run. Everything it
writes lies under the state folder (``.smdsl/`` by default)::

    .smdsl/runs/<pipeline>/<run id>/run.json            the run: parameters, states, results
    .smdsl/runs/<pipeline>/<run id>/<step>/<output>/     what each step wrote
    .smdsl/cache/steps/<pipeline>/<step>/<key>.json      the step cache
    .smdsl/registry.json                                 models and registered model packages
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from smdsl.declare.kinds import step_kinds
from smdsl.declare.params import Parameter
from smdsl.declare.refs import ExecutionVariable, StepReference
from smdsl.declare.walk import walk
from smdsl.errors import Problem, UsageError, did_you_mean
from smdsl.graph.model import PipelineGraph
from smdsl.local.data import DataSource, tree_files
from smdsl.local.errors import LocalRunError, StepFailed
from smdsl.local.results import StepResult
from smdsl.local.step import LocalRunner, LocalStep
from smdsl.local.values import Values

SUCCEEDED, CACHED, REUSED = "succeeded", "cached", "reused"
FAILED, SKIPPED, NOT_RUN, NOT_SELECTED = "failed", "skipped", "not run", "not selected"
DONE = (SUCCEEDED, CACHED, REUSED)
"""The states of a step whose result later steps can use."""

CACHE_VERSION = "1"


class Reporter(Protocol):
    """Shows a run's progress: the CLI's live display, or plain lines."""

    def started(self, step: str) -> None: ...

    def finished(self, record: StepRecord) -> None: ...

    def note(self, step: str, text: str) -> None: ...


@dataclass
class StepRecord:
    """What happened to one step of a run."""

    name: str
    kind: str
    state: str = NOT_RUN
    seconds: float = 0.0
    message: str = ""
    detail: str = ""
    source_run: str | None = None
    result: StepResult | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "state": self.state,
            "seconds": round(self.seconds, 3),
            "message": self.message,
            "source_run": self.source_run,
            "result": self.result.to_json() if self.result else None,
        }


@dataclass
class RunOutcome:
    """A finished local run."""

    pipeline: str
    run_id: str
    run_dir: Path
    records: dict[str, StepRecord]
    failure: StepRecord | None = None
    seconds: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.failure is None

    def counts(self) -> dict[str, int]:
        """How many steps ended in each state, in the order of the states."""
        found: dict[str, int] = {}
        for state in (SUCCEEDED, CACHED, REUSED, SKIPPED, NOT_SELECTED, FAILED, NOT_RUN):
            count = sum(1 for r in self.records.values() if r.state == state)
            if count:
                found[state] = count
        return found


def runner_of(kind_name: str) -> type[LocalRunner] | None:
    """The local runner of a step kind, or None when the kind has none."""
    for kind in step_kinds():
        if kind.name == kind_name:
            found = kind.local_runner()
            return found if isinstance(found, type) and issubclass(found, LocalRunner) else None
    return None


class LocalRun:
    """One local run of ``graph``."""

    def __init__(
        self,
        graph: PipelineGraph,
        *,
        state_dir: Path,
        data: DataSource,
        parameters: dict[str, Any],
        only: tuple[str, ...] = (),
        from_step: str | None = None,
        use_cache: bool = True,
        reporter: Reporter,
        rerun: Callable[[str], str] = lambda step: "",
    ) -> None:
        self.graph = graph
        self.pipeline = graph.pipeline_name
        self.state_dir = state_dir.resolve()
        self.cache_dir = self.state_dir / "cache"
        self.data = data
        self.started = datetime.now(timezone.utc)
        # sortable in time (to the millisecond), then a random tail
        millisecond = self.started.microsecond // 1000
        self.run_id = f"{self.started:%Y%m%d-%H%M%S}-{millisecond:03d}{secrets.token_hex(1)}"
        self.runs_dir = self.state_dir / "runs" / self.pipeline
        self.run_dir = self.runs_dir / self.run_id
        self.parameters = {p.name: parameters.get(p.name, p.default) for p in graph.parameters}
        self.results: dict[str, StepResult] = {}
        self.values = Values(
            self.pipeline, self.run_id, self.started, self.parameters, self.results
        )
        self.use_cache = use_cache
        self.reporter = reporter
        self.rerun = rerun
        self.records = {n: StepRecord(n, graph.nodes[n].kind) for n in graph.order}
        self.selected, self.reused = self._select(only, from_step)
        self.forced = self.selected if only or from_step else set()
        """The steps --only/--from select: they run even when the cache holds them."""
        self.named = set(only) | ({from_step} if from_step else set())
        """The steps the user named: they run even in a branch an earlier run did not take."""
        self.earlier: dict[str, tuple[str, StepResult]] = {}

    # planning -----------------------------------------------------------------------------

    def _select(self, only: tuple[str, ...], from_step: str | None) -> tuple[set[str], set[str]]:
        """The steps to run, and those to take from the latest run because they feed them."""
        names = self.graph.order
        for given in (*only, *([from_step] if from_step else [])):
            if given not in self.graph.nodes:
                raise UsageError(
                    f"no step {given!r} in {self.pipeline}{did_you_mean(given, names)} "
                    f"(steps: {', '.join(names)})"
                )
        if only and from_step:
            raise UsageError("give --from or --only, not both")
        import networkx as nx

        if only:
            selected = set(only)
        elif from_step:
            selected = {from_step} | nx.descendants(self.graph.dag, from_step)
        else:
            return set(names), set()
        needed: set[str] = set()
        for name in selected:
            needed |= nx.ancestors(self.graph.dag, name)
        return selected, needed - selected

    def check(self) -> None:
        """Raise, before anything runs, every reason this run cannot run here."""
        problems: list[Problem] = []
        for name in self.graph.order:
            node = self.graph.nodes[name]
            if name in self.reused:
                found = self._earlier_result(name)
                if found is None:
                    problems.append(
                        Problem(
                            "has no successful earlier local run to take its outputs from; "
                            "run the pipeline without --from/--only first",
                            node.location,
                            name,
                        )
                    )
                else:
                    self.earlier[name] = found
                continue
            if name not in self.selected:
                continue
            runner = runner_of(node.kind)
            if runner is None:
                problems.append(
                    Problem(
                        f"step kind {node.kind!r} has no local runner, so this step cannot run "
                        "locally (a kind declares one with StepKind(local=...))",
                        node.location,
                        name,
                    )
                )
                continue
            for message, field_name in runner.problems(LocalStep(self, node)):
                problems.append(Problem(message, node.location, name, field_name))
        if problems:
            count = len(problems)
            raise LocalRunError(
                f"{self.pipeline}: {count} problem{'s' if count != 1 else ''} before the local "
                "run (nothing ran)",
                problems,
            )

    def _earlier_result(self, name: str) -> tuple[str, StepResult] | None:
        if not self.runs_dir.is_dir():
            return None
        for run in sorted(self.runs_dir.iterdir(), reverse=True):
            manifest = run / "run.json"
            if not manifest.is_file():
                continue
            try:
                step = json.loads(manifest.read_text())["steps"][name]
            except (ValueError, KeyError, TypeError):
                continue
            if step.get("state") in DONE and step.get("result"):
                result = StepResult.from_json(step["result"])
                if result.exists():
                    return step.get("source_run") or run.name, result
        return None

    # running ------------------------------------------------------------------------------

    def execute(self) -> RunOutcome:
        clock = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        failure: StepRecord | None = None
        for name in self.graph.order:
            record = self.records[name]
            if name in self.reused:
                source, result = self.earlier[name]
                self.results[name] = result
                record.state, record.result, record.source_run = REUSED, result, source
                record.message = self._reuse_note(source)
            elif name not in self.selected:
                record.state = NOT_SELECTED
            elif not self._branch_taken(name):
                record.state = SKIPPED
                record.message = "its branch was not taken"
            elif failure is not None:
                record.state = NOT_RUN
                record.message = f"stopped: step {failure.name!r} failed"
            else:
                try:
                    self._run_step(record)
                except KeyboardInterrupt:
                    record.state, record.message = FAILED, "interrupted"
                    self._save_manifest(record, status="Stopped")
                    raise
                if record.state == FAILED:
                    failure = record
            self.reporter.finished(record)
            self._save_manifest(failure)
        outcome = RunOutcome(
            self.pipeline,
            self.run_id,
            self.run_dir,
            self.records,
            failure,
            time.monotonic() - clock,
            dict(self.parameters),
        )
        self._save_manifest(failure, done=True)
        return outcome

    def _reuse_note(self, run_id: str) -> str:
        """What differs between this run's parameters and those of the run a result comes from."""
        try:
            manifest = json.loads((self.runs_dir / run_id / "run.json").read_text())
            earlier = manifest.get("parameters", {})
        except (OSError, ValueError):
            return ""
        changed = [
            f"{name}={earlier.get(name)!r}"
            for name, value in self.parameters.items()
            if name in earlier and earlier[name] != value
        ]
        return f"that run had {', '.join(changed)}" if changed else ""

    def _branch_note(self, name: str) -> str:
        """Why a step named by --only/--from runs although its branch was not taken, if so."""
        placement = self.graph.placement.get(name)
        if placement is None:
            return ""
        condition, side = placement
        decided = self.results.get(condition)
        if decided is None or decided.branch is None or decided.branch == side:
            return ""
        return (
            f"runs because you named it, though it is in the {side}= of {condition!r}, which "
            f"chose {decided.branch}="
        )

    def _branch_taken(self, name: str) -> bool:
        placement = self.graph.placement.get(name)
        if placement is None or name in self.named:
            return True  # a top-level step, or one --only/--from names: it runs
        condition, side = placement
        decided = self.results.get(condition)
        return decided is not None and decided.branch == side

    def _run_step(self, record: StepRecord) -> None:
        node = self.graph.nodes[record.name]
        runner = runner_of(node.kind)
        assert runner is not None
        step = LocalStep(self, node)
        self.reporter.started(record.name)
        clock = time.monotonic()
        key = None
        try:
            if runner.cacheable:
                key = self._cache_key(step, runner)
                hit = (
                    self._cache_lookup(record.name, key)
                    if self.use_cache and record.name not in self.forced
                    else None
                )
                if hit is not None:
                    record.source_run, record.result = hit
                    record.state = CACHED
                    self.results[record.name] = hit[1]
                    record.seconds = time.monotonic() - clock
                    return
            step.dir.mkdir(parents=True, exist_ok=True)
            result = runner.run(step)
        except (StepFailed, LocalRunError) as exc:
            record.state, record.message = FAILED, str(exc)
            record.detail = getattr(exc, "detail", "") or "\n".join(
                f"  - {p}" for p in exc.problems
            )
            record.seconds = time.monotonic() - clock
            return
        record.seconds = time.monotonic() - clock
        record.result = result
        note = self._branch_note(record.name)
        if note:
            result.notes.insert(0, note)
        self.results[record.name] = result
        if result.failure is not None:
            record.state = FAILED
            record.message = f"fail step {record.name!r} reached: {result.failure}"
            return
        step.finish()
        record.state = SUCCEEDED
        if key is not None:
            self._cache_store(record.name, key, result)

    # the step cache -----------------------------------------------------------------------

    def _cache_file(self, step: str, key: str) -> Path:
        return self.cache_dir / "steps" / self.pipeline / step / f"{key}.json"

    def _cache_lookup(self, step: str, key: str) -> tuple[str, StepResult] | None:
        file = self._cache_file(step, key)
        if not file.is_file():
            return None
        try:
            data = json.loads(file.read_text())
            result = StepResult.from_json(data["result"])
        except (ValueError, KeyError, TypeError):
            return None
        return (data.get("run_id", "?"), result) if result.exists() else None

    def _cache_store(self, step: str, key: str, result: StepResult) -> None:
        file = self._cache_file(step, key)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps({"run_id": self.run_id, "result": result.to_json()}))

    def _cache_key(self, step: LocalStep, runner: type[LocalRunner]) -> str:
        """What a step's result depends on: its kind, config, options, the values it reads
        (parameters, upstream outputs by content, s3:// data by content) and its code."""
        digest = hashlib.sha256()
        options = step.options.model_dump(
            mode="json", exclude={"name", "display_name", "description", "depends_on"}
        )
        head = {
            "version": CACHE_VERSION,
            "runner": f"{runner.__module__}.{runner.__qualname__}",
            "config": step.config.model_dump(mode="json"),
            "options": options,
        }
        digest.update(json.dumps(head, sort_keys=True, default=str).encode())
        for path, value in walk(step.config):
            if isinstance(value, ExecutionVariable):
                continue  # the same step in every run: execution variables do not count
            if isinstance(value, StepReference):
                upstream = self.results.get(value.step)
                if upstream is not None and upstream.fingerprint is not None:
                    digest.update(f"{path}={upstream.fingerprint}".encode())
                    continue
            if isinstance(value, (Parameter, StepReference)):
                value = self.values.resolve(value)
            digest.update(path.encode())
            for part in self._content(value):
                digest.update(part)
        code = step.config.code_paths()
        if code is not None:
            base = step.node.base_dir
            for name in (code.code, code.source_dir, code.entry_point):
                if name:
                    for part in _files_digest(base / name):
                        digest.update(part)
        return digest.hexdigest()[:32]

    def _content(self, value: Any) -> Iterator[bytes]:
        if isinstance(value, str) and os.path.isabs(value) and os.path.exists(value):
            yield b"<local files>"  # another step's output: by content, wherever it lies
            yield from _files_digest(Path(value))
            return
        yield json.dumps(value, default=str).encode()
        if isinstance(value, str) and value.startswith("s3://"):
            for relative, file in sorted(self.data.objects(value).items()):
                yield relative.encode()
                yield _file_digest(file)

    def _save_manifest(
        self, failure: StepRecord | None, done: bool = False, status: str | None = None
    ) -> None:
        status = status or ("Failed" if failure else ("Succeeded" if done else "Executing"))
        manifest = {
            "pipeline": self.pipeline,
            "run_id": self.run_id,
            "env": self.graph.env.name,
            "started": self.started.isoformat(timespec="seconds"),
            "status": status,
            "parameters": self.parameters,
            "steps": {n: r.to_json() for n, r in self.records.items()},
        }
        (self.run_dir / "run.json").write_text(json.dumps(manifest, indent=2, default=str))


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def _files_digest(path: Path) -> Iterator[bytes]:
    for file in tree_files(path):
        name = file.relative_to(path).as_posix() if path.is_dir() else file.name
        if "__pycache__" in name:
            continue
        yield name.encode()
        yield _file_digest(file)

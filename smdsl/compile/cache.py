"""Compiled definitions, kept by a digest of everything that determines them.

Compiling imports the SageMaker SDK (seconds) and runs it; an unchanged pipeline need not. After
loading and checking a pipeline, smdsl hashes what its definition is made from: the checked
graph (each step's kind, config and resolved options, the order, the branches and the edges),
the environment profile, the parameters, the pipeline's name and description, the digests of
its code, smdsl's own source, the versions of the SDK, botocore and Python, and the SDK's
``SAGEMAKER_*`` environment variables. A definition found under that digest is the one compiling
would give, by construction: any change to any of these is another digest, so a miss.

Every definition compiled here is checked against the SageMaker API's request shapes
(:mod:`smdsl.compile.oracle`) before it is returned or kept, and only a definition that passes
is kept: an entry is the definition *and* the fact that it passed, with the botocore and smdsl
(so oracle) versions in its digest, so a hit needs no check again.

Only pipelines made of smdsl's own step kinds are cached: a user's compile function is code
smdsl cannot hash reliably. The cache lives in ``$SMDSL_CACHE_DIR/definitions`` (default
``$XDG_CACHE_HOME/smdsl`` or ``~/.cache/smdsl``); ``SMDSL_NO_CACHE=1`` turns it off. It never
fails a command: an unreadable or unwritable cache is a miss.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import smdsl
from smdsl.compile.builder import CompiledPipeline, CompilePlan, compile_pipeline, plan_compile
from smdsl.graph.cache import cache_dir
from smdsl.graph.model import PipelineGraph

FORMAT = "smdsl-definition-cache-2"
"""2: entries hold only definitions that passed the API check (``"checked": true``)."""
KEEP = 200
"""How many definitions the cache keeps; the oldest go first."""

_BUILTIN_COMPILE = "smdsl.compile.kinds."


def compile_cached(graph: PipelineGraph) -> tuple[CompiledPipeline, bool]:
    """The compiled pipeline, from the cache when its digest is there; and whether it was.

    A definition the SageMaker API would refuse is a CompileError listing each problem at its
    step and field (:func:`smdsl.compile.oracle.require_valid_arguments`), cached or not.
    """
    plan = plan_compile(graph)
    key = digest(plan)
    folder = cache_dir()
    if key is None or folder is None:
        return _checked(graph, compile_pipeline(graph, plan)), False
    path = folder / "definitions" / f"{key}.json"
    found = _read(path)
    if found is not None:  # checked when it was kept, by this smdsl and botocore (the digest)
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept longest
        return plan.assemble(found), True
    compiled = _checked(graph, compile_pipeline(graph, plan))
    _write(path, compiled.definition)
    return compiled, False


def _checked(graph: PipelineGraph, compiled: CompiledPipeline) -> CompiledPipeline:
    """``compiled`` if the SageMaker API would accept its job steps; else a CompileError."""
    from smdsl.compile.oracle import require_valid_arguments

    require_valid_arguments(graph, json.loads(compiled.definition))
    return compiled


def digest(plan: CompilePlan) -> str | None:
    """The digest of everything the definition of ``plan`` is made from; None when it cannot
    be cached (the cache is off, or a step kind is not smdsl's own)."""
    if os.environ.get("SMDSL_NO_CACHE"):
        return None
    graph = plan.graph
    steps = []
    for name in graph.order:
        node = graph.nodes[name]
        kind = node.function.spec.step_kind
        if not isinstance(kind.compile, str) or not kind.compile.startswith(_BUILTIN_COMPILE):
            return None
        code = plan.code[name]
        steps.append(
            {
                "name": name,
                "kind": kind.name,
                "config": [type(node.config).__qualname__, _dump(node.config)],
                "options": [type(node.options).__qualname__, _dump(node.options)],
                "code": None
                if code is None
                else [
                    code.entry_uri,
                    code.entry_point,
                    code.source_uri,
                    [obj.key for obj in code.objects],
                ],
                "upstream": {
                    n: sorted(graph.dag.edges[n, name]["via"]) for n in graph.upstream(name)
                },
                "placement": list(graph.placement.get(name, ())),
            }
        )
    inputs = {
        "format": FORMAT,
        "smdsl": [smdsl.__version__, _source_digest()],
        "versions": _versions(),
        "python": list(sys.version_info[:2]),
        "sdk_environment": {
            k: v for k, v in sorted(os.environ.items()) if k.startswith("SAGEMAKER_")
        },
        "pipeline": [graph.pipeline_name, graph.description],
        "settings": [plan.region, plan.role, plan.bucket],
        "env": _dump(graph.env),
        "parameters": [[p.name, p.type, p.default] for p in graph.parameters],
        "steps": steps,
    }
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json")


@functools.cache
def _source_digest() -> str:
    """A digest of smdsl's own source: a changed smdsl compiles anew even at one version."""
    root = Path(smdsl.__file__).parent
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        sha.update(path.relative_to(root).as_posix().encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


@functools.cache
def _versions() -> dict[str, str]:
    found = {}
    for package in ("sagemaker", "sagemaker-core", "sagemaker-mlops", "botocore", "pydantic"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = ""
    return found


def _read(path: Path) -> str | None:
    try:
        entry = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
        return None
    if entry.get("checked") is not True:
        return None  # kept without passing the API check: compiled (and checked) anew
    definition = entry.get("definition")
    return definition if isinstance(definition, str) else None


def _write(path: Path, definition: str) -> None:
    """Keep ``definition``, which passed the API check."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump({"format": FORMAT, "checked": True, "definition": definition}, out)
        os.replace(temporary, path)
        _prune(path.parent)
    except OSError:
        return  # a cache that cannot be written is only slower


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for old in entries[:-KEEP]:
        old.unlink(missing_ok=True)

"""How a deploy plan and a diff are shown: to a person (text) and to a program (JSON).

The JSON document (:func:`plan_document`) is the same for ``smdsl diff --output json`` and
``smdsl deploy --dry-run --output json``; docs/deploy.md describes every key. Its ``version``
changes only when a key changes meaning or goes away.
"""

from __future__ import annotations

import json
from typing import Any

from smdsl.deploy import aws
from smdsl.deploy.aws import Plan, definition_key
from smdsl.deploy.diff import FieldChange, ParameterDiff, StepDiff, change_line

FORMAT = "smdsl-plan"
VERSION = 1

LONG = 300
"""Characters of a long old or new value shown in text; JSON always holds the whole value."""


def describe_plan(plan: Plan, dry_run: bool) -> str:
    """A short, reviewable account of what the deploy does (or would do)."""
    pipeline = plan.pipeline
    would = "would " if dry_run else ""
    lines = []
    if plan.offline:
        lines.append(
            "offline: nothing was read from AWS; this is the plan for a first deploy into an "
            "empty account"
        )
    size = len(pipeline.code)
    lines.append(
        f"pipeline {pipeline.name} ({pipeline.region}), {size} code object"
        f"{'s' if size != 1 else ''}"
    )
    for obj in plan.uploads:
        lines.append(f"  {would}upload s3://{pipeline.bucket}/{obj.key} ({len(obj.body):,} bytes)")
    key = definition_key(pipeline)
    if key is not None and plan.action in ("create", "update"):
        lines.append(
            f"  the definition is {len(pipeline.definition.encode()):,} bytes, over the "
            f"{aws.INLINE_LIMIT:,} SageMaker takes inline: it "
            f"{'would go' if dry_run else 'goes'} through s3://{pipeline.bucket}/{key}"
        )
    if plan.action == "create":
        lines.append(f"  {would}create the pipeline")
    elif plan.action == "update":
        lines.append(f"  {would}update the pipeline:")
        diff = plan.diff
        for parameter in diff.parameters:
            line = change_line("parameter", parameter.change, parameter.name, parameter.fields)
            lines.append(f"    {line}")
        for step in diff.steps:
            line = change_line("step", step.change, step.name, step.fields)
            if step.cache is not None and step.cache.verdict != "never":
                line += f" (cache {step.cache.verdict})"
            lines.append(f"    {line}")
        lines += [f"    {line}" for line in plan.changes[len(diff.parameters) + len(diff.steps) :]]
        unchanged = [n for n in diff.cache_misses if n not in {s.name for s in diff.steps}]
        if unchanged:
            lines.append(f"    cache miss also for unchanged steps: {', '.join(unchanged)}")
    for key, value in plan.tags_to_add.items():
        if plan.action != "create":
            lines.append(f"  {would}tag {key}={value}")
    for key in plan.tags_to_remove:
        lines.append(f"  {would}remove tag {key}")
    if not plan.has_writes:
        lines.append("  nothing changed: no upload, no update")
    return "\n".join(lines)


def describe_diff(plan: Plan, source: str, env_name: str) -> str:
    """``smdsl diff`` in text: a header, then one block per added, removed or changed item."""
    pipeline = plan.pipeline
    diff = plan.diff
    where = f"pipeline {pipeline.name} in {pipeline.region}"
    if plan.action == "none":
        return f"no differences: {where} is as compiled from {source} (profile {env_name})"
    lines = []
    if plan.deployed is None:
        lines.append(f"{where} is not deployed: a deploy would create it")
    else:
        lines.append(f"{where} differs from {source} (profile {env_name}): {_counts(plan)}")
    for parameter in diff.parameters:
        lines += _parameter_lines(parameter)
    for step in diff.steps:
        lines += _step_lines(step)
    if plan.deployed is not None:
        for change in diff.other:
            lines += _field_lines(change, "~ ", "    ")
        for setting in plan.settings:
            lines += _field_lines(setting, "~ ", "    ")
    for key, value in plan.tags_to_add.items():
        lines.append(f"+ tag {key}={value}")
    for key in plan.tags_to_remove:
        lines.append(f"- tag {key}")
    others = [n for n in diff.cache_misses if n not in {s.name for s in diff.steps}]
    for name in others:
        lines.append(f"= step {name} (unchanged): cache miss: {diff.cache_misses[name]}")
    if any(s.cache and s.cache.verdict != "never" and not s.cache.enabled for s in diff.steps):
        lines.append(CACHING_OFF)
    return "\n".join(lines)


CACHING_OFF = (
    "[caching off]: the step has no CacheConfig with Enabled, so it runs in every execution; "
    "the verdict says whether SageMaker would reuse an earlier run if caching were on"
)


def _counts(plan: Plan) -> str:
    parts = []
    for what, items in (("step", plan.diff.steps), ("parameter", plan.diff.parameters)):
        for change in ("added", "removed", "changed"):
            n = sum(1 for item in items if item.change == change)
            if n:
                parts.append(f"{n} {what}{'s' if n != 1 else ''} {change}")
    if plan.diff.other or plan.settings:
        parts.append("pipeline settings changed")
    if plan.tags_to_add or plan.tags_to_remove:
        parts.append("tags changed")
    return ", ".join(parts)


MARKS = {"added": "+", "removed": "-", "changed": "~"}


def _step_lines(step: StepDiff) -> list[str]:
    head = f"{MARKS[step.change]} step {step.name}" + (f" ({step.type})" if step.type else "")
    if step.cache is not None:
        cache = step.cache
        if cache.verdict == "never":
            head += f": {cache.reason}"
        else:
            head += f": cache {cache.verdict}: {cache.reason}"
            if not cache.enabled:
                head += " [caching off]"
    lines = [head]
    for change in step.fields:
        lines += _field_lines(change, "    ", "      ")
    return lines


def _parameter_lines(parameter: ParameterDiff) -> list[str]:
    head = f"{MARKS[parameter.change]} parameter {parameter.name}" + (
        f" ({parameter.type})" if parameter.type else ""
    )
    if parameter.cache_misses:
        head += f": cache miss with the default for {', '.join(parameter.cache_misses)}"
    lines = [head]
    for change in parameter.fields:
        lines += _field_lines(change, "    ", "      ")
    return lines


def _field_lines(change: FieldChange, indent: str, deeper: str) -> list[str]:
    """``path: old -> new`` on one line when short, else the path and a ``-``/``+`` line each."""
    short = change.describe()
    bare = change.path if change.change == "changed" else f"{change.path} ({change.change})"
    if short != bare:
        return [f"{indent}{short}"]
    lines = [f"{indent}{bare}:"]
    if change.change != "added":
        lines.append(f"{deeper}- {_clip(change.old)}")
    if change.change != "removed":
        lines.append(f"{deeper}+ {_clip(change.new)}")
    return lines


def _clip(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= LONG else text[: LONG - 3] + "..."


def plan_document(plan: Plan, command: str, env_name: str) -> dict[str, Any]:
    """The plan as JSON for CI: the same keys for ``diff`` and ``deploy --dry-run``."""
    pipeline = plan.pipeline
    diff = plan.diff
    return {
        "format": FORMAT,
        "version": VERSION,
        "command": command,
        "pipeline": pipeline.name,
        "region": pipeline.region,
        "env": env_name,
        "read_from_aws": not plan.offline,
        "deployed": None if plan.offline else plan.deployed is not None,
        "action": plan.action,
        "differs": plan.action != "none",
        "writes": plan.has_writes if plan.uploads_checked else None,
        "steps": [step.as_json() for step in diff.steps],
        "parameters": [parameter.as_json() for parameter in diff.parameters],
        "definition": [change.as_json() for change in diff.other],
        "settings": [_setting(change) for change in plan.settings],
        "tags": {"add": dict(plan.tags_to_add), "remove": list(plan.tags_to_remove)},
        "uploads": (
            [
                {"uri": f"s3://{pipeline.bucket}/{obj.key}", "bytes": len(obj.body)}
                for obj in plan.uploads
            ]
            if plan.uploads_checked
            else None
        ),
        "cache_misses": [
            {"step": name, "reason": reason} for name, reason in diff.cache_misses.items()
        ],
    }


def _setting(change: FieldChange) -> dict[str, Any]:
    data = change.as_json()
    return {"name": data.pop("path"), **data}


def plan_json(plan: Plan, command: str, env_name: str) -> str:
    """:func:`plan_document` as indented JSON text."""
    return json.dumps(plan_document(plan, command, env_name), indent=2, default=str)

"""How a deploy plan is shown to the person about to apply it."""

from __future__ import annotations

from smdsl.deploy.aws import Plan


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
    if plan.action == "create":
        lines.append(f"  {would}create the pipeline")
    elif plan.action == "update":
        lines.append(f"  {would}update the pipeline:")
        lines += [f"    {change}" for change in plan.changes]
    for key, value in plan.tags_to_add.items():
        if plan.action != "create":
            lines.append(f"  {would}tag {key}={value}")
    for key in plan.tags_to_remove:
        lines.append(f"  {would}remove tag {key}")
    if not plan.has_writes:
        lines.append("  nothing changed: no upload, no update")
    return "\n".join(lines)

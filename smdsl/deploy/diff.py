"""What differs between two pipeline definitions, in words a reviewer can read."""

from __future__ import annotations

import json
from typing import Any


def definition_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per added, removed or changed step or parameter, and for other changes."""
    changes: list[str] = []
    changes += _named_changes("parameter", old.get("Parameters") or [], new.get("Parameters") or [])
    changes += _named_changes("step", old.get("Steps") or [], new.get("Steps") or [])
    rest_old = {k: v for k, v in old.items() if k not in ("Parameters", "Steps")}
    rest_new = {k: v for k, v in new.items() if k not in ("Parameters", "Steps")}
    for key in sorted(set(rest_old) | set(rest_new)):
        if rest_old.get(key) != rest_new.get(key):
            changes.append(f"~ {key}")
    return changes


def _named_changes(kind: str, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    before = {item.get("Name"): item for item in old}
    after = {item.get("Name"): item for item in new}
    lines = [f"+ {kind} {name}" for name in after if name not in before]
    lines += [f"- {kind} {name}" for name in before if name not in after]
    for name in after:
        if name in before and before[name] != after[name]:
            fields = _changed_paths(before[name], after[name])
            shown = ", ".join(fields[:4]) + (
                f" (+{len(fields) - 4} more)" if len(fields) > 4 else ""
            )
            lines.append(f"~ {kind} {name}: {shown}")
    return lines


def _changed_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """The paths where ``old`` and ``new`` differ, with the values when they are short."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                paths.append(f"{sub} (added)")
            elif key not in new:
                paths.append(f"{sub} (removed)")
            else:
                paths += _changed_paths(old[key], new[key], sub)
        return paths
    if old == new:
        return []
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        paths = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            paths += _changed_paths(a, b, f"{path}[{index}]")
        return paths
    before, after = json.dumps(old), json.dumps(new)
    if isinstance(old, (dict, list)) or isinstance(new, (dict, list)) or len(before + after) > 60:
        return [path]
    return [f"{path}: {before} -> {after}"]

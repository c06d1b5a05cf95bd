"""What differs between two pipeline definitions, step by step, and what SageMaker's step cache
makes of it.

:func:`compare_definitions` gives the structured account that ``smdsl diff`` and the deploy plan
show (and print as JSON); :func:`definition_changes` gives it as one line per change.

Steps inside a condition's branches are compared as steps of their own (step names are unique
across a pipeline), and the condition shows only which steps its branches hold, so a change to a
branch step reads ``~ step register`` rather than ``~ step check: Arguments.IfSteps[0]...``.

**The cache rule.** SageMaker reuses an earlier run of a step (when the step has
``CacheConfig.Enabled``) only if the step's *cache key attributes* are unchanged: per step type, the
arguments AWS lists in "Default cache key attributes by pipeline step type"
(https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html), see
:data:`CACHE_KEYS`. So a change under one of them (a new code S3 URI in ``ProcessingInputs``, a
hyperparameter, an environment variable, the image in ``AppSpecification``) is a cache miss,
while a change anywhere else (``DisplayName``, ``Description``, ``DependsOn``, retry policies,
``ProcessingResources``/``ResourceConfig`` such as the instance type, ``StoppingCondition``, the
output configuration, the role) leaves the key, and so a cached run, as it was. SageMaker computes
the key on resolved values, so two more things make a step miss: a changed default of a parameter
that its key attributes read (when the execution runs with the default), and a step whose key
reads the properties of a step that runs again (its outputs are at a new, per-execution path).
Condition, fail, model and register steps are never cached: they run in every execution.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class _Missing:
    """The value on one side of a field that exists only on the other."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

SHORT = 60
"""Values whose JSON together is longer than this are shown by their path alone in text."""

CACHE_KEYS: dict[str, tuple[str, ...]] = {
    "Processing": (
        "Arguments.AppSpecification",
        "Arguments.Environment",
        "Arguments.ProcessingInputs",
    ),
    "Training": (
        "Arguments.AlgorithmSpecification",
        "Arguments.CheckpointConfig",
        "Arguments.DebugHookConfig",
        "Arguments.DebugRuleConfigurations",
        "Arguments.Environment",
        "Arguments.HyperParameters",
        "Arguments.InputDataConfig",
    ),
    "Tuning": (
        "Arguments.HyperParameterTuningJobConfig",
        "Arguments.TrainingJobDefinition.AlgorithmSpecification",
        "Arguments.TrainingJobDefinition.HyperParameterRanges",
        "Arguments.TrainingJobDefinition.InputDataConfig",
        "Arguments.TrainingJobDefinition.StaticHyperParameters",
        "Arguments.TrainingJobDefinition.TuningObjective",
        "Arguments.TrainingJobDefinitions",
    ),
    "AutoML": (
        "Arguments.AutoMLJobConfig.CompletionCriteria",
        "Arguments.AutoMLJobConfig.CandidateGenerationConfig",
        "Arguments.AutoMLJobConfig.DataSplitConfig",
        "Arguments.AutoMLJobConfig.Mode",
        "Arguments.AutoMLJobObjective",
        "Arguments.InputDataConfig",
        "Arguments.ProblemType",
    ),
    "Transform": (
        "Arguments.DataProcessing",
        "Arguments.Environment",
        "Arguments.ModelName",
        "Arguments.TransformInput",
    ),
    "ClarifyCheck": (
        "Arguments",
        "CheckType",
        "SkipCheck",
        "RegisterNewBaseline",
        "ModelPackageGroupName",
        "SuppliedBaselineConstraints",
    ),
    "QualityCheck": (
        "Arguments",
        "CheckType",
        "SkipCheck",
        "RegisterNewBaseline",
        "ModelPackageGroupName",
        "SuppliedBaselineConstraints",
        "SuppliedBaselineStatistics",
    ),
    "EMR": ("Arguments.ClusterId", "Arguments.StepConfig"),
}
"""Per step type, the paths (in a step of the definition) whose change makes SageMaker's step
cache miss. A step type not listed here is never cached."""

NAME_KEYS = ("InputName", "OutputName", "ChannelName", "Name")
"""A list whose items all carry one of these, each value once, is compared item by item by it."""

BRANCHES = ("IfSteps", "ElseSteps")


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: ``old`` or ``new`` is :data:`MISSING` where it does not exist."""

    path: str
    old: Any = MISSING
    new: Any = MISSING

    @property
    def change(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.old is MISSING:
            return "added"
        if self.new is MISSING:
            return "removed"
        return "changed"

    def describe(self) -> str:
        """``path: old -> new``, or the path alone when the values are long or structures."""
        if self.change != "changed":
            value = self.new if self.old is MISSING else self.old
            return f"{self.path} ({self.change})" + (f": {_short(value)}" if _short(value) else "")
        before, after = _short(self.old), _short(self.new)
        if before and after and len(before + after) <= SHORT:
            return f"{self.path}: {before} -> {after}"
        return self.path

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "change": self.change}
        if self.old is not MISSING:
            out["old"] = self.old
        if self.new is not MISSING:
            out["new"] = self.new
        return out


def _short(value: Any) -> str:
    """``value`` as JSON when it is a short scalar, else nothing."""
    if isinstance(value, (dict, list)):
        return ""
    text = json.dumps(value)
    return text if len(text) <= SHORT else ""


@dataclass(frozen=True)
class Cache:
    """What SageMaker's step cache makes of a step after the change.

    ``verdict`` is ``miss`` (the step's cache key changed: an earlier run is not reused), ``hit``
    (its key is as before: an earlier run is reused) or ``never`` (its type is never cached).
    ``enabled`` says whether the step has caching on at all; with caching off it runs in every
    execution whatever its key.
    """

    verdict: str
    reason: str
    enabled: bool

    def describe(self) -> str:
        if self.verdict == "never":
            return f"never cached: {self.reason}"
        text = f"cache {self.verdict}: {self.reason}"
        if not self.enabled:
            text += "; caching is off for this step, so it runs in every execution anyway"
        return text

    def as_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "reason": self.reason, "enabled": self.enabled}


@dataclass
class StepDiff:
    """One step that was added, removed or changed."""

    name: str
    change: str  # added | removed | changed
    type: str | None
    fields: list[FieldChange] = field(default_factory=list)
    cache: Cache | None = None  # None for a removed step

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "change": self.change,
            "type": self.type,
            "fields": [f.as_json() for f in self.fields],
            "cache": self.cache.as_json() if self.cache else None,
        }


@dataclass
class ParameterDiff:
    """One pipeline parameter that was added, removed or changed."""

    name: str
    change: str  # added | removed | changed
    type: str | None
    fields: list[FieldChange] = field(default_factory=list)
    cache_misses: list[str] = field(default_factory=list)  # steps whose cache key reads it

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "change": self.change,
            "type": self.type,
            "fields": [f.as_json() for f in self.fields],
            "cache_misses": self.cache_misses,
        }


@dataclass
class DefinitionDiff:
    """Everything that differs between a deployed and a compiled definition."""

    steps: list[StepDiff] = field(default_factory=list)
    parameters: list[ParameterDiff] = field(default_factory=list)
    other: list[FieldChange] = field(default_factory=list)  # top-level fields of the definition
    cache_misses: dict[str, str] = field(default_factory=dict)  # step -> why its key changed

    @property
    def empty(self) -> bool:
        return not (self.steps or self.parameters or self.other)

    def lines(self) -> list[str]:
        """One line per change, as :func:`definition_changes` gives them."""
        out = [change_line("parameter", p.change, p.name, p.fields) for p in self.parameters]
        out += [change_line("step", s.change, s.name, s.fields) for s in self.steps]
        out += [f"~ {change.path}" for change in self.other]
        return out


def change_line(kind: str, change: str, name: str, fields: list[FieldChange]) -> str:
    """``+ step NAME``, ``- parameter NAME`` or ``~ step NAME: path: old -> new, ...``."""
    mark = {"added": "+", "removed": "-", "changed": "~"}[change]
    if change != "changed":
        return f"{mark} {kind} {name}"
    shown = ", ".join(f.describe() for f in fields[:4])
    more = f" (+{len(fields) - 4} more)" if len(fields) > 4 else ""
    return f"~ {kind} {name}: {shown}{more}"


def definition_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per added, removed or changed step or parameter, and for other changes."""
    return compare_definitions(old, new).lines()


def compare_definitions(old: dict[str, Any] | None, new: dict[str, Any]) -> DefinitionDiff:
    """What differs from ``old`` (None: nothing deployed) to ``new``, with the cache verdicts."""
    result = DefinitionDiff()
    before_params = _by_name(old.get("Parameters") if old else None)
    after_params = _by_name(new.get("Parameters"))
    before_steps = flat_steps(old.get("Steps") if old else None)
    after_steps = flat_steps(new.get("Steps"))

    for name, (change, before, after) in _pairs(before_params, after_params):
        item = after if after is not None else before
        result.parameters.append(
            ParameterDiff(name, change, _str(item.get("Type")), _fields(before, after))
        )
    for name, (change, before, after) in _pairs(before_steps, after_steps):
        item = after if after is not None else before
        fields = _fields(before, after)
        cache = None if after is None else _cache(before, after, fields)
        result.steps.append(StepDiff(name, change, _str(item.get("Type")), fields, cache))

    if old is not None:
        rest_old = {k: v for k, v in old.items() if k not in ("Parameters", "Steps")}
        rest_new = {k: v for k, v in new.items() if k not in ("Parameters", "Steps")}
        for key in sorted(set(rest_old) | set(rest_new)):
            if rest_old.get(key, MISSING) != rest_new.get(key, MISSING):
                result.other.append(
                    FieldChange(key, rest_old.get(key, MISSING), rest_new.get(key, MISSING))
                )

    _spread_misses(result, after_steps)
    return result


def _pairs(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> Iterator[tuple[str, tuple[str, Any, Any]]]:
    """Added (in new order), removed (in old order), then changed (in new order)."""
    for name, item in after.items():
        if name not in before:
            yield name, ("added", None, item)
    for name, item in before.items():
        if name not in after:
            yield name, ("removed", item, None)
    for name, item in after.items():
        if name in before and before[name] != item:
            yield name, ("changed", before[name], item)


def _fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FieldChange]:
    if before is None or after is None:
        return []
    return field_changes(before, after)


def _by_name(items: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(item.get("Name")): item for item in items if isinstance(item, dict)}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def flat_steps(steps: Any) -> dict[str, dict[str, Any]]:
    """Every step by name, the steps of condition branches too, in definition order; a
    condition's branches hold only the names of their steps."""
    found: dict[str, dict[str, Any]] = {}
    if not isinstance(steps, list):
        return found
    for step in steps:
        if not isinstance(step, dict):
            continue
        name = str(step.get("Name"))
        arguments = step.get("Arguments")
        if step.get("Type") != "Condition" or not isinstance(arguments, dict):
            found[name] = step
            continue
        shown = dict(arguments)
        nested: dict[str, dict[str, Any]] = {}
        for key in BRANCHES:
            branch = arguments.get(key)
            if isinstance(branch, list):
                nested.update(flat_steps(branch))
                shown[key] = [s.get("Name") for s in branch if isinstance(s, dict)]
        found[name] = {**step, "Arguments": shown}
        found.update(nested)
    return found


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """The fields where ``old`` and ``new`` differ, deepest first, in ``old``'s order."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[FieldChange] = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                changes.append(FieldChange(sub, new=new[key]))
            elif key not in new:
                changes.append(FieldChange(sub, old=old[key]))
            else:
                changes += field_changes(old[key], new[key], sub)
        return changes
    if isinstance(old, list) and isinstance(new, list):
        key = _name_key(old, new)
        if key is not None:
            return _named_list_changes(old, new, key, path)
        if len(old) == len(new):
            changes = []
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                changes += field_changes(a, b, f"{path}[{index}]")
            return changes
    return [FieldChange(path, old, new)]


def _name_key(old: list[Any], new: list[Any]) -> str | None:
    """The key that names every item of both lists, each name once, if there is one."""
    items = old + new
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in NAME_KEYS:
        if not all(isinstance(item.get(key), str) for item in items):
            continue
        if len({i[key] for i in old}) == len(old) and len({i[key] for i in new}) == len(new):
            return key
    return None


def _named_list_changes(
    old: list[dict[str, Any]], new: list[dict[str, Any]], key: str, path: str
) -> list[FieldChange]:
    before = {item[key]: item for item in old}
    after = {item[key]: item for item in new}
    changes: list[FieldChange] = []
    for name in list(before) + [n for n in after if n not in before]:
        sub = f"{path}[{name}]"
        if name not in after:
            changes.append(FieldChange(sub, old=before[name]))
        elif name not in before:
            changes.append(FieldChange(sub, new=after[name]))
        else:
            changes += field_changes(before[name], after[name], sub)
    if not changes:  # the same items in another order
        changes.append(FieldChange(path, old, new))
    return changes


# -- the cache ---------------------------------------------------------------------------------


def caching_enabled(step: dict[str, Any]) -> bool:
    config = step.get("CacheConfig")
    return isinstance(config, dict) and config.get("Enabled") is True


def cache_key_paths(step_type: str | None) -> tuple[str, ...] | None:
    """The cache key attributes of a step type, or None when it is never cached."""
    return CACHE_KEYS.get(step_type or "")


def _under(path: str, attribute: str) -> bool:
    """Whether a change at ``path`` touches the key attribute at ``attribute``."""
    for inner, outer in ((path, attribute), (attribute, path)):
        if inner == outer or inner.startswith((outer + ".", outer + "[")):
            return True
    return False


def _label(attribute: str) -> str:
    return attribute.removeprefix("Arguments.")


def _cache(
    before: dict[str, Any] | None, after: dict[str, Any], fields: list[FieldChange]
) -> Cache:
    """The verdict for a step from its own change (parameters and upstream steps come later)."""
    kind = _str(after.get("Type"))
    keys = cache_key_paths(kind)
    enabled = caching_enabled(after)
    if keys is None:
        return Cache("never", f"{kind} steps are not cached: it runs in every execution", False)
    if before is None:
        return Cache("miss", "new step: nothing cached for it yet", enabled)
    if before.get("Type") != kind:
        return Cache("miss", f"its type changed from {before.get('Type')} to {kind}", enabled)
    touched = [a for a in keys if any(_under(f.path, a) for f in fields)]
    if touched:
        names = ", ".join(_label(a) for a in touched)
        verb = "is" if len(touched) == 1 else "are"
        return Cache("miss", f"{names} changed, which {verb} in its cache key", enabled)
    if enabled and not caching_enabled(before):
        return Cache("miss", "caching was off until now: no earlier run is known to reuse", True)
    outside = sorted({_label(f.path).split(".")[0].split("[")[0] for f in fields})
    return Cache("hit", f"only {', '.join(outside)} changed, outside its cache key", enabled)


def _references(value: Any) -> Iterator[str]:
    """Every ``{"Get": ...}`` path inside ``value``."""
    if isinstance(value, dict):
        got = value.get("Get")
        if isinstance(got, str):
            yield got
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _at(step: dict[str, Any], path: str) -> Any:
    value: Any = step
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def key_references(step: dict[str, Any]) -> set[str]:
    """The ``Get`` paths that the step's cache key attributes read."""
    keys = cache_key_paths(_str(step.get("Type"))) or ()
    return {ref for path in keys for ref in _references(_at(step, path))}


def _spread_misses(result: DefinitionDiff, steps: dict[str, dict[str, Any]]) -> None:
    """Add the misses that come from changed parameter defaults and from upstream steps that
    run again, and collect every miss in ``result.cache_misses``."""
    misses = {s.name: s.cache.reason for s in result.steps if s.cache and s.cache.verdict == "miss"}
    changed_params = {p.name: p for p in result.parameters if p.change == "changed"}
    reads = {name: key_references(step) for name, step in steps.items()}
    for name, refs in reads.items():
        params = sorted(
            r.removeprefix("Parameters.")
            for r in refs
            if r.startswith("Parameters.") and r.removeprefix("Parameters.") in changed_params
        )
        for param in params:
            changed_params[param].cache_misses.append(name)
        if params and name not in misses:
            what = {"DefaultValue": "default"}
            changed = {
                what.get(f.path, "definition") for p in params for f in changed_params[p].fields
            }
            listed = ", ".join(params)
            misses[name] = (
                f"its cache key reads parameter {listed}, whose "
                f"{' and '.join(sorted(changed)) or 'definition'} changed"
            )
    grown = True
    while grown:
        grown = False
        for name, refs in reads.items():
            if name in misses or cache_key_paths(_str(steps[name].get("Type"))) is None:
                continue
            upstream = sorted(
                {r.split(".")[1] for r in refs if r.startswith("Steps.")} & set(misses)
            )
            if upstream:
                listed = ", ".join(repr(u) for u in upstream)
                misses[name] = f"its cache key reads properties of {listed}, which runs again"
                grown = True
    by_name = {s.name: s for s in result.steps}
    for name, reason in misses.items():
        diff = by_name.get(name)
        if diff is not None and diff.cache is not None and diff.cache.verdict == "hit":
            diff.cache = Cache("miss", reason, diff.cache.enabled)
    order = list(steps)
    result.cache_misses = {n: misses[n] for n in order if n in misses}

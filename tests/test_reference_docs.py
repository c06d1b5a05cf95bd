"""docs/reference.md keeps up with the code, and every step kind has its page.

The public configs and step decorators are found from ``smdsl.__all__`` by introspection, so a
field or setting added to the code without its row in the reference fails here, and so does a
default that changed in one place only.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from conftest import ROOT
from pydantic import BaseModel

import smdsl

REFERENCE = ROOT / "docs" / "reference.md"
STEP_PAGES = ROOT / "docs" / "steps"
CONCEPTS = ROOT / "docs" / "concepts.md"

NOT_CONFIGS = {
    # values known only when the pipeline runs, and conditions on them: docs/conditions.md
    "Comparison",
    "ExecutionVariable",
    "IsIn",
    "Join",
    "JsonGet",
    "ModelArtifactsRef",
    "OutputRef",
    "Parameter",
    "Predicate",
    "StepProperty",
    # what the decorators take, documented as the decorators' settings
    "ComputeOptions",
    "ImageOptions",
    "JobOptions",
    "ModelOptions",
    "StepOptions",
    "TransformOptions",
    # environment profiles: docs/environments.md
    "Env",
    "StepOverride",
    # the base of every step config, for kinds of your own: docs/step-kinds.md
    "StepConfig",
}
"""Public pydantic models that are not configs a step function builds, and where they are."""

EXPECTED_CONFIGS = {
    "Condition",
    "Fail",
    "Model",
    "ModelMetrics",
    "Processing",
    "ProcessingInput",
    "ProcessingOutput",
    "PropertyFile",
    "Register",
    "Training",
    "TrainingInput",
    "Transform",
}

ROW = re.compile(r"^\| `(\w+)` \|")
CELL_SPLIT = re.compile(r"(?<!\\)\|")
LITERAL = re.compile(r"`([^`]+)`")


def public(name: str) -> Any:
    return getattr(smdsl, name)


def public_models() -> dict[str, type[BaseModel]]:
    found = {name: public(name) for name in smdsl.__all__}
    return {n: o for n, o in found.items() if isinstance(o, type) and issubclass(o, BaseModel)}


CONFIGS = sorted(set(public_models()) - NOT_CONFIGS)
DECORATORS = sorted(n for n in smdsl.__all__ if n.endswith("_step") and callable(public(n)))


def sections() -> dict[str, str]:
    """The reference's sections by heading, backticks dropped: {"Processing": "..."}."""
    found: dict[str, str] = {}
    title = None
    for line in REFERENCE.read_text().splitlines():
        heading = re.match(r"^#{1,6} (.+)$", line)
        if heading:
            title = heading.group(1).strip().strip("`")
            found[title] = ""
        elif title is not None:
            found[title] += line + "\n"
    return found


def rows(section: str) -> dict[str, list[str]]:
    """A section's table rows by their first cell's name: {"code": [type, default, meaning]}."""
    table: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            cells = [c.strip() for c in CELL_SPLIT.split(line.strip().strip("|"))]
            table[match.group(1)] = cells[1:]
    return table


def documented_default(cell: str) -> Any:
    """The default a table's cell gives: its first `literal`, read as Python."""
    literal = LITERAL.search(cell)
    assert literal, f"no `default` in {cell!r}"
    return ast.literal_eval(literal.group(1))


def config_fields(cls: type[BaseModel]) -> dict[str, Any]:
    """The fields a user sets, with their defaults (``...`` when required)."""
    return {
        name: (... if info.is_required() else info.default)
        for name, info in cls.model_fields.items()
        if not info.exclude  # step_name, ProcessingOutput.step: stamped by smdsl, never set
    }


def decorator_settings(decorator: Callable[..., Any]) -> dict[str, Any]:
    parameters = inspect.signature(decorator).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def test_the_public_models_are_configs_or_documented_elsewhere() -> None:
    models = public_models()
    assert set(models) >= NOT_CONFIGS, "NOT_CONFIGS names a class smdsl no longer exports"
    assert set(CONFIGS) >= EXPECTED_CONFIGS
    for name, cls in models.items():
        if issubclass(cls, smdsl.StepConfig) and cls is not smdsl.StepConfig:
            assert name in CONFIGS, f"{name} is a step config; it belongs in the reference"


@pytest.mark.parametrize("name", CONFIGS)
def test_every_field_of_the_config_has_its_row(name: str) -> None:
    found = sections()
    assert name in found, f"docs/reference.md has no section '### `{name}`'"
    table = rows(found[name])
    fields = config_fields(public(name))
    assert fields, f"{name} has no fields to document"
    missing = sorted(set(fields) - set(table))
    assert not missing, f"docs/reference.md, section {name}: no row for {missing}"
    stale = sorted(set(table) - set(fields))
    assert not stale, f"docs/reference.md, section {name}: rows for no field: {stale}"
    for field, default in fields.items():
        _type, cell, _meaning = table[field]
        if default is ...:
            assert cell == "required", f"{name}.{field} is required; the reference says {cell!r}"
        else:
            assert cell != "required", f"{name}.{field} defaults to {default!r}"
            assert documented_default(cell) == default, (
                f"{name}.{field} defaults to {default!r}; the reference says {cell!r}"
            )


@pytest.mark.parametrize("name", DECORATORS)
def test_every_setting_of_the_decorator_has_its_row(name: str) -> None:
    found = sections()
    assert name in found, f"docs/reference.md has no section '### `{name}`'"
    table = rows(found[name])
    settings = decorator_settings(public(name))
    assert settings, f"{name} has no settings to document"
    missing = sorted(set(settings) - set(table))
    assert not missing, f"docs/reference.md, section {name}: no row for {missing}"
    stale = sorted(set(table) - set(settings))
    assert not stale, f"docs/reference.md, section {name}: rows for no setting: {stale}"
    for setting, default in settings.items():
        _type, cell, _meaning = table[setting]
        if cell == "required":
            # Required settings default to None in the signature; without one, the decorator
            # refuses and shows it.
            assert default is None, f"{name}({setting}=) has the default {default!r}"
            with pytest.raises(smdsl.SmdslError, match=f"{setting}="):
                public(name)()
        else:
            assert documented_default(cell) == default, (
                f"{name}({setting}=) defaults to {default!r}; the reference says {cell!r}"
            )


def builtin_kinds() -> list[str]:
    """The kinds smdsl registers itself, from a fresh interpreter (tests may register more)."""
    script = "import json, smdsl; print(json.dumps([k.name for k in smdsl.step_kinds()]))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    kinds: list[str] = json.loads(result.stdout)
    return kinds


def test_every_step_kind_has_its_page_and_decorator() -> None:
    kinds = builtin_kinds()
    assert {"processing", "training", "condition", "fail", "model", "register", "transform"} <= (
        set(kinds)
    )
    pages = {page.stem for page in STEP_PAGES.glob("*.md")}
    assert pages == set(kinds), f"docs/steps/ has {sorted(pages)}, the kinds are {kinds}"
    concepts = CONCEPTS.read_text()
    for kind in kinds:
        text = (STEP_PAGES / f"{kind}.md").read_text()
        assert f"@{kind}_step" in text, f"docs/steps/{kind}.md never shows @{kind}_step"
        assert f"{kind}_step" in DECORATORS, f"step kind {kind!r} has no public decorator"
        assert f"(steps/{kind}.md)" in concepts, f"docs/concepts.md does not link {kind}.md"

"""The oracle on the new step kinds: every compiled example passes, and mutations of the abalone
definition in its Condition, JsonGet, RegisterModel, Model and Transform parts are caught.

The examples are compiled the way ``smdsl definition`` compiles them; each mutation is made on a
fresh copy of the compiled abalone JSON, and must be reported at its place with a telling word.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from oracle import check_definition

from smdsl.compile.builder import compile_pipeline
from smdsl.declare.env import load_env
from smdsl.graph.build import build_graph
from smdsl.graph.loader import load_pipeline

Definition = dict[str, Any]
Mutation = Callable[[Definition], None]

EXAMPLES = sorted(ROOT.glob("examples/*/pipeline.py"))


def _profiles(pipeline: Path) -> list[str]:
    """The profiles an example's smdsl.toml declares: its [envs.<name>] tables."""
    text = (pipeline.parent / "smdsl.toml").read_text()
    return sorted(set(re.findall(r"^\[envs\.([A-Za-z0-9_-]+)\]", text, re.MULTILINE)))


EXAMPLE_PROFILES = [(p, env) for p in EXAMPLES for env in _profiles(p)]


@cache
def _compiled(pipeline: Path, env: str) -> str:
    module = load_pipeline(pipeline)
    return compile_pipeline(build_graph(module, load_env(module.path, env))).definition


def test_the_examples_include_abalone_in_dev_and_prod() -> None:
    abalone = ROOT / "examples" / "abalone" / "pipeline.py"
    assert (abalone, "dev") in EXAMPLE_PROFILES
    assert (abalone, "prod") in EXAMPLE_PROFILES


@pytest.mark.parametrize(
    ("pipeline", "env"),
    EXAMPLE_PROFILES,
    ids=[f"{p.parent.name}-{env}" for p, env in EXAMPLE_PROFILES],
)
def test_every_compiled_example_passes_the_oracle(pipeline: Path, env: str) -> None:
    definition = _compiled(pipeline, env)
    assert check_definition(definition) == []
    assert json.loads(definition)["Steps"]


# ---------------------------------------------------------------------------------------------
# Mutations of the compiled abalone definition


@pytest.fixture
def abalone() -> Definition:
    """A private copy of the compiled abalone dev definition, to mutate."""
    parsed: Definition = json.loads(_compiled(ROOT / "examples" / "abalone" / "pipeline.py", "dev"))
    return copy.deepcopy(parsed)


def _step(definition: Definition, name: str) -> Definition:
    for step in definition["Steps"]:
        if step["Name"] == name:
            found: Definition = step
            return found
        if step["Type"] == "Condition":
            for branch in ("IfSteps", "ElseSteps"):
                for nested in step["Arguments"][branch]:
                    if nested["Name"] == name:
                        inner: Definition = nested
                        return inner
    raise KeyError(name)


def _at(step: str, *path: str | int) -> Callable[[Definition], Any]:
    """The container at path inside a step."""

    def find(definition: Definition) -> Any:
        target: Any = _step(definition, step)
        for key in path:
            target = target[key]
        return target

    return find


def _set(step: str, path: tuple[str | int, ...], value: Any) -> Mutation:
    def mutate(definition: Definition) -> None:
        _at(step, *path[:-1])(definition)[path[-1]] = value

    return mutate


def _delete(step: str, path: tuple[str | int, ...]) -> Mutation:
    def mutate(definition: Definition) -> None:
        del _at(step, *path[:-1])(definition)[path[-1]]

    return mutate


CONDITION = ("Arguments", "Conditions", 0)
JSON_GET = (*CONDITION, "LeftValue", "Std:JsonGet")
FAIL_JSON_GET = ("Arguments", "ErrorMessage", "Std:Join", "Values", 1, "Std:JsonGet")
WHERE_CONDITION = "Steps[check_mse].Arguments.Conditions[0]"
WHERE_REGISTER = "Steps[register].Arguments"
WHERE_TRANSFORM = "Steps[transform].Arguments"
STATISTICS = ("Arguments", "ModelMetrics", "ModelQuality", "Statistics")

MUTATIONS: list[tuple[str, Mutation, str, str]] = [
    # (id, mutation, where the problem must be reported, a word the problem must contain)
    # -- Condition: its Type and its operands
    (
        "condition-unknown-type",
        _set("check_mse", (*CONDITION, "Type"), "AtMost"),
        f"{WHERE_CONDITION}.Type",
        "'AtMost' is not one of",
    ),
    (
        "condition-operand-a-list",
        _set("check_mse", (*CONDITION, "RightValue"), [6.0]),
        f"{WHERE_CONDITION}.RightValue",
        "not valid under any of the given schemas",
    ),
    (
        "condition-operand-an-object",
        _set("check_mse", (*CONDITION, "RightValue"), {"Value": 6.0}),
        f"{WHERE_CONDITION}.RightValue",
        "not valid under any of the given schemas",
    ),
    (
        "condition-operand-null",
        _set("check_mse", (*CONDITION, "RightValue"), None),
        f"{WHERE_CONDITION}.RightValue",
        "not valid",
    ),
    (
        "condition-operand-missing",
        _delete("check_mse", (*CONDITION, "LeftValue")),
        f"{WHERE_CONDITION}.LeftValue",
        "missing",
    ),
    (
        "condition-unknown-member",
        _set("check_mse", (*CONDITION, "Value"), 1),
        f"{WHERE_CONDITION}.Value",
        "unknown field",
    ),
    (
        "condition-operand-unknown-parameter",
        _set("check_mse", (*CONDITION, "RightValue"), {"Get": "Parameters.MseLimit"}),
        f"{WHERE_CONDITION}.RightValue",
        "no parameter named 'MseLimit'",
    ),
    (
        "condition-operand-unknown-function",
        _set("check_mse", (*CONDITION, "LeftValue"), {"Std:JsonPath": {}}),
        f"{WHERE_CONDITION}.LeftValue",
        "unknown pipeline function 'Std:JsonPath'",
    ),
    # -- JsonGet: its shape and what it reads
    (
        "json-get-without-path",
        _delete("check_mse", (*JSON_GET, "Path")),
        f"{WHERE_CONDITION}.LeftValue",
        "Std:JsonGet needs 'Path'",
    ),
    (
        "json-get-path-not-a-string",
        _set("check_mse", (*JSON_GET, "Path"), ["regression_metrics"]),
        f"{WHERE_CONDITION}.LeftValue",
        "Std:JsonGet needs 'Path'",
    ),
    (
        "json-get-two-sources",
        _set("check_mse", (*JSON_GET, "S3Uri"), "s3://bucket/evaluation.json"),
        f"{WHERE_CONDITION}.LeftValue",
        "one of 'PropertyFile' / 'S3Uri'",
    ),
    (
        "json-get-unknown-member",
        _set("check_mse", (*JSON_GET, "Default"), 0),
        f"{WHERE_CONDITION}.LeftValue",
        "unknown field(s) ['Default']",
    ),
    (
        "json-get-property-file-a-string",
        _set("check_mse", (*JSON_GET, "PropertyFile"), "EvaluationReport"),
        f"{WHERE_CONDITION}.LeftValue.Std:JsonGet.PropertyFile",
        "Steps.<step>.PropertyFiles.<name>",
    ),
    (
        # needs the oracle's extension: a Get of anything but a property file was accepted
        "json-get-property-file-a-parameter",
        _set("check_mse", (*JSON_GET, "PropertyFile"), {"Get": "Parameters.InputData"}),
        f"{WHERE_CONDITION}.LeftValue.Std:JsonGet.PropertyFile",
        "Steps.<step>.PropertyFiles.<name>",
    ),
    (
        "json-get-property-file-a-step-property",
        _set("check_mse", (*JSON_GET, "PropertyFile"), {"Get": "Steps.evaluate.ProcessingJobName"}),
        f"{WHERE_CONDITION}.LeftValue.Std:JsonGet.PropertyFile",
        "Steps.<step>.PropertyFiles.<name>",
    ),
    (
        "json-get-undeclared-property-file",
        _set(
            "check_mse",
            (*JSON_GET, "PropertyFile"),
            {"Get": "Steps.preprocess.PropertyFiles.EvaluationReport"},
        ),
        f"{WHERE_CONDITION}.LeftValue.Std:JsonGet.PropertyFile",
        "step 'preprocess' declares no property file 'EvaluationReport'",
    ),
    (
        "json-get-in-fail-message-without-path",
        _delete("mse_too_high", (*FAIL_JSON_GET, "Path")),
        "Steps[mse_too_high].Arguments.ErrorMessage.Std:Join.Values[1]",
        "Std:JsonGet needs 'Path'",
    ),
    (
        "property-file-of-no-output",
        _set("evaluate", ("PropertyFiles", 0, "OutputName"), "report"),
        "Steps[evaluate].PropertyFiles[0].OutputName",
        "not a step output",
    ),
    (
        "property-file-unknown-member",
        _set("evaluate", ("PropertyFiles", 0, "Format"), "json"),
        "Steps[evaluate].PropertyFiles[0].Format",
        "unknown field",
    ),
    # -- RegisterModel: its arguments are a CreateModelPackage request
    (
        "register-unknown-argument",
        _set("register", ("Arguments", "ModelPackageGroup"), "AbaloneModelPackageGroup"),
        f"{WHERE_REGISTER}.ModelPackageGroup",
        "unknown field for CreateModelPackage",
    ),
    (
        "register-bad-approval-status",
        _set("register", ("Arguments", "ModelApprovalStatus"), "Pending"),
        f"{WHERE_REGISTER}.ModelApprovalStatus",
        "'Pending' is not one of",
    ),
    (
        "register-without-containers",
        _delete("register", ("Arguments", "InferenceSpecification", "Containers")),
        f"{WHERE_REGISTER}.InferenceSpecification.Containers",
        "missing",
    ),
    (
        "register-metrics-unknown-member",
        _set("register", (*STATISTICS, "Uri"), "s3://bucket/evaluation.json"),
        f"{WHERE_REGISTER}.ModelMetrics.ModelQuality.Statistics.Uri",
        "unknown field",
    ),
    (
        "register-metrics-without-s3-uri",
        _delete("register", (*STATISTICS, "S3Uri")),
        f"{WHERE_REGISTER}.ModelMetrics.ModelQuality.Statistics.S3Uri",
        "missing",
    ),
    (
        "register-metrics-join-of-a-missing-output",
        _set(
            "register",
            (*STATISTICS, "S3Uri", "Std:Join", "Values", 0),
            {"Get": "Steps.evaluate.ProcessingOutputConfig.Outputz['evaluation'].S3Output.S3Uri"},
        ),
        f"{WHERE_REGISTER}.ModelMetrics.ModelQuality.Statistics.S3Uri.Std:Join.Values[0]",
        "Outputz",
    ),
    (
        "register-image-a-list",
        _set(
            "register",
            ("Arguments", "InferenceSpecification", "Containers", 0, "Image"),
            ["xgboost"],
        ),
        f"{WHERE_REGISTER}.InferenceSpecification.Containers[0].Image",
        "expected str",
    ),
    # -- Model and Transform
    (
        "model-unknown-argument",
        _set("create_model", ("Arguments", "ModelDataUrl"), "s3://bucket/model.tar.gz"),
        "Steps[create_model].Arguments.ModelDataUrl",
        "unknown field for CreateModel",
    ),
    (
        "transform-string-instance-count",
        _set("transform", ("Arguments", "TransformResources", "InstanceCount"), "2"),
        f"{WHERE_TRANSFORM}.TransformResources.InstanceCount",
        "expected int",
    ),
    (
        "transform-model-name-of-a-missing-step",
        _set("transform", ("Arguments", "ModelName"), {"Get": "Steps.createmodel.ModelName"}),
        f"{WHERE_TRANSFORM}.ModelName",
        "no step named 'createmodel'",
    ),
    (
        "transform-model-name-not-a-model-property",
        _set("transform", ("Arguments", "ModelName"), {"Get": "Steps.create_model.Name"}),
        f"{WHERE_TRANSFORM}.ModelName",
        "no property 'Name'",
    ),
    (
        "transform-bad-split-type",
        _set("transform", ("Arguments", "TransformInput", "SplitType"), "Lines"),
        f"{WHERE_TRANSFORM}.TransformInput.SplitType",
        "'Lines' is not one of",
    ),
    (
        "fail-unknown-argument",
        _set("mse_too_high", ("Arguments", "Message"), "too high"),
        "Steps[mse_too_high].Arguments.Message",
        "unknown field",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "where", "word"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS]
)
def test_a_broken_abalone_definition_is_caught_at_its_place(
    abalone: Definition, mutate: Mutation, where: str, word: str
) -> None:
    assert check_definition(abalone) == []  # the copy is valid before the mutation
    mutate(abalone)
    problems = check_definition(abalone)
    assert any(p.startswith(f"{where}:") and word in p for p in problems), problems


def test_the_mutations_change_the_definition() -> None:
    """No mutation is a no-op on the compiled JSON (a silent KeyError-free miss would be)."""
    original = json.loads(_compiled(ROOT / "examples" / "abalone" / "pipeline.py", "dev"))
    for name, mutate, _, _ in MUTATIONS:
        copied = copy.deepcopy(original)
        mutate(copied)
        assert copied != original, name

"""Test oracle: check a SageMaker Pipeline definition the way SageMaker will.

``check_definition(definition)`` returns a list of human-readable problems (empty = valid), each
starting with where it is, e.g.
``Steps[preprocess].Arguments.ProcessingResources.ClusterConfig.InstanceType: 'ml.m5.huge' is not
one of ...``. It needs botocore and jsonschema only, never the SageMaker SDK, and does no I/O
besides reading the published schema file.

Approach: three authorities, each used only for what it knows.

1. Job steps' ``Arguments`` are the request of an API call minus the name the service fills in
   (``JOB_STEPS``), so they are checked against that operation's input shape from the service model
   botocore ships. This check is the product's own, :mod:`smdsl.compile.oracle` (which
   ``validate --env``, ``definition`` and ``deploy`` run); it is imported here and its problems
   are given this oracle's labels. Pipeline expressions (``{"Get": ...}``, ``{"Std:Join": ...}``,
   ``{"Std:JsonGet": ...}``) are first replaced by a placeholder of the type the shape wants there
   (first enum value, a string of the minimum length, the minimum number, True, a timestamp); an
   expression where a structure, list or map is required is reported. ``ParamValidator`` then checks
   types, required and unknown fields, and a walk over the shape checks what it does not: enums,
   patterns (matching the whole value), maximum lengths and numeric maxima, and booleans given for
   numbers. botocore patterns are Java regexes; those Python's ``re`` cannot compile (9 of 257 in
   botocore 1.44.8, using ``\\p{...}`` or UTF-16 ranges) are skipped, listed in
   ``SKIPPED_PATTERNS`` and counted by ``pattern_coverage()``.
2. The envelope (Version, Metadata, Parameters, step Name/Type/DependsOn/RetryPolicies/...) and the
   Condition and Fail steps, which no API shape covers, are checked with AWS's published JSON schema
   (``load_schema()``), one parameter and one step at a time so that each error names its place.
   Job steps are checked against their schema definition with ``Arguments`` relaxed to "an object"
   (``_ARGUMENTS_COVERED_BY_API``). The schema lags the SDK; every known gap is listed in
   ``KNOWN_SCHEMA_GAPS`` and compensated by rewriting a deep copy of the definition before
   validation:

   * top level ``PipelineExperimentConfig`` and ``MlflowConfig`` are unknown to the schema: popped
     and checked against a small schema of their own;
   * ``PropertyFiles`` on processing steps is unknown: popped and checked the same way;
   * retry policies whose ``ExceptionType`` is a list (what the SDK emits) are checked once per
     exception type;
   * ``Std:JsonGet`` / ``Std:Join`` operands are rejected in conditions and Fail steps: replaced by
     a ``Get`` stand-in (the expressions themselves are checked by the oracle, see 3.);
   * ``Not`` conditions and ``Not``/``Or`` inside ``Or`` are missing: the oracle walks these
     combinators itself and checks each leaf condition with the schema;
   * ``In`` conditions are described as ``{Value, In}`` while the SDK emits ``{QueryValue,
     Values}``: checked against a replacement schema built from the schema's operand types;
   * condition branches reject Model steps (and Fail steps whose ErrorMessage is a ``Std:Join``):
     every branch step is hoisted and checked as a step of its own;
   * the EndpointConfig step's ``Type`` enum says ``Endpoint`` and newer step types are missing:
     those steps get a generic envelope check (Name, DependsOn, RetryPolicies, ... ) instead;
   * ``S3DataDistributionType`` in training inputs and ``ContainerEntrypoint`` /
     ``ContainerArguments`` are rejected, but they live in job steps' ``Arguments``, which only the
     API shapes judge.

   One tightening: a Fail step's ``Arguments`` may hold only ``ErrorMessage`` (the schema forgot
   ``additionalProperties: false`` there, so a typo such as ``ErrorMesage`` would pass). Step and
   parameter names are checked by the schema's pattern (1 to 64 letters, digits, ``-``, ``_``).

3. What neither covers, checked directly: step and parameter names unique, ``DependsOn`` names
   exist, every ``Get`` refers to a declared parameter, an existing step (and, for job steps, a
   property that the step's Describe* response has), a known execution variable; ``Std:Join`` /
   ``Std:JsonGet`` are well formed, a JsonGet's ``PropertyFile`` is exactly
   ``{"Get": "Steps.<step>.PropertyFiles.<name>"}`` and that property file is declared by its
   step; a property file's ``OutputName`` is one of its step's outputs.

The schema is found at ``<repo>/../shared/schemas/pipeline-definition.schema.json`` or under
``$SMDSL_SHARED_DIR/schemas/``; ``load_schema()`` raises ``FileNotFoundError`` when it is missing.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from smdsl.compile.oracle import JOB_STEPS as JOB_STEPS
from smdsl.compile.oracle import SKIPPED_PATTERNS as SKIPPED_PATTERNS
from smdsl.compile.oracle import ArgumentProblem, Shape, check_step_arguments
from smdsl.compile.oracle import is_expression as _is_expression
from smdsl.compile.oracle import pattern_coverage as pattern_coverage
from smdsl.compile.oracle import service_model as _service_model
from smdsl.compile.oracle import short_list as _short_list
from smdsl.compile.oracle import shorten as _shorten

JsonObject = dict[str, Any]

SCHEMA_PATH: Path = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "schemas"
    / "pipeline-definition.schema.json"
)
SHARED_DIR_ENV = "SMDSL_SHARED_DIR"

# JOB_STEPS: pipeline step Type -> (API operation whose request the Arguments are, request
# member the service fills in, Describe* shapes of the step's properties): smdsl's own.

EXECUTION_VARIABLES = frozenset(
    {
        "StartDateTime",
        "CurrentDateTime",
        "PipelineName",
        "PipelineArn",
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "TrainingJobName",
        "ProcessingJobName",
    }
)
EXPERIMENT_CONFIG_NAMES = frozenset({"ExperimentName", "TrialName"})
# Roots of Get references that are only meaningful inside a ForEach step: accepted unchecked.
UNCHECKED_GET_ROOTS = frozenset({"ForEach", "IterationOutput"})
PIPELINE_FUNCTIONS = frozenset({"Std:Join", "Std:JsonGet"})

_STRING_OR_EXPRESSION: JsonObject = {
    "anyOf": [{"type": "string"}, {"type": "object", "minProperties": 1, "maxProperties": 1}]
}


@dataclass(frozen=True)
class SchemaGaps:
    """Where the published schema (2025-04) lags what the SDK emits and SageMaker accepts."""

    # Top-level members the schema does not allow: popped, checked against the given schema.
    top_level_fields: Mapping[str, JsonObject]
    # (step Type, step member) the schema does not allow: popped, checked against the given schema.
    step_fields: Mapping[tuple[str, str], JsonObject]
    # Step types the schema does not describe: generic envelope check.
    step_types_missing: frozenset[str]
    # Step types the schema describes wrongly (EndpointConfigStep's Type enum is "Endpoint", so
    # both Endpoint definitions claim "Endpoint"): generic envelope check.
    step_types_misdescribed: frozenset[str]
    # Step types the schema rejects inside condition branches: all branch steps are hoisted.
    branch_step_types_rejected: frozenset[str]
    # Expression functions the schema rejects in conditions and Fail steps: replaced by a Get.
    functions_rejected: frozenset[str]
    # Condition types the schema lacks ("Not") or limits (it allows no "Not"/"Or" inside "Or"):
    # the oracle walks these combinators itself and checks the leaf conditions with the schema.
    condition_types_missing: frozenset[str]
    # Leaf condition types the schema describes with other member names than the SDK emits
    # (it has In: {Value, In}; the SDK emits In: {QueryValue, Values}): checked against these.
    condition_schemas: Mapping[str, JsonObject]
    # Step member holding retry policies whose ExceptionType the SDK emits as a list while the
    # schema wants one string: each policy is checked once per exception type.
    retry_policies_member: str
    # Rejected by the schema but inside job steps' Arguments, which only the API shapes judge.
    inside_job_arguments: tuple[str, ...]


KNOWN_SCHEMA_GAPS = SchemaGaps(
    top_level_fields={
        "PipelineExperimentConfig": {
            "type": ["object", "null"],
            "properties": {name: _STRING_OR_EXPRESSION for name in EXPERIMENT_CONFIG_NAMES},
            "additionalProperties": False,
        },
        "MlflowConfig": {"type": ["object", "null"]},
    },
    step_fields={
        ("Processing", "PropertyFiles"): {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "PropertyFileName": {"type": "string", "minLength": 1},
                    "OutputName": {"type": "string", "minLength": 1},
                    "FilePath": {"type": "string", "minLength": 1},
                },
                "required": ["PropertyFileName", "OutputName", "FilePath"],
                "additionalProperties": False,
            },
        },
    },
    step_types_missing=frozenset(
        {"EMRServerless", "InferenceComponent", "Lineage", "Job", "Cleanup", "ForEach"}
    ),
    step_types_misdescribed=frozenset({"Endpoint", "EndpointConfig"}),
    branch_step_types_rejected=frozenset({"Model"}),
    functions_rejected=frozenset({"Std:JsonGet", "Std:Join"}),
    condition_types_missing=frozenset({"Not"}),
    condition_schemas={
        "In": {
            "type": "object",
            "properties": {
                "Type": {"enum": ["In"]},
                "QueryValue": {"$ref": "#/definitions/ConditionOperand"},
                "Values": {"type": "array", "items": {"$ref": "#/definitions/ConditionOperand"}},
            },
            "required": ["Type", "QueryValue", "Values"],
            "additionalProperties": False,
        },
    },
    retry_policies_member="RetryPolicies",
    inside_job_arguments=(
        "Training InputDataConfig[].DataSource.S3DataSource.S3DataDistributionType",
        "Processing AppSpecification.ContainerEntrypoint / ContainerArguments",
    ),
)

# Not gaps but the division of labour: the API shapes judge these steps' Arguments.
_ARGUMENTS_COVERED_BY_API: JsonObject = {"type": "object"}
_GENERIC_STEP = "OracleGenericStep"
_CONDITION_OPERAND = "ConditionOperand"  # what the schema allows as a Binary condition operand
_GENERIC_STEP_SCHEMA: JsonObject = {
    "type": "object",
    "properties": {
        "Name": {"$ref": "#/definitions/StepName"},
        "Type": {"type": "string"},
        "DependsOn": {"type": "array", "items": {"$ref": "#/definitions/StepName"}},
        "DisplayName": {"$ref": "#/definitions/StepName"},
        "Description": {"$ref": "#/definitions/ParameterDescription"},
        "RetryPolicies": {"type": "array", "items": {"$ref": "#/definitions/RetryPolicy"}},
        "CacheConfig": {"$ref": "#/definitions/CacheConfig"},
        "Arguments": {"type": "object"},
    },
    "required": ["Name", "Type"],
}
_PROPERTY_TOKEN = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_PROPERTY_FILE_GET = re.compile(r"Steps\.[^.\[\]]+\.PropertyFiles\.[^.\[\]]+")


# ---------------------------------------------------------------------------------------------
# Schema file


def schema_path() -> Path:
    """Where the published schema is: ``$SMDSL_SHARED_DIR/schemas/...`` or ``SCHEMA_PATH``."""
    shared = os.environ.get(SHARED_DIR_ENV)
    if shared:
        return Path(shared) / "schemas" / SCHEMA_PATH.name
    return SCHEMA_PATH


def load_schema() -> JsonObject:
    """Return the published pipeline definition schema; raise FileNotFoundError if missing."""
    path = schema_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"pipeline definition schema not found at {path}: clone the shared folder beside the "
            f"repository or set {SHARED_DIR_ENV} to a folder holding schemas/{SCHEMA_PATH.name}"
        )
    return copy.deepcopy(_read_schema(path))


@lru_cache(maxsize=4)
def _read_schema(path: Path) -> JsonObject:
    schema: JsonObject = json.loads(path.read_text(encoding="utf-8"))
    return schema


@lru_cache(maxsize=4)
def _oracle_schema(path: Path) -> JsonObject:
    """The published schema with the division-of-labour patches and the generic step added."""
    schema = copy.deepcopy(_read_schema(path))
    definitions: JsonObject = schema["definitions"]
    for step_schema in definitions.values():
        if _type_enum(step_schema) & set(JOB_STEPS):
            step_schema["properties"]["Arguments"] = _ARGUMENTS_COVERED_BY_API
    # Tightening: a Fail step's Arguments hold only ErrorMessage (the schema leaves them open).
    definitions["FailStep"]["properties"]["Arguments"]["additionalProperties"] = False
    definitions[_GENERIC_STEP] = _GENERIC_STEP_SCHEMA
    definitions[_CONDITION_OPERAND] = definitions["BinaryCondition"]["properties"]["LeftValue"]
    return schema


def _type_enum(definition: JsonObject) -> set[str]:
    type_schema = definition.get("properties", {}).get("Type", {})
    return set(type_schema.get("enum", [])) if isinstance(type_schema, dict) else set()


@lru_cache(maxsize=64)
def _validator(path: Path, definition: str | None) -> Any:
    """A Draft 7 validator for the whole schema (None) or for one of its definitions."""
    schema = _oracle_schema(path)
    if definition is not None:
        schema = {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    return jsonschema.Draft7Validator(schema)


def _validator_for(schema: JsonObject) -> Any:
    """A validator for a gap's own schema, with the published definitions in scope for $ref."""
    definitions = _oracle_schema(schema_path())["definitions"]
    return jsonschema.Draft7Validator({**schema, "definitions": definitions})


@lru_cache(maxsize=4)
def _definition_by_step_type(path: Path) -> Mapping[str, str]:
    gaps = KNOWN_SCHEMA_GAPS
    found: dict[str, str] = {}
    for name, definition in _oracle_schema(path)["definitions"].items():
        step_types = _type_enum(definition) if name.endswith("Step") else set()
        for step_type in step_types - gaps.step_types_misdescribed:
            found[step_type] = name
    return found


# ---------------------------------------------------------------------------------------------
# Public entry point


def check_definition(definition: JsonObject | str) -> list[str]:
    """Return the problems SageMaker would find in a pipeline definition (empty list: valid)."""
    parsed, problems = _parse(definition)
    if parsed is None:
        return problems
    steps, step_problems = _flatten_steps(parsed.get("Steps"))
    problems += step_problems
    problems += _check_envelope(parsed, steps)
    for label, step in steps:
        problems += _check_job_arguments(label, step)
    problems += _check_names(parsed, steps)
    problems += _check_references(parsed, steps)
    return list(dict.fromkeys(problems))


def _parse(definition: JsonObject | str) -> tuple[JsonObject | None, list[str]]:
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except json.JSONDecodeError as error:
            return None, [f"definition: not valid JSON: {error}"]
    if not isinstance(definition, dict):
        return None, [f"definition: expected a JSON object, got {type(definition).__name__}"]
    return definition, []


def _flatten_steps(steps: Any) -> tuple[list[tuple[str, JsonObject]], list[str]]:
    """Every step with its label, condition branch steps included (names are pipeline-wide)."""
    found: list[tuple[str, JsonObject]] = []
    problems: list[str] = []
    if not isinstance(steps, list):
        return found, problems
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            problems.append(f"Steps[{index}]: a step must be an object, got {step!r:.80}")
            continue
        found.append((_step_label(index, step), step))
        if step.get("Type") == "Condition" and isinstance(step.get("Arguments"), dict):
            for branch in ("IfSteps", "ElseSteps"):
                nested, nested_problems = _flatten_steps(step["Arguments"].get(branch))
                found += nested
                problems += nested_problems
    return found, problems


def _step_label(index: int, step: JsonObject) -> str:
    name = step.get("Name")
    return f"Steps[{name}]" if isinstance(name, str) and name else f"Steps[#{index}]"


# ---------------------------------------------------------------------------------------------
# 2. Envelope, parameters, Condition and Fail steps against the published schema


def _check_envelope(definition: JsonObject, steps: list[tuple[str, JsonObject]]) -> list[str]:
    path = schema_path()
    load_schema()  # raises FileNotFoundError with a clear message when the schema is missing
    envelope = copy.deepcopy(definition)
    problems = _pop_gap_fields(envelope, KNOWN_SCHEMA_GAPS.top_level_fields, "definition")
    for member in ("Parameters", "Steps"):
        if isinstance(envelope.get(member), list):
            envelope[member] = []  # checked one by one below
    gap_fields = KNOWN_SCHEMA_GAPS.top_level_fields
    problems += _schema_errors(_validator(path, None), envelope, "definition", gap_fields)
    for label, parameter in _parameters(definition):
        problems += _check_parameter(path, label, parameter)
    for label, step in steps:
        problems += _check_step_envelope(path, label, step)
    return problems


def _parameters(definition: JsonObject) -> Iterator[tuple[str, Any]]:
    parameters = definition.get("Parameters")
    for index, parameter in enumerate(parameters if isinstance(parameters, list) else []):
        name = parameter.get("Name") if isinstance(parameter, dict) else None
        yield (
            (f"Parameters[{name}]" if isinstance(name, str) else f"Parameters[#{index}]"),
            parameter,
        )


def _parameter_names(definition: JsonObject) -> Iterator[str]:
    for _, parameter in _parameters(definition):
        if isinstance(parameter, dict) and isinstance(parameter.get("Name"), str):
            yield parameter["Name"]


def _check_parameter(path: Path, label: str, parameter: Any) -> list[str]:
    kind = parameter.get("Type", "String") if isinstance(parameter, dict) else "String"
    known = ("String", "Integer", "Float", "Boolean")
    if kind not in known:
        return [f"{label}.Type: {kind!r} is not one of {_short_list(known)}"]
    return _schema_errors(_validator(path, f"{kind}Parameter"), parameter, label)


def _check_step_envelope(path: Path, label: str, step: JsonObject) -> list[str]:
    gaps = KNOWN_SCHEMA_GAPS
    step_type = step.get("Type")
    shadow = copy.deepcopy(step)
    step_fields = {
        key: schema for (kind, key), schema in gaps.step_fields.items() if kind == step_type
    }
    problems = _pop_gap_fields(shadow, step_fields, label)
    problems += _check_retry_policies(path, shadow, label)
    if step_type == "Condition":
        problems += _check_condition_step(path, shadow, label)
    if step_type == "Fail":
        shadow["Arguments"] = _stand_in_functions(shadow.get("Arguments"))
    known_elsewhere = gaps.step_types_missing | gaps.step_types_misdescribed
    definition = (
        _definition_by_step_type(path).get(step_type) if isinstance(step_type, str) else None
    )
    if definition is None:
        if isinstance(step_type, str) and step_type not in known_elsewhere:
            problems.append(f"{label}.Type: unknown step type {step_type!r}")
        definition = _GENERIC_STEP  # reports a Type that is missing or not a string
    return problems + _schema_errors(_validator(path, definition), shadow, label, step_fields)


def _pop_gap_fields(target: JsonObject, fields: Mapping[str, JsonObject], label: str) -> list[str]:
    """Pop members the schema does not know; check each against its own schema instead."""
    problems: list[str] = []
    for key, schema in fields.items():
        if key in target:
            value = target.pop(key)
            problems += _schema_errors(_validator_for(schema), value, _join(label, key))
    return problems


def _check_retry_policies(path: Path, shadow: JsonObject, label: str) -> list[str]:
    """Pop the retry policies; check each, one ExceptionType at a time when it is a list."""
    member = KNOWN_SCHEMA_GAPS.retry_policies_member
    policies = shadow.get(member)
    if not isinstance(policies, list):
        return []  # absent, or wrong and reported by the envelope check
    del shadow[member]
    validator = _validator(path, "RetryPolicy")
    problems: list[str] = []
    for index, policy in enumerate(policies):
        kinds = policy.get("ExceptionType") if isinstance(policy, dict) else None
        singles = (
            [{**policy, "ExceptionType": k} for k in kinds]
            if isinstance(kinds, list) and kinds
            else [policy]
        )
        for single in singles:
            problems += _schema_errors(validator, single, f"{label}.{member}[{index}]")
    return problems


def _check_condition_step(path: Path, shadow: JsonObject, label: str) -> list[str]:
    """Check the conditions one by one; leave the step envelope with empty lists to the schema."""
    arguments = shadow.get("Arguments")
    if not isinstance(arguments, dict):
        return []
    for branch in ("IfSteps", "ElseSteps"):
        if isinstance(arguments.get(branch), list):
            arguments[branch] = []  # hoisted: checked as steps of their own
    conditions = arguments.get("Conditions")
    if not isinstance(conditions, list):
        return []
    arguments["Conditions"] = []
    where = f"{label}.Arguments.Conditions"
    return [p for i, c in enumerate(conditions) for p in _check_condition(path, c, f"{where}[{i}]")]


def _check_condition(path: Path, condition: Any, where: str) -> list[str]:
    """One condition; "Not" and "Or" are walked here, since the schema lacks or limits them."""
    kind = condition.get("Type") if isinstance(condition, dict) else None
    kind = kind if isinstance(kind, str) else None
    combinators = {"Not": ("Condition", dict), "Or": ("Conditions", list)}
    if kind in combinators:
        member, container = combinators[kind]
        operand = condition.get(member)
        if set(condition) != {"Type", member} or not isinstance(operand, container):
            return [
                f"{where}: a {kind} condition has exactly Type and {member} ({container.__name__})"
            ]
        if isinstance(operand, dict):
            return _check_condition(path, operand, f"{where}.{member}")
        return [
            p
            for i, c in enumerate(operand)
            for p in _check_condition(path, c, f"{where}.{member}[{i}]")
        ]
    schemas = _condition_schemas(path)
    if kind is None or kind not in schemas:
        known = sorted([*schemas, *combinators])
        return [f"{_join(where, 'Type')}: {kind!r} is not one of {_short_list(known, len(known))}"]
    return _schema_errors(schemas[kind], _stand_in_functions(condition), where)


@lru_cache(maxsize=4)
def _condition_schemas(path: Path) -> Mapping[str, Any]:
    """Condition Type -> validator, from the schema's leaf conditions and the gap replacements."""
    validators: dict[str, Any] = {}
    for name, definition in _oracle_schema(path)["definitions"].items():
        if name.endswith("Condition") and name != "OrCondition":
            for kind in _type_enum(definition):
                validators[kind] = _validator(path, name)
    for kind, schema in KNOWN_SCHEMA_GAPS.condition_schemas.items():
        validators[kind] = _validator_for(schema)
    return validators


def _stand_in_functions(value: Any) -> Any:
    """Replace expression functions the schema rejects by a Get (they are checked elsewhere)."""
    if _is_expression(value) and next(iter(value)) in KNOWN_SCHEMA_GAPS.functions_rejected:
        return {"Get": f"<{next(iter(value))}>"}
    if isinstance(value, dict):
        return {key: _stand_in_functions(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stand_in_functions(item) for item in value]
    return value


def _schema_errors(
    validator: Any, instance: Any, label: str, also_allowed: Iterable[str] = ()
) -> list[str]:
    """Problems from a jsonschema validator; also_allowed: top members popped as schema gaps."""
    problems: list[str] = []
    for error in validator.iter_errors(instance):
        best = jsonschema.exceptions.best_match([error])
        problems += _describe_schema_error(best, label, () if best.absolute_path else also_allowed)
    return problems


def _describe_schema_error(error: Any, label: str, also_allowed: Iterable[str]) -> list[str]:
    where = _join(label, _json_path(error.absolute_path)) or "definition"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted({*error.schema.get("properties", {}), *also_allowed})
        return [
            f"{_join(where, key)}: unknown field (allowed: {_short_list(allowed, 12)})"
            for key in _unexpected_keys(error.instance, error.schema)
        ]
    required = re.fullmatch(r"'(.+)' is a required property", error.message)
    if error.validator == "required" and required:
        return [f"{_join(where, required.group(1))}: required field is missing"]
    return [f"{where}: {_shorten(error.message)}"]


def _unexpected_keys(instance: JsonObject, schema: JsonObject) -> list[str]:
    known = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [
        key
        for key in instance
        if key not in known and not any(re.search(pattern, key) for pattern in patterns)
    ]


def _json_path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


# ---------------------------------------------------------------------------------------------
# 1. Job steps' Arguments against the API request shapes: smdsl.compile.oracle


def _check_job_arguments(label: str, step: JsonObject) -> list[str]:
    """The product's check of one step's Arguments, labelled ``<label>.Arguments...``."""
    return [_labelled(label, problem) for problem in check_step_arguments(step)]


def _labelled(label: str, problem: ArgumentProblem) -> str:
    return f"{label}.{problem.where}: {problem.message}"


# ---------------------------------------------------------------------------------------------
# 3. Names and references


def _check_names(definition: JsonObject, steps: list[tuple[str, JsonObject]]) -> list[str]:
    problems = _duplicates([label for label, _ in steps], "step")
    problems += _duplicates([label for label, _ in _parameters(definition)], "parameter")
    names = {step["Name"] for _, step in steps if isinstance(step.get("Name"), str)}
    for label, step in steps:
        depends_on = step.get("DependsOn")
        for index, name in enumerate(depends_on if isinstance(depends_on, list) else []):
            if name == step.get("Name"):
                problems.append(f"{label}.DependsOn[{index}]: a step cannot depend on itself")
            elif isinstance(name, str) and name not in names:
                problems.append(f"{label}.DependsOn[{index}]: no step is named {name!r}")
    return problems


def _duplicates(labels: list[str], what: str) -> list[str]:
    seen: set[str] = set()
    problems: list[str] = []
    for label in labels:
        if label in seen and "[#" not in label:
            problems.append(f"{label}: {what} name used more than once")
        seen.add(label)
    return problems


@dataclass(frozen=True)
class _Scope:
    """What a pipeline declares, for resolving references."""

    parameters: frozenset[str]
    steps: Mapping[str, JsonObject]

    def property_files(self, step_name: str) -> set[str]:
        files = self.steps.get(step_name, {}).get("PropertyFiles")
        if not isinstance(files, list):
            return set()
        return {str(f.get("PropertyFileName")) for f in files if isinstance(f, dict)}


def _check_references(definition: JsonObject, steps: list[tuple[str, JsonObject]]) -> list[str]:
    scope = _Scope(
        parameters=frozenset(_parameter_names(definition)),
        steps={step["Name"]: step for _, step in steps if isinstance(step.get("Name"), str)},
    )
    problems: list[str] = []
    config = definition.get("PipelineExperimentConfig")
    for where, expression in _expressions(config, "PipelineExperimentConfig"):
        problems += _check_expression(where, expression, scope)
    for label, step in steps:
        for where, expression in _expressions(_without_branches(step), label):
            problems += _check_expression(where, expression, scope)
        problems += _check_property_file_outputs(label, step)
    return problems


def _without_branches(step: JsonObject) -> JsonObject:
    arguments = step.get("Arguments")
    if step.get("Type") != "Condition" or not isinstance(arguments, dict):
        return step
    kept = {k: v for k, v in arguments.items() if k not in ("IfSteps", "ElseSteps")}
    return {**step, "Arguments": kept}


def _expressions(value: Any, where: str) -> Iterator[tuple[str, JsonObject]]:
    """Every expression in value, operands of expressions included."""
    if _is_expression(value):
        yield where, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _expressions(item, _join(where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _expressions(item, f"{where}[{index}]")


def _check_expression(where: str, expression: JsonObject, scope: _Scope) -> list[str]:
    function, operand = next(iter(expression.items()))
    if function == "Get":
        return _check_get(where, operand, scope)
    if function == "Std:Join":
        return _check_join(where, operand)
    if function == "Std:JsonGet":
        return _check_json_get(where, operand, scope)
    known = ", ".join(["Get", *sorted(PIPELINE_FUNCTIONS)])
    return [f"{where}: unknown pipeline function {function!r} (known: {known})"]


def _check_get(where: str, reference: Any, scope: _Scope) -> list[str]:
    if not isinstance(reference, str):
        return [f"{where}: Get needs a string, got {reference!r:.80}"]
    root, _, rest = reference.partition(".")
    if root == "Parameters":
        return (
            []
            if rest in scope.parameters
            else [f"{where}: Get {reference!r}: no parameter named {rest!r}"]
        )
    if root == "Steps":
        return _check_step_reference(where, reference, rest, scope)
    known = {"Execution": EXECUTION_VARIABLES, "PipelineExperimentConfig": EXPERIMENT_CONFIG_NAMES}
    if root in known:
        valid = known[root]
        return (
            []
            if rest in valid
            else [f"{where}: Get {reference!r}: not one of {_short_list(sorted(valid))}"]
        )
    if root in UNCHECKED_GET_ROOTS:
        return []
    return [
        f"{where}: Get {reference!r}: unknown root {root!r} (Parameters, Steps, Execution, ...)"
    ]


def _check_step_reference(where: str, reference: str, rest: str, scope: _Scope) -> list[str]:
    name = re.match(r"[^.\[]*", rest)
    step_name = name.group(0) if name else ""
    if step_name not in scope.steps:
        return [f"{where}: Get {reference!r}: no step named {step_name!r}"]
    path = rest[len(step_name) :]
    if path.startswith(".PropertyFiles."):
        file_name = path[len(".PropertyFiles.") :]
        if file_name not in scope.property_files(step_name):
            declared = f"step {step_name!r} declares no property file {file_name!r}"
            return [f"{where}: Get {reference!r}: {declared}"]
        return []
    step_type = scope.steps[step_name].get("Type")
    if not isinstance(step_type, str) or step_type not in JOB_STEPS or not path:
        return []
    error = _property_path_error(path, JOB_STEPS[step_type][2])
    return [f"{where}: Get {reference!r}: {error}"] if error else []


def _property_path_error(path: str, shape_names: tuple[str, ...]) -> str | None:
    """Why path is not a property of a step described by shape_names (None if it is)."""
    tokens = list(_PROPERTY_TOKEN.finditer(path))
    if "".join(t.group(0) for t in tokens) != path:
        return f"cannot parse property path {path!r}"
    model = _service_model()
    shapes = [model.shape_for(name) for name in shape_names]
    first = tokens[0].group(1)
    shape = next((s.members[first] for s in shapes if first in s.members), None)
    if shape is None:
        return f"no property {first!r} (the step's properties are {' / '.join(shape_names)})"
    for token in tokens[1:]:
        shape, error = _property_step(shape, token)
        if error:
            return error
    return None


def _property_step(shape: Shape, token: re.Match[str]) -> tuple[Shape, str | None]:
    member = token.group(1)
    if shape.type_name == "structure" and member is not None:
        if member in shape.members:
            return shape.members[member], None
        return shape, f"{shape.name} has no property {member!r}"
    if shape.type_name == "list" and member is None:
        return shape.member, None
    if shape.type_name == "map" and member is None and token.group(2) is None:
        return shape.value, None
    return shape, f"{token.group(0)!r} cannot follow a {shape.type_name} ({shape.name})"


def _check_join(where: str, operand: Any) -> list[str]:
    if not isinstance(operand, dict) or not isinstance(operand.get("Values"), list):
        return [f"{where}: Std:Join needs {{'On': str, 'Values': list}}, got {operand!r:.80}"]
    extra = set(operand) - {"On", "Values"}
    if extra or not isinstance(operand.get("On", ""), str):
        return [f"{where}: Std:Join takes only a string 'On' and a list 'Values'"]
    return []


def _check_json_get(where: str, operand: Any, scope: _Scope) -> list[str]:
    sources = {"PropertyFile", "S3Uri"} & set(operand) if isinstance(operand, dict) else set()
    if (
        not isinstance(operand, dict)
        or len(sources) != 1
        or not isinstance(operand.get("Path"), str)
    ):
        needs = "'Path' and one of 'PropertyFile' / 'S3Uri'"
        return [f"{where}: Std:JsonGet needs {needs}, got {operand!r:.80}"]
    extra = set(operand) - {"Path", "PropertyFile", "S3Uri"}
    if extra:
        return [f"{where}: Std:JsonGet: unknown field(s) {sorted(extra)}"]
    source = operand.get("PropertyFile")
    if source is not None and not (
        _is_expression(source)
        and isinstance(source.get("Get"), str)
        and _PROPERTY_FILE_GET.fullmatch(source["Get"])
    ):
        expected = "expected {'Get': 'Steps.<step>.PropertyFiles.<name>'}"
        return [f"{where}.Std:JsonGet.PropertyFile: {expected}, got {source!r:.80}"]
    return []


def _check_property_file_outputs(label: str, step: JsonObject) -> list[str]:
    files = step.get("PropertyFiles")
    arguments = step.get("Arguments")
    if not isinstance(files, list) or not isinstance(arguments, dict):
        return []
    config = arguments.get("ProcessingOutputConfig")
    outputs = config.get("Outputs") if isinstance(config, dict) else None
    names = (
        {str(o.get("OutputName")) for o in outputs if isinstance(o, dict)}
        if isinstance(outputs, list)
        else set()
    )
    return [
        f"{label}.PropertyFiles[{index}].OutputName: {f.get('OutputName')!r} is not a step output"
        for index, f in enumerate(files)
        if isinstance(f, dict) and str(f.get("OutputName")) not in names
    ]


# ---------------------------------------------------------------------------------------------
# Helpers


def _join(label: str, path: str) -> str:
    if not path:
        return label
    if not label or path.startswith("["):
        return f"{label}{path}"
    return f"{label}.{path}"

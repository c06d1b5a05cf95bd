"""A user's own step kind, registered through smdsl's public API only.

The user package (tests/fixtures/custom_kind/user_pkg/my_steps.py, put on PYTHONPATH as an
installed package would be) defines a ``Callback`` config (a :class:`smdsl.StepConfig`), a
compile function building the SDK's ``CallbackStep`` from a
:class:`smdsl.compile.context.StepBuild`, and registers the kind twice: with the compile function
named by import path ("my_steps:compile_callback") and given as a function. The project
(tests/fixtures/custom_kind/project/) has pipelines that use the kind beside processing steps,
one of which reads a callback output. Everything runs through the real CLI in a subprocess,
except the registry's refusals and the plain call of a step function.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import FIXTURES, OFFLINE_ENV, clean_env, marker_line, run_cli, sdk_modules_after
from pydantic import BaseModel, ValidationError

from smdsl import (
    DeclarationError,
    OutputRef,
    Parameter,
    Processing,
    SmdslError,
    StepConfig,
    StepFunction,
    StepKind,
    StepOptions,
    StepProperty,
    register_step_kind,
    step_kinds,
)

CUSTOM = FIXTURES / "custom_kind"
USER_PKG = CUSTOM / "user_pkg"
PROJECT = CUSTOM / "project"
PIPELINE = PROJECT / "pipeline.py"
CALLABLE = PROJECT / "pipeline_callable.py"
BAD_PATH = PROJECT / "pipeline_bad_path.py"
WRONG_REFERENCE = PROJECT / "wrong_reference.py"

QUEUE = "https://sqs.us-east-1.amazonaws.com/111122223333/labels"


def cli(*args: str, **extra: str) -> Any:
    """The real CLI, with the user package importable as an installed one would be."""
    return run_cli(*args, env=clean_env(**OFFLINE_ENV, PYTHONPATH=str(USER_PKG), **extra))


def definition(path: Path) -> dict[str, Any]:
    result = cli("definition", str(path), "--env", "dev", "-o", "-")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def steps_by_name(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in found["Steps"]}


def assert_clean_failure(result: Any) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: "), result.stderr


@pytest.fixture
def my_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The user package imported in this process (registering its kinds, as a pipeline would)."""
    monkeypatch.syspath_prepend(str(USER_PKG))
    yield importlib.import_module("my_steps")


def load_pipeline_module(path: Path) -> ModuleType:
    """Import a pipeline file as a plain Python module, as a unit test of the user's would."""
    spec = importlib.util.spec_from_file_location(f"custom_kind_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- 1. validate, graph and definition through the real CLI ------------------------------------


def test_validate_accepts_the_pipeline_with_the_custom_kind() -> None:
    result = cli("validate", str(PIPELINE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 steps, 2 parameters (dev)" in result.stdout
    assert "warning" not in result.stderr


def test_graph_shows_the_custom_kind_and_its_edges() -> None:
    result = cli("graph", str(PIPELINE))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert list(lines) == ["prepare", "label", "score"]
    # the kind's name, then the config's own summary(), then its upstream (from a reference)
    assert "callback, callback via SQS, outputs labels_uri, label_count" in lines["label"]
    assert lines["label"].rstrip().endswith("<- prepare")
    assert lines["score"].startswith("  score    processing")
    assert lines["score"].rstrip().endswith("<- label")
    assert "LabelBatch=100" in result.stdout and "QueueUrl=" in result.stdout


def test_definition_holds_the_callback_step_and_the_reference_to_its_output() -> None:
    found = definition(PIPELINE)
    steps = steps_by_name(found)
    assert list(steps) == ["prepare", "label", "score"]
    label = steps["label"]
    assert label["Type"] == "Callback"
    assert label["Arguments"] == {
        "records": {
            "Get": "Steps.prepare.ProcessingOutputConfig.Outputs['records'].S3Output.S3Uri"
        },
        "batch_size": {"Get": "Parameters.LabelBatch"},
        "execution": {"Get": "Execution.PipelineExecutionId"},
        "mode": "strict",
    }
    assert label["SqsQueueUrl"] == {"Get": "Parameters.QueueUrl"}
    assert label["OutputParameters"] == [
        {"OutputName": "labels_uri", "OutputType": "String"},
        {"OutputName": "label_count", "OutputType": "String"},
    ]
    # build.settings carried the decorator's display name and description
    assert label["DisplayName"] == "Labelling"
    assert label["Description"] == "Wait for the labelling service"
    # the edge comes from a reference: the Get expression makes it, no DependsOn is needed
    assert "DependsOn" not in label

    score = steps["score"]
    assert score["Type"] == "Processing"
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in score["Arguments"]["ProcessingInputs"]}
    assert inputs["labels"] == {"Get": "Steps.label.OutputParameters['labels_uri']"}
    arguments = score["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert arguments == ["--count", {"Get": "Steps.label.OutputParameters['label_count']"}]
    assert "DependsOn" not in score
    parameters = {p["Name"]: p for p in found["Parameters"]}
    assert parameters["QueueUrl"] == {"Name": "QueueUrl", "Type": "String", "DefaultValue": QUEUE}
    assert parameters["LabelBatch"]["Type"] == "Integer"


def test_a_named_output_of_a_custom_step_is_a_validate_problem_at_its_line() -> None:
    """The graph layer knows the custom kind offers no named outputs (provides is empty)."""
    result = cli("validate", str(WRONG_REFERENCE))
    assert_clean_failure(result)
    line = marker_line(WRONG_REFERENCE, "score")
    assert f"wrong_reference.py\", line {line}, in step 'score'" in result.stderr
    assert (
        "inputs['labels']: label.outputs['labels_uri']: step 'label' is a callback step; "
        "only processing steps have named outputs"
    ) in result.stderr


# -- 2. no SDK import for validate and graph -----------------------------------------------------


def _probe(*lines: str) -> str:
    return "\n".join([f"import sys\nsys.path.insert(0, {str(USER_PKG)!r})", *lines]) + "\n"


def _main(*args: str) -> str:
    return _probe(f"from smdsl.cli import main\nmain({list(args)!r}, standalone_mode=False)")


@pytest.mark.parametrize(
    "script",
    [
        _main("validate", str(PIPELINE)),  # with --env, validate compiles: the SDK is imported
        _main("graph", str(PIPELINE)),
        _main("graph", str(CALLABLE)),
        _probe(
            "import importlib.util",
            f"spec = importlib.util.spec_from_file_location('p', {str(PIPELINE)!r})",
            "p = importlib.util.module_from_spec(spec)",
            "spec.loader.exec_module(p)",
            "assert p.score(p.label(p.prepare())).step_name == 'score'",
        ),
    ],
    ids=["validate", "graph", "graph-callable", "plain-calls"],
)
def test_validate_and_graph_of_the_custom_kind_import_no_sagemaker_module(script: str) -> None:
    assert sdk_modules_after(script) == []


def test_the_probe_sees_the_sdk_when_the_custom_kind_is_compiled(tmp_path: Path) -> None:
    """The same probe on `definition` lists the SDK's callback module: the probe can fail."""
    out = tmp_path / "definition.json"
    modules = sdk_modules_after(_main("definition", str(PIPELINE), "--env", "dev", "-o", str(out)))
    assert "sagemaker.mlops.workflow.callback_step" in modules
    assert steps_by_name(json.loads(out.read_text()))["label"]["Type"] == "Callback"


# -- 3. what the registry refuses ----------------------------------------------------------------


class OtherConfig(StepConfig):
    """A config of a kind that is not processing."""

    script: str = "x.py"


class PlainModel(BaseModel):
    """A pydantic model, but no StepConfig."""

    value: int = 1


def _never(build: Any) -> Any:
    raise AssertionError("never compiled")


def _refusal(kind: StepKind) -> SmdslError:
    names_before = [k.name for k in step_kinds()]
    configs_before = {k.name: k.config for k in step_kinds()}
    with pytest.raises(SmdslError) as caught:
        register_step_kind(kind)
    assert isinstance(caught.value, DeclarationError)
    assert isinstance(caught.value, ValueError)
    assert [k.name for k in step_kinds()] == names_before  # the registry is unchanged
    assert {k.name: k.config for k in step_kinds()} == configs_before
    return caught.value


def test_a_different_kind_under_a_taken_name_is_refused() -> None:
    refused = _refusal(StepKind(name="processing", config=OtherConfig, compile=_never))
    assert str(refused) == (
        "step kind 'processing' is registered already (config "
        "smdsl.declare.configs.Processing, compile "
        "smdsl.compile.kinds.processing:compile_processing); choose another name"
    )
    processing = next(k for k in step_kinds() if k.name == "processing")
    assert processing.config is Processing


def test_a_custom_kind_cannot_take_the_name_of_another_custom_kind(my_steps: ModuleType) -> None:
    refused = _refusal(StepKind(name="callback", config=OtherConfig, compile=_never))
    assert "step kind 'callback' is registered already (config my_steps.Callback, " in str(refused)


def test_registering_the_same_kind_again_is_accepted(my_steps: ModuleType) -> None:
    """A module loaded twice registers its kind twice: the second replaces the first."""
    again = register_step_kind(
        StepKind(name="callback", config=my_steps.Callback, compile="my_steps:compile_callback")
    )
    assert next(k for k in step_kinds() if k.name == "callback") is again


@pytest.mark.parametrize("config", [PlainModel, dict], ids=["pydantic-model", "dict"])
def test_a_config_that_is_not_a_step_config_is_refused(config: type) -> None:
    refused = _refusal(StepKind(name="custom_kind_plain", config=config, compile=_never))
    assert str(refused).startswith(
        "step kind 'custom_kind_plain': config must be a subclass of smdsl.StepConfig, not "
    )


def test_options_that_are_not_step_options_are_refused() -> None:
    refused = _refusal(
        StepKind(name="custom_kind_opts", config=OtherConfig, compile=_never, options=PlainModel)  # type: ignore[arg-type]
    )
    assert str(refused).startswith(
        "step kind 'custom_kind_opts': options must be a subclass of smdsl.StepOptions, not "
    )


# -- 4. the config and the step function as plain Python -----------------------------------------


def test_the_custom_config_is_a_plain_frozen_config(my_steps: ModuleType) -> None:
    config = my_steps.Callback(sqs_queue_url=QUEUE, inputs={"mode": "strict"}, outputs=["a"])
    assert config.outputs == ("a",)
    assert config.inputs == {"mode": "strict"}
    assert config.step_name is None
    with pytest.raises(ValidationError, match="sqs_queu"):
        my_steps.Callback(sqs_queu=QUEUE)  # extra="forbid" comes with StepConfig
    with pytest.raises(ValidationError):
        config.outputs = ("b",)  # frozen


def test_the_custom_step_function_called_plainly_returns_its_stamped_config(
    my_steps: ModuleType,
) -> None:
    pipeline = load_pipeline_module(PIPELINE)
    assert isinstance(pipeline.label, StepFunction)
    assert repr(pipeline.label) == "<callback step 'label'>"
    label = pipeline.label(pipeline.prepare())
    assert isinstance(label, my_steps.Callback)
    assert label.step_name == "label"
    assert label.inputs["records"] == OutputRef(step="prepare", output="records")
    batch = label.inputs["batch_size"]
    assert isinstance(batch, Parameter)
    assert (batch.name, batch.type, batch.default) == ("LabelBatch", "Integer", 100)
    assert isinstance(label.sqs_queue_url, Parameter) and label.sqs_queue_url.name == "QueueUrl"
    assert label.outputs == ("labels_uri", "label_count")
    # the downstream processing step reads a callback output as a step property
    score = pipeline.score(label)
    assert isinstance(score, Processing)
    labels = score.inputs["labels"]
    assert isinstance(labels, StepProperty)  # == on a StepProperty builds a condition
    assert (labels.step, labels.path) == ("label", "Outputs['labels_uri']")
    direct = pipeline.label.property("Outputs['x']")
    assert (direct.step, direct.path) == ("label", "Outputs['x']")


def test_a_custom_step_returning_another_config_is_a_declaration_error(
    my_steps: ModuleType,
) -> None:
    @my_steps.callback_step(display_name="Wrong")
    def wrong() -> Any:
        return OtherConfig()

    with pytest.raises(SmdslError, match="step 'wrong' must return a Callback config, got Other"):
        wrong()


def test_the_custom_decorator_checks_its_settings(my_steps: ModuleType) -> None:
    with pytest.raises(SmdslError, match="step 'bad': display_name"):

        @my_steps.callback_step(display_name="has spaces")
        def bad() -> Any:
            raise AssertionError("never called")


# -- 5. the compile function by import path or as a function --------------------------------------


def test_the_compile_function_by_path_and_as_a_function_resolve_to_one_function(
    my_steps: ModuleType,
) -> None:
    assert my_steps.CALLBACK.compile == "my_steps:compile_callback"
    assert my_steps.CALLBACK_DIRECT.compile is my_steps.compile_callback
    assert my_steps.CALLBACK.compile_function() is my_steps.compile_callback
    assert my_steps.CALLBACK_DIRECT.compile_function() is my_steps.compile_callback
    assert issubclass(my_steps.CALLBACK.options, StepOptions)
    assert my_steps.CALLBACK.provides == frozenset()


def test_definition_with_the_compile_function_given_as_a_function() -> None:
    steps = steps_by_name(definition(CALLABLE))
    label = steps["label"]
    assert label["Type"] == "Callback"
    assert label["Arguments"] == {"mode": "strict"}
    assert label["SqsQueueUrl"] == QUEUE
    assert label["OutputParameters"] == [{"OutputName": "labels_uri", "OutputType": "String"}]
    # depends_on= of the custom decorator reached the SDK step through build.settings
    assert label["DependsOn"] == ["prepare"]
    inputs = {
        i["InputName"]: i["S3Input"]["S3Uri"]
        for i in steps["score"]["Arguments"]["ProcessingInputs"]
    }
    assert inputs["labels"] == {"Get": "Steps.label.OutputParameters['labels_uri']"}


BAD_PATHS = [
    (
        "missing_function",
        "the compile function of step kind 'callback_missing_function', 'my_steps:no_such', "
        "cannot be imported: module 'my_steps' has no attribute 'no_such'",
    ),
    (
        "missing_module",
        "the compile function of step kind 'callback_missing_module', "
        "'no_such_module:compile', names a module that cannot be found",
    ),
    (
        "not_a_function",
        "the compile function of step kind 'callback_not_a_function', 'my_steps:__doc__', "
        "is not a function",
    ),
    (
        "no_colon",
        "the compile function of step kind 'callback_no_colon', 'my_steps.compile_callback', "
        "is not a path of the form 'package.module:function'",
    ),
]


@pytest.mark.parametrize(("broken", "message"), BAD_PATHS, ids=[b for b, _ in BAD_PATHS])
def test_a_broken_compile_path_is_a_clean_error_of_definition(broken: str, message: str) -> None:
    result = cli("definition", str(BAD_PATH), "--env", "dev", "-o", "-", BROKEN_KIND=broken)
    assert_clean_failure(result)
    assert message in result.stderr
    assert result.stdout == ""
    if broken in ("missing_module", "no_colon"):  # found without importing: validate too
        checked = cli("validate", str(BAD_PATH), "--env", "dev", BROKEN_KIND=broken)
        assert_clean_failure(checked)
        assert message in checked.stderr

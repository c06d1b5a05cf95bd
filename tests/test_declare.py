"""Tests for the declare layer: step decorators, configs, references and parameters.

Nothing here loads a pipeline file or builds a graph; steps are declared inline. No SageMaker SDK.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from datetime import timedelta
from typing import Any

import pytest
from conftest import sdk_modules_after
from pydantic import ValidationError

import smdsl
from smdsl import (
    ModelArtifactsRef,
    OutputRef,
    Parameter,
    Processing,
    ProcessingInput,
    ProcessingOutput,
    StepFunction,
    Training,
    TrainingInput,
    param,
    processing_step,
    training_step,
)
from smdsl.errors import DeclarationError, SmdslError

DECORATORS = {"processing": processing_step, "training": training_step}


def declare(kind: str, **settings: Any) -> StepFunction[Any]:
    """Apply the ``kind`` decorator with ``settings`` to a fresh function named ``clean``."""

    def clean() -> Any:
        if kind == "processing":
            return Processing(code="code/clean.py")
        return Training(entry_point="code/train.py")

    return DECORATORS[kind](**settings)(clean)


# ---------------------------------------------------------------------------------------------
# Decorator arguments are checked when the decorator is applied


@pytest.mark.parametrize("kind", ["processing", "training"])
@pytest.mark.parametrize(
    ("settings", "field", "fragment"),
    [
        pytest.param(
            {"instance_type": "m5.large", "framework": "sklearn"},
            "instance_type",
            "'m5.large' is not a SageMaker instance type",
            id="instance-type-without-ml-prefix",
        ),
        pytest.param(
            {"instance_type": "ml.m5.xlarge", "framework": "sklearn", "instance_count": 0},
            "instance_count",
            "must be at least 1, got 0",
            id="instance-count-zero",
        ),
        pytest.param(
            {"instance_type": "ml.m5.xlarge", "framework": "sklearn", "volume_size_gb": 0},
            "volume_size_gb",
            "between 1 and 16384",
            id="volume-zero",
        ),
        pytest.param(
            {"instance_type": "ml.m5.xlarge", "framework": "sklearn", "max_runtime": "2 hours"},
            "max_runtime",
            "'2 hours' is not a duration",
            id="bad-duration-text",
        ),
        pytest.param(
            {"instance_type": "ml.m5.xlarge", "framework": "sklearn", "max_runtime": 0},
            "max_runtime",
            "must be positive",
            id="zero-duration",
        ),
        pytest.param(
            {"instance_type": "ml.m5.xlarge", "framework": "sklearn", "max_runtime": True},
            "max_runtime",
            "expected a duration",
            id="bool-duration",
        ),
        pytest.param(
            {
                "instance_type": "ml.m5.xlarge",
                "framework": "sklearn",
                "environment": {"THREADS": 4},
            },
            "environment",
            "'THREADS' must be a string",
            id="non-string-environment",
        ),
        pytest.param(
            {"instance_type": param("Count", default=2), "framework": "sklearn"},
            "instance_type",
            "instance_type needs String",
            id="integer-parameter-as-instance-type",
        ),
    ],
)
def test_decorator_rejects_a_bad_field_naming_step_and_field(
    kind: str, settings: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(DeclarationError) as info:
        declare(kind, **settings)
    message = str(info.value)
    assert message.startswith("step 'clean': ")
    assert f"{field}: " in message
    assert fragment in message


@pytest.mark.parametrize("kind", ["processing", "training"])
@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        pytest.param(
            {"framework": "sklearn", "image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x"},
            "give framework= or image_uri=, not both",
            id="framework-and-image",
        ),
        pytest.param({}, "give framework= (one of sklearn, xgboost", id="neither"),
        pytest.param(
            {"framework": "lightgbm"},
            "framework 'lightgbm' is not one of sklearn, xgboost, pytorch, tensorflow",
            id="unknown-framework",
        ),
        pytest.param(
            {"framework": "pytorch", "framework_version": "2.1"},
            "framework 'pytorch' needs py_version=",
            id="pytorch-without-py-version",
        ),
        pytest.param(
            {"framework": "tensorflow", "py_version": "py310"},
            "framework 'tensorflow' needs framework_version=",
            id="tensorflow-without-version",
        ),
    ],
)
def test_decorator_checks_the_container_choice(
    kind: str, settings: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(DeclarationError) as info:
        declare(kind, instance_type="ml.m5.xlarge", **settings)
    assert str(info.value).startswith("step 'clean': ")
    assert fragment in str(info.value)


def test_declaration_error_names_the_step_given_by_name_argument() -> None:
    with pytest.raises(DeclarationError, match=r"^step 'prep-data': instance_count: "):
        declare(
            "processing",
            instance_type="ml.m5.xlarge",
            framework="sklearn",
            instance_count=-1,
            name="prep-data",
        )


def test_declaration_error_reports_every_bad_field_at_once() -> None:
    with pytest.raises(DeclarationError) as info:
        declare("training", instance_type="large", framework="xgboost", instance_count=0)
    assert "instance_type: " in str(info.value)
    assert "instance_count: " in str(info.value)


def test_declaration_error_is_a_value_error_and_an_smdsl_error() -> None:
    with pytest.raises(DeclarationError) as info:
        declare("processing", instance_type="m5.large", framework="sklearn")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SmdslError)
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2h", 7200),
        ("90m", 5400),
        (" 45 s ", 45),
        ("1d", 86400),
        (3600, 3600),
        (timedelta(hours=1, minutes=30), 5400),
    ],
)
def test_max_runtime_is_normalised_to_seconds(value: Any, seconds: int) -> None:
    step = declare("training", instance_type="ml.m5.xlarge", framework="xgboost", max_runtime=value)
    assert step.spec.options.max_runtime == seconds


def test_max_runtime_defaults_to_one_day_for_training_and_none_for_processing() -> None:
    training = declare("training", instance_type="ml.m5.xlarge", framework="xgboost")
    processing = declare("processing", instance_type="ml.m5.xlarge", framework="sklearn")
    assert training.spec.options.max_runtime == 86400
    assert processing.spec.options.max_runtime is None


def test_known_framework_gets_its_default_version() -> None:
    sklearn = declare("processing", instance_type="ml.m5.xlarge", framework="sklearn")
    xgboost = declare("training", instance_type="ml.m5.xlarge", framework="xgboost")
    pinned = declare(
        "training", instance_type="ml.m5.xlarge", framework="xgboost", framework_version="1.5-1"
    )
    assert sklearn.spec.options.framework_version == "1.2-1"
    assert xgboost.spec.options.framework_version == "1.7-1"
    assert pinned.spec.options.framework_version == "1.5-1"


def test_parameters_are_accepted_for_instance_type_and_count() -> None:
    instance = param("InstanceType", default="ml.m5.xlarge")
    count = param("InstanceCount", default=2)
    step = declare(
        "training",
        instance_type=instance,
        instance_count=count,
        framework="pytorch",
        framework_version="2.1",
        py_version="py310",
    )
    assert step.spec.options.instance_type is instance
    assert step.spec.options.instance_count is count


def test_float_parameter_is_rejected_as_instance_count() -> None:
    with pytest.raises(DeclarationError, match="instance_count needs Integer"):
        declare(
            "processing",
            instance_type="ml.m5.xlarge",
            framework="sklearn",
            instance_count=param("Count", default=1.5),
        )


def test_spec_records_name_kind_location_and_parameters() -> None:
    line = inspect.currentframe().f_lineno + 2  # type: ignore[union-attr]

    @processing_step(instance_type="ml.m5.xlarge", framework="sklearn", name="prep-data")
    def preprocess(upstream: Processing, env: Any = None) -> Processing:
        return Processing(code="code/clean.py")

    spec = preprocess.spec
    assert (spec.name, spec.kind) == ("prep-data", "processing")
    assert spec.location.file == __file__
    assert spec.location.line == line
    assert spec.parameters == ("upstream", "env")
    assert spec.function_name.endswith("preprocess")
    assert preprocess.name == "prep-data"


def test_depends_on_accepts_step_functions_and_names() -> None:
    first = declare("processing", instance_type="ml.m5.xlarge", framework="sklearn", name="first")
    one = declare("processing", instance_type="ml.m5.xlarge", framework="sklearn", depends_on=first)
    many = declare(
        "processing", instance_type="ml.m5.xlarge", framework="sklearn", depends_on=[first, "other"]
    )
    named = declare(
        "processing", instance_type="ml.m5.xlarge", framework="sklearn", depends_on="first"
    )
    assert one.spec.options.depends_on == ("first",)
    assert many.spec.options.depends_on == ("first", "other")
    assert named.spec.options.depends_on == ("first",)


def test_a_step_cannot_be_decorated_twice() -> None:
    step = declare("processing", instance_type="ml.m5.xlarge", framework="sklearn")
    with pytest.raises(DeclarationError, match="'clean' is already a step"):
        training_step(instance_type="ml.m5.xlarge", framework="xgboost")(step)  # type: ignore[arg-type]


def test_decorating_something_not_callable_is_an_error() -> None:
    with pytest.raises(DeclarationError, match="decorates a function"):
        processing_step(instance_type="ml.m5.xlarge", framework="sklearn")(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Calling a step function returns its config, stamped with the step's name


@processing_step(instance_type="ml.m5.xlarge", framework="sklearn")
def preprocess() -> Processing:
    """Split the data."""
    return Processing(
        code="code/preprocess.py",
        inputs={"raw": "s3://my-bucket/raw/"},
        outputs=["train", "test"],
    )


@training_step(instance_type="ml.m5.xlarge", framework="xgboost")
def train(preprocess: Processing) -> Training:
    return Training(
        entry_point="code/train.py",
        inputs={"train": preprocess.outputs["train"], "test": preprocess.outputs["test"]},
    )


@processing_step(instance_type="ml.m5.xlarge", framework="sklearn", name="evaluate-model")
def evaluate(train: Training) -> Processing:
    return Processing(code="code/evaluate.py", inputs={"model": train.model_artifacts})


def test_calling_a_step_returns_its_config_stamped_with_its_name() -> None:
    config = preprocess()
    assert isinstance(config, Processing)
    assert config.step_name == "preprocess"
    assert config.outputs["train"].step == "preprocess"
    assert config.outputs["train"].name == "train"


def test_steps_compose_like_functions() -> None:
    cfg = train(preprocess())
    assert isinstance(cfg, Training)
    assert cfg.step_name == "train"
    assert cfg.inputs["train"] == OutputRef(step="preprocess", output="train")
    assert cfg.inputs["train"].step == "preprocess"
    assert cfg.inputs["test"].output == "test"

    evaluated = evaluate(cfg)
    assert evaluated.step_name == "evaluate-model"
    assert evaluated.inputs["model"] == ModelArtifactsRef(step="train")


def test_step_function_gives_references_without_being_called() -> None:
    assert preprocess.outputs["x"] == OutputRef(step="preprocess", output="x")
    assert train.model_artifacts == ModelArtifactsRef(step="train")
    assert evaluate.outputs["report"].step == "evaluate-model"
    assert str(preprocess.outputs["train"]) == "preprocess.outputs['train']"
    assert str(train.model_artifacts) == "train.model_artifacts"


def test_processing_step_has_no_model_artifacts() -> None:
    with pytest.raises(AttributeError, match="'preprocess' is a processing step"):
        _ = preprocess.model_artifacts


def test_step_function_keeps_the_function_identity() -> None:
    assert isinstance(preprocess, StepFunction)
    assert preprocess.__name__ == "preprocess"
    assert preprocess.__doc__ == "Split the data."
    assert repr(preprocess) == "<processing step 'preprocess'>"
    assert repr(evaluate) == "<processing step 'evaluate-model'>"


def test_calling_does_not_mutate_the_config_the_function_built() -> None:
    built = Processing(code="x.py", outputs=["a"])

    @processing_step(instance_type="ml.m5.xlarge", framework="sklearn")
    def reuse() -> Processing:
        return built

    stamped = reuse()
    assert stamped.step_name == "reuse"
    assert built.step_name is None
    assert built.outputs["a"].step is None


@pytest.mark.parametrize(
    ("kind", "returned", "expected", "got"),
    [
        ("processing", Training(entry_point="train.py"), "Processing", "Training"),
        ("training", Processing(code="x.py"), "Training", "Processing"),
        ("processing", None, "Processing", "NoneType"),
        ("training", {"entry_point": "train.py"}, "Training", "dict"),
    ],
)
def test_a_step_returning_the_wrong_config_type_errors(
    kind: str, returned: Any, expected: str, got: str
) -> None:
    def wrong() -> Any:
        return returned

    step = DECORATORS[kind](instance_type="ml.m5.xlarge", framework="xgboost")(wrong)
    with pytest.raises(DeclarationError) as info:
        step()
    assert str(info.value) == f"step 'wrong' must return a {expected} config, got {got}"


def test_training_config_not_returned_by_a_step_has_no_model_artifacts() -> None:
    with pytest.raises(ValueError, match="was not returned by a step function"):
        _ = Training(entry_point="train.py").model_artifacts


def test_an_output_of_an_unstamped_config_cannot_be_an_input() -> None:
    loose = Processing(code="x.py", outputs=["train"])
    with pytest.raises(ValidationError, match="belongs to a config that no step returned"):
        Training(entry_point="train.py", inputs={"train": loose.outputs["train"]})


# ---------------------------------------------------------------------------------------------
# Configs


@pytest.mark.parametrize(
    ("model", "kwargs"),
    [
        (Processing, {"code": "x.py", "ouputs": ["train"]}),
        (Training, {"entry_point": "train.py", "hyperparams": {"eta": 0.1}}),
        (ProcessingOutput, {"destination": "s3://my-bucket/out", "path": "/opt/out"}),
        (ProcessingInput, {"source": "s3://my-bucket/in", "mode": "Pipe"}),
        (TrainingInput, {"source": "s3://my-bucket/in", "compression": "Gzip"}),
    ],
)
def test_configs_reject_unknown_fields(model: type[Any], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        model(**kwargs)
    errors = info.value.errors()
    assert [e["type"] for e in errors] == ["extra_forbidden"]
    assert errors[0]["loc"][0] in kwargs


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda v: Processing(code="x.py", inputs={"raw": v}), id="processing-input"),
        pytest.param(lambda v: Training(entry_point="t.py", inputs={"train": v}), id="channel"),
        pytest.param(lambda v: ProcessingInput(source=v), id="ProcessingInput"),
        pytest.param(lambda v: TrainingInput(source=v), id="TrainingInput"),
        pytest.param(lambda v: Processing(code="x.py", outputs={"o": v}), id="destination"),
        pytest.param(lambda v: Training(entry_point="t.py", output_path=v), id="output_path"),
    ],
)
@pytest.mark.parametrize("value", ["data/raw.csv", "/tmp/raw", "https://x.com/a", "s3://B/x"])
def test_configs_reject_strings_that_are_not_s3_uris(build: Any, value: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"{value!r} is not an S3 URI")):
        build(value)


def test_configs_accept_s3_uris_and_parameters_as_inputs() -> None:
    uri = param("InputUri", default="s3://my-bucket/raw/")
    config = Processing(
        code="x.py",
        inputs={"a": "s3://my-bucket/a", "b": uri, "c": ProcessingInput(source="s3://b-1/c")},
    )
    assert config.inputs["a"] == "s3://my-bucket/a"
    assert config.inputs["b"] is uri
    assert isinstance(config.inputs["c"], ProcessingInput)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"code": "x.py", "source_dir": "src", "entry_point": "main.py"}, "not both"),
        ({"code": "x.py", "source_dir": "src"}, "not both"),
        ({}, "give code="),
        ({"source_dir": "src"}, "together with entry_point="),
    ],
)
def test_processing_needs_either_code_or_source_dir(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Processing(**kwargs)


def test_processing_outputs_are_normalised_from_list_and_dict() -> None:
    from_list = Processing(code="x.py", outputs=["train", "test"])
    assert list(from_list.outputs) == ["train", "test"]
    assert from_list.outputs["train"].container_path == "/opt/ml/processing/output/train"
    assert from_list.outputs["train"].destination is None

    from_dict = Processing(
        code="x.py",
        outputs={
            "model": "s3://my-bucket/model",
            "report": {"local_path": "/opt/ml/processing/report"},
            "plain": None,
        },
    )
    assert from_dict.outputs["model"].destination == "s3://my-bucket/model"
    assert from_dict.outputs["model"].name == "model"
    assert from_dict.outputs["report"].container_path == "/opt/ml/processing/report"
    assert from_dict.outputs["plain"].name == "plain"


def test_configs_are_frozen() -> None:
    config = Processing(code="x.py")
    with pytest.raises(ValidationError, match="frozen"):
        config.code = "y.py"  # type: ignore[misc]


def test_training_rejects_a_metric_that_is_not_a_regex() -> None:
    with pytest.raises(ValidationError, match="metric 'auc'"):
        Training(entry_point="t.py", metric_definitions={"auc": "auc=([0-9"})


# ---------------------------------------------------------------------------------------------
# Pipeline parameters


@pytest.mark.parametrize(
    ("default", "expected"),
    [("s3://b/x", "String"), (5, "Integer"), (0.8, "Float"), (True, "Boolean"), (False, "Boolean")],
)
def test_param_infers_its_type_from_the_default(default: Any, expected: str) -> None:
    parameter = param("P", default=default)
    assert isinstance(parameter, Parameter)
    assert parameter.type == expected
    assert parameter.default == default


@pytest.mark.parametrize(
    ("py_type", "expected"),
    [(str, "String"), (int, "Integer"), (float, "Float"), (bool, "Boolean")],
)
def test_param_without_default_takes_an_explicit_type(py_type: type, expected: str) -> None:
    parameter = param("P", type=py_type)
    assert parameter.type == expected
    assert parameter.default is None


def test_param_needs_a_type_or_a_default() -> None:
    with pytest.raises(DeclarationError, match="parameter 'Epochs' needs a default or an explicit"):
        param("Epochs")


@pytest.mark.parametrize(
    ("default", "py_type", "fragment"),
    [
        ("ten", int, "parameter 'P' is Integer but its default 'ten' is a str"),
        (True, int, "parameter 'P' is Integer but its default True is a bool"),
        (1.5, int, "parameter 'P' is Integer but its default 1.5 is a float"),
        (1, str, "parameter 'P' is String but its default 1 is a int"),
        (1, bool, "parameter 'P' is Boolean but its default 1 is a int"),
    ],
)
def test_param_rejects_a_default_of_another_type(
    default: Any, py_type: type, fragment: str
) -> None:
    with pytest.raises(DeclarationError) as info:
        param("P", default=default, type=py_type)
    assert str(info.value) == fragment


def test_param_rejects_an_unsupported_type() -> None:
    with pytest.raises(DeclarationError, match="type must be str, int, float or bool"):
        param("P", default=[1, 2])
    with pytest.raises(DeclarationError, match="type must be str, int, float or bool"):
        param("P", type=dict)  # type: ignore[arg-type]


def test_float_param_accepts_an_integer_default() -> None:
    parameter = param("Ratio", default=1, type=float)
    assert parameter.type == "Float"
    assert parameter.default == 1.0
    assert isinstance(parameter.default, float)


def test_param_records_the_line_that_declared_it() -> None:
    parameter = param("Where", default="here")
    line = inspect.currentframe().f_lineno - 1  # type: ignore[union-attr]
    assert parameter.location is not None
    assert parameter.location.file == __file__
    assert parameter.location.line == line


@pytest.mark.parametrize(
    "use",
    [
        pytest.param(lambda p: f"s3://bucket/{p}/data", id="f-string"),
        pytest.param(lambda p: f"{p:>10}", id="f-string-with-spec"),
        pytest.param(lambda p: str(p), id="str"),
        pytest.param(lambda p: "--epochs=%s" % p, id="percent"),  # noqa: UP031
        pytest.param(lambda p: "--epochs={}".format(p), id="format"),  # noqa: UP032
    ],
)
def test_parameter_cannot_be_formatted_into_a_string(use: Any) -> None:
    epochs = param("Epochs", default=10)
    with pytest.raises(TypeError) as info:
        use(epochs)
    message = str(info.value)
    assert "pipeline parameter 'Epochs' has no value until the pipeline runs" in message
    assert "pass the parameter itself" in message


def test_parameter_format_error_suggests_only_helpers_that_exist() -> None:
    """The hint of the f-string error must not send users to an API smdsl does not have."""
    with pytest.raises(TypeError) as info:
        _ = f"{param('Prefix', default='raw')}"
    suggested = re.findall(r"smdsl\.(\w+)\(", str(info.value))
    missing = [name for name in suggested if not hasattr(smdsl, name)]
    assert not missing, f"the message suggests smdsl.{missing[0]}(), which does not exist"


def test_parameter_repr_still_works() -> None:
    assert "Epochs" in repr(param("Epochs", default=10))


# ---------------------------------------------------------------------------------------------
# Importing and declaring stays away from the SageMaker SDK


def test_declaring_and_calling_steps_never_imports_the_sagemaker_sdk() -> None:
    script = textwrap.dedent(
        """
        import sys
        import smdsl
        from smdsl import Env, Processing, Training, param, processing_step, training_step

        data = param("Data", default="s3://my-bucket/raw/")

        @processing_step(instance_type="ml.m5.xlarge", framework="sklearn", max_runtime="1h")
        def preprocess() -> Processing:
            return Processing(code="p.py", inputs={"raw": data}, outputs=["train"])

        @training_step(instance_type="ml.m5.xlarge", framework="xgboost")
        def train(preprocess: Processing) -> Training:
            return Training(entry_point="t.py", inputs={"train": preprocess.outputs["train"]})

        config = train(preprocess())
        assert config.inputs["train"].step == "preprocess"
        assert train.model_artifacts.step == "train"
        Env()
        """
    )
    assert sdk_modules_after(script) == []


@pytest.mark.parametrize("decorator", [processing_step, training_step])
def test_a_decorator_used_without_its_settings_says_how_to_call_it(decorator: Any) -> None:
    def step() -> None:
        return None

    with pytest.raises(DeclarationError, match=r"needs its settings.*instance_type="):
        decorator(step)
    with pytest.raises(DeclarationError, match="at least the instance type"):
        decorator(framework="sklearn")

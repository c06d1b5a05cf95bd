"""The declare layer of the step kinds, called as plain Python: no AWS, no SageMaker SDK.

The abalone example's step functions are called one by one, each given its upstream configs,
and their configs checked; then conditions, property files, execution variables and the
model and register configs are checked on their own.
"""

from __future__ import annotations

import re
import textwrap
from types import ModuleType
from typing import Any

import pytest
from conftest import ROOT, sdk_modules_after
from pydantic import ValidationError

from smdsl import (
    Comparison,
    Condition,
    ExecutionVariable,
    Fail,
    IsIn,
    Join,
    JsonGet,
    Model,
    ModelArtifactsRef,
    ModelMetrics,
    OutputRef,
    Parameter,
    Processing,
    PropertyFile,
    Register,
    StepProperty,
    Training,
    Transform,
    condition_step,
    execution,
    fail_step,
    join,
    model_step,
    param,
    processing_step,
    register_step,
    transform_step,
)
from smdsl.declare.conditions import AllOf, AnyOf, Not
from smdsl.errors import DeclarationError
from smdsl.graph.loader import load_pipeline

ABALONE = ROOT / "examples" / "abalone" / "pipeline.py"
MSE_PATH = "regression_metrics.mse.value"


@pytest.fixture(scope="module")
def abalone() -> ModuleType:
    return load_pipeline(ABALONE).module


@pytest.fixture(scope="module")
def upstream(abalone: ModuleType) -> dict[str, Any]:
    """The configs of the steps before the condition, each built from its upstreams."""
    preprocess = abalone.preprocess()
    train = abalone.train(preprocess)
    evaluate = abalone.evaluate(train, preprocess)
    return {"preprocess": preprocess, "train": train, "evaluate": evaluate}


# ---------------------------------------------------------------------------------------------
# The abalone steps, called as plain functions


def test_abalone_declares_its_eight_steps_with_their_kinds(abalone: ModuleType) -> None:
    kinds = {s.name: s.spec.kind for s in load_pipeline(ABALONE).steps}
    assert kinds == {
        "preprocess": "processing",
        "train": "training",
        "evaluate": "processing",
        "check_mse": "condition",
        "register": "register",
        "create_model": "model",
        "transform": "transform",
        "mse_too_high": "fail",
    }
    assert abalone.check_mse.spec.parameters == ("evaluate",)
    assert abalone.register.spec.parameters == ("train", "evaluate")
    assert abalone.transform.spec.parameters == ("create_model",)


def test_preprocess(abalone: ModuleType, upstream: dict[str, Any]) -> None:
    config = upstream["preprocess"]
    assert isinstance(config, Processing)
    assert config.step_name == "preprocess"
    assert config.code == "code/preprocess.py"
    assert list(config.outputs) == ["train", "validation", "test"]
    assert config.outputs["test"].local_path == "/opt/ml/processing/test"
    raw = config.inputs["raw"]
    assert isinstance(raw.source, Parameter) and raw.source.name == "InputData"
    options = abalone.preprocess.spec.options
    assert (options.framework, options.framework_version) == ("sklearn", "1.2-1")
    assert isinstance(options.instance_count, Parameter)
    assert options.instance_count.name == "ProcessingInstanceCount"


def test_train_runs_the_built_in_algorithm(upstream: dict[str, Any]) -> None:
    config = upstream["train"]
    assert isinstance(config, Training)
    assert config.entry_point is None and config.source_dir is None
    assert config.code_paths() is None  # the image brings its own code
    assert config.inputs["train"].source == OutputRef(step="preprocess", output="train")
    assert config.inputs["validation"].source == OutputRef(step="preprocess", output="validation")
    assert config.inputs["train"].content_type == "text/csv"
    assert config.hyperparameters["objective"] == "reg:linear"
    assert config.hyperparameters["num_round"] == 50
    assert config.model_artifacts == ModelArtifactsRef(step="train")


def test_evaluate_declares_its_property_file(upstream: dict[str, Any]) -> None:
    config = upstream["evaluate"]
    assert config.property_files == {
        "EvaluationReport": PropertyFile(output="evaluation", path="evaluation.json")
    }
    assert config.inputs["model"].source == ModelArtifactsRef(step="train")
    assert config.inputs["test"].source == OutputRef(step="preprocess", output="test")
    assert config.declared("property_files") == {
        "EvaluationReport": config.property_files["EvaluationReport"]
    }
    mse = config.json_get("EvaluationReport", MSE_PATH, type=float)
    assert mse == JsonGet(
        step="evaluate", property_file="EvaluationReport", json_path=MSE_PATH, type="Float"
    )


def test_check_mse_compares_the_json_get_with_the_threshold(
    abalone: ModuleType, upstream: dict[str, Any]
) -> None:
    config = abalone.check_mse(upstream["evaluate"])
    assert isinstance(config, Condition)
    assert config.step_name == "check_mse"
    when = config.when
    assert isinstance(when, Comparison)
    assert when.type == "LessThanOrEqualTo"
    assert isinstance(when.left, JsonGet)
    assert when.left.step == "evaluate"
    assert when.left.property_file == "EvaluationReport"
    assert when.left.json_path == MSE_PATH
    assert when.left.type == "Float"
    assert isinstance(when.right, Parameter)
    assert (when.right.name, when.right.type, when.right.default) == ("MseThreshold", "Float", 6.0)
    assert config.then == ("register", "create_model", "transform")
    assert config.otherwise == ("mse_too_high",)
    assert config.branches() == {
        "then": ("register", "create_model", "transform"),
        "otherwise": ("mse_too_high",),
    }
    assert str(when) == (
        f"evaluate.json_get('EvaluationReport', '{MSE_PATH}') <= param('MseThreshold')"
    )


def test_register(abalone: ModuleType, upstream: dict[str, Any]) -> None:
    config = abalone.register(upstream["train"], upstream["evaluate"])
    assert isinstance(config, Register)
    assert config.model_data == ModelArtifactsRef(step="train")
    assert config.model_package_group == "AbaloneModelPackageGroup"
    assert isinstance(config.approval_status, Parameter)
    assert config.approval_status.name == "ModelApprovalStatus"
    assert config.approval_status.type == "String"
    assert config.content_types == ["text/csv"]
    assert config.response_types == ["text/csv"]
    assert config.inference_instances == ["ml.t2.medium", "ml.m5.xlarge"]
    assert config.transform_instances == ["ml.m5.xlarge"]
    assert config.entry_point is None and config.code_paths() is None
    assert config.metrics is not None
    assert config.metrics.model_statistics == Join(
        values=(OutputRef(step="evaluate", output="evaluation"), "evaluation.json"), on="/"
    )
    assert config.metrics.model_constraints is None
    assert config.metrics.content_type == "application/json"
    options = abalone.register.spec.options
    assert (options.framework, options.framework_version) == ("xgboost", "1.7-1")


def test_create_model(abalone: ModuleType, upstream: dict[str, Any]) -> None:
    config = abalone.create_model(upstream["train"])
    assert isinstance(config, Model)
    assert config.model_data == ModelArtifactsRef(step="train")
    assert config.entry_point is None and config.code_paths() is None
    assert isinstance(config.model_name, StepProperty)
    assert (config.model_name.step, config.model_name.path) == ("create_model", "ModelName")
    options = abalone.create_model.spec.options
    assert options.instance_type == "ml.m5.large"
    assert (options.framework, options.framework_version) == ("xgboost", "1.7-1")


def test_transform_uses_the_model_name(abalone: ModuleType, upstream: dict[str, Any]) -> None:
    config = abalone.transform(abalone.create_model(upstream["train"]))
    assert isinstance(config, Transform)
    assert isinstance(config.model, StepProperty)
    assert (config.model.step, config.model.path) == ("create_model", "ModelName")
    assert isinstance(config.input, Parameter) and config.input.name == "BatchData"
    assert config.output_path is None  # a path per execution
    assert (config.content_type, config.split_type, config.assemble_with) == (
        "text/csv",
        "Line",
        "Line",
    )
    assert config.data_type == "S3Prefix"
    # The step function gives the same reference as the config it returns.
    model_name = abalone.create_model.model_name
    assert isinstance(model_name, StepProperty)
    assert (model_name.step, model_name.path) == ("create_model", "ModelName")
    options = abalone.transform.spec.options
    assert (options.instance_type, options.instance_count) == ("ml.m5.xlarge", 1)


def test_mse_too_high_names_the_threshold(abalone: ModuleType, upstream: dict[str, Any]) -> None:
    config = abalone.mse_too_high(upstream["evaluate"])
    assert isinstance(config, Fail)
    message = config.message
    assert isinstance(message, Join)
    assert message.on == " "
    first, mse, middle, threshold = message.values
    assert (first, middle) == ("Execution failed: MSE", "is above the threshold")
    assert isinstance(mse, JsonGet)
    assert (mse.step, mse.property_file, mse.json_path, mse.type) == (
        "evaluate",
        "EvaluationReport",
        MSE_PATH,
        None,
    )
    assert isinstance(threshold, Parameter) and threshold.name == "MseThreshold"


def test_the_abalone_graph_and_its_steps_never_import_the_sagemaker_sdk() -> None:
    script = textwrap.dedent(
        f"""
        from smdsl.declare.env import load_env
        from smdsl.graph.build import build_graph
        from smdsl.graph.loader import load_pipeline
        from smdsl.graph.render import render

        module = load_pipeline({str(ABALONE)!r})
        graph = build_graph(module, load_env(module.path, "dev"))
        assert len(graph.order) == 8, graph.order
        for fmt in ("text", "mermaid", "dot"):
            render(graph, fmt)
        m = module.module
        pre = m.preprocess()
        train = m.train(pre)
        evaluate = m.evaluate(train, pre)
        m.check_mse(evaluate)
        m.register(train, evaluate)
        model = m.create_model(train)
        m.transform(model)
        m.mse_too_high(evaluate)
        """
    )
    assert sdk_modules_after(script) == []


# ---------------------------------------------------------------------------------------------
# Conditions


THRESHOLD = param("Threshold", default=0.5)
MSE = JsonGet(step="evaluate", property_file="Report", json_path="mse", type=float)


@pytest.mark.parametrize(
    "value", [THRESHOLD, MSE, execution.pipeline_name], ids=["parameter", "json_get", "execution"]
)
@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (lambda v: v == 1.0, "Equals"),
        (lambda v: v != 1.0, "NotEquals"),
        (lambda v: v < 1.0, "LessThan"),
        (lambda v: v <= 1.0, "LessThanOrEqualTo"),
        (lambda v: v > 1.0, "GreaterThan"),
        (lambda v: v >= 1.0, "GreaterThanOrEqualTo"),
    ],
)
def test_operators_build_their_comparison(value: Any, build: Any, kind: str) -> None:
    condition = build(value)
    assert isinstance(condition, Comparison)
    assert condition.type == kind
    assert condition.left is value
    assert condition.right == 1.0


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (lambda v: 6.0 >= v, "LessThanOrEqualTo"),  # noqa: SIM300
        (lambda v: 6.0 > v, "LessThan"),  # noqa: SIM300
        (lambda v: 6.0 <= v, "GreaterThanOrEqualTo"),  # noqa: SIM300
        (lambda v: 6.0 < v, "GreaterThan"),  # noqa: SIM300
        (lambda v: 6.0 == v, "Equals"),  # noqa: SIM300
        (lambda v: 6.0 != v, "NotEquals"),  # noqa: SIM300
    ],
)
def test_reflected_comparisons_keep_the_value_on_the_left(build: Any, kind: str) -> None:
    """``6.0 >= x`` (the literal on the left, on purpose) gives ``x <= 6.0``."""
    condition = build(MSE)
    assert isinstance(condition, Comparison)
    assert (condition.type, condition.left, condition.right) == (kind, MSE, 6.0)


def test_six_greater_or_equal_x_reads_x_at_most_six() -> None:
    reflected = 6.0 >= MSE  # noqa: SIM300 - the literal on the left is the point
    assert str(reflected) == str(MSE <= 6.0) == "evaluate.json_get('Report', 'mse') <= 6.0"


def test_a_value_compared_with_a_value_of_another_kind_builds_a_comparison() -> None:
    condition = MSE <= THRESHOLD
    assert isinstance(condition, Comparison)
    assert (condition.left, condition.right) == (MSE, THRESHOLD)
    assert isinstance(THRESHOLD > MSE, Comparison)


def test_and_or_not_combine_and_flatten() -> None:
    a, b, c = MSE <= 6.0, THRESHOLD > 0.1, execution.pipeline_name == "p"
    both = a & b
    assert isinstance(both, AllOf) and both.conditions == (a, b)
    assert ((a & b) & c).conditions == (a, b, c)
    assert (a & (b & c)).conditions == (a, b, c)
    either = a | b | c
    assert isinstance(either, AnyOf) and either.conditions == (a, b, c)
    mixed = (a & b) | c
    assert isinstance(mixed, AnyOf)
    assert mixed.conditions == (AllOf(conditions=(a, b)), c)
    assert (a | b) & c == AllOf(conditions=(AnyOf(conditions=(a, b)), c))
    negated = ~a
    assert isinstance(negated, Not) and negated.condition == a
    assert ~negated == a
    assert str(mixed) == f"(({a}) & ({b})) | ({c})"


def test_combining_a_condition_with_a_non_condition_is_refused() -> None:
    with pytest.raises(TypeError, match=r"& combines two conditions.*in parentheses"):
        (MSE <= 6.0) & True
    with pytest.raises(TypeError, match=r"\| combines two conditions"):
        (MSE <= 6.0) | "yes"
    with pytest.raises(TypeError, match="put each comparison in parentheses"):
        MSE <= 6.0 & THRESHOLD  # noqa: B015


def test_is_in_builds_a_membership_test() -> None:
    mode = param("Mode", default="fast")
    condition = mode.is_in(["fast", "full"])
    assert isinstance(condition, IsIn)
    assert condition.value is mode
    assert condition.values == ("fast", "full")
    assert str(condition) == "param('Mode').is_in(['fast', 'full'])"
    assert isinstance(~condition, Not)
    with pytest.raises(TypeError, match=r"is_in\(\) takes a list of values"):
        mode.is_in("fast")
    with pytest.raises(TypeError, match=r"is_in\(\) takes a list of values"):
        mode.is_in(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make",
    [
        lambda: MSE <= 6.0,
        lambda: (MSE <= 6.0) & (THRESHOLD > 0.1),
        lambda: (MSE <= 6.0) | (THRESHOLD > 0.1),
        lambda: ~(MSE <= 6.0),
        lambda: THRESHOLD.is_in([0.1, 0.5]),
        lambda: MSE,
        lambda: THRESHOLD,
        lambda: execution.id,
    ],
)
def test_bool_of_a_condition_raises_with_the_hint(make: Any) -> None:
    with pytest.raises(TypeError) as info:
        bool(make())
    message = str(info.value)
    assert "has no truth value until the pipeline runs" in message
    for hint in ("& (and)", "| (or)", "~ (not)", "is_in("):
        assert hint in message


def test_in_on_a_pipeline_value_points_at_is_in() -> None:
    with pytest.raises(TypeError, match=r"value\.is_in\(\[\.\.\.\]\) rather than `in`"):
        MSE in [1.0, 2.0]  # noqa: B015


def test_parameter_equality_with_a_parameter_stays_a_plain_bool() -> None:
    a = param("A", default=1)
    b = param("B", default=1)
    assert (a == a) is True
    assert (a == b) is False
    assert (a != b) is True
    assert (a != a) is False
    assert a in [b, a]
    assert a not in [b]
    # Parameters stay hashable, as sets and dict keys.
    assert len({a, b, a}) == 2
    assert {a: "x", b: "y"}[a] == "x"
    # A plain bool is refused as a condition, with the reason.
    with pytest.raises(ValidationError, match="is the Python value False"):
        Condition(when=a == b)


def test_json_gets_and_execution_variables_are_hashable() -> None:
    again = JsonGet(step="evaluate", property_file="Report", json_path="mse", type=float)
    assert (MSE == again) is True  # noqa: SIM300
    assert len({MSE, again, execution.id, execution.id}) == 2


def test_condition_when_takes_a_list_as_and_and_then_takes_steps_or_names() -> None:
    @fail_step
    def stop() -> Fail:
        return Fail(message="stop")

    a, b = MSE <= 6.0, THRESHOLD > 0.1
    condition = Condition(when=[a, b], then=stop, otherwise=["later", stop])
    assert condition.when == AllOf(conditions=(a, b))
    assert condition.then == ("stop",)
    assert condition.otherwise == ("later", "stop")
    assert Condition(when=[a]).when == a
    with pytest.raises(ValidationError, match="is an empty list"):
        Condition(when=[])
    with pytest.raises(ValidationError, match="is the Python value True"):
        Condition(when=True)
    with pytest.raises(ValidationError, match="a branch lists steps"):
        Condition(when=a, then=[3])


# ---------------------------------------------------------------------------------------------
# Property files, execution variables, JsonGet types


def test_property_file_positional_form() -> None:
    positional = PropertyFile("evaluation", "evaluation.json")
    assert positional == PropertyFile(output="evaluation", path="evaluation.json")
    assert (positional.output, positional.path) == ("evaluation", "evaluation.json")
    for bad in ("/opt/ml/evaluation.json", "s3://bucket/evaluation.json", ""):
        with pytest.raises(ValidationError, match="give the file's path inside the output"):
            PropertyFile("evaluation", bad)


@pytest.mark.parametrize(
    ("variable", "name", "text"),
    [
        (execution.id, "PipelineExecutionId", "execution.id"),
        (execution.arn, "PipelineExecutionArn", "execution.arn"),
        (execution.start_time, "StartDateTime", "execution.start_time"),
        (execution.current_time, "CurrentDateTime", "execution.current_time"),
        (execution.pipeline_name, "PipelineName", "execution.pipeline_name"),
        (execution.pipeline_arn, "PipelineArn", "execution.pipeline_arn"),
    ],
)
def test_execution_variables(variable: ExecutionVariable, name: str, text: str) -> None:
    assert isinstance(variable, ExecutionVariable)
    assert variable.name == name
    assert str(variable) == text
    assert variable.operand_type == "String"
    with pytest.raises(TypeError, match=r"join\("):
        f"run-{variable}"
    with pytest.raises(TypeError, match=r"join\("):
        variable + "-suffix"  # type: ignore[operator]
    assert join("runs", variable, on="/").values == ("runs", variable)


@pytest.mark.parametrize(
    ("given", "stored"), [(float, "Float"), (int, "Integer"), (str, "String"), (bool, "Boolean")]
)
def test_json_get_type_takes_python_types(given: type, stored: str) -> None:
    value = JsonGet(step="s", property_file="P", json_path="x", type=given)
    assert value.type == stored == value.operand_type


def test_json_get_on_a_received_config_without_that_property_file(
    upstream: dict[str, Any],
) -> None:
    with pytest.raises(DeclarationError) as info:
        upstream["evaluate"].json_get("EvaluationRepot", "mse")
    assert str(info.value) == (
        "evaluate.json_get('EvaluationRepot', ...): step 'evaluate' declares no property file "
        "'EvaluationRepot' (did you mean 'EvaluationReport'?) (declared: EvaluationReport)"
    )


# ---------------------------------------------------------------------------------------------
# Training, Model and Register configs


def test_training_with_source_dir_but_no_entry_point_is_an_error() -> None:
    with pytest.raises(ValidationError, match="source_dir= needs entry_point="):
        Training(source_dir="src")
    assert Training(source_dir="src", entry_point="train.py").code_paths() is not None


def test_model_with_source_dir_but_no_entry_point_is_an_error() -> None:
    with pytest.raises(ValidationError, match="source_dir= needs entry_point="):
        Model(model_data="s3://smdsl-kinds/model.tar.gz", source_dir="src")


def test_register_approval_status_needs_a_string_parameter() -> None:
    with pytest.raises(ValidationError, match="parameter 'Approval' is Integer; a String one"):
        Register(
            model_data="s3://smdsl-kinds/model.tar.gz",
            model_package_group="Group",
            approval_status=param("Approval", default=1),
        )
    with pytest.raises(ValidationError, match="parameter 'Group' is Float; a String one"):
        Register(
            model_data="s3://smdsl-kinds/model.tar.gz",
            model_package_group=param("Group", default=1.0),
        )
    with pytest.raises(ValidationError, match="approval_status"):
        Register(
            model_data="s3://smdsl-kinds/model.tar.gz",
            model_package_group="Group",
            approval_status="Maybe",
        )
    ok = Register(
        model_data="s3://smdsl-kinds/model.tar.gz",
        model_package_group="Group",
        approval_status=param("Approval", default="Approved"),
    )
    assert isinstance(ok.approval_status, Parameter)


def test_model_metrics_needs_a_report() -> None:
    with pytest.raises(ValidationError, match="give at least one report"):
        ModelMetrics()
    with pytest.raises(ValidationError, match="is not an S3 URI"):
        ModelMetrics(model_statistics="evaluation.json")


# ---------------------------------------------------------------------------------------------
# The decorators of the new kinds


def test_control_decorators_work_bare_and_with_settings() -> None:
    @condition_step
    def bare() -> Condition:
        return Condition(when=THRESHOLD > 0.1)

    @condition_step(display_name="Check", depends_on=[bare])
    def configured() -> Condition:
        return Condition(when=THRESHOLD > 0.2)

    assert bare.spec.kind == configured.spec.kind == "condition"
    assert configured.spec.options.display_name == "Check"
    assert configured.spec.options.depends_on == ("bare",)
    assert bare().step_name == "bare"


@pytest.mark.parametrize(
    ("decorator", "example"),
    [(model_step, "@model_step(framework="), (register_step, "@register_step(framework=")],
)
def test_model_decorators_used_bare_say_how_to_call_them(decorator: Any, example: str) -> None:
    def step() -> None:
        return None

    with pytest.raises(DeclarationError, match=re.escape(f"needs its settings: {example}")):
        decorator(step)


def test_transform_step_needs_an_instance_type() -> None:
    with pytest.raises(DeclarationError, match=r"@transform_step\(instance_type="):
        transform_step()


def test_a_step_returning_the_wrong_config_is_refused() -> None:
    @transform_step(instance_type="ml.m5.xlarge")
    def wrong() -> Any:
        return Fail(message="not a transform")

    with pytest.raises(DeclarationError, match="must return a Transform config, got Fail"):
        wrong()


def test_model_name_of_a_model_config_not_returned_by_a_step() -> None:
    with pytest.raises(ValueError, match="not returned by a step function"):
        _ = Model(model_data="s3://smdsl-kinds/model.tar.gz").model_name


def test_processing_step_still_works_beside_the_new_kinds() -> None:
    @processing_step(instance_type="ml.m5.xlarge", framework="sklearn")
    def evaluate() -> Processing:
        return Processing(
            code="e.py",
            outputs=["evaluation"],
            property_files={"Report": PropertyFile("evaluation", "r.json")},
        )

    @model_step(framework="xgboost", framework_version="1.7-1", instance_type="ml.m5.large")
    def create(evaluate: Processing) -> Model:
        return Model(model_data=join(evaluate.outputs["evaluation"], "model.tar.gz", on="/"))

    config = create(evaluate())
    assert isinstance(config.model_data, Join)
    assert evaluate.json_get("Report", "mse") == evaluate().json_get("Report", "mse")


def test_a_transform_instance_count_parameter_is_refused_when_declared() -> None:
    """SDK v3's TransformResources takes a whole number only: refused by the decorator, not
    found only when the definition is written."""
    count = param("TransformCount", default=2)
    with pytest.raises(DeclarationError, match="instance count is a whole number, not parameter"):

        @transform_step(instance_type="ml.m5.large", instance_count=count)
        def score() -> Transform:
            return Transform(model="m", input="s3://smdsl-kinds/in/")


def test_a_transform_model_parameter_must_be_a_string_one() -> None:
    with pytest.raises(ValueError, match="a model's name needs a String one"):
        Transform(model=param("Threshold", default=1.0), input="s3://smdsl-kinds/in/")
    named = Transform(model=param("ModelName", default="m"), input="s3://smdsl-kinds/in/")
    assert isinstance(named.model, Parameter)

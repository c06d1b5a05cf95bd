"""The graph layer of the step kinds: branches, conditions, JsonGet values, model steps.

Each broken pipeline is a fixture in tests/fixtures/kinds/ whose reported line carries a
``# MARK:name`` comment. Every problem is checked through ``build_graph`` (file, line, step,
field and message) and several through the real CLI (exit code 1, one line per problem, no
traceback). No SageMaker SDK is needed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import OFFLINE_ENV, ROOT, clean_env, marker_line, run_cli

from smdsl.declare.env import load_env
from smdsl.errors import GraphError, Problem, display_path
from smdsl.graph.build import PipelineGraph, build_graph
from smdsl.graph.loader import load_pipeline

KINDS = Path(__file__).parent / "fixtures" / "kinds"
ABALONE = ROOT / "examples" / "abalone" / "pipeline.py"
ABALONE_STEPS = [
    "preprocess",
    "train",
    "evaluate",
    "check_mse",
    "register",
    "create_model",
    "transform",
    "mse_too_high",
]
NO_TRUTH = "a condition has no truth value until the pipeline runs"
COMBINE = "combine conditions with & (and), | (or) and ~ (not)"
TYPES = "SageMaker compares numbers with numbers, strings with strings and booleans with booleans"


@pytest.fixture(autouse=True)
def _no_smdsl_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings from the developer's shell must not leak into these tests."""
    for key in list(os.environ):
        if key.startswith("SMDSL_") or key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(key)


# ---------------------------------------------------------------------------------------------
# Helpers


def where(path: Path, mark: str) -> str:
    """How a problem names the marked line: ``File "<path>", line <n>``."""
    return f'File "{display_path(path)}", line {marker_line(path, mark)}'


def cli_where(path: Path, mark: str) -> str:
    """The same, as the CLI (run from the repository's root) shows it."""
    return f'File "{path.resolve().relative_to(ROOT)}", line {marker_line(path, mark)}'


def build(path: Path, env: str | None = "dev") -> PipelineGraph:
    module = load_pipeline(path)
    return build_graph(module, load_env(module.path, env))


def graph_error(path: Path, count: int, env: str | None = "dev") -> GraphError:
    with pytest.raises(GraphError) as info:
        build(path, env)
    error = info.value
    noun = "problem" if count == 1 else "problems"
    assert str(error) == f"{display_path(path)}: {count} {noun} in the pipeline", error.render()
    assert len(error.problems) == count, error.render()
    assert "Traceback" not in error.render()
    return error


def problems_of(error: GraphError, step: str) -> list[Problem]:
    return [p for p in error.problems if p.step == step]


def assert_reported(
    error: GraphError,
    path: Path,
    mark: str,
    step: str,
    field: str | None,
    *fragments: str,
) -> Problem:
    """One problem of ``step`` with ``field`` is at the marked line and holds every fragment."""
    found = [p for p in problems_of(error, step) if p.field == field]
    assert len(found) == 1, f"expected one problem of {step!r} at {field!r}: {error.render()}"
    problem = found[0]
    text = str(problem)
    prefix = f"{where(path, mark)}, in step {step!r}: "
    prefix += f"{field}: " if field else ""
    assert text.startswith(prefix), text
    for fragment in fragments:
        assert fragment in text, text
    assert f"  - {text}" in error.render().splitlines()
    assert problem.location is not None
    assert Path(problem.location.file).resolve() == path.resolve()
    assert problem.location.line == marker_line(path, mark)
    return problem


def validate_fails(path: Path, marks: list[str], *fragments: str) -> str:
    """``smdsl validate PATH --env dev`` fails cleanly with one line per marked problem."""
    result = run_cli("validate", str(path), "--env", "dev")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    lines = result.stderr.splitlines()
    count = len(marks)
    noun = "problem" if count == 1 else "problems"
    shown = path.resolve().relative_to(ROOT)
    assert lines[0] == f"error: {shown}: {count} {noun} in the pipeline", result.stderr
    problem_lines = [line for line in lines if line.startswith("  - File ")]
    assert len(problem_lines) == count, result.stderr
    assert len(lines) == count + 1, result.stderr
    for mark in sorted(set(marks)):
        expected = marks.count(mark)
        assert sum(cli_where(path, mark) in line for line in problem_lines) == expected, (
            mark,
            result.stderr,
        )
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    return result.stderr


# ---------------------------------------------------------------------------------------------
# Branches


BRANCH = KINDS / "branch_from_top.py"


def test_a_top_level_step_using_a_branch_step_is_told_to_join_the_branch() -> None:
    assert_reported(
        graph_error(BRANCH, 2),
        BRANCH,
        "transform",
        "transform",
        None,
        "uses step 'create_model', which runs only when condition 'check' holds (it is in its "
        "then=), but runs at the top level; add 'transform' to the then= of 'check' too",
    )


def test_a_top_level_step_depending_on_a_branch_step_is_told_to_join_the_branch() -> None:
    assert_reported(
        graph_error(BRANCH, 2),
        BRANCH,
        "report",
        "report",
        None,
        "uses step 'create_model', which runs only when condition 'check' holds (it is in its "
        "then=), but runs at the top level; add 'report' to the then= of 'check' too",
    )


def test_branch_placement_problems_through_the_cli() -> None:
    stderr = validate_fails(
        BRANCH,
        ["transform", "report"],
        "add 'transform' to the then= of 'check' too",
        "add 'report' to the then= of 'check' too",
    )
    assert "in step 'create_model'" not in stderr  # the branch step itself is fine


def test_listing_the_user_in_the_branch_too_makes_the_pipeline_valid(tmp_path: Path) -> None:
    """The fix the message names works: with both users in then=, the graph builds."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "evaluate.py").write_text("print(1)\n")
    fixed = BRANCH.read_text().replace(
        "then=[create_model]", "then=[create_model, transform, report]"
    )
    assert fixed != BRANCH.read_text()
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(fixed)
    graph = build(pipeline, None)
    assert graph.order[:3] == ["train", "evaluate", "check"]
    for name in ("create_model", "transform", "report"):
        assert "branch:then" in graph.dag.edges["check", name]["via"]


BRANCH_LISTS = KINDS / "branch_lists.py"


def test_a_step_listed_in_two_branches() -> None:
    error = graph_error(BRANCH_LISTS, 4)
    assert_reported(
        error,
        BRANCH_LISTS,
        "twice",
        "recheck",
        "otherwise[0]",
        "step 'create_model' is in two branches: then= of 'check' and otherwise= of "
        "'recheck'; a step runs in one place only",
    )
    assert_reported(
        error,
        BRANCH_LISTS,
        "twice",
        "recheck",
        "then[0]",
        "step 'stop' is in two branches: otherwise= of 'check' and then= of 'recheck'",
    )
    assert problems_of(error, "check") == []  # the first listing stands


def test_a_condition_listing_itself() -> None:
    assert_reported(
        graph_error(BRANCH_LISTS, 4),
        BRANCH_LISTS,
        "itself",
        "loop",
        "then[0]",
        "a condition cannot run in its own branch",
    )


def test_an_unknown_step_in_then_suggests_the_close_name() -> None:
    assert_reported(
        graph_error(BRANCH_LISTS, 4),
        BRANCH_LISTS,
        "typo",
        "typo",
        "then[0]",
        "unknown step 'create_modle' (did you mean 'create_model'?)",
    )


def test_branch_list_problems_through_the_cli() -> None:
    validate_fails(
        BRANCH_LISTS,
        ["twice", "twice", "itself", "typo"],
        "then[0]: a condition cannot run in its own branch",
        "then[0]: unknown step 'create_modle' (did you mean 'create_model'?)",
        "otherwise[0]: step 'create_model' is in two branches",
    )


# ---------------------------------------------------------------------------------------------
# JsonGet values and references


JSON_GETS = KINDS / "json_gets.py"


def test_a_condition_on_an_undeclared_property_file_of_the_step_function() -> None:
    assert_reported(
        graph_error(JSON_GETS, 4),
        JSON_GETS,
        "on_function",
        "on_function",
        "when.left",
        "evaluate.json_get('EvaluationReprot', 'regression_metrics.mse.value'): step "
        "'evaluate' declares no property file 'EvaluationReprot' (did you mean "
        "'EvaluationReport'?) (declared: EvaluationReport)",
    )


def test_a_condition_on_an_undeclared_property_file_of_the_received_config() -> None:
    assert_reported(
        graph_error(JSON_GETS, 4),
        JSON_GETS,
        "on_config",
        "on_config",
        None,
        "evaluate.json_get('EvalReport', ...): step 'evaluate' declares no property file "
        "'EvalReport' (did you mean 'EvaluationReport'?) (declared: EvaluationReport)",
    )


def test_a_json_get_on_a_training_step() -> None:
    assert_reported(
        graph_error(JSON_GETS, 4),
        JSON_GETS,
        "on_training",
        "on_training",
        "when.left",
        "train.json_get('EvaluationReport', 'mse'): step 'train' is a training step; only "
        "processing steps have property files",
    )


def test_a_json_get_on_a_step_that_does_not_exist() -> None:
    assert_reported(
        graph_error(JSON_GETS, 4),
        JSON_GETS,
        "on_missing",
        "on_missing",
        "when.left",
        "refers to unknown step 'evalute' (did you mean 'evaluate'?)",
    )


def test_json_get_problems_through_the_cli() -> None:
    validate_fails(
        JSON_GETS,
        ["on_function", "on_config", "on_training", "on_missing"],
        "(did you mean 'EvaluationReport'?)",
        "only processing steps have property files",
        "refers to unknown step 'evalute'",
    )


REGISTER = KINDS / "register_metrics.py"


def test_register_metrics_on_an_undeclared_output_of_the_received_config() -> None:
    assert_reported(
        graph_error(REGISTER, 2),
        REGISTER,
        "config",
        "register",
        None,
        "evaluate.outputs['evalution']: step 'evaluate' declares no output 'evalution' "
        "(did you mean 'evaluation'?) (declared: evaluation)",
    )


def test_register_metrics_on_an_undeclared_output_of_the_step_function() -> None:
    assert_reported(
        graph_error(REGISTER, 2),
        REGISTER,
        "function",
        "register_again",
        "metrics.model_constraints",
        "evaluate.outputs['evaluations']: step 'evaluate' declares no output 'evaluations' "
        "(did you mean 'evaluation'?) (declared: evaluation)",
    )


def test_register_metrics_problems_through_the_cli() -> None:
    validate_fails(REGISTER, ["config", "function"], "(did you mean 'evaluation'?)")


PROPERTY_FILE = KINDS / "property_file_output.py"


def test_a_property_file_in_an_output_the_step_does_not_declare() -> None:
    assert_reported(
        graph_error(PROPERTY_FILE, 1),
        PROPERTY_FILE,
        "config",
        "evaluate",
        None,
        "property file 'EvaluationReport' is in output 'evaluaton', which this step does not "
        "declare (did you mean 'evaluation'?) (declared: evaluation)",
    )


# ---------------------------------------------------------------------------------------------
# Conditions inside step functions


TRUTH = KINDS / "truth_values.py"


@pytest.mark.parametrize(
    ("mark", "step"),
    [
        ("and", "with_and"),
        ("or", "with_or"),
        ("not", "with_not"),
        ("if", "with_if"),
        ("chained", "chained"),
    ],
)
def test_python_logic_on_a_condition_names_the_operators_to_use(mark: str, step: str) -> None:
    problem = assert_reported(
        graph_error(TRUTH, 5),
        TRUTH,
        mark,
        step,
        None,
        f"raised TypeError: {NO_TRUTH}",
        COMBINE,
        "chained comparisons (a < b < c)",
        "is_in(",
    )
    assert "\n" not in str(problem)


def test_python_logic_on_conditions_through_the_cli() -> None:
    stderr = validate_fails(TRUTH, ["and", "or", "not", "if", "chained"])
    assert stderr.count(COMBINE) == 5


# ---------------------------------------------------------------------------------------------
# Operand types


OPERANDS = KINDS / "operand_types.py"


def test_a_string_parameter_compared_with_a_float() -> None:
    assert_reported(
        graph_error(OPERANDS, 4),
        OPERANDS,
        "string",
        "string_vs_float",
        "when",
        "param('Mode') >= 0.5 compares param('Mode') (String) with float 0.5",
        TYPES,
    )


def test_a_string_json_get_compared_with_a_number() -> None:
    assert_reported(
        graph_error(OPERANDS, 4),
        OPERANDS,
        "jsonget",
        "jsonget_vs_number",
        "when",
        "evaluate.json_get('Report', 'label') == 3 compares evaluate.json_get('Report', "
        "'label') (String) with integer 3",
        TYPES,
    )


def test_a_boolean_parameter_compared_with_an_integer() -> None:
    assert_reported(
        graph_error(OPERANDS, 4),
        OPERANDS,
        "boolean",
        "boolean_vs_integer",
        "when.conditions[1]",
        "param('Enabled') == 1 compares param('Enabled') (Boolean) with integer 1",
        TYPES,
    )


def test_a_boolean_parameter_in_a_list_of_integers() -> None:
    assert_reported(
        graph_error(OPERANDS, 4),
        OPERANDS,
        "is_in",
        "boolean_in_integers",
        "when.condition",
        "param('Enabled').is_in([param('Epochs'), 3]) compares param('Enabled') (Boolean) "
        "with param('Epochs') (Integer)",
        TYPES,
    )


def test_integers_compared_with_floats_are_no_problem() -> None:
    assert problems_of(graph_error(OPERANDS, 4), "integer_vs_float") == []


def test_operand_type_problems_through_the_cli() -> None:
    stderr = validate_fails(OPERANDS, ["string", "jsonget", "boolean", "is_in"])
    assert stderr.count(TYPES) == 4
    assert "integer_vs_float" not in stderr


def test_compatible_operands_validate() -> None:
    path = KINDS / "compatible_operands.py"
    graph = build(path)
    check = graph.nodes["check"].config
    assert len(check.when.conditions) == 7
    assert graph.upstream("check") == ["evaluate"]
    result = run_cli("validate", str(path), "--env", "dev")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"ok: {path.relative_to(ROOT)}: 3 steps, 4 parameters (dev)\n")


# ---------------------------------------------------------------------------------------------
# Environment overrides of a control step


OVERRIDE = KINDS / "override" / "pipeline.py"
OVERRIDE_KEY = (
    f"{display_path(OVERRIDE.parent / 'smdsl.toml')}: [envs.dev]: steps.check_mse: a condition "
    "step has no instance_type"
)


def test_an_instance_type_override_on_a_condition_step_names_the_profile_key() -> None:
    problem = assert_reported(
        graph_error(OVERRIDE, 1), OVERRIDE, "check_mse", "check_mse", None, OVERRIDE_KEY
    )
    assert problem.message.startswith(OVERRIDE_KEY)


def test_an_override_on_a_condition_step_through_the_cli() -> None:
    validate_fails(
        OVERRIDE,
        ["check_mse"],
        "tests/fixtures/kinds/override/smdsl.toml: [envs.dev]: steps.check_mse: a condition "
        "step has no instance_type",
    )


def test_an_override_variable_on_a_condition_step_names_the_variable() -> None:
    env = clean_env(**OFFLINE_ENV, SMDSL_STEPS__CHECK_MSE__INSTANCE_TYPE="ml.m5.xlarge")
    result = run_cli("validate", str(ABALONE), "--env", "dev", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [problem] = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert "in step 'check_mse'" in problem
    assert "SMDSL_STEPS__CHECK_MSE__INSTANCE_TYPE" in problem
    assert "a condition step has no instance_type" in problem


# ---------------------------------------------------------------------------------------------
# The abalone example


def test_the_abalone_graph_has_its_eight_steps_and_branches() -> None:
    graph = build(ABALONE)
    assert graph.order == ABALONE_STEPS
    assert graph.upstream("register") == ["train", "evaluate", "check_mse"]
    assert graph.upstream("transform") == ["check_mse", "create_model"]
    for name in ("register", "create_model", "transform"):
        assert "branch:then" in graph.dag.edges["check_mse", name]["via"]
    assert graph.dag.edges["check_mse", "mse_too_high"]["via"] == {"branch:otherwise"}
    assert graph.dag.edges["create_model", "transform"]["via"] == {"parameter", "reference"}
    assert [p.name for p in graph.parameters] == [
        "BatchData",
        "InputData",
        "ModelApprovalStatus",
        "MseThreshold",
        "ProcessingInstanceCount",
    ]


def test_graph_text_of_abalone_shows_all_eight_steps() -> None:
    result = run_cli("graph", str(ABALONE), "--env", "dev")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "abalone-dev: 8 steps"
    assert lines[1].startswith("parameters: BatchData=")
    rows = {line.split()[0]: line for line in lines[2:]}
    assert list(rows) == ABALONE_STEPS
    assert "condition, when evaluate.json_get('EvaluationReport', " in rows["check_mse"]
    assert "then register, create_model, transform; otherwise mse_too_high" in rows["check_mse"]
    assert rows["check_mse"].endswith("<- evaluate")
    assert rows["register"].endswith("<- train, evaluate, check_mse (then)")
    assert rows["transform"].endswith("<- check_mse (then), create_model")
    assert rows["mse_too_high"].endswith("<- evaluate, check_mse (otherwise)")
    assert "register, xgboost 1.7-1, into AbaloneModelPackageGroup" in rows["register"]
    assert "model, xgboost 1.7-1" in rows["create_model"]
    assert "transform, ml.m5.xlarge" in rows["transform"]
    assert "fail, fails the execution" in rows["mse_too_high"]


def test_graph_mermaid_of_abalone_shows_all_eight_steps() -> None:
    result = run_cli("graph", str(ABALONE), "--env", "dev", "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("flowchart TD\n")
    ids = dict(re.findall(r'^\s+(s\d+)\["([^<]+)<br/>', result.stdout, flags=re.M))
    assert sorted(ids.values()) == sorted(ABALONE_STEPS)
    node = {name: node_id for node_id, name in ids.items()}
    edges = set(re.findall(r"^\s+(s\d+) -->(\|\w+\|)? (s\d+)$", result.stdout, flags=re.M))
    assert len(edges) == 13, result.stdout
    assert (node["check_mse"], "|otherwise|", node["mse_too_high"]) in edges
    for name in ("register", "create_model", "transform"):
        assert (node["check_mse"], "|then|", node[name]) in edges
    assert (node["create_model"], "", node["transform"]) in edges
    assert (node["evaluate"], "", node["check_mse"]) in edges


def test_graph_dot_of_abalone_shows_all_eight_steps() -> None:
    result = run_cli("graph", str(ABALONE), "--env", "dev", "-f", "dot")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('digraph "abalone-dev" {')
    nodes = re.findall(r'^\s+"([^"]+)" \[label=', result.stdout, flags=re.M)
    assert nodes == ABALONE_STEPS
    edges = set(
        re.findall(r'^\s+"([^"]+)" -> "([^"]+)"( \[label="\w+"\])?;$', result.stdout, flags=re.M)
    )
    assert len(edges) == 13, result.stdout
    for name in ("register", "create_model", "transform"):
        assert ("check_mse", name, ' [label="then"]') in edges
    assert ("check_mse", "mse_too_high", ' [label="otherwise"]') in edges
    assert ("train", "create_model", "") in edges


# ---------------------------------------------------------------------------------------------
# Model names


MODEL_NAME = KINDS / "model_name_of_training.py"


def test_the_model_name_of_a_training_step() -> None:
    assert_reported(
        graph_error(MODEL_NAME, 1),
        MODEL_NAME,
        "transform",
        "transform",
        "model",
        "train.model_name: step 'train' is a training step; only model steps have a model name",
    )


# ---------------------------------------------------------------------------------------------
# Regressions


def test_a_step_of_one_branch_using_a_step_of_the_other_is_told_to_move() -> None:
    path = KINDS / "other_branch.py"
    error = graph_error(path, 1)
    problem = assert_reported(
        error,
        path,
        "transform",
        "transform",
        None,
        "uses step 'create_model', which runs only when condition 'check' holds",
        "but runs in the otherwise= of 'check'",
        "move 'transform' to the then= of 'check'",
    )
    assert " too" not in problem.message  # adding it "too" would list it in two branches


def test_a_condition_decided_by_a_step_of_its_own_branch() -> None:
    path = KINDS / "condition_on_own_branch.py"
    error = graph_error(path, 1)
    assert_reported(
        error,
        path,
        "check",
        "check",
        None,
        "is decided from step 'create_model' (create_model -> check), which it lists in its then=",
    )


def test_a_cycle_through_references_is_reported_once() -> None:
    path = KINDS / "reference_cycle.py"
    error = graph_error(path, 1)
    assert_reported(error, path, "a", "a", None, "cycle: a -> b -> a")


def test_one_parameter_declared_twice_alike_is_one_parameter() -> None:
    graph = build(KINDS / "same_parameter_twice.py")
    assert [(p.name, p.default) for p in graph.parameters] == [("Threshold", 0.5)]

"""Tests for the graph layer: loading pipeline files, building and checking the DAG, the CLI.

Each error kind has a fixture in tests/fixtures/invalid/ whose offending line carries a
``# MARK:name`` comment; the expected line numbers are found from those markers. No SageMaker SDK.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import marker_line, sdk_modules_after

from smdsl import Env
from smdsl.cli import main
from smdsl.declare.env import load_env
from smdsl.declare.steps import MODULE_STEPS
from smdsl.errors import GraphError, PipelineLoadError, Problem, SmdslError, display_path
from smdsl.graph.build import PipelineGraph, build_graph
from smdsl.graph.loader import load_pipeline

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid"
INVALID = FIXTURES / "invalid"
PROFILES = FIXTURES / "envs" / "profiles" / "pipeline.py"


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


def build(path: Path, env: str | None = None) -> PipelineGraph:
    module = load_pipeline(path)
    return build_graph(module, load_env(module.path, env))


def graph_error(path: Path, env: str | None = None) -> GraphError:
    with pytest.raises(GraphError) as info:
        build(path, env)
    error = info.value
    count = len(error.problems)
    noun = "problem" if count == 1 else "problems"
    assert str(error) == f"{display_path(path)}: {count} {noun} in the pipeline"
    return error


def problem_of(error: GraphError, step: str) -> Problem:
    found = [p for p in error.problems if p.step == step]
    assert len(found) == 1, f"expected one problem for step {step!r}: {error.render()}"
    return found[0]


def assert_reported(
    error: GraphError, path: Path, mark: str, step: str, *fragments: str
) -> Problem:
    """One problem names ``step``, the marked line of ``path`` and every fragment."""
    problem = problem_of(error, step)
    text = str(problem)
    assert text.startswith(f"{where(path, mark)}, in step {step!r}: "), text
    for fragment in fragments:
        assert fragment in text
    assert f"  - {text}" in error.render().splitlines()
    assert problem.location is not None
    assert Path(problem.location.file).resolve() == path.resolve()
    return problem


def load_error(path: Path) -> PipelineLoadError:
    with pytest.raises(PipelineLoadError) as info:
        load_pipeline(path)
    return info.value


# ---------------------------------------------------------------------------------------------
# One test per error kind found while checking names and declared edges


def test_unknown_step_in_a_parameter_suggests_the_close_name() -> None:
    path = INVALID / "unknown_param.py"
    problem = assert_reported(
        graph_error(path),
        path,
        "train",
        "train",
        "parameter 'preprocesss' does not name a step (did you mean 'preprocess'?)",
    )
    assert problem.field == "preprocesss"


def test_unknown_step_in_depends_on_suggests_the_close_name() -> None:
    path = INVALID / "unknown_depends_on.py"
    problem = assert_reported(
        graph_error(path),
        path,
        "report",
        "report",
        "unknown step 'trian' (did you mean 'train'?)",
    )
    assert problem.field == "depends_on"


def test_cycles_are_reported_as_paths_from_their_first_declared_step() -> None:
    path = INVALID / "cycle.py"
    error = graph_error(path)
    assert len(error.problems) == 2
    assert_reported(error, path, "a", "a", "cycle: a -> b -> a")
    assert_reported(error, path, "x", "x", "cycle: x -> y -> z -> x")


@pytest.mark.parametrize(
    ("fixture", "step"),
    [("duplicate_name.py", "same"), ("duplicate_function.py", "preprocess")],
)
def test_duplicate_step_names_point_at_both_declarations(fixture: str, step: str) -> None:
    path = INVALID / fixture
    error = graph_error(path)
    assert len(error.problems) == 1
    assert_reported(
        error,
        path,
        "second",
        step,
        f"duplicate step name {step!r}, first declared at {where(path, 'first')}",
    )


def test_step_name_that_sagemaker_rejects() -> None:
    path = INVALID / "bad_step_name.py"
    problem = assert_reported(
        graph_error(path),
        path,
        "bad",
        "bad name!",
        "step name 'bad name!' would be rejected by SageMaker",
    )
    assert problem.field == "name"


def test_parameter_names_that_sagemaker_rejects() -> None:
    path = INVALID / "bad_param_name.py"
    error = graph_error(path)
    assert len(error.problems) == 2
    module_level, inner = error.problems
    assert str(module_level).startswith(f"{where(path, 'module')}: ")
    assert "parameter name 'bad threshold!' would be rejected by SageMaker" in str(module_level)
    problem = assert_reported(
        error,
        path,
        "inner",
        "clean",
        "parameter name 'max/rows' would be rejected by SageMaker",
    )
    assert problem is inner
    assert problem.field == "arguments[3]"


def test_parameter_annotated_with_the_wrong_config_type() -> None:
    path = INVALID / "wrong_annotation.py"
    problem = assert_reported(
        graph_error(path),
        path,
        "train",
        "train",
        "parameter 'preprocess' is annotated Training but step 'preprocess' is a processing "
        "step returning Processing",
    )
    assert problem.field == "preprocess"


def test_several_problems_are_reported_together() -> None:
    path = INVALID / "several_problems.py"
    error = graph_error(path)
    assert len(error.problems) == 4
    assert_reported(error, path, "name", "bad name!", "would be rejected by SageMaker")
    assert_reported(error, path, "param", "train", "(did you mean 'features'?)")
    assert_reported(error, path, "dep", "report", "unknown step 'tran' (did you mean 'train'?)")
    assert_reported(error, path, "annotation", "tune", "is annotated Training")
    assert error.render().splitlines()[0] == f"{display_path(path)}: 4 problems in the pipeline"


# ---------------------------------------------------------------------------------------------
# One test per error kind found while calling the step functions


def test_reference_to_an_undeclared_output_through_the_step_function() -> None:
    path = INVALID / "undeclared_output.py"
    problem = assert_reported(
        graph_error(path),
        path,
        "evaluate",
        "evaluate",
        "preprocess.outputs['tset']: step 'preprocess' declares no output 'tset' "
        "(did you mean 'test'?) (declared: train, test)",
    )
    assert problem.field == "inputs['test']"


def test_reference_to_an_undeclared_output_through_the_config_parameter() -> None:
    """``preprocess.outputs["trian"]`` on the config a step receives (the documented style)
    must get the same helpful message as on the step function, not a bare KeyError."""
    path = INVALID / "undeclared_output.py"
    problem = problem_of(graph_error(path), "train")
    text = str(problem)
    assert text.startswith((where(path, "train"), where(path, "train-ref"))), text
    assert "in step 'train'" in text
    assert "declares no output 'trian'" in text, text
    assert "(declared: train, test)" in text, text


def test_model_artifacts_of_a_processing_step() -> None:
    path = INVALID / "model_artifacts_of_processing.py"
    error = graph_error(path)
    assert len(error.problems) == 2
    assert_reported(
        error,
        path,
        "attr",
        "retrain",
        "raised AttributeError: step 'prep' is a processing step: no model",
    )
    problem = assert_reported(
        error,
        path,
        "evaluate",
        "evaluate",
        "prep.model_artifacts: step 'prep' is a processing step; only training steps have "
        "model artifacts",
    )
    assert problem.field == "inputs['model']"


def test_missing_code_files_and_folders() -> None:
    path = INVALID / "missing_code.py"
    error = graph_error(path)
    assert len(error.problems) == 4
    code_dir = display_path(INVALID / "code")
    clean = assert_reported(
        error,
        path,
        "script",
        "clean",
        f"file 'code/does_not_exist.py' not found (looked for {code_dir}/does_not_exist.py)",
    )
    assert clean.field == "code"
    train = assert_reported(error, path, "entry", "train", "file 'code/absent_train.py' not found")
    assert train.field == "entry_point"
    package = [p for p in error.problems if p.step == "package"]
    assert [p.field for p in package] == ["source_dir", "entry_point"]
    assert all(str(p).startswith(where(path, "folder")) for p in package)
    assert "folder 'no_such_src' not found" in str(package[0])
    assert "file 'no_such_src/main.py' not found" in str(package[1])


def test_exception_in_a_step_function_is_reported_at_the_raising_line() -> None:
    path = INVALID / "step_raises.py"
    error = graph_error(path)
    # `train` takes the failed `preprocess`: it is skipped, not reported a second time.
    assert sorted(p.step or "" for p in error.problems) == ["preprocess", "split"]
    assert_reported(
        error, path, "raise", "preprocess", "raised RuntimeError: no raw data for this region"
    )
    assert_reported(error, path, "helper", "split", "raised KeyError: 'mars-north-1'")
    assert "Traceback" not in error.render()


def test_pydantic_error_in_a_step_function_names_the_field() -> None:
    path = INVALID / "pydantic_error.py"
    assert_reported(graph_error(path), path, "field", "clean", "Processing: outputz: unknown field")


def test_two_different_parameters_with_one_name() -> None:
    path = INVALID / "param_conflict.py"
    assert_reported(
        graph_error(path),
        path,
        "conflict",
        "clean",
        "two different parameters are named 'Threshold': Float default 0.5 and String default "
        "'high'",
    )


def test_several_problems_from_calling_steps_are_reported_together() -> None:
    path = INVALID / "several_call_problems.py"
    error = graph_error(path)
    assert len(error.problems) == 4
    assert_reported(error, path, "missing", "clean", "file 'code/nowhere.py' not found")
    assert_reported(error, path, "raise", "explode", "raised ValueError: bad split")
    assert_reported(error, path, "field", "typo", "argumnets: unknown field")
    assert_reported(error, path, "ref", "train", "declares no output 'dta' (did you mean 'data'?)")


def test_a_file_without_steps() -> None:
    error = graph_error(INVALID / "no_steps.py")
    assert len(error.problems) == 1
    assert "no steps found in" in str(error.problems[0])
    assert "@processing_step, @training_step or another step decorator" in str(error.problems[0])


# ---------------------------------------------------------------------------------------------
# Loading errors


def test_syntax_error_names_the_line() -> None:
    path = INVALID / "syntax_error.py"
    error = load_error(path)
    assert str(error).startswith(f"{where(path, 'syntax')}: syntax error: ")
    assert "def broken(:" in str(error)
    assert error.render() == str(error)


def test_exception_at_import_time_names_the_line() -> None:
    path = INVALID / "import_error.py"
    error = load_error(path)
    assert str(error) == (
        f"{where(path, 'import')}: raised ValueError: "
        "could not convert string to float: 'eighty percent'"
    )


def test_bad_decorator_argument_at_import_time_names_line_step_and_field() -> None:
    path = INVALID / "bad_decorator.py"
    error = load_error(path)
    assert str(error).startswith(f"{where(path, 'decorator')}: step 'clean': instance_type: ")
    assert "'m5.large' is not a SageMaker instance type" in str(error)


def test_missing_pipeline_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "pipeline.py"
    assert str(load_error(path)) == f"{display_path(path)}: no such file"


def test_pipeline_file_must_be_python(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("steps: []\n")
    assert "a pipeline file is a Python file (.py)" in str(load_error(path))


def test_failed_load_leaves_no_module_behind() -> None:
    before = set(sys.modules)
    load_error(INVALID / "import_error.py")
    load_error(INVALID / "syntax_error.py")
    assert not [m for m in set(sys.modules) - before if m.startswith("smdsl_pipeline_")]


# ---------------------------------------------------------------------------------------------
# Valid pipelines: edges, order, env


def test_edges_come_from_parameters_references_and_depends_on() -> None:
    graph = build(VALID / "edges.py")
    via = {edge: data["via"] for edge, data in graph.dag.edges.items()}
    assert via == {
        ("preprocess", "train"): {"parameter", "reference"},
        ("preprocess", "evaluate"): {"reference"},
        ("train", "evaluate"): {"reference"},
        ("evaluate", "report"): {"depends_on"},
    }
    assert graph.order == ["preprocess", "train", "evaluate", "report"]
    assert graph.upstream("evaluate") == ["preprocess", "train"]


def test_valid_graph_holds_configs_options_and_parameters() -> None:
    graph = build(VALID / "edges.py")
    assert [p.name for p in graph.parameters] == ["InputData"]
    train = graph.nodes["train"]
    assert (train.kind, train.name) == ("training", "train")
    assert train.options.max_runtime == 7200
    assert train.config.hyperparameters == {"seed": 7}
    assert train.config.inputs["train"].step == "preprocess"
    assert graph.nodes["evaluate"].config.inputs["model"].step == "train"
    assert train.base_dir == VALID.resolve()
    assert graph.nodes["report"].options.instance_type == "ml.t3.medium"
    assert graph.pipeline_name == "edges"


def test_independent_steps_keep_declaration_order() -> None:
    expected = ["first", "second", "third", "produce", "consume", "tail"]
    graph = build(VALID / "order.py")
    assert graph.order == expected
    assert list(graph.nodes) == expected
    assert graph.dag.edges["produce", "consume"]["via"] == {"parameter", "reference"}
    assert graph.dag.edges["first", "tail"]["via"] == {"depends_on"}
    # Rebuilding gives the very same order every time.
    assert all(build(VALID / "order.py").order == expected for _ in range(3))


def test_custom_step_name_and_image() -> None:
    graph = build(VALID / "single.py")
    assert graph.order == ["only-step"]
    assert graph.nodes["only-step"].options.image_uri.endswith("/tools:1")
    assert graph.nodes["only-step"].config.step_name == "only-step"


def test_step_taking_env_receives_the_resolved_profile() -> None:
    prod = build(PROFILES, "prod")
    assert prod.env.name == "prod"
    assert prod.nodes["train"].config.hyperparameters == {
        "profile": "prod",
        "bucket": "smdsl-fixtures-prod",
    }
    # `preprocess(env)` is unannotated: the parameter name alone makes it the env.
    assert prod.nodes["preprocess"].config.arguments == ["--env", "prod"]
    assert set(prod.dag.edges) == {("preprocess", "train")}

    default = build(PROFILES)
    assert default.nodes["train"].config.hyperparameters["profile"] == "default"
    assert default.nodes["preprocess"].config.arguments == ["--env", "default"]


def test_loading_one_file_twice_gives_independent_steps() -> None:
    first = load_pipeline(VALID / "edges.py")
    second = load_pipeline(VALID / "edges.py")
    assert first.module is not second.module
    assert first.module.__name__ != second.module.__name__
    names = ["preprocess", "train", "evaluate", "report"]
    assert [s.name for s in first.steps] == names
    assert [s.name for s in second.steps] == names
    assert not {id(s) for s in first.steps} & {id(s) for s in second.steps}
    assert len(getattr(first.module, MODULE_STEPS)) == 4
    assert len(getattr(second.module, MODULE_STEPS)) == 4
    # Both still build: no "duplicate step name" from the other load.
    assert build_graph(first, load_env(first.path, None)).order == names
    assert build_graph(second, load_env(second.path, None)).order == names


def test_loading_two_files_keeps_their_steps_apart() -> None:
    edges = load_pipeline(VALID / "edges.py")
    order = load_pipeline(VALID / "order.py")
    assert {s.name for s in edges.steps} == {"preprocess", "train", "evaluate", "report"}
    assert {s.name for s in order.steps} == {
        "first",
        "second",
        "third",
        "consume",
        "produce",
        "tail",
    }
    assert [p.name for p in edges.parameters] == ["InputData"]
    assert order.parameters == ()
    assert edges.description is not None and edges.description.startswith("Edges from all")


def _write_pipeline_with_helper(folder: Path, step: str) -> Path:
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "run.py").write_text("print('run')\n")
    (folder / "smdsl_fixture_shared_steps.py").write_text(
        textwrap.dedent(f"""
        from smdsl import Processing, processing_step

        @processing_step(instance_type="ml.t3.medium", framework="sklearn")
        def {step}() -> Processing:
            return Processing(code="code/run.py")
        """)
    )
    pipeline = folder / "pipeline.py"
    pipeline.write_text("from smdsl_fixture_shared_steps import *  # noqa: F403\n")
    return pipeline


def test_two_pipelines_with_same_named_helper_modules_keep_their_steps_apart(
    tmp_path: Path,
) -> None:
    """Two pipeline folders each import their own sibling module of the same name: each
    pipeline must get the steps of its own helper, not the module cached by the first load."""
    first = _write_pipeline_with_helper(tmp_path / "first", "alpha")
    second = _write_pipeline_with_helper(tmp_path / "second", "beta")
    try:
        assert [s.name for s in load_pipeline(first).steps] == ["alpha"]
        assert [s.name for s in load_pipeline(second).steps] == ["beta"]
    finally:
        sys.modules.pop("smdsl_fixture_shared_steps", None)


def test_building_a_graph_never_imports_the_sagemaker_sdk() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from click.testing import CliRunner
        from smdsl.cli import main
        from smdsl.declare.env import load_env
        from smdsl.graph.build import build_graph
        from smdsl.graph.loader import load_pipeline
        from smdsl.graph.render import render

        module = load_pipeline({str(VALID / "edges.py")!r})
        graph = build_graph(module, load_env(module.path, None))
        for fmt in ("text", "mermaid", "dot"):
            render(graph, fmt)
        result = CliRunner().invoke(main, ["validate", {str(PROFILES)!r}])
        assert result.exit_code == 0, result.output
        """
    )
    assert sdk_modules_after(script) == []


# ---------------------------------------------------------------------------------------------
# The CLI


@pytest.fixture
def cli() -> Iterator[CliRunner]:
    yield CliRunner()


@pytest.mark.parametrize(
    ("fixture", "marks"),
    [
        ("several_problems.py", ["name", "param", "dep", "annotation"]),
        ("several_call_problems.py", ["missing", "raise", "field", "ref"]),
        ("step_raises.py", ["raise", "helper"]),
        ("cycle.py", ["a", "x"]),
        ("syntax_error.py", ["syntax"]),
        ("import_error.py", ["import"]),
        ("bad_decorator.py", ["decorator"]),
    ],
)
def test_validate_reports_every_problem_without_a_traceback(
    cli: CliRunner, fixture: str, marks: list[str]
) -> None:
    path = INVALID / fixture
    result = cli.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ")
    for mark in marks:
        assert where(path, mark) in result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    assert not isinstance(result.exception, SmdslError)


def test_validate_lists_each_problem_on_its_own_line(cli: CliRunner) -> None:
    path = INVALID / "several_problems.py"
    result = cli.invoke(main, ["validate", str(path)])
    lines = result.output.splitlines()
    assert lines[0] == f"error: {display_path(path)}: 4 problems in the pipeline"
    problem_lines = [line for line in lines if line.startswith("  - File ")]
    assert len(problem_lines) == 4


def test_validate_missing_file(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(main, ["validate", str(tmp_path / "missing.py")])
    assert result.exit_code == 1
    assert "no such file" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("fixture", "summary"),
    [
        ("edges.py", "4 steps, 1 parameter (no environment profiles)"),
        ("order.py", "6 steps, 0 parameters (no environment profiles)"),
        ("single.py", "1 step, 0 parameters (no environment profiles)"),
    ],
)
def test_validate_valid_pipeline(cli: CliRunner, fixture: str, summary: str) -> None:
    path = VALID / fixture
    result = cli.invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"ok: {display_path(path)}: {summary}\n"


def test_graph_text_lists_steps_and_upstreams(cli: CliRunner) -> None:
    result = cli.invoke(main, ["graph", str(VALID / "edges.py")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "edges: 4 steps"
    assert lines[1] == "parameters: InputData='s3://smdsl-fixtures/raw/'"
    rows = {line.split()[0]: line for line in lines[2:]}
    assert list(rows) == ["preprocess", "train", "evaluate", "report"]
    assert "<-" not in rows["preprocess"]
    assert rows["train"].endswith("<- preprocess")
    assert rows["evaluate"].endswith("<- preprocess, train")
    assert rows["report"].endswith("<- evaluate")
    assert "training, xgboost 1.7-1, ml.m5.xlarge" in rows["train"]


def test_graph_mermaid_has_every_edge(cli: CliRunner) -> None:
    result = cli.invoke(main, ["graph", str(VALID / "edges.py"), "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "flowchart TD"
    ids = dict(re.findall(r'^\s+(s\d+)\["([^<]+)<br/>', result.output, flags=re.M))
    node = {name: node_id for node_id, name in ids.items()}
    assert set(node) == {"preprocess", "train", "evaluate", "report"}
    edges = set(re.findall(r"^\s+(s\d+) (-->|-\.->) (s\d+)$", result.output, flags=re.M))
    assert edges == {
        (node["preprocess"], "-->", node["train"]),
        (node["preprocess"], "-->", node["evaluate"]),
        (node["train"], "-->", node["evaluate"]),
        (node["evaluate"], "-.->", node["report"]),
    }


def test_graph_dot_has_every_edge(cli: CliRunner) -> None:
    result = cli.invoke(main, ["graph", str(VALID / "edges.py"), "-f", "dot"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith('digraph "edges" {')
    assert result.output.rstrip().endswith("}")
    edges = set(
        re.findall(r'^\s+"([^"]+)" -> "([^"]+)"( \[style=dashed\])?;$', result.output, flags=re.M)
    )
    assert edges == {
        ("preprocess", "train", ""),
        ("preprocess", "evaluate", ""),
        ("train", "evaluate", ""),
        ("evaluate", "report", " [style=dashed]"),
    }


def test_graph_of_a_broken_pipeline_fails_cleanly(cli: CliRunner) -> None:
    path = INVALID / "cycle.py"
    result = cli.invoke(main, ["graph", str(path), "-f", "mermaid"])
    assert result.exit_code == 1
    assert "cycle: a -> b -> a" in result.output
    assert "flowchart" not in result.output
    assert "Traceback" not in result.output


def test_an_instance_type_sagemaker_does_not_offer_is_caught_with_a_suggestion(
    tmp_path: Path,
) -> None:
    (tmp_path / "p.py").write_text("print(1)\n")
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(
        "from smdsl import Processing, Training, param, processing_step, training_step\n"
        "\n"
        "size = param('Size', default='ml.c5.hugeish')\n"
        "\n"
        "@processing_step(instance_type='ml.m5.huge', framework='sklearn')\n"
        "def prep() -> Processing:\n"
        "    return Processing(code='p.py')\n"
        "\n"
        "@training_step(instance_type=size, framework='sklearn')\n"
        "def fit() -> Training:\n"
        "    return Training(entry_point='p.py')\n"
    )
    with pytest.raises(GraphError) as info:
        build_graph(load_pipeline(pipeline), Env())
    problems = {p.step: p for p in info.value.problems}
    assert set(problems) == {"prep", "fit"}
    assert problems["prep"].field == "instance_type"
    assert problems["prep"].location is not None and problems["prep"].location.line == 5
    assert "'ml.m5.huge' is not a processing instance type SageMaker offers" in str(
        problems["prep"]
    )
    assert "(did you mean 'ml.m5." in str(problems["prep"])
    assert "'ml.c5.hugeish' is not a training instance type" in str(problems["fit"])


def test_string_annotations_are_understood(tmp_path: Path) -> None:
    """With ``from __future__ import annotations`` every annotation is a string."""
    (tmp_path / "p.py").write_text("print(1)\n")
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(
        "from __future__ import annotations\n"
        "from smdsl import Env, Processing, Training, processing_step, training_step\n"
        "\n"
        "@processing_step(instance_type='ml.m5.large', framework='sklearn')\n"
        "def prep(settings: Env) -> Processing:\n"
        "    return Processing(code='p.py', outputs=['out'], arguments=[settings.name])\n"
        "\n"
        "@training_step(instance_type='ml.m5.large', framework='sklearn')\n"
        "def fit(prep: Training) -> Training:\n"
        "    return Training(entry_point='p.py', inputs={'x': prep.outputs['out']})\n"
    )
    with pytest.raises(GraphError) as info:
        build_graph(load_pipeline(pipeline), Env(name="qa"))
    [problem] = info.value.problems
    assert problem.step == "fit" and problem.field == "prep"
    assert "annotated Training but step 'prep' is a processing step" in str(problem)

    pipeline.write_text(pipeline.read_text().replace("def fit(prep: Training)", "def fit(prep)"))
    graph = build_graph(load_pipeline(pipeline), Env(name="qa"))
    assert graph.nodes["prep"].config.arguments == ["qa"]
    assert graph.upstream("fit") == ["prep"]


def test_a_framework_version_without_an_image_is_caught_before_compiling(tmp_path: Path) -> None:
    (tmp_path / "p.py").write_text("print(1)\n")
    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(
        "from smdsl import Processing, processing_step\n"
        "\n"
        "@processing_step(instance_type='ml.m5.large', framework='xgboost',\n"
        "                 framework_version='1.7.1')\n"
        "def prep() -> Processing:\n"
        "    return Processing(code='p.py')\n"
    )
    with pytest.raises(GraphError) as info:
        build_graph(load_pipeline(pipeline), Env())
    [problem] = info.value.problems
    assert (problem.step, problem.field) == ("prep", "framework_version")
    assert "xgboost '1.7.1' has no SageMaker image (did you mean '1.7-1'?)" in str(problem)
    assert problem.location is not None and problem.location.line == 3

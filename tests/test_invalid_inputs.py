"""Every broken input in tests/fixtures/invalid/, run through the real CLI.

One mistake per fixture, each on the line marked ``# MARK:error`` (the fixtures tests/test_graph.py
also reads keep their own marks, see ``LEGACY``). What each fixture must produce is written in it,
as comment lines:

- ``# expect: <text>``: a fragment of the one message the mistake must produce;
- ``# step: <name>``: the step the message must name (none for a mistake outside any step);
- ``# env: <profile>``: run ``smdsl validate --env <profile>`` rather than plain ``validate``;
- ``# needs: oracle``: only the API oracle of ``validate --env`` (smdsl.compile.oracle) finds it;
- ``# at: <where>``: for a profile, how the message names the place (``[envs.dev] tags``);
  ``{line}`` stands for the marked line.

The kinds of fixture:

- ``*.py``: a pipeline file, checked by ``smdsl validate FILE`` (no profile: the folder has none);
- ``oracle/*.py``: a pipeline file with a valid profile, checked by ``validate FILE --env dev``;
- ``profiles/<case>/smdsl.toml``: a broken profile beside a valid pipeline.py;
- ``variables/<case>.env``: one ``SMDSL_*`` variable (``NAME=value``) that breaks the valid
  profile of variables/smdsl.toml.

Each run must exit 1 without a traceback, print the expected message at the right file, line
(for a profile: the table and key; for a variable: its name) and step, print nothing on standard
output, and make no AWS call: AWS_ENDPOINT_URL points at the recording moto server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aws_server import RecordingMotoServer
from conftest import FIXTURES, ROOT, aws_env, marker_line, run_cli

INVALID = FIXTURES / "invalid"

LEGACY: dict[str, tuple[str | None, str | None, str]] = {
    "bad_decorator.py": ("decorator", "clean", "'m5.large' is not a SageMaker instance type"),
    "bad_param_name.py": ("inner", "clean", "parameter name 'max/rows' would be rejected"),
    "bad_step_name.py": ("bad", "bad name!", "step name 'bad name!' would be rejected"),
    "cycle.py": ("a", "a", "cycle: a -> b -> a"),
    "duplicate_function.py": ("second", "preprocess", "duplicate step name 'preprocess'"),
    "duplicate_name.py": ("second", "same", "duplicate step name 'same'"),
    "import_error.py": ("import", None, "raised ValueError: could not convert string to float"),
    "missing_code.py": ("script", "clean", "file 'code/does_not_exist.py' not found"),
    "model_artifacts_of_processing.py": (
        "evaluate",
        "evaluate",
        "only training steps have model artifacts",
    ),
    "no_steps.py": (None, None, "no steps found in tests/fixtures/invalid/no_steps.py"),
    "param_conflict.py": ("conflict", "clean", "two different parameters are named 'Threshold'"),
    "pydantic_error.py": ("field", "clean", "Processing: outputz: unknown field"),
    "several_call_problems.py": ("raise", "explode", "raised ValueError: bad split"),
    "several_problems.py": ("dep", "report", "unknown step 'tran' (did you mean 'train'?)"),
    "step_raises.py": ("raise", "preprocess", "raised RuntimeError: no raw data for this region"),
    "syntax_error.py": ("syntax", None, "syntax error"),
    "undeclared_output.py": ("evaluate", "evaluate", "declares no output 'tset'"),
    "unknown_depends_on.py": ("report", "report", "unknown step 'trian' (did you mean 'train'?)"),
    "unknown_param.py": ("train", "train", "parameter 'preprocesss' does not name a step"),
    "wrong_annotation.py": ("train", "train", "is annotated Training but step 'preprocess'"),
}
"""The fixtures written before this test (tests/test_graph.py checks them in detail; some hold
several mistakes): (mark, step, message fragment) of one mistake each."""

ISSUE_CASES = {
    "oracle/hyperparameter_too_long.py": "a hyperparameter value over 2,500 characters",
    "oracle/too_many_hyperparameters.py": "more than 100 hyperparameters",
    "oracle/instance_count_over_100.py": "a processing instance count over 100",
    "param_count_default_zero.py": "an Integer parameter defaulting to 0 as instance count",
    "param_count_over_range.py": "an Integer parameter defaulting out of the API's range",
    "oracle/max_runtime_too_long.py": "a processing max_runtime over 777,600 s",
    "environment_key_dash.py": "an environment key with '-'",
    "output_local_path_outside.py": "an output local_path outside /opt/ml/processing/",
    "param_integer_as_input.py": "an Integer parameter used as an S3 input",
    "duplicate_outputs.py": "two outputs with the same name",
    "duplicate_channels.py": "two channels with the same name",
    "profiles/reserved_tag/smdsl.toml": "a tag key starting with 'aws:' (profile)",
    "variables/reserved_tag.env": "a tag key starting with 'aws:' (variable)",
    "true_argument.py": "True passed as a script argument",
    "operand_jsonget_vs_string.py": "a JsonGet operand of the wrong type",
    "branch_step_used_at_top.py": "a branch step referenced from outside its branch",
    "branch_other_side.py": "a step that can never run: it needs both branches",
    "after_fail_step.py": "a step that can never run: it comes after a fail step",
}
"""The mistakes issue 9 names, each with the fixture that shows it caught."""

_HEADER = re.compile(r"^# (expect|step|env|needs|at): (.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Case:
    """One broken input and what ``smdsl validate`` must say about it."""

    fixture: Path  # the file holding the mistake
    pipeline: Path  # the pipeline file validate is run on
    expect: str
    step: str | None = None
    mark: str | None = "error"
    env: str | None = None
    needs: str | None = None
    at: str | None = None
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.fixture.relative_to(INVALID).as_posix()


def _headers(path: Path) -> dict[str, str]:
    found = dict(_HEADER.findall(path.read_text()))
    assert "expect" in found, f"{path}: no '# expect: ...' line"
    return found


def _variables(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of an .env fixture, without their trailing comment."""
    found = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split("=", 1)
            found[name.strip()] = re.sub(r"\s+# MARK:\S+$", "", value).strip()
    return found


def collect() -> list[Case]:
    cases = []
    for path in sorted(INVALID.glob("*.py")):
        if path.name in LEGACY:
            mark, step, expect = LEGACY[path.name]
            cases.append(Case(path, path, expect, step, mark))
            continue
        head = _headers(path)
        cases.append(Case(path, path, head["expect"], head.get("step"), env=head.get("env")))
    for path in sorted((INVALID / "oracle").glob("*.py")):
        head = _headers(path)
        cases.append(
            Case(path, path, head["expect"], head.get("step"), "error", head["env"], head["needs"])
        )
    for path in sorted((INVALID / "profiles").glob("*/smdsl.toml")):
        head = _headers(path)
        pipeline = path.parent / "pipeline.py"
        cases.append(Case(path, pipeline, head["expect"], env="dev", at=head["at"]))
    variables = INVALID / "variables"
    for path in sorted(variables.glob("*.env")):
        head = _headers(path)
        cases.append(
            Case(
                path,
                variables / "pipeline.py",
                head["expect"],
                env="dev",
                variables=_variables(path),
            )
        )
    return cases


CASES = collect()


def relative(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


def _where_a_profile_names(case: Case) -> list[str]:
    """What the message line of a broken profile must hold: the file, and the table and key.

    The marked line of the file holds that key (or is that table, for a key that is missing).
    """
    line = marker_line(case.fixture, "error")
    assert case.at is not None
    at = case.at.replace("{line}", str(line))
    if "{line}" not in case.at:
        text = case.fixture.read_text().splitlines()[line - 1].split("#")[0].strip()
        match = re.fullmatch(r"\[([^\]]+)\]:? ?(.*)", at)
        assert match, f"{case.id}: '# at:' names no [table]"
        table, key = match.groups()
        last = key.split(".")[-1] if key else ""
        assert (last and last in text) or text == f"[{table}]", (case.id, text, at)
    return [relative(case.fixture), at]


def _where_a_variable_names(case: Case) -> list[str]:
    line = marker_line(case.fixture, "error")
    text = case.fixture.read_text().splitlines()[line - 1]
    return [text.split("=", 1)[0]]


def _where_a_file_names(case: Case) -> list[str]:
    wanted = []
    if case.mark is not None:
        wanted.append(
            f'File "{relative(case.fixture)}", line {marker_line(case.fixture, case.mark)}'
        )
    if case.step is not None:
        wanted.append(f"step {case.step!r}")
    return wanted


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_reports_the_mistake_where_it_was_made(
    case: Case, aws: RecordingMotoServer
) -> None:
    args = ["validate", str(case.pipeline)]
    if case.env is not None:
        args += ["--env", case.env]
    # smdsl's cache of what it derives from botocore (kept in the test session's own folder)
    # saves a third of each run; a definition is compiled only for the oracle, never cached.
    cache = {} if case.needs == "oracle" else {"SMDSL_NO_CACHE": ""}
    result = run_cli(*args, env=aws_env(aws, **cache, **case.variables))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and "internal error" not in output, output
    assert result.stderr.startswith("error: "), output
    assert result.stdout == "", output
    if case.at is not None:
        wanted = _where_a_profile_names(case)
    elif case.variables:
        wanted = _where_a_variable_names(case)
    else:
        wanted = _where_a_file_names(case)
    lines = [line for line in result.stderr.splitlines() if case.expect in line]
    assert lines, f"{case.id}: {case.expect!r} not in:\n{result.stderr}"
    assert any(all(w in line for w in wanted) for line in lines), (
        f"{case.id}: no line with {case.expect!r} names {wanted}:\n{result.stderr}"
    )
    assert aws.requests == [], aws.requests


def test_there_are_at_least_80_broken_inputs_with_one_expectation_each() -> None:
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    for case in CASES:
        if case.mark is not None:
            marker_line(case.fixture, case.mark)  # exactly one marked line
    assert not {p.name for p in INVALID.glob("*.py")} - {c.fixture.name for c in CASES}


def test_each_mistake_the_issue_names_has_its_fixture() -> None:
    ids = {c.id for c in CASES}
    missing = {name: what for name, what in ISSUE_CASES.items() if name not in ids}
    assert not missing


# -- the limits the semantic checks use come from botocore, never typed by hand ------------------


def test_the_limits_are_botocores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.session

    from smdsl.graph import limits
    from smdsl.graph.semantics import API_MEMBERS

    monkeypatch.setenv("SMDSL_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SMDSL_NO_CACHE", "")
    limits._derived.cache_clear()
    model = botocore.session.get_session().get_service_model("sagemaker")
    for shape, member in limits.MEMBERS:
        found = limits.member_limits(shape, member)
        metadata = model.shape_for(shape).members[member].metadata
        assert (found.min, found.max) == (metadata.get("min"), metadata.get("max"))
    assert limits.member_limits("ProcessingClusterConfig", "InstanceCount").max == 100
    environment = limits.member_limits("CreateProcessingJobRequest", "Environment").key
    assert environment is not None and not environment.matches("LOG-LEVEL")
    assert {m for _, members in API_MEMBERS for m in members.values()} <= set(limits.MEMBERS)

    # Derived once per botocore installation: the next process reads smdsl's cache.
    assert list(tmp_path.glob("api-limits-*.json"))
    limits._derived.cache_clear()
    monkeypatch.setattr(limits, "derive_limits", lambda *a: pytest.fail("derived again"))
    assert limits.member_limits("ResourceConfig", "InstanceCount").min == 0
    limits._derived.cache_clear()

"""What a user reads for a mistake: one sentence per problem, every problem at once.

Each case is a pipeline under tests/fixtures/defects/messages/ whose offending line carries
``# MARK:name``; it is run through the real CLI in a subprocess. A test checks the exit code, the
sentence (what is wrong and what is accepted), the file, line and step, and that neither a
traceback nor pydantic's own vocabulary reaches the user.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, marker_line, run_cli
from pydantic import BaseModel, ValidationError

from smdsl import Processing, join, param, processing_step
from smdsl.declare.refs import OutputRef
from smdsl.declare.s3uri import s3_uri_problem
from smdsl.declare.validation import describe_validation
from smdsl.errors import DeclarationError
from smdsl.graph.checks import config_problems

MESSAGES = Path(__file__).parent / "fixtures" / "defects" / "messages"

PYDANTIC_WORDS = (
    "type=",
    "input_value",
    "union",
    "is-instance",
    "function-after",
    "For further information",
    "Input should",
    "Value error",
)
"""pydantic's own vocabulary: none of it may reach a user."""


def where(path: Path, mark: str) -> str:
    """How a message names the marked line (the CLI runs from the repository root)."""
    return f'File "{path.relative_to(ROOT)}", line {marker_line(path, mark)}'


def validate_fails(name: str) -> str:
    """Run ``smdsl validate`` on the fixture ``name``; it must fail cleanly. Its stderr."""
    result = run_cli("validate", str(MESSAGES / name))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    for word in PYDANTIC_WORDS:
        assert word not in result.stderr, f"{word!r} in: {result.stderr}"
    return result.stderr


def reported(stderr: str, path: Path, mark: str, step: str) -> str:
    """The one problem that names the marked line of ``path`` and ``step``."""
    lines = [line for line in stderr.splitlines() if f"{where(path, mark)}," in line]
    lines += [line for line in stderr.splitlines() if f"{where(path, mark)}:" in line]
    assert len(lines) == 1, f"one problem at {where(path, mark)} expected:\n{stderr}"
    line = lines[0]
    assert f"in step {step!r}: " in line or f": step {step!r}: " in line, line
    return line


# ---------------------------------------------------------------------------------------------
# Item 11: every problem at once, and what is wrong with an S3 URI


def test_invalid_s3_uris_hide_no_other_problem() -> None:
    path = MESSAGES / "every_problem_at_once.py"
    stderr = validate_fails(path.name)
    assert f"{path.relative_to(ROOT)}: 6 problems in the pipeline" in stderr
    bucket = reported(stderr, path, "uri", "clean")
    assert "'s3://BAD_bucket/x' is not an S3 URI" in bucket
    typo = reported(stderr, path, "ref", "train")
    assert "step 'preprocess' declares no output 'trian' (did you mean 'train'?)" in typo
    assert "'s3://ab' is not an S3 URI" in reported(stderr, path, "short", "split")
    # `report` and `features` take the failed `split`: still called, their own problems found.
    assert "arguments[1]: must be a string" in reported(stderr, path, "args", "report")
    assert "input name 'code' is reserved" in reported(stderr, path, "features", "features")
    # `fit` takes `features`, which did not fail: its reference is checked.
    transitive = reported(stderr, path, "transitive", "fit")
    assert "step 'features' declares no output 'tabel' (did you mean 'table'?)" in transitive
    # The one reference that cannot be checked: to an output of `split`, which failed.
    assert "in step 'evaluate'" not in stderr


@pytest.mark.parametrize(
    ("mark", "step", "sentence"),
    [
        (
            "upper",
            "upper",
            "inputs['raw']: 's3://Raw_Data/x' is not an S3 URI: the bucket name 'Raw_Data' has "
            "uppercase letters and '_'; a bucket name has only lowercase letters, digits, dots "
            "and hyphens",
        ),
        (
            "short",
            "short",
            "outputs['out']: 's3://ab/x' is not an S3 URI: the bucket name 'ab' is 2 characters "
            "long; a bucket name has 3 to 63 characters",
        ),
        (
            "scheme",
            "scheme",
            "'data/raw.csv' is not an S3 URI: it does not start with s3://",
        ),
        (
            "space",
            "space",
            "'s3://smdsl/raw ' is not an S3 URI: it has spaces at its start or end",
        ),
        (
            "ip",
            "address",
            "output_path: 's3://10.0.0.1/models' is not an S3 URI: the bucket name '10.0.0.1' is "
            "formatted like an IP address",
        ),
        ("dots", "dots", "the bucket name 'smdsl..defects' has two dots in a row"),
        ("edge", "edge", "the bucket name '-smdsl' must start and end with a letter or digit"),
    ],
)
def test_an_s3_uri_message_says_what_is_wrong(mark: str, step: str, sentence: str) -> None:
    path = MESSAGES / "bad_s3_uris.py"
    stderr = validate_fails(path.name)
    assert f"{path.relative_to(ROOT)}: 7 problems in the pipeline" in stderr
    assert sentence in reported(stderr, path, mark, step)


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("S3://my-bucket/x", "write the scheme as s3://, not S3://"),
        ("s3:///x", "it names no bucket"),
        ("s3://" + "a" * 64, "is 64 characters long; a bucket name has 3 to 63 characters"),
        ("s3://ab", "is 2 characters long"),
        (" s3://my-bucket/x", "it has spaces at its start or end"),
        ("s3://My-Bucket/x", "has uppercase letters; a bucket name has only lowercase"),
    ],
)
def test_s3_uri_problems(uri: str, reason: str) -> None:
    problem = s3_uri_problem(uri)
    assert problem is not None and reason in problem, problem


@pytest.mark.parametrize(
    "uri", ["s3://my-bucket/raw/", "s3://my.bucket.v2/x", "s3://abc", "s3://a-b/k with space/x"]
)
def test_valid_s3_uris_have_no_problem(uri: str) -> None:
    assert s3_uri_problem(uri) is None


# ---------------------------------------------------------------------------------------------
# Item 12: a step's function name names the step too


def test_a_parameter_may_use_the_function_name_of_a_renamed_step() -> None:
    path = MESSAGES / "function_name_parameter.py"
    result = run_cli("validate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    graph = run_cli("graph", str(path))
    assert graph.returncode == 0, graph.stdout + graph.stderr
    rows = {line.split()[0]: line for line in graph.stdout.splitlines()[1:] if line.strip()}
    assert rows["train"].endswith("<- AbaloneProcess")
    assert "preprocess" not in rows


def test_the_function_name_parameter_receives_the_upstream_config() -> None:
    """The config passed in is the renamed step's: a misspelt output of it is caught."""
    path = MESSAGES / "function_name_typo.py"
    stderr = validate_fails(path.name)
    line = reported(stderr, path, "bad", "train")
    assert "step 'AbaloneProcess' declares no output 'trian' (did you mean 'train'?)" in line


def test_a_step_name_wins_over_another_steps_function_name() -> None:
    path = MESSAGES / "function_name_clash.py"
    result = run_cli("graph", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line.strip()}
    assert rows["evaluate"].endswith("<- train")
    assert "<-" not in rows["Fit"]


def test_a_function_name_shared_by_two_steps_is_reported() -> None:
    path = MESSAGES / "function_name_ambiguous.py"
    line = reported(validate_fails(path.name), path, "bad", "train")
    assert (
        "prep: parameter 'prep' could mean step 'PrepA' or 'PrepB', whose functions are all "
        "named 'prep'; name it after one of these steps"
    ) in line


# ---------------------------------------------------------------------------------------------
# Item 13: one sentence per mistake


CASES = [
    (
        "outputs_string.py",
        "preprocess",
        "Processing: outputs: must be a list of names or a dict of name -> destination, not "
        "'train': write outputs=['train']",
    ),
    (
        "instance_count_text.py",
        "preprocess",
        "instance_count: must be a whole number >= 1 or an Integer parameter such as "
        "param(\"Count\", default=1), not 'two'",
    ),
    (
        "instance_type_number.py",
        "preprocess",
        'instance_type: must be an instance type such as "ml.m5.xlarge" or a String parameter, '
        "not 5",
    ),
    (
        "max_runtime_list.py",
        "preprocess",
        'max_runtime: expected a duration: seconds (3600), "90m", "2h", "1d" or a timedelta, '
        "not [3600]",
    ),
    (
        "volume_size_text.py",
        "preprocess",
        "volume_size_gb: must be a whole number of GB from 1 to 16384, not 'big'",
    ),
    (
        "environment_dict.py",
        "preprocess",
        "environment: 'CONFIG' must be a string, not {'depth': 3}; pass a nested structure as "
        "one string, e.g. json.dumps(value)",
    ),
    (
        "hyperparameter_dict.py",
        "train",
        "Training: hyperparameters['x']: must be a string, a number, a boolean, a parameter or "
        "join(), not {'a': 1}; pass a nested structure as one string, e.g. json.dumps(value)",
    ),
    (
        "arguments_list.py",
        "preprocess",
        "Processing: arguments[1]: must be a string, a number, a parameter, join() or another "
        "step's output, not ['a', 'b']; pass a nested structure as one string, e.g. "
        "json.dumps(value), or as separate arguments",
    ),
    (
        "env_annotated_str.py",
        "train",
        "env: parameter 'env' is annotated str, not Env: annotate it env: Env (from smdsl import "
        "Env) to receive the environment profile; steps: Prepare (function preprocess)",
    ),
    (
        "unknown_parameter.py",
        "train",
        "prepocess: parameter 'prepocess' does not name a step (did you mean 'preprocess'?); "
        "steps: AbaloneProcess (function preprocess), audit; a parameter annotated Env "
        "(env: Env) receives the environment profile",
    ),
    (
        "param_plus_string.py",
        "preprocess",
        "raised TypeError: pipeline parameter 'Prefix' has no value until the pipeline runs, so "
        "+ cannot combine it with '/x'; build the string with smdsl.join(), which joins its "
        "parts when the pipeline runs: join(prefix, 'x', on='/')",
    ),
    (
        "string_plus_param.py",
        "preprocess",
        "pipeline parameter 'Prefix' has no value until the pipeline runs, so + cannot combine "
        "it with 'x/'; build the string with smdsl.join(), which joins its parts when the "
        "pipeline runs: join('x', prefix, on='/')",
    ),
    (
        "output_plus_string.py",
        "train",
        "the output preprocess.outputs['train'] has no value until the pipeline runs, so + "
        "cannot combine it with '/part'; build the string with smdsl.join(), which joins its "
        "parts when the pipeline runs: join(preprocess.outputs['train'], 'part', on='/')",
    ),
    (
        "reserved_code_input.py",
        "preprocess",
        "inputs['code']: input name 'code' is reserved: the SageMaker SDK adds an input named "
        "'code' that carries the step's script, and the names of a job's inputs and outputs "
        "must be unique; choose another name",
    ),
]


@pytest.mark.parametrize(("fixture", "step", "sentence"), CASES, ids=[c[0] for c in CASES])
def test_a_mistake_reads_as_one_sentence(fixture: str, step: str, sentence: str) -> None:
    path = MESSAGES / fixture
    stderr = validate_fails(fixture)
    line = reported(stderr, path, "bad", step)
    assert sentence in line, line
    assert line.count(sentence) == 1
    assert "1 problem in the pipeline" in stderr or stderr.count("\n") == 1


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda p, o: p + "/x", id="param-plus-string"),
        pytest.param(lambda p, o: "x/" + p, id="string-plus-param"),
        pytest.param(lambda p, o: p + "x", id="param-plus-plain-string"),
        pytest.param(lambda p, o: o + "/part", id="output-plus-string"),
        pytest.param(lambda p, o: "s3://bucket/" + o, id="string-plus-output"),
    ],
)
def test_the_suggested_join_is_code_that_runs(build: Any) -> None:
    """The join() a + error suggests builds, with the user's values, the string they meant."""
    prefix = param("Prefix", default="s3://bucket/p")
    output = OutputRef(step="preprocess", output="train")
    with pytest.raises(TypeError) as info:
        build(prefix, output)
    suggestion = re.search(r"runs: (join\(.*\))$", str(info.value))
    assert suggestion is not None, str(info.value)

    class Outputs:
        def __getitem__(self, name: str) -> OutputRef:
            return OutputRef(step="preprocess", output=name)

    class Step:
        outputs = Outputs()

    built = eval(suggestion.group(1), {"join": join, "prefix": prefix, "preprocess": Step()})
    assert any(v is prefix or v == output for v in built.values if not isinstance(v, str))


def test_a_union_without_its_own_sentence_is_still_one_problem_per_field() -> None:
    """The fallback of describe_validation: pydantic's member-by-member report of a union is
    folded into one problem for the field, in the user's words."""

    class Model(BaseModel):
        value: int | list[int] | None = None
        extras: dict[str, int] = {}

    with pytest.raises(ValidationError) as info:
        Model(value="x", extras={"n": "many"})
    text = describe_validation(info.value)
    assert text == (
        "Model: value: has the wrong type: 'x'; extras['n']: must be a whole number, not 'many'"
    )


@pytest.mark.parametrize(
    ("settings", "sentence"),
    [
        pytest.param(
            {"command": "python3"},
            'command: must be a list of strings such as ["python3", "-u"], not \'python3\'',
            id="command-as-a-string",
        ),
        pytest.param(
            {"depends_on": 5},
            "depends_on: must be a list of step names or step functions, not 5",
            id="depends-on-a-number",
        ),
        pytest.param(
            {"environment": "LOG_LEVEL=info"},
            "environment: must be a dict of variable name -> string value",
            id="environment-as-a-string",
        ),
    ],
)
def test_decorator_options_of_the_wrong_shape(settings: dict[str, Any], sentence: str) -> None:
    with pytest.raises(DeclarationError) as info:
        processing_step(instance_type="ml.m5.xlarge", framework="sklearn", **settings)(lambda: None)
    assert str(info.value).startswith("step '<lambda>': ")
    assert sentence in str(info.value)


def test_one_name_for_an_input_and_an_output_is_refused(tmp_path: Path) -> None:
    config = Processing(code="run.py", inputs={"data": "s3://my-bucket/in/"}, outputs=["data"])
    problems = [p for p in config_problems(config, tmp_path) if "names both" in p[0]]
    assert problems == [
        (
            "'data' names both an input and an output: SageMaker needs the names of a job's "
            "inputs and outputs to be unique",
            "outputs['data']",
        )
    ]

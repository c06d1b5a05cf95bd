"""Code from outside the project, .env files and secrets in a definition: refused before upload.

Each case is a pipeline under tests/fixtures/defects/security/ whose offending line carries a
``# MARK:name`` comment; each runs through the real CLI in a subprocess. The unit tests at the
end pin the name and value rules of smdsl.graph.secrets and the packer's own guard.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_server import RecordingMotoServer
from conftest import FIXTURES, OFFLINE_ENV, ROOT, aws_env, clean_env, marker_line, run_cli

from smdsl import Processing, Training, not_secret, param
from smdsl.compile.bundles import pack_directory
from smdsl.declare.env import load_env
from smdsl.declare.notsecret import NotSecret
from smdsl.declare.options import JobOptions as StepOptions
from smdsl.errors import GraphError
from smdsl.graph.build import build_graph
from smdsl.graph.codepaths import code_problems
from smdsl.graph.loader import load_pipeline
from smdsl.graph.secrets import (
    ADVICE,
    PARAMETER_ADVICE,
    PROFILE_ADVICE,
    argument_findings,
    mapping_findings,
    name_words,
    parameter_problem,
    secret_name,
    secret_value,
)

SECURITY = FIXTURES / "defects" / "security"
OUTSIDE = FIXTURES / "defects" / "outside"
PROJECT = "tests/fixtures/defects/security"
KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example pair, split for scanners
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG" + "/bPxRfiCYEXAMPLEKEY"


def where(path: Path, mark: str, step: str | None) -> str:
    """How a problem names the marked line (and the step), as the CLI prints it from ROOT."""
    head = f'File "{path.relative_to(ROOT)}", line {marker_line(path, mark)}'
    return f"{head}, in step {step!r}" if step else head


def refused(path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``smdsl validate`` (or ``args``) on ``path``: it must fail cleanly; its output."""
    result = run_cli(*(args or ("validate",)), str(path), env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in result.stderr
    return output


def problem_line(output: str, path: Path, mark: str, step: str | None, field: str | None) -> str:
    """The one problem line of ``output`` aimed at the marked line, step and field."""
    start = f"  - {where(path, mark, step)}: " + (f"{field}: " if field else "")
    lines = [line for line in output.splitlines() if line.startswith(start)]
    assert len(lines) == 1, f"expected one line starting {start!r} in:\n{output}"
    return lines[0]


def problem_count(output: str, path: Path) -> int:
    match = re.search(rf"{re.escape(str(path.relative_to(ROOT)))}: (\d+) problems? in", output)
    assert match, output
    return int(match.group(1))


# ---------------------------------------------------------------------------------------------
# Item 6: code must lie inside the project


OUTSIDE_PROJECT = f"outside the project folder {PROJECT}: code must lie in the folder of the"


@pytest.mark.parametrize(
    ("fixture", "mark", "step", "field", "fragments"),
    [
        pytest.param(
            "code_absolute.py",
            "absolute",
            "leak",
            "code",
            [f"'/etc/passwd' resolves to {Path('/etc/passwd').resolve()}", OUTSIDE_PROJECT],
            id="absolute-code",
        ),
        pytest.param(
            "source_dir_escape.py",
            "source",
            "prepare",
            "source_dir",
            [f"'../outside' resolves to {OUTSIDE}", OUTSIDE_PROJECT],
            id="source-dir-outside",
        ),
        pytest.param(
            "symlink.py",
            "link",
            "prepare",
            "source_dir",
            [
                "'linked/leak.txt' is a symbolic link to "
                f"{OUTSIDE / 'credentials.txt'}, outside the project folder {PROJECT}",
                "remove the link",
            ],
            id="symlink-in-source-dir",
        ),
        pytest.param(
            "code_folder.py",
            "folder",
            "prepare",
            "code",
            [
                "'code' is a folder, not a script: to run a folder, give source_dir='code' "
                "with entry_point='<the script inside it>'"
            ],
            id="code-is-a-folder",
        ),
    ],
)
def test_code_paths_outside_the_project_are_refused(
    fixture: str, mark: str, step: str, field: str, fragments: list[str]
) -> None:
    path = SECURITY / fixture
    output = refused(path)
    line = problem_line(output, path, mark, step, field)
    for fragment in fragments:
        assert fragment in line
    assert "not found" not in output
    assert problem_count(output, path) == 1


def test_parent_paths_are_refused_together() -> None:
    path = SECURITY / "code_parent.py"
    output = refused(path)
    assert problem_count(output, path) == 2
    sibling = problem_line(output, path, "sibling", "sibling", "code")
    assert f"'../outside/leak.py' resolves to {OUTSIDE / 'leak.py'}, {OUTSIDE_PROJECT}" in sibling
    dotdot = problem_line(output, path, "dotdot", "dotdot", "code")
    assert f"'../../../../etc/passwd' resolves to {ROOT / 'etc' / 'passwd'}" in dotdot


def test_an_entry_point_must_lie_inside_its_source_dir() -> None:
    path = SECURITY / "entry_point_escape.py"
    output = refused(path)
    assert problem_count(output, path) == 2
    prepare = problem_line(output, path, "processing", "prepare", "entry_point")
    assert "'../../x.py' lies outside source_dir 'src'" in prepare
    fit = problem_line(output, path, "training", "fit", "entry_point")
    assert "'../code/train.py' lies outside source_dir 'src'" in fit


def test_a_path_refused_by_validate_never_reaches_aws(aws: RecordingMotoServer) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="smdsl-defects")
    aws.requests.clear()
    path = SECURITY / "symlink.py"
    output = refused(path, "deploy", "--env", "dev", "--yes", env=aws_env(aws))
    problem_line(output, path, "link", "prepare", "source_dir")
    assert aws.writes() == []


def _project(tmp_path: Path, pyproject: str) -> Path:
    """A project with code in shared/ and a pipeline in pipelines/ that runs it."""
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "process.py").write_text("print('shared')\n")
    (tmp_path / "pipelines").mkdir()
    pipeline = tmp_path / "pipelines" / "pipeline.py"
    pipeline.write_text(
        "from smdsl import Processing, processing_step\n\n\n"
        "@processing_step(instance_type='ml.t3.medium', framework='sklearn')\n"
        "def prepare() -> Processing:\n"
        "    return Processing(code='../shared/process.py')\n"
    )
    return pipeline


def test_code_may_live_anywhere_under_the_pyproject_that_holds_the_profiles(
    tmp_path: Path,
) -> None:
    pipeline = _project(tmp_path, "[tool.smdsl.envs.dev]\nregion = 'us-east-1'\n")
    graph = build_graph(load_pipeline(pipeline), load_env(pipeline, None))
    assert graph.order == ["prepare"]


def test_without_smdsl_settings_the_project_is_the_pipelines_folder(tmp_path: Path) -> None:
    pipeline = _project(tmp_path, "[project]\nname = 'x'\n")
    with pytest.raises(GraphError) as info:
        build_graph(load_pipeline(pipeline), load_env(pipeline, None))
    assert "'../shared/process.py' resolves to" in info.value.render()


def test_the_packer_never_follows_a_link_out_of_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    folder = project / "src"
    (folder / "sub").mkdir(parents=True)
    (folder / "main.py").write_text("print('main')\n")
    (project / "common.py").write_text("print('common')\n")
    (folder / "common.py").symlink_to(project / "common.py")  # inside the project: packed
    (folder / "sub" / "loop").symlink_to(folder)  # a loop: walked once
    with tarfile.open(fileobj=io.BytesIO(pack_directory(folder, project))) as tar:
        assert tar.getnames() == ["common.py", "main.py"]
        member = tar.extractfile("common.py")
        assert member is not None and member.read() == b"print('common')\n"

    (tmp_path / "secret.txt").write_text("outside\n")
    (folder / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(OSError, match="outside the project folder"):
        pack_directory(folder, project)
    with pytest.raises(OSError, match="outside the project folder"):
        pack_directory(folder)  # by default only the packed folder itself is in bounds


# ---------------------------------------------------------------------------------------------
# Item 7: no literal secret in a definition


@pytest.mark.parametrize(
    ("fixture", "mark", "step", "field", "reason"),
    [
        pytest.param(
            "env_password.py",
            "password",
            "load",
            "environment['DB_PASSWORD']",
            "the name 'DB_PASSWORD' says it holds a secret",
            id="environment-name",
        ),
        pytest.param(
            "hyperparameter_token.py",
            "token",
            "fit",
            "hyperparameters['hf_token']",
            "the name 'hf_token' says it holds a secret",
            id="hyperparameter-name",
        ),
        pytest.param(
            "arguments_api_key.py",
            "flag",
            "call_api",
            "arguments[3]",
            "the value after '--api-key' is a secret, by the flag's name",
            id="argument-after-flag",
        ),
        pytest.param(
            "pem_key.py",
            "pem",
            "fit",
            "hyperparameters['tls']",
            "the value holds a PEM private key",
            id="pem-private-key",
        ),
    ],
)
def test_a_literal_secret_is_refused_with_its_place_and_the_way_to_pass_it(
    fixture: str, mark: str, step: str, field: str, reason: str
) -> None:
    path = SECURITY / fixture
    output = refused(path)
    line = problem_line(output, path, mark, step, field)
    assert line == f"  - {where(path, mark, step)}: {field}: {reason}: {ADVICE}"
    assert problem_count(output, path) == 1  # max_tokens, tokenizer, epochs... pass


def test_the_advice_is_a_short_pointer() -> None:
    for advice in (ADVICE, PROFILE_ADVICE, PARAMETER_ADVICE):
        assert len(advice) <= 150, advice
        assert "Secrets Manager or SSM" in advice
        assert advice.endswith("(docs/security.md)")
    assert ADVICE == (
        "readable via DescribePipeline; store it in Secrets Manager or SSM and pass its name, "
        "or wrap a false positive in smdsl.not_secret() (docs/security.md)"
    )


def test_the_secret_itself_is_never_printed() -> None:
    for fixture, value in [
        ("env_password.py", "hunter2"),
        ("arguments_api_key.py", "sk-abc123"),
        ("hyperparameter_token.py", "hf_aBcDeF"),
    ]:
        assert value not in refused(SECURITY / fixture)


def test_aws_keys_are_found_by_their_look_whatever_their_name() -> None:
    path = SECURITY / "env_aws_keys.py"
    output = refused(path)
    assert problem_count(output, path) == 2
    key_id = problem_line(output, path, "keys", "upload", "environment['UPLOADER']")
    assert "the value looks like an AWS access key ID" in key_id
    secret = problem_line(output, path, "keys", "upload", "environment['UPLOADER_SIGNATURE']")
    assert "the value looks like an AWS secret access key" in secret


CREDENTIAL_VALUES = {
    "environment['DATABASE_URL']": "the value is a URL with a password in it",
    "environment['FEED']": "the value is a URL with a password in it",
    "environment['GH']": "the value looks like a GitHub token",
    "environment['GH_FINE']": "the value looks like a GitHub token",
    "environment['OPENAI']": "the value looks like an API key (sk-...)",
    "environment['SLACK_BOT']": "the value looks like a Slack token",
    "environment['ALERTS']": "the value is a Slack webhook URL, which anyone can post with",
    "environment['AUTH_HEADER']": "the value holds a Bearer token",
    "environment['SESSION']": "the value looks like a JWT",
    "arguments[1]": "the value is a URL with a password in it",
}
"""The fields of secret_values.py's step, each with why its value is a credential."""


def test_credentials_are_found_by_their_look_each_on_one_short_line() -> None:
    path = SECURITY / "secret_values.py"
    output = refused(path)
    assert problem_count(output, path) == len(CREDENTIAL_VALUES) + 1  # REGION passes
    for field, reason in CREDENTIAL_VALUES.items():
        line = problem_line(output, path, "values", "call_api", field)
        assert line == f"  - {where(path, 'values', 'call_api')}: {field}: {reason}: {ADVICE}"
    parameter = problem_line(output, path, "param", None, None)
    assert parameter.endswith(
        "parameter 'DatabaseUrl': its default is a URL with a password in it, and "
        f"{PARAMETER_ADVICE}"
    )
    problems = [line for line in output.splitlines() if line.startswith("  - ")]
    assert len(problems) == len(CREDENTIAL_VALUES) + 1
    for line in problems:  # several findings stay readable: no wall of advice
        assert len(line.split(": ", 3)[-1]) <= 250, line
    for value in ("hunter2", "s3cret", "1a2B3c4D5e6F7g8H9i0J", "abc123def456ghi789", "eyJ"):
        assert value not in output


def test_numbers_under_a_secret_name_are_refused_but_booleans_pass() -> None:
    path = SECURITY / "secret_numbers.py"
    output = refused(path)
    assert problem_count(output, path) == 4  # secret/use_secret: True, epochs, --retries pass
    for field, name in [
        ("hyperparameters['Password']", "Password"),
        ("hyperparameters['api_key']", "api_key"),
    ]:
        line = problem_line(output, path, "fit", "fit", field)
        assert line.endswith(f"{field}: the name {name!r} says it holds a secret: {ADVICE}")
    flag = problem_line(output, path, "call", "call", "arguments[1]")
    assert "the value after '--password' is a secret, by the flag's name" in flag
    parameter = problem_line(output, path, "param", None, None)
    assert "parameter 'DbPassword': its name says it holds a secret, and its default" in parameter
    assert "1234" not in output


def test_dotenv_files_in_a_source_dir_are_refused_and_never_packed() -> None:
    path = SECURITY / "dotenv.py"
    output = refused(path)
    assert problem_count(output, path) == 3  # env.py and conf/settings.py are no .env files
    problems = [line for line in output.splitlines() if line.startswith("  - ")]
    for shown, line in zip(
        ["dotenv/.env", "dotenv/.env.local", "dotenv/conf/.env.production"], problems, strict=True
    ):
        assert line == (
            f"  - {where(path, 'dotenv', 'prepare')}: source_dir: {shown!r} is a .env file, "
            "which usually holds secrets: smdsl will not upload it. Move it out of source_dir "
            "'dotenv'; pass the job its settings with environment= (docs/security.md)"
        )
    assert "not-a-real" not in output
    with tarfile.open(fileobj=io.BytesIO(pack_directory(SECURITY / "dotenv"))) as tar:
        assert tar.getnames() == ["conf/settings.py", "env.py", "main.py"]


def test_the_packer_never_packs_a_dotenv_file_whoever_calls_it(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    (folder / "deep").mkdir(parents=True)
    for name in (".env", ".env.local", "deep/.env.prod", "main.py", ".envrc", "env", "a.env"):
        (folder / name).write_text("x\n")
    (folder / "settings").symlink_to(folder / ".env")  # a link to one is left out too
    with tarfile.open(fileobj=io.BytesIO(pack_directory(folder))) as tar:
        assert tar.getnames() == [".envrc", "a.env", "env", "main.py"]
    config = Processing(source_dir="src", entry_point="main.py")
    found = list(code_problems(config.code_paths(), tmp_path, tmp_path))  # what validate says
    assert [message.split(" a .env file")[0] for message, _ in found] == [
        "'src/.env' is",
        "'src/.env.local' is",
        "'src/deep/.env.prod' is",
        "'src/settings' links to",
    ]
    assert {field for _, field in found} == {"source_dir"}


def test_a_secret_named_parameter_with_a_default_is_refused_where_it_is_declared() -> None:
    path = SECURITY / "secret_parameter.py"
    output = refused(path)
    assert problem_count(output, path) == 1  # TokenizerName and ApiTokenSecretArn pass
    line = problem_line(output, path, "param", None, None)
    assert line.endswith(
        "parameter 'ApiToken': its name says it holds a secret, and its default lands in the "
        "pipeline definition: give it no default, or let it hold the name of a secret in "
        "Secrets Manager or SSM (docs/security.md)"
    )


def test_a_secret_from_the_profile_override_is_refused_and_says_where_it_came_from() -> None:
    path = SECURITY / "profile_override" / "pipeline.py"
    output = refused(path)
    line = problem_line(output, path, "fit", "fit", "environment['HF_TOKEN']")
    assert (
        "the name 'HF_TOKEN' says it holds a secret (set by "
        f"{PROJECT}/profile_override/smdsl.toml: [envs.dev] steps.fit or "
        "SMDSL_STEPS__FIT__ENVIRONMENT): "
    ) in line
    assert line.endswith(PROFILE_ADVICE)
    assert "not_secret" not in line  # a value in a profile cannot be marked


def test_a_secret_from_an_environment_variable_is_refused_by_definition_too() -> None:
    path = SECURITY / "not_flagged.py"
    env = clean_env(**OFFLINE_ENV, SMDSL_STEPS__FIT__ENVIRONMENT='{"API_TOKEN": "abc123xyz"}')
    for command in (("validate",), ("definition", "--env", "dev")):
        output = refused(path, *command, "--env", "dev", env=env)
        assert "in step 'fit': environment['API_TOKEN']: the name 'API_TOKEN' says" in output
        assert "abc123xyz" not in output


@pytest.mark.parametrize(
    ("fixture", "mark", "step", "field"),
    [
        pytest.param(
            "env_password.py", "password", "load", "environment['DB_PASSWORD']", id="name"
        ),
        pytest.param("secret_values.py", "values", "call_api", "environment['GH']", id="value"),
        pytest.param("dotenv.py", "dotenv", "prepare", "source_dir", id="dotenv"),
    ],
)
def test_a_secret_refused_by_validate_never_reaches_aws(
    aws: RecordingMotoServer, fixture: str, mark: str, step: str, field: str
) -> None:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="smdsl-defects")
    aws.requests.clear()
    path = SECURITY / fixture
    output = refused(path, "deploy", "--env", "dev", "--yes", env=aws_env(aws))
    assert f"  - {where(path, mark, step)}: {field}: " in output
    assert aws.writes() == []
    listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket="smdsl-defects")
    assert listed.get("KeyCount") == 0


def test_names_that_only_mention_tokens_or_keys_pass() -> None:
    result = run_cli("validate", str(SECURITY / "not_flagged.py"), check=True)
    assert result.stdout.startswith("ok: ")


def test_not_secret_values_pass_and_reach_the_definition_as_plain_strings() -> None:
    path = SECURITY / "not_secret.py"
    assert run_cli("validate", str(path), check=True).stdout.startswith("ok: ")
    compiled = run_cli("definition", str(path), "--env", "dev", check=True).stdout
    assert "not_secret" not in compiled
    steps: dict[str, Any] = {s["Name"]: s for s in json.loads(compiled)["Steps"]}
    processing = steps["call_api"]["Arguments"]
    assert processing["Environment"]["DEMO_TOKEN"] == "public-demo-token"
    assert processing["AppSpecification"]["ContainerArguments"] == [
        "--api-key",
        "demo-key-for-the-sandbox",
    ]
    training = steps["fit"]["Arguments"]
    assert training["HyperParameters"]["auth_token"] == "anonymous-reader"


# ---------------------------------------------------------------------------------------------
# Unit tests of the rules


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("AWS_SECRET_ACCESS_KEY", ["aws", "secret", "access", "key"]),
        ("apiKey", ["api", "key"]),
        ("APIKey", ["api", "key"]),
        ("DBPassword", ["db", "password"]),
        ("hf-token.v2", ["hf", "token", "v", "2"]),
        ("TOKENIZER", ["tokenizer"]),
    ],
)
def test_names_split_into_words(name: str, words: list[str]) -> None:
    assert name_words(name) == words


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "db-passwd",
        "MYSQL_PWD",
        "passphrase",
        "CLIENT_SECRET",
        "GITHUB_TOKEN",
        "authToken",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "credential",
        "OPENAI_API_KEY",
        "apiKey",
        "x-api-key",
        "MYAPIKEY",
        "DBPASSWORD",
        "PRIVATE_KEY",
        "signingPrivateKey",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "--api-key",
        "secret_key",
    ],
)
def test_secret_names(name: str) -> None:
    assert secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "TOKENIZER",
        "TOKENIZERS_PARALLELISM",
        "tokenizer_name",
        "max_tokens",
        "num_tokens",
        "max_token",
        "pad_token",
        "eos_token",
        "token_limit",
        "DB_PASSWORD_SECRET_ARN",
        "API_KEY_PARAMETER",
        "SECRET_NAME",
        "password_file",
        "PWD",
        "key_column",
        "primary_key",
        "monkey",
        "secretary",
        "",
    ],
)
def test_names_that_are_not_secret(name: str) -> None:
    assert not secret_name(name)


def test_values_that_look_like_credentials_whatever_their_name() -> None:
    assert secret_value(f"id={KEY_ID}") == "the value looks like an AWS access key ID"
    assert secret_value("ASIA" + "Y34FZKBOKMUTVV7A") == "the value looks like an AWS access key ID"
    pem = "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nabc"
    assert secret_value(pem) == "the value holds a PEM private key"
    assert secret_value("-----BEGIN CERTIFICATE-----") is None
    assert secret_value("AKIA-not-a-key") is None
    assert secret_value(SECRET_KEY) is None  # only next to an access key ID


def test_a_secret_access_key_is_found_next_to_an_access_key_id() -> None:
    alone = list(mapping_findings("environment", {"SIG": SECRET_KEY}))
    assert alone == []
    pair = list(mapping_findings("environment", {"ID": KEY_ID, "SIG": SECRET_KEY}))
    assert [f.field for f in pair] == ["environment['ID']", "environment['SIG']"]


def test_values_that_are_no_literal_secret_pass() -> None:
    values: dict[str, object] = {
        "DB_PASSWORD": "",
        "API_TOKEN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:api",
        "AUTH_TOKEN": not_secret("anonymous"),
        "secret": True,
        "use_secret": False,
        "epochs": 12,
        "learning_rate": 0.1,
    }
    assert list(mapping_findings("hyperparameters", values)) == []


def test_a_number_under_a_secret_name_is_a_secret() -> None:
    values: dict[str, object] = {"Password": 5, "api_key": 12.5, "MAX_PASSWORD": 0, "pin": 1234}
    found = [f.field for f in mapping_findings("hyperparameters", values)]
    assert found == [
        "hyperparameters['Password']",
        "hyperparameters['api_key']",
        "hyperparameters['MAX_PASSWORD']",
    ]
    arguments = ["--password", 1234, "--retries", 3, 5, "--token", True]
    assert [f.field for f in argument_findings(arguments)] == ["arguments[1]"]
    assert parameter_problem(param("DbPassword", default=1234)) is not None
    assert parameter_problem(param("DbPassword", default=1.5)) is not None
    assert parameter_problem(param("UseSecret", default=True)) is None
    assert parameter_problem(param("Secret", default=False)) is None
    assert parameter_problem(param("Epochs", default=3)) is None


# Fakes in the shape of real credentials, split so that no scanner mistakes them for leaks.
GITHUB_CLASSIC = "1a2B3c4D5e6F7g8H9i0J" + "1k2L3m4N5o6P7q8R"  # 36 letters and digits
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjMifQ" + ".c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("postgres://user:" + "hunter2@db/x", "the value is a URL with a password in it"),
        ("https://user:" + "pw@host", "the value is a URL with a password in it"),
        ("redis://:" + "s3cr3t@cache:6379/0", "the value is a URL with a password in it"),
        ("--db=mysql://app:" + "pw@db/app", "the value is a URL with a password in it"),
        *(
            (f"{prefix}_{GITHUB_CLASSIC}", "the value looks like a GitHub token")
            for prefix in ("ghp", "gho", "ghu", "ghs", "ghr")
        ),
        ("github_pat_" + "11ABCDEFG0123456789_abcdefgh", "the value looks like a GitHub token"),
        ("sk-" + "aB3dE6gH9jK2mN5pQ8sT1vW4", "the value looks like an API key (sk-...)"),
        ("sk-proj-" + "aB3dE6gH9jK2mN5pQ8sT1_v-W4", "the value looks like an API key (sk-...)"),
        *(
            (f"xox{kind}-" + "123456789012-abcdef", "the value looks like a Slack token")
            for kind in "abprs"
        ),
        (
            "https://hooks.slack.com/services/" + "T00000000/B00000000/XXXXXXXX",
            "the value is a Slack webhook URL, which anyone can post with",
        ),
        ("Bearer " + "abc123def456ghi789", "the value holds a Bearer token"),
        ("Authorization: bearer " + "Zm9vYmFyYmF6cXV4MTIz==", "the value holds a Bearer token"),
        (JWT, "the value looks like a JWT"),
        ("Bearer " + JWT, "the value looks like a JWT"),
    ],
)
def test_credentials_by_their_look(value: str, reason: str) -> None:
    assert secret_value(value) == reason


@pytest.mark.parametrize(
    "value",
    [
        "s3://my-bucket/raw/key.csv",
        "https://example.com/docs?page=2#setup",
        "https://reader@example.com/simple/",  # a user, no password
        "https://example.com:8443/path?x=a@b",
        "postgres://etl:@db/x",  # an empty password
        "postgres://etl:${DB_PASSWORD}@db/x",
        "postgres://etl:$DB_PASSWORD@db/x",
        "postgres://etl:{password}@db/x",
        "postgres://etl:<password>@db/x",
        "postgres://etl:****@db/x",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # a git SHA
        "sk-learn",
        "sk-learn-random-forest-classifier",  # no digit: a name, not a generated key
        "ghp_tooshort123",
        "ghp_" + GITHUB_CLASSIC + "X",  # 37 characters
        "xoxo",
        "xoxb-123",
        "https://api.slack.com/messaging/webhooks",
        "https://hooks.slack.com/services/",
        "Bearer <token>",
        "Bearer ${API_TOKEN}",
        "Bearer authentication",
        "the bearer of bad news",
        "eyJhbGciOiJIUzI1NiJ9",  # one part only
        "eyJ.x",
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:api",
    ],
)
def test_values_that_only_resemble_credentials(value: str) -> None:
    assert secret_value(value) is None


def test_argument_flags_in_both_forms() -> None:
    found = argument_findings(
        ["--password=hunter2", "--token", "abc", "--api-key", "--verbose", "--secret", ""]
    )
    assert [(f.field, f.reason) for f in found] == [
        ("arguments[0]", "the value of '--password' is a secret, by the flag's name"),
        ("arguments[2]", "the value after '--token' is a secret, by the flag's name"),
    ]
    assert list(argument_findings(["--token", not_secret("abc"), "--max-tokens", "5"])) == []


def test_not_secret_is_a_plain_string_that_configs_keep() -> None:
    value = not_secret("anonymous")
    assert value == "anonymous" and isinstance(value, str)
    assert repr(value) == "not_secret('anonymous')"
    config = Processing(code="x.py", arguments=["--token", value])
    assert isinstance(config.arguments[1], NotSecret)
    training = Training(entry_point="t.py", hyperparameters={"token": value})
    assert isinstance(training.hyperparameters["token"], NotSecret)
    with pytest.raises(TypeError, match="takes a string"):
        not_secret(5)  # type: ignore[arg-type]


def test_environment_overrides_keep_the_not_secret_mark() -> None:
    options = StepOptions(
        kind="processing",
        instance_type="ml.m5.xlarge",
        framework="sklearn",
        environment={"AUTH_TOKEN": not_secret("anonymous")},
    )
    merged = options.merged({"instance_count": 2, "environment": {"LOG_LEVEL": "debug"}})
    assert isinstance(merged.environment["AUTH_TOKEN"], NotSecret)

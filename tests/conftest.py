"""Shared fixtures: paths, an offline AWS environment, and a moto server for end-to-end tests."""

from __future__ import annotations

import ast
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aws_server import RecordingMotoServer

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SMDSL = [sys.executable, "-m", "smdsl"]

OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


TEST_SETTINGS = {"SMDSL_SHARED_DIR"}
"""Variables that configure the test suite itself (where shared/ is), not smdsl: kept."""


TEST_CACHE = Path(tempfile.mkdtemp(prefix="smdsl-test-cache-"))
atexit.register(shutil.rmtree, TEST_CACHE, ignore_errors=True)  # each process its own
"""smdsl's cache for this test session: never the user's. The compiled-definition cache is off
unless a test turns it on (SMDSL_NO_CACHE=""), so that each test compiles what it checks."""

CACHE_ENV = {
    "SMDSL_CACHE_DIR": str(TEST_CACHE),
    "SMDSL_NO_CACHE": "1",
    # where smdsl's cache goes when a test module drops every SMDSL_* variable
    "XDG_CACHE_HOME": str(TEST_CACHE / "xdg"),
}
os.environ.update(CACHE_ENV)  # for in-process tests too


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without AWS or smdsl settings, plus the test cache and
    ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMDSL_", "SAGEMAKER_"))
    }
    env.update(CACHE_ENV)
    env.update(extra)
    return env


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the real ``smdsl`` command in a subprocess."""
    result = subprocess.run(
        [*SMDSL, *args],
        env=env if env is not None else clean_env(**OFFLINE_ENV),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"smdsl {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def marker_line(path: Path, mark: str) -> int:
    """The 1-based line of ``path`` that carries ``# MARK:<mark>``."""
    lines = path.read_text().splitlines()
    hits = [n for n, text in enumerate(lines, 1) if re.search(rf"# MARK:{mark}(\s|$)", text)]
    assert len(hits) == 1, f"marker {mark!r} must appear once in {path}, found {hits}"
    return hits[0]


def sdk_modules_after(script: str) -> list[str]:
    """Run ``script`` in a fresh interpreter; the SageMaker SDK modules loaded by its end."""
    probe = (
        f"{script}\n"
        "import sys as _sys\n"
        "print('SDK MODULES:', sorted(m for m in _sys.modules if m.split('.')[0] == 'sagemaker'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("SDK MODULES:"))
    listed: list[str] = ast.literal_eval(line.removeprefix("SDK MODULES:").strip())
    return listed


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's AWS or smdsl settings, and never use the user's cache."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "SMDSL_")) and key not in TEST_SETTINGS:
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for key, value in CACHE_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[RecordingMotoServer]:
    server = RecordingMotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: RecordingMotoServer, monkeypatch: pytest.MonkeyPatch) -> RecordingMotoServer:
    """A freshly reset moto server, with this process's boto3 pointed at it."""
    moto_server.reset()
    for key, value in {**OFFLINE_ENV, "AWS_ENDPOINT_URL": moto_server.url}.items():
        monkeypatch.setenv(key, value)
    return moto_server


def aws_env(server: RecordingMotoServer, **extra: str) -> dict[str, str]:
    """Environment for a CLI subprocess that talks to ``server``."""
    return clean_env(**OFFLINE_ENV, AWS_ENDPOINT_URL=server.url, **extra)


def boto(service: str) -> object:
    return boto3.client(service, region_name="us-east-1")

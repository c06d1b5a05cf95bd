"""Each workaround of smdsl.compile.sdk is still needed and still right for the installed SDK.

When a new SDK version fixes what a workaround works around, the "still needed" test fails and
says to remove it; when it moves or renames what the workaround patches (so the patch would
silently do nothing), or the workaround changes a result, the "still right" test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest
from conftest import OFFLINE_ENV, QUICKSTART

from smdsl.compile.builder import compile_pipeline
from smdsl.compile.sdk import endpoint_resolver, offline_sdk
from smdsl.declare.env import Env
from smdsl.graph.build import build_graph
from smdsl.graph.loader import load_pipeline


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def endpoint_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the botocore data files loaded, in order."""
    loaded: list[str] = []
    original = botocore.loaders.Loader.load_data

    def counting(self: Any, name: str) -> Any:
        loaded.append(name)
        return original(self, name)

    monkeypatch.setattr(botocore.loaders.Loader, "load_data", counting)
    yield loaded


# -- image_uris.retrieve re-reads botocore's endpoint data on every call ---------------------------


def test_the_sdk_still_reads_the_endpoint_data_anew_on_every_image_lookup(
    endpoint_loads: list[str],
) -> None:
    """Still needed: without smdsl's resolver, two lookups read the endpoint data twice."""
    from sagemaker.core import common_utils, image_uris

    assert common_utils._botocore_resolver is not endpoint_resolver, "patched outside offline_sdk"
    for _ in range(2):
        image_uris.retrieve("sklearn", "us-east-1", "1.2-1", instance_type="ml.m5.xlarge")
    assert endpoint_loads.count("endpoints") >= 2, (
        "the SDK no longer reads botocore's endpoint data on every image_uris.retrieve call: "
        "remove the endpoint_resolver workaround from smdsl.compile.sdk"
    )


def test_the_patched_lookup_is_the_one_image_uris_uses_and_gives_the_same_images(
    endpoint_loads: list[str],
) -> None:
    """Still right: the SDK still calls common_utils._botocore_resolver (else the patch would
    do nothing), and every image is the one the SDK finds without it."""
    from sagemaker.core import common_utils, image_uris

    assert hasattr(common_utils, "_botocore_resolver")
    assert image_uris.utils is common_utils  # the name image_uris calls it through
    cases = [
        ("sklearn", "us-east-1", "1.2-1", None, "ml.m5.xlarge", "training"),
        ("xgboost", "eu-west-1", "1.7-1", None, "ml.m5.xlarge", "inference"),
        ("pytorch", "ap-southeast-2", "2.1", "py310", "ml.g5.xlarge", "training"),
        ("tensorflow", "cn-north-1", "2.13", "py310", "ml.c5.xlarge", "inference"),
        ("xgboost", "us-gov-west-1", "1.7-1", None, "ml.m5.xlarge", "training"),
    ]

    def lookup(case: tuple[Any, ...]) -> str:
        framework, region, version, py_version, instance_type, scope = case
        uri: str = image_uris.retrieve(
            framework,
            region,
            version,
            py_version=py_version,
            instance_type=instance_type,
            image_scope=scope,
        )
        return uri

    plain = [lookup(case) for case in cases]
    before = endpoint_loads.count("endpoints")
    with offline_sdk("us-east-1"):
        assert common_utils._botocore_resolver is endpoint_resolver
        patched = [lookup(case) for case in cases]
    assert patched == plain
    assert endpoint_loads.count("endpoints") - before <= 1
    assert common_utils._botocore_resolver is not endpoint_resolver  # restored


def test_compiling_many_steps_reads_the_endpoint_data_at_most_once(
    tmp_path: Path, endpoint_loads: list[str]
) -> None:
    folder = tmp_path / "chain"
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "step.py").write_text("print('step')\n")
    lines = ["from smdsl import Processing, processing_step", ""]
    for i in range(12):
        lines += [
            '@processing_step(instance_type="ml.m5.xlarge", framework="sklearn")',
            f"def step{i}() -> Processing:",
            '    return Processing(code="code/step.py", outputs=["out"])',
            "",
        ]
    (folder / "pipeline.py").write_text("\n".join(lines))
    module = load_pipeline(folder / "pipeline.py")
    env = Env(
        name="dev",
        region="us-east-1",
        role_arn="arn:aws:iam::111122223333:role/R",
        bucket="smdsl-chain",
    )
    endpoint_resolver()  # as in a long-lived process: built already
    before = endpoint_loads.count("endpoints")
    compile_pipeline(build_graph(module, env))
    assert endpoint_loads.count("endpoints") - before == 0


# -- ProcessingStep builds a full local SageMaker client to read a method's name ------------------


def test_processing_steps_still_look_up_the_local_client_the_stub_replaces() -> None:
    """Still right: the name smdsl replaces exists where ProcessingStep reads it; still needed:
    it is still the SDK's full local client."""
    from sagemaker.mlops.workflow import steps

    assert hasattr(steps, "LocalSagemakerClient"), (
        "ProcessingStep no longer reads LocalSagemakerClient: remove the _MethodNames stub"
    )
    source = Path(steps.__file__).read_text()
    assert "LocalSagemakerClient()" in source, (
        "the SDK no longer builds a LocalSagemakerClient in its steps: remove the stub"
    )


def test_the_quickstart_compiles_with_every_workaround_in_place() -> None:
    module = load_pipeline(QUICKSTART / "pipeline.py")
    env = Env(
        name="dev",
        region="us-east-1",
        role_arn="arn:aws:iam::111122223333:role/R",
        bucket="smdsl-quickstart-dev",
    )
    compiled = compile_pipeline(build_graph(module, env))
    assert '"Type":"Processing"' in compiled.definition
    assert "\n" not in compiled.definition  # compact: what deploy sends

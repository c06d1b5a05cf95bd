"""The compiled-definition cache: a hit only for what compiling would give, and no SDK import.

Each input of a definition is changed in turn and must give another digest (a miss); the cache
never fails a command.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import OFFLINE_ENV, QUICKSTART, run_cli, sdk_modules_after

import smdsl
from smdsl.compile import cache
from smdsl.compile.builder import compile_pipeline, plan_compile
from smdsl.declare.env import load_env
from smdsl.graph.build import build_graph
from smdsl.graph.loader import load_pipeline
from smdsl.graph.model import PipelineGraph


@pytest.fixture(autouse=True)
def _cache_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SMDSL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SMDSL_NO_CACHE", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, folder)
    return folder


def graph_of(project: Path, env: str = "dev") -> PipelineGraph:
    module = load_pipeline(project / "pipeline.py")
    return build_graph(module, load_env(module.path, env), for_deploy=True)


def key_of(project: Path, env: str = "dev") -> str:
    found = cache.digest(plan_compile(graph_of(project, env)))
    assert found is not None
    return found


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _other_sdk_version(monkeypatch: pytest.MonkeyPatch) -> None:
    versions = {**cache._versions(), "sagemaker": "9.9.9"}
    monkeypatch.setattr(cache, "_versions", lambda: versions)


CHANGES: dict[str, Callable[[Path, pytest.MonkeyPatch], None]] = {
    "a config value": lambda p, m: edit(p / "pipeline.py", '"eta": 0.2', '"eta": 0.3'),
    "a decorator option": lambda p, m: edit(
        p / "pipeline.py", 'max_runtime="2h"', 'max_runtime="3h"'
    ),
    "a parameter default": lambda p, m: edit(p / "pipeline.py", "default=0.8", "default=0.7"),
    "the description": lambda p, m: edit(p / "pipeline.py", "Quickstart: split", "Quickstart: cut"),
    "a code file": lambda p, m: (p / "code" / "train.py").write_text("print('changed')\n"),
    "the profile's tags": lambda p, m: edit(p / "smdsl.toml", 'env = "dev"', 'env = "dev2"'),
    "the profile's bucket": lambda p, m: edit(
        p / "smdsl.toml", '"smdsl-quickstart-dev"', '"smdsl-quickstart-dev2"'
    ),
    "a profile variable": lambda p, m: m.setenv("SMDSL_PREFIX", "elsewhere"),
    "smdsl's version": lambda p, m: m.setattr(smdsl, "__version__", "99.0"),
    "smdsl's source": lambda p, m: m.setattr(cache, "_source_digest", lambda: "edited"),
    "the SDK's version": lambda p, m: _other_sdk_version(m),
    "an SDK variable": lambda p, m: m.setenv("SAGEMAKER_EXAMPLE_SETTING", "1"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_changing_any_input_of_the_definition_is_a_miss(
    change: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = key_of(project)
    assert key_of(project) == before  # the same inputs: the same digest
    CHANGES[change](project, monkeypatch)
    assert key_of(project) != before, f"changing {change} kept the digest"


def test_every_change_gives_its_own_digest(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = {key_of(project)}
    for change in CHANGES.values():
        change(project, monkeypatch)
        key = key_of(project)
        assert key not in seen
        seen.add(key)


def test_a_hit_gives_what_compiling_gives_and_a_changed_pipeline_is_compiled_anew(
    project: Path,
) -> None:
    first, hit = cache.compile_cached(graph_of(project))
    assert not hit
    again, hit = cache.compile_cached(graph_of(project))
    assert hit
    assert again == first
    edit(project / "pipeline.py", '"eta": 0.2', '"eta": 0.3')
    changed, hit = cache.compile_cached(graph_of(project))
    assert not hit
    assert changed.definition == compile_pipeline(graph_of(project)).definition
    assert changed.definition != first.definition


def test_a_corrupt_or_unwritable_cache_is_only_a_miss(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    compiled, _ = cache.compile_cached(graph_of(project))
    [entry] = (tmp_path / "cache" / "definitions").glob("*.json")
    entry.write_text("{not json")
    again, hit = cache.compile_cached(graph_of(project))
    assert not hit
    assert again.definition == compiled.definition
    json.loads(entry.read_text())  # rewritten whole
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SMDSL_CACHE_DIR", str(blocked))
    third, hit = cache.compile_cached(graph_of(project))
    assert not hit
    assert third.definition == compiled.definition


def test_no_cache_when_asked_or_for_a_kind_smdsl_does_not_own(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMDSL_NO_CACHE", "1")
    assert cache.digest(plan_compile(graph_of(project))) is None
    monkeypatch.delenv("SMDSL_NO_CACHE")
    graph = graph_of(project)
    node = graph.nodes["train"]
    kind = node.function.spec.step_kind
    user_kind = type(kind)(
        name="user_training", config=kind.config, options=kind.options, compile=lambda b: None
    )
    object.__setattr__(node.function.spec, "step_kind", user_kind)
    assert cache.digest(plan_compile(graph)) is None


def test_an_unchanged_redeploy_plan_imports_no_sdk(project: Path, tmp_path: Path) -> None:
    """The second plan of an unchanged pipeline is recognised after loading and hashing."""
    args = [str(project / "pipeline.py"), "--env", "dev", "--dry-run", "--offline"]
    env = {"SMDSL_CACHE_DIR": str(tmp_path / "cli-cache"), "SMDSL_NO_CACHE": ""}
    first = run_cli("deploy", *args, env=_env(env), check=True)
    script = (
        "import os, sys\n"
        f"os.environ.update({env!r})\n"
        "from smdsl.cli import main\n"
        f"sys.argv = ['smdsl', 'deploy', *{args!r}]\n"
        "try:\n    main()\n"
        "except SystemExit as exit:\n    assert exit.code in (0, None), exit.code\n"
    )
    assert sdk_modules_after(script) == []
    second = run_cli("deploy", *args, env=_env(env), check=True)
    assert second.stdout == first.stdout
    changed = project / "code" / "train.py"
    changed.write_text("print('changed')\n")
    assert sdk_modules_after(script) != []  # a changed pipeline is compiled: the SDK is used


def test_definition_is_indented_for_people_and_compact_as_deployed(project: Path) -> None:
    pretty = run_cli("definition", str(project / "pipeline.py"), "--env", "dev", check=True)
    compact = run_cli(
        "definition", str(project / "pipeline.py"), "--env", "dev", "--compact", check=True
    )
    assert json.loads(pretty.stdout) == json.loads(compact.stdout)
    assert pretty.stdout.startswith("{\n  ")
    assert "\n" not in compact.stdout
    assert len(compact.stdout) < len(pretty.stdout) * 0.7


def _env(extra: dict[str, str]) -> dict[str, str]:
    from conftest import clean_env

    return clean_env(**OFFLINE_ENV, **extra)

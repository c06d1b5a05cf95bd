"""Cold start: what ``smdsl --help`` and ``smdsl validate`` import, and the cache of what the
graph layer derives from botocore (instance type enums, SageMaker's regions).

No timings here: ``benchmarks/`` measures them. These tests hold what makes a cold start fast
(nothing heavy imported for help, botocore's SageMaker model not loaded again once derived) and
what must not change for it (the cached values are botocore's, a stale or broken cache is a
silent miss).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest
from conftest import OFFLINE_ENV, QUICKSTART, ROOT, clean_env, run_cli, sdk_modules_after

from smdsl.graph import cache, instances, regions

SHAPES = instances.SHAPES


def botocore_enum(shape: str) -> frozenset[str]:
    """What botocore itself says, the way smdsl asked it before there was a cache."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for(shape).enum)


def botocore_regions() -> frozenset[str]:
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sagemaker", partition_name=partition)
    )


def forget() -> None:
    """Drop what this process remembers, so the next call reads the cache (or botocore)."""
    instances.instance_types.cache_clear()
    regions.sagemaker_regions.cache_clear()


@pytest.fixture
def derived_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The cache on, in a folder of this test; no AWS config or ~/.aws/models to bypass it."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SMDSL_CACHE_DIR", str(folder))
    monkeypatch.delenv("SMDSL_NO_CACHE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    forget()
    yield folder
    forget()


def cache_file(folder: Path, name: str) -> Path:
    (found,) = folder.glob(f"{name}-*.json")
    return found


def refuse_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deriving again fails the test: the value must come from the cache."""

    def refuse(*args: Any) -> Any:
        raise AssertionError("botocore's data was read again: the cache missed")

    monkeypatch.setattr(instances, "derive_instance_types", refuse)
    monkeypatch.setattr(regions, "derive_regions", refuse)


def count_derivations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    derive_types, derive_regions = instances.derive_instance_types, regions.derive_regions

    def types(shape: str) -> dict[str, list[str]]:
        calls.append(shape)
        return derive_types(shape)

    def regions_() -> frozenset[str]:
        calls.append("regions")
        return derive_regions()

    monkeypatch.setattr(instances, "derive_instance_types", types)
    monkeypatch.setattr(regions, "derive_regions", regions_)
    return calls


# (a) the cache gives exactly what botocore gives


def test_cached_instance_types_and_regions_are_botocores(
    derived_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = {shape: instances.instance_types(shape) for shape in SHAPES}
    first_regions = regions.sagemaker_regions()
    assert cache_file(derived_cache, "instance-types").is_file()
    assert cache_file(derived_cache, "regions").is_file()

    forget()
    refuse_botocore(monkeypatch)
    for shape in SHAPES:
        assert first[shape] == instances.instance_types(shape) == botocore_enum(shape), shape
    assert first_regions == regions.sagemaker_regions() == botocore_regions()
    assert {"ml.m5.xlarge", "ml.g5.xlarge"} <= first["TrainingInstanceType"]
    assert {"us-east-1", "cn-north-1", "us-gov-west-1"} <= first_regions


def test_one_load_of_the_model_derives_every_shape(
    derived_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_derivations(monkeypatch)
    for shape in SHAPES:
        instances.instance_types(shape)
    assert calls == ["ProcessingInstanceType"]


def test_a_shape_not_kept_is_derived_and_added(
    derived_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instances.instance_types("TrainingInstanceType")
    forget()
    assert instances.instance_types("AppInstanceType") == botocore_enum("AppInstanceType")
    forget()
    refuse_botocore(monkeypatch)
    assert instances.instance_types("AppInstanceType") == botocore_enum("AppInstanceType")
    assert instances.instance_types("TrainingInstanceType") == botocore_enum("TrainingInstanceType")


def test_a_shape_botocore_lacks_still_raises_its_error(derived_cache: Path) -> None:
    instances.instance_types("TrainingInstanceType")
    forget()
    with pytest.raises(Exception, match="NoSuchShape"):
        instances.instance_types("NoSuchShape")


def test_cli_validate_reads_the_cache_rather_than_botocores_model(tmp_path: Path) -> None:
    """A second ``smdsl validate`` neither loads botocore's session nor its SageMaker model."""
    probe = (
        "import sys\n"
        "from smdsl.cli import main\n"
        f"main(['validate', {str(QUICKSTART / 'pipeline.py')!r}], standalone_mode=False)\n"
        "print('LOADED:', sorted(m for m in sys.modules if m.startswith('botocore.')))\n"
    )
    env = clean_env(
        **OFFLINE_ENV,
        SMDSL_CACHE_DIR=str(tmp_path / "cache"),
        SMDSL_NO_CACHE="",
        HOME=str(tmp_path),
    )

    def loaded() -> list[str]:
        result = subprocess.run(
            [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        line = next(x for x in result.stdout.splitlines() if x.startswith("LOADED:"))
        modules: list[str] = ast.literal_eval(line.removeprefix("LOADED:").strip())
        return modules

    assert "botocore.session" in loaded()  # cold: derived from botocore, and kept
    assert sorted((tmp_path / "cache").glob("*.json"))
    assert loaded() == []  # warm: only botocore's __init__, for its version


# (b) a cache written for another botocore is not used


def test_a_cache_for_another_botocore_version_is_a_miss(
    derived_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    types_key = cache.botocore_key(instances.SERVICE_MODEL)
    regions_key = cache.botocore_key(*regions.DATA_FILES)
    assert types_key is not None and regions_key is not None
    stale = {shape: ["ml.stale.xlarge"] for shape in SHAPES}
    cache.store("instance-types", {**types_key, "botocore": "0.0.1"}, stale)
    cache.store("regions", {**regions_key, "botocore": "0.0.1"}, ["xx-stale-1"])
    assert cache.load("instance-types", types_key) is None

    calls = count_derivations(monkeypatch)
    assert instances.instance_types("TrainingInstanceType") == botocore_enum("TrainingInstanceType")
    assert regions.sagemaker_regions() == botocore_regions()
    assert calls == ["TrainingInstanceType", "regions"]  # recomputed
    kept = cache.load("instance-types", types_key)  # and kept again, for this botocore
    assert kept["TrainingInstanceType"] == sorted(botocore_enum("TrainingInstanceType"))
    assert cache.load("regions", regions_key) == sorted(botocore_regions())


def test_another_botocore_version_misses_what_this_one_kept(
    derived_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instances.instance_types("TrainingInstanceType")
    regions.sagemaker_regions()
    forget()
    monkeypatch.setattr(botocore, "__version__", "99.0.0")
    calls = count_derivations(monkeypatch)
    assert instances.instance_types("TrainingInstanceType") == botocore_enum("TrainingInstanceType")
    assert regions.sagemaker_regions() == botocore_regions()
    assert calls == ["TrainingInstanceType", "regions"]
    stored = json.loads(cache_file(derived_cache, "instance-types").read_text())
    assert stored["key"]["botocore"] == "99.0.0"


def test_the_key_names_botocores_data_files(derived_cache: Path) -> None:
    key = cache.botocore_key(*regions.DATA_FILES)
    assert key is not None
    assert key["botocore"] == botocore.__version__
    data = Path(botocore.__file__).resolve().parent / "data"
    endpoints, model = (Path(path) for path, _size, _mtime in key["files"])
    assert endpoints.parent == data and endpoints.name.startswith("endpoints.json")
    assert model.parent.parent == data / "sagemaker" and model.name.startswith("service-2.json")


@pytest.mark.parametrize("where", ["AWS_DATA_PATH", "config data_path", "~/.aws/models"])
def test_no_cache_when_botocore_may_read_other_data(
    derived_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "AWS_DATA_PATH":
        monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "models"))
    elif where == "config data_path":
        config = tmp_path / "config"
        config.write_text(f"[default]\ndata_path = {tmp_path / 'models'}\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    else:
        (tmp_path / "home" / ".aws" / "models" / "sagemaker").mkdir(parents=True)
    assert cache.botocore_key(instances.SERVICE_MODEL) is None
    assert instances.instance_types("TrainingInstanceType") == botocore_enum("TrainingInstanceType")
    assert not derived_cache.exists()


def test_smdsl_no_cache_turns_it_off(derived_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMDSL_NO_CACHE", "1")
    assert instances.instance_types("TrainingInstanceType") == botocore_enum("TrainingInstanceType")
    assert regions.sagemaker_regions() == botocore_regions()
    assert not derived_cache.exists()


def test_the_default_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SMDSL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "smdsl"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "smdsl"
    monkeypatch.setenv("SMDSL_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"


# (c) an unwritable or corrupt cache still works, silently


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'{"format": "smdsl-botocore-derived-1"}',
        b"KEY_WITH_VALUE null",
        b'KEY_WITH_VALUE {"TrainingInstanceType": [1, 2]}',
        b'KEY_WITH_VALUE {"TrainingInstanceType": "ml.m5.xlarge"}',
        b'KEY_WITH_VALUE ["us-east-1", 2]',
    ],
)
def test_a_corrupt_cache_is_a_silent_miss(
    derived_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    content: bytes,
) -> None:
    instances.instance_types("TrainingInstanceType")
    regions.sagemaker_regions()
    forget()
    for name in ("instance-types", "regions"):
        path = cache_file(derived_cache, name)
        if content.startswith(b"KEY_WITH_VALUE "):  # the right key, a value of the wrong shape
            entry = json.loads(path.read_text())
            entry["value"] = json.loads(content.removeprefix(b"KEY_WITH_VALUE "))
            path.write_text(json.dumps(entry))
        else:
            path.write_bytes(content)
    calls = count_derivations(monkeypatch)
    assert instances.instance_types("TrainingInstanceType") == botocore_enum("TrainingInstanceType")
    assert regions.sagemaker_regions() == botocore_regions()
    assert calls == ["TrainingInstanceType", "regions"]
    assert capfd.readouterr() == ("", "")
    forget()  # and it was written again, whole
    refuse_botocore(monkeypatch)
    assert instances.instance_types("TrainingInstanceType") == botocore_enum("TrainingInstanceType")
    assert regions.sagemaker_regions() == botocore_regions()


def test_an_unwritable_cache_is_silently_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SMDSL_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    monkeypatch.delenv("SMDSL_NO_CACHE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    forget()
    try:
        for shape in SHAPES:
            assert instances.instance_types(shape) == botocore_enum(shape)
        assert regions.sagemaker_regions() == botocore_regions()
    finally:
        forget()
    assert capfd.readouterr() == ("", "")
    assert blocker.read_text() == "not a folder"


def test_a_failed_write_leaves_no_file_behind(
    derived_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.os, "replace", refuse)
    assert instances.instance_types("TrainingInstanceType") == botocore_enum("TrainingInstanceType")
    assert list(derived_cache.iterdir()) == []


def test_cli_validate_with_an_unwritable_cache_is_quiet(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = clean_env(**OFFLINE_ENV, SMDSL_CACHE_DIR=str(blocker / "cache"), SMDSL_NO_CACHE="")
    result = run_cli("validate", str(QUICKSTART / "pipeline.py"), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "ok:" in result.stdout


# (d) what `smdsl --help` imports


HEAVY = (
    "sagemaker",
    "boto3",
    "botocore",
    "s3transfer",
    "urllib3",
    "networkx",
    "pydantic",
    "pydantic_settings",
    "asyncio",
    "jsonschema",
    "numpy",
    "pandas",
    "yaml",
)
"""Packages that cost tens of milliseconds or more to import."""

HELP_IMPORTS_HEAVY: set[str] = set()
"""The heavy packages `smdsl --help` imports: none. smdsl's public names are imported when first
used (smdsl/__init__.py) and each command imports what it needs when it runs (smdsl/cli.py)."""


def imported_by(args: list[str]) -> set[str]:
    """The top-level packages the command line loads for ``args``, in a fresh interpreter."""
    probe = (
        "import sys\n"
        "from smdsl.cli import main\n"
        "try:\n"
        f"    main({args!r}, prog_name='smdsl')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('MODULES:', sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=clean_env(**OFFLINE_ENV),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("MODULES:"))
    return set(ast.literal_eval(line.removeprefix("MODULES:").strip()))


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["validate", "--help"]])
def test_help_imports_no_botocore_networkx_or_sdk(args: list[str]) -> None:
    loaded = imported_by(args)
    assert "smdsl" in loaded and "click" in loaded
    assert not loaded & {"sagemaker", "boto3", "botocore", "networkx"}
    assert loaded & set(HEAVY) == HELP_IMPORTS_HEAVY


def test_help_imports_no_pydantic_at_all() -> None:
    assert not imported_by(["--help"]) & {"pydantic", "pydantic_settings", "asyncio"}


# (e) validate imports no SDK module


def test_validate_imports_no_sdk_module_cold_or_warm(tmp_path: Path) -> None:
    script = (
        "import os\n"
        f"os.environ.update(SMDSL_CACHE_DIR={str(tmp_path / 'cache')!r}, SMDSL_NO_CACHE='')\n"
        "from smdsl.cli import main\n"
        f"main(['validate', {str(QUICKSTART / 'pipeline.py')!r}], standalone_mode=False)\n"
    )
    assert sdk_modules_after(script) == []  # cold: botocore's data read, and kept
    assert sorted((tmp_path / "cache").glob("*.json"))
    assert sdk_modules_after(script) == []  # warm: from the cache

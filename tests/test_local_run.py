"""End to end: ``smdsl run PIPELINE --local`` and ``smdsl models --local`` through the real CLI.

Every run is a subprocess of the real CLI with its own ``--state-dir`` under pytest's temporary
folder, so no test writes into the repository (a pipeline whose code a test changes is copied
first). The two example runs that take seconds (quickstart and abalone, each followed by the
runs that build on its state) are made once per test session, whichever xdist worker asks first,
and their output captured; each test below then asserts one thing about them. The scenario
pipelines under ``tests/fixtures/local/`` are small and cheap and run per test.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
import traceback
import zipfile
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import asdict, dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
import xgboost
from aws_server import RecordingMotoServer
from conftest import FIXTURES, OFFLINE_ENV, QUICKSTART, ROOT, SMDSL, aws_env, clean_env
from sklearn.metrics import roc_auc_score

LOCAL = FIXTURES / "local"
ABALONE = ROOT / "examples" / "abalone"
CHAIN = LOCAL / "chain" / "pipeline.py"
ABALONE_BATCH = ABALONE / "data" / "smdsl-example-data" / "abalone" / "abalone-dataset-batch"
CHURN_CSV = QUICKSTART / "data" / "smdsl-example-data" / "churn" / "raw" / "churn.csv"
CHURN_URI = "s3://smdsl-example-data/churn/raw/"

ENV = clean_env(**OFFLINE_ENV, PYTHONDONTWRITEBYTECODE="1")
"""No AWS, no smdsl settings, and no __pycache__ written beside the fixtures."""

RUN_ID = re.compile(r"^local run (\S+) of ", re.M)
FAIL_MESSAGE = re.compile(
    r"fail step 'mse_too_high' reached: Execution failed: MSE ([0-9.]+(?:e-?\d+)?) "
    r"is above the threshold 0\.5"
)


# ---------------------------------------------------------------------------------------------
# Running the CLI


@dataclass(frozen=True)
class Ran:
    """One invocation of the CLI: what it printed, how it exited and how long it took."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return f"$ smdsl {shlex.join(self.args)}\n{self.stdout}\n{self.stderr}"

    @property
    def run_id(self) -> str:
        found = RUN_ID.search(self.stdout)
        assert found, self.output
        return found.group(1)


def cli(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> Ran:
    """The real ``smdsl`` in a subprocess, timed."""
    words = [str(a) for a in args]
    started = time.monotonic()
    result = subprocess.run(
        [*SMDSL, *words],
        env=env if env is not None else ENV,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Ran(words, result.returncode, result.stdout, result.stderr, time.monotonic() - started)


def run_local(pipeline: Path, state: Path, *args: str, cwd: Path | None = None, **kw: Any) -> Ran:
    """``smdsl run PIPELINE --local --state-dir STATE ARGS``."""
    return cli(
        "run", pipeline, "--local", "--state-dir", state, *args, cwd=cwd or state.parent, **kw
    )


def succeeded(ran: Ran) -> Ran:
    assert ran.returncode == 0, ran.output
    assert "Traceback" not in ran.stderr, ran.output
    return ran


def manifest(state: Path, pipeline: str, run_id: str) -> dict[str, Any]:
    """The run.json of one run."""
    data: dict[str, Any] = json.loads((state / "runs" / pipeline / run_id / "run.json").read_text())
    return data


def states(state: Path, pipeline: str, ran: Ran) -> dict[str, str]:
    """Each step's state in the run ``ran`` made."""
    steps = manifest(state, pipeline, ran.run_id)["steps"]
    return {name: step["state"] for name, step in steps.items()}


def printed_states(ran: Ran) -> dict[str, str]:
    """Each step's final state as the plain progress lines show it (``  name: state ...``)."""
    found: dict[str, str] = {}
    for line in ran.stdout.splitlines():
        match = re.match(
            r"^  (\w+): (ok|cached|reused|FAILED|skipped|not run|not selected)\b", line
        )
        if match:
            found[match.group(1)] = match.group(2)
    return found


def no_runs(state: Path) -> bool:
    """Whether nothing ran: no run folder was made under ``state``."""
    runs = state / "runs"
    return not runs.exists() or not any(runs.rglob("run.json"))


def _chain_total(state: Path, ran: Ran) -> str:
    """What the chain fixture's last step wrote: the sum of the doubled numbers."""
    run_dir = state / "runs" / "chain" / ran.run_id
    return (run_dir / "total" / "total" / "total.txt").read_text()


def copy_fixture(source: Path, target: Path) -> Path:
    """A copy of a pipeline folder that a test may change; its pipeline.py."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".smdsl"))
    return target / "pipeline.py"


# ---------------------------------------------------------------------------------------------
# The runs made once per session


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    """The temporary folder every xdist worker of this session sees."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _claim(root: Path, name: str) -> bool:
    """Whether this worker is the first to ask for the runs ``name`` (and so makes them)."""
    try:
        os.close(os.open(root / f"local-{name}.claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _make(root: Path, name: str) -> None:
    """Make the runs ``name``; leave what they printed in captured.json, or why they could not
    be made in failed.txt."""
    folder = root / f"local-{name}"
    folder.mkdir()
    try:
        captured = SHARED[name](folder)
    except Exception:  # reported by the tests that read the runs, not by the one that made them
        (folder / "failed.txt").write_text(traceback.format_exc())
        return
    (folder / "captured.tmp").write_text(json.dumps(captured))
    (folder / "captured.tmp").rename(folder / "captured.json")


def shared(factory: pytest.TempPathFactory, name: str) -> dict[str, Any]:
    """What the runs ``name`` printed: made by this worker when no other claimed them first,
    else waited for."""
    root = _shared_root(factory)
    if _claim(root, name):
        _make(root, name)
    folder = root / f"local-{name}"
    deadline = time.monotonic() + 600
    while not (folder / "captured.json").is_file():
        if (folder / "failed.txt").is_file():
            pytest.fail(f"the {name} runs failed:\n{(folder / 'failed.txt').read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the {name} runs did not finish in 10 minutes")
        time.sleep(0.2)
    data: dict[str, Any] = json.loads((folder / "captured.json").read_text())
    return data


@pytest.fixture(scope="session", autouse=True)
def _claim_one_shared_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each worker starts by making one of the shared runs its selected tests need that no
    other worker has claimed, so that no worker waits idle for another's."""
    root = _shared_root(tmp_path_factory)
    for name in SHARED:
        needed = any(name in getattr(item, "fixturenames", ()) for item in request.session.items)
        if needed and _claim(root, name):
            _make(root, name)
            return


def _ran(data: dict[str, Any]) -> Ran:
    return Ran(**data)


@dataclass(frozen=True)
class Quickstart:
    """The quickstart copied to a folder of its own, run four times on one state folder."""

    folder: Path
    state: Path
    first: Ran  # a fresh run
    second: Ran  # the same again: every step cached
    edited: Ran  # after a comment line was appended to code/train.py
    deeper: Ran  # the same code with --param MaxDepth=3

    @property
    def run_dir(self) -> Path:
        return self.state / "runs" / "quickstart" / self.first.run_id


def _run_quickstart(folder: Path) -> dict[str, Any]:
    pipeline = copy_fixture(QUICKSTART, folder / "quickstart")
    state = folder / "state"
    first = run_local(pipeline, state)
    second = run_local(pipeline, state)
    train = folder / "quickstart" / "code" / "train.py"
    train.write_text(train.read_text() + "# a comment: the script changed, its behaviour not\n")
    edited = run_local(pipeline, state)
    deeper = run_local(pipeline, state, "--param", "MaxDepth=3")
    runs = {"first": first, "second": second, "edited": edited, "deeper": deeper}
    return {"folder": str(folder), "state": str(state), **{k: asdict(v) for k, v in runs.items()}}


@pytest.fixture(scope="session")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Quickstart:
    data = shared(tmp_path_factory, "quickstart")
    return Quickstart(
        folder=Path(data["folder"]),
        state=Path(data["state"]),
        first=_ran(data["first"]),
        second=_ran(data["second"]),
        edited=_ran(data["edited"]),
        deeper=_ran(data["deeper"]),
    )


@dataclass(frozen=True)
class Abalone:
    """The abalone example run on one state folder: as shipped, then with a threshold the
    model cannot meet, then ``--only transform``."""

    state: Path
    first: Ran
    models: Ran  # smdsl models --local, right after the first run
    high: Ran  # --param MseThreshold=0.5
    only_transform: Ran  # --only transform, after the run that took the other branch

    @property
    def run_dir(self) -> Path:
        return self.state / "runs" / "abalone" / self.first.run_id


def _run_abalone(folder: Path) -> dict[str, Any]:
    pipeline = ABALONE / "pipeline.py"
    state = folder / "state"
    first = run_local(pipeline, state)
    models = cli("models", "--local", "--state-dir", state, cwd=folder)
    high = run_local(pipeline, state, "--param", "MseThreshold=0.5")
    only_transform = run_local(pipeline, state, "--only", "transform")
    runs = {"first": first, "models": models, "high": high, "only_transform": only_transform}
    return {"state": str(state), **{k: asdict(v) for k, v in runs.items()}}


@pytest.fixture(scope="session")
def abalone(tmp_path_factory: pytest.TempPathFactory) -> Abalone:
    data = shared(tmp_path_factory, "abalone")
    return Abalone(
        state=Path(data["state"]),
        first=_ran(data["first"]),
        models=_ran(data["models"]),
        high=_ran(data["high"]),
        only_transform=_ran(data["only_transform"]),
    )


SHARED: dict[str, Callable[[Path], dict[str, Any]]] = {
    "quickstart": _run_quickstart,
    "abalone": _run_abalone,
}
"""The runs made once per session, by name (the name of the fixture that reads them)."""


# ---------------------------------------------------------------------------------------------
# The quickstart, end to end


def test_quickstart_runs_locally_in_under_a_minute(quickstart: Quickstart) -> None:
    first = succeeded(quickstart.first)
    assert first.seconds < 60, first.output  # the acceptance bar (whole command)
    assert "ok: quickstart ran locally in " in first.stdout
    assert f"(run {first.run_id}: 2 succeeded)" in first.stdout


def test_quickstart_writes_its_three_splits_under_the_run_folder(quickstart: Quickstart) -> None:
    succeeded(quickstart.first)
    sizes = {}
    for split in ("train", "validation", "test"):
        files = sorted((quickstart.run_dir / "preprocess" / split).glob("*.csv"))
        assert [f.name for f in files] == [f"{split}.csv"]
        sizes[split] = len(files[0].read_text().splitlines())
    # 1000 rows, split 80/10/10 by the script's --train-ratio 0.8 (the parameter's default)
    assert sizes == {"train": 800, "validation": 100, "test": 100}


@pytest.mark.filterwarnings("ignore:.*Unknown file format:UserWarning")  # no extension: UBJSON
def test_quickstart_model_loads_and_predicts_churn_better_than_chance(
    quickstart: Quickstart, tmp_path: Path
) -> None:
    succeeded(quickstart.first)
    archive = quickstart.run_dir / "train" / "model" / "model.tar.gz"
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["xgboost-model"]
        tar.extractall(tmp_path)
    booster = xgboost.Booster()
    booster.load_model(str(tmp_path / "xgboost-model"))
    test = pd.read_csv(quickstart.run_dir / "preprocess" / "test" / "test.csv", header=None)
    predicted = booster.predict(xgboost.DMatrix(test.iloc[:, 1:]))
    assert len(predicted) == len(test) == 100
    assert ((predicted >= 0) & (predicted <= 1)).all()
    assert roc_auc_score(test.iloc[:, 0], predicted) > 0.6


def test_quickstart_prints_the_validation_auc_its_metric_definition_matched(
    quickstart: Quickstart,
) -> None:
    found = re.search(
        r"^  train: ok in [0-9.]+s \(validation:auc = ([0-9.]+)\)$", quickstart.first.stdout, re.M
    )
    assert found, quickstart.first.output
    assert 0.5 < float(found.group(1)) <= 1
    result = manifest(quickstart.state, "quickstart", quickstart.first.run_id)["steps"]["train"]
    assert result["result"]["metrics"] == {"validation:auc": float(found.group(1))}


def test_quickstart_run_json_records_the_run(quickstart: Quickstart) -> None:
    data = manifest(quickstart.state, "quickstart", quickstart.first.run_id)
    assert data["status"] == "Succeeded"
    assert data["pipeline"] == "quickstart" and data["run_id"] == quickstart.first.run_id
    assert data["parameters"] == {
        "InputData": CHURN_URI,
        "TrainRatio": 0.8,
        "MaxDepth": 5,
    }
    assert {n: s["state"] for n, s in data["steps"].items()} == {
        "preprocess": "succeeded",
        "train": "succeeded",
    }


def test_the_summary_names_each_output_folder_of_the_run(quickstart: Quickstart) -> None:
    run_dir = quickstart.run_dir
    shown = dict(re.findall(r"^  (\w+\.\w+): (\S+)$", quickstart.first.stdout, re.M))
    assert set(shown) == {
        "preprocess.train",
        "preprocess.validation",
        "preprocess.test",
        "train.model",
    }
    for name, path in shown.items():
        step, output = name.split(".")
        # <state>/runs/<pipeline>/<run id>/<step>/<output>/, printed relative to the cwd
        assert (quickstart.state.parent / path).resolve() == run_dir / step / output
        assert (run_dir / step / output).is_dir()


# ---------------------------------------------------------------------------------------------
# The step cache


def test_an_unchanged_second_run_is_cached_and_runs_no_script(quickstart: Quickstart) -> None:
    second = succeeded(quickstart.second)
    assert printed_states(second) == {"preprocess": "cached", "train": "cached"}
    steps = manifest(quickstart.state, "quickstart", second.run_id)["steps"]
    assert {n: (s["state"], s["source_run"]) for n, s in steps.items()} == {
        "preprocess": ("cached", quickstart.first.run_id),
        "train": ("cached", quickstart.first.run_id),
    }
    # no script ran: a step that runs leaves its logs in the new run's folder
    run_dir = quickstart.state / "runs" / "quickstart" / second.run_id
    assert not list(run_dir.glob("*/.logs")), sorted(run_dir.rglob("*"))
    assert f"unchanged since run {quickstart.first.run_id}" in second.stdout


def test_changing_the_training_script_reruns_training_only(quickstart: Quickstart) -> None:
    edited = succeeded(quickstart.edited)
    assert states(quickstart.state, "quickstart", edited) == {
        "preprocess": "cached",
        "train": "succeeded",
    }
    model = quickstart.state / "runs" / "quickstart" / edited.run_id / "train" / "model"
    assert (model / "model.tar.gz").is_file()


def test_changing_a_parameter_reruns_the_steps_that_read_it_only(quickstart: Quickstart) -> None:
    deeper = succeeded(quickstart.deeper)
    assert states(quickstart.state, "quickstart", deeper) == {
        "preprocess": "cached",
        "train": "succeeded",
    }
    assert manifest(quickstart.state, "quickstart", deeper.run_id)["parameters"]["MaxDepth"] == 3


def test_no_cache_runs_every_step(tmp_path: Path) -> None:
    pipeline, state = CHAIN, tmp_path / "state"
    succeeded(run_local(pipeline, state))
    again = succeeded(run_local(pipeline, state, "--no-cache"))
    assert states(state, "chain", again) == dict.fromkeys(("make", "double", "total"), "succeeded")
    cached = succeeded(run_local(pipeline, state))
    assert states(state, "chain", cached) == dict.fromkeys(("make", "double", "total"), "cached")


def test_changing_the_mirrored_input_data_reruns_the_step_that_reads_it(tmp_path: Path) -> None:
    pipeline, state = copy_fixture(LOCAL / "opt_ml", tmp_path / "opt_ml"), tmp_path / "state"
    succeeded(run_local(pipeline, state))
    data = pipeline.parent / "data" / "smdsl-local-tests" / "opt-ml" / "a.txt"
    data.write_text("changed data\n")
    changed = succeeded(run_local(pipeline, state))
    assert states(state, "opt-ml", changed) == {"touch": "succeeded"}
    result = state / "runs" / "opt-ml" / changed.run_id / "touch" / "result"
    assert (result / "notes" / "upper.txt").read_text() == "CHANGED DATA\n"
    unchanged = succeeded(run_local(pipeline, state))
    assert states(state, "opt-ml", unchanged) == {"touch": "cached"}


def test_a_cached_result_whose_outputs_were_removed_is_run_again(tmp_path: Path) -> None:
    pipeline, state = CHAIN, tmp_path / "state"
    first = succeeded(run_local(pipeline, state))
    shutil.rmtree(state / "runs" / "chain" / first.run_id / "double" / "doubled")
    again = succeeded(run_local(pipeline, state))
    assert states(state, "chain", again) == {
        "make": "cached",
        "double": "succeeded",
        "total": "cached",  # double wrote the same numbers again
    }
    total = manifest(state, "chain", again.run_id)["steps"]["total"]["result"]["outputs"]["total"]
    assert total == str(state / "runs" / "chain" / first.run_id / "total" / "total")
    assert (Path(total) / "total.txt").read_text() == "30"


def test_the_state_folder_is_smdsl_local_dir_else_dot_smdsl_in_the_current_folder(
    tmp_path: Path,
) -> None:
    default = succeeded(cli("run", CHAIN, "--local", cwd=tmp_path))
    assert (tmp_path / ".smdsl" / "runs" / "chain" / default.run_id / "run.json").is_file()
    elsewhere = tmp_path / "elsewhere"
    env = {**ENV, "SMDSL_LOCAL_DIR": str(elsewhere)}
    chosen = succeeded(cli("run", CHAIN, "--local", cwd=tmp_path, env=env))
    assert (elsewhere / "runs" / "chain" / chosen.run_id / "run.json").is_file()
    assert states(elsewhere, "chain", chosen) == dict.fromkeys(
        ("make", "double", "total"), "succeeded"
    )


# ---------------------------------------------------------------------------------------------
# The abalone example, end to end


def test_abalone_runs_and_its_evaluation_mse_is_sane(abalone: Abalone) -> None:
    succeeded(abalone.first)
    report = json.loads(
        (abalone.run_dir / "evaluate" / "evaluation" / "evaluation.json").read_text()
    )
    mse = report["regression_metrics"]["mse"]["value"]
    assert 0 < mse < 6


def test_abalone_condition_takes_the_then_branch(abalone: Abalone) -> None:
    assert states(abalone.state, "abalone", abalone.first) == {
        "preprocess": "succeeded",
        "train": "succeeded",
        "evaluate": "succeeded",
        "check_mse": "succeeded",
        "register": "succeeded",
        "create_model": "succeeded",
        "transform": "succeeded",
        "mse_too_high": "skipped",
    }
    steps = manifest(abalone.state, "abalone", abalone.first.run_id)["steps"]
    assert steps["check_mse"]["result"]["branch"] == "then"


def test_abalone_transform_predicts_one_ring_count_per_input_line(abalone: Abalone) -> None:
    succeeded(abalone.first)
    output = abalone.run_dir / "transform" / "output"
    assert sorted(p.name for p in output.iterdir()) == ["abalone-dataset-batch.out"]
    predictions = (output / "abalone-dataset-batch.out").read_text().splitlines()
    inputs = ABALONE_BATCH.read_text().splitlines()
    assert len(predictions) == len(inputs) > 100
    values = np.array([float(line) for line in predictions])
    assert ((values >= 1) & (values <= 30)).all()


def test_models_lists_the_created_model_and_the_registered_version(abalone: Abalone) -> None:
    models = succeeded(abalone.models)
    assert f"abalone-create_model-{abalone.first.run_id}" in models.stdout
    assert re.search(r"AbaloneModelPackageGroup v1\s+PendingManualApproval", models.stdout)
    assert "AbaloneModelPackageGroup v2" not in models.stdout


def test_the_registry_records_the_model_package_and_its_metrics_file(abalone: Abalone) -> None:
    registry = json.loads((abalone.state / "registry.json").read_text())
    (version,) = registry["model_package_groups"]["AbaloneModelPackageGroup"]
    assert version["approval_status"] == "PendingManualApproval"
    assert version["run_id"] == abalone.first.run_id
    statistics = Path(version["metrics"]["model_statistics"])
    assert statistics == abalone.run_dir / "evaluate" / "evaluation" / "evaluation.json"
    assert statistics.is_file()
    assert Path(version["model_data"]) == abalone.run_dir / "train" / "model" / "model.tar.gz"
    model = registry["models"][f"abalone-create_model-{abalone.first.run_id}"]
    assert model["framework"] == "xgboost" and Path(model["model_data"]).is_file()


# ---------------------------------------------------------------------------------------------
# The other branch: the fail step


def test_a_threshold_the_model_misses_reaches_the_fail_step(abalone: Abalone) -> None:
    high = abalone.high
    assert high.returncode == 1, high.output
    found = FAIL_MESSAGE.search(high.stderr)
    assert found, high.output
    report = json.loads(
        (abalone.run_dir / "evaluate" / "evaluation" / "evaluation.json").read_text()
    )
    assert float(found.group(1)) == pytest.approx(report["regression_metrics"]["mse"]["value"])
    assert "rerun just this step" not in high.stderr  # a fail step is no script to fix
    found_states = states(abalone.state, "abalone", high)
    assert {n: found_states[n] for n in ("register", "create_model", "transform")} == dict.fromkeys(
        ("register", "create_model", "transform"), "skipped"
    )
    assert found_states["mse_too_high"] == "failed"
    assert manifest(abalone.state, "abalone", high.run_id)["status"] == "Failed"


def test_only_a_branch_step_runs_it(abalone: Abalone) -> None:
    """``--only transform`` runs transform with what it reads from earlier runs, even when the
    latest run's condition (decided on another MseThreshold) took the other branch."""
    only = abalone.only_transform
    found = states(abalone.state, "abalone", only)
    assert found["transform"] == "succeeded", only.output
    assert found["register"] == "not selected" and found["mse_too_high"] == "not selected"


# ---------------------------------------------------------------------------------------------
# A script that fails


def _fail_second(tmp_path: Path) -> tuple[Path, Path, Ran]:
    pipeline = copy_fixture(LOCAL / "failing", tmp_path / "failing")
    state = tmp_path / "state"
    return pipeline, state, run_local(pipeline, state, cwd=tmp_path)


def test_a_failing_script_shows_its_error_its_log_and_how_to_rerun_it(tmp_path: Path) -> None:
    pipeline, state, ran = _fail_second(tmp_path)
    assert ran.returncode == 1, ran.output
    script = pipeline.parent / "code" / "second.py"
    # the script as the user named it: relative to the current folder
    assert "error: step 'second' failed: failing/code/second.py exited with 1" in ran.stderr
    assert "  | ValueError: cannot count 3 records: bad record 'b'" in ran.stderr  # the tail
    assert f'File "{script}", line 7, in count' in ran.stderr  # the user's file, not the copy
    assert "sandbox.py" not in ran.stderr and "runpy" not in ran.stderr
    assert ".container" not in ran.stderr
    log = re.search(r"^log: (.+)$", ran.stderr, re.M)
    assert log, ran.output
    assert "bad record 'b'" in Path(log.group(1)).read_text()
    assert re.search(r"^rerun just this step: smdsl run .* --local --only second", ran.stderr, re.M)
    assert printed_states(ran) == {"first": "ok", "second": "FAILED", "third": "not run"}
    assert states(state, "failing", ran) == {
        "first": "succeeded",
        "second": "failed",
        "third": "not run",
    }
    assert manifest(state, "failing", ran.run_id)["status"] == "Failed"


def test_the_printed_rerun_command_reruns_the_fixed_step_on_the_earlier_outputs(
    tmp_path: Path,
) -> None:
    pipeline, state, failed = _fail_second(tmp_path)
    assert failed.returncode == 1, failed.output
    line = re.search(r"^rerun just this step: (.+)$", failed.stderr, re.M)
    assert line, failed.output
    words = shlex.split(line.group(1))
    assert words[:2] == ["smdsl", "run"]
    (pipeline.parent / "code" / "second.py").write_text(
        "import os\n"
        "with open('/opt/ml/processing/input/records/records.txt') as handle:\n"
        "    count = len(handle.read().splitlines())\n"
        "os.makedirs('/opt/ml/processing/output/counted', exist_ok=True)\n"
        "with open('/opt/ml/processing/output/counted/count.txt', 'w') as out:\n"
        "    out.write(str(count))\n"
    )
    rerun = succeeded(cli(*words[1:], cwd=tmp_path))
    steps = manifest(state, "failing", rerun.run_id)["steps"]
    assert {n: s["state"] for n, s in steps.items()} == {
        "first": "reused",
        "second": "succeeded",
        "third": "not selected",
    }
    assert steps["first"]["source_run"] == failed.run_id
    counted = state / "runs" / "failing" / rerun.run_id / "second" / "counted" / "count.txt"
    assert counted.read_text() == "3"


def test_the_rerun_command_keeps_the_data_dir_the_run_used(tmp_path: Path) -> None:
    """A step that reads s3:// data fails; the rerun command printed for it reads the same
    data: it names the --data-dir the failed run was given."""
    pipeline = LOCAL / "subprocess_path" / "pipeline.py"
    data = LOCAL / "opt_ml" / "data"
    failed = run_local(pipeline, tmp_path / "state", "--data-dir", str(data), cwd=tmp_path)
    assert "error: step 'shell_out' failed" in failed.stderr, failed.output
    line = re.search(r"^rerun just this step: (.+)$", failed.stderr, re.M)
    assert line, failed.output
    rerun = cli(*shlex.split(line.group(1))[1:], cwd=tmp_path)
    # the step runs again (and fails again the same way), rather than not finding its data
    assert "problem before the local run" not in rerun.stderr, rerun.output
    assert "error: step 'shell_out' failed" in rerun.stderr, rerun.output


# ---------------------------------------------------------------------------------------------
# --from and --only


def test_only_runs_the_step_on_the_latest_outputs_of_its_upstream(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = succeeded(run_local(CHAIN, state))
    only = succeeded(run_local(CHAIN, state, "--only", "double"))
    steps = manifest(state, "chain", only.run_id)["steps"]
    assert {n: s["state"] for n, s in steps.items()} == {
        "make": "reused",
        "double": "succeeded",  # unchanged, yet run: it was asked for
        "total": "not selected",
    }
    assert steps["make"]["source_run"] == first.run_id
    doubled = state / "runs" / "chain" / only.run_id / "double" / "doubled" / "doubled.txt"
    assert doubled.read_text() == "2\n4\n6\n8\n10\n"
    assert printed_states(only) == {"make": "reused", "double": "ok", "total": "not selected"}


def test_only_reuses_the_outputs_of_the_latest_run(tmp_path: Path) -> None:
    state = tmp_path / "state"
    succeeded(run_local(CHAIN, state))
    time.sleep(1.1)  # "latest" is by run id, whose time has whole seconds (then a random suffix)
    latest = succeeded(run_local(CHAIN, state, "--param", "Count=3"))
    only = succeeded(run_local(CHAIN, state, "--only", "total"))
    steps = manifest(state, "chain", only.run_id)["steps"]
    assert steps["double"]["source_run"] == latest.run_id
    assert _chain_total(state, only) == "12"  # 2 + 4 + 6: Count=3's numbers


def test_from_runs_the_step_and_every_step_after_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = succeeded(run_local(CHAIN, state))
    later = succeeded(run_local(CHAIN, state, "--from", "double"))
    steps = manifest(state, "chain", later.run_id)["steps"]
    assert steps["make"]["state"] == "reused" and steps["make"]["source_run"] == first.run_id
    assert steps["double"]["state"] == "succeeded"
    assert steps["total"]["state"] == "succeeded", later.output  # selected: run, not cached
    assert _chain_total(state, later) == "30"


@pytest.mark.parametrize("selection", [["--from", "double"], ["--only", "total"]])
def test_from_or_only_before_any_run_is_refused_and_nothing_runs(
    tmp_path: Path, selection: list[str]
) -> None:
    state = tmp_path / "state"
    ran = run_local(CHAIN, state, *selection)
    assert ran.returncode != 0, ran.output
    assert "nothing ran" in ran.stderr
    assert "run the pipeline without --from/--only first" in ran.stderr
    assert "in step 'make'" in ran.stderr
    assert no_runs(state)


@pytest.mark.parametrize("option", ["--from", "--only"])
def test_an_unknown_step_name_suggests_the_closest(tmp_path: Path, option: str) -> None:
    ran = run_local(CHAIN, tmp_path / "state", option, "doubel")
    assert ran.returncode != 0, ran.output
    assert "no step 'doubel' in chain (did you mean 'double'?)" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert no_runs(tmp_path / "state")


def test_from_and_only_together_are_refused(tmp_path: Path) -> None:
    ran = run_local(CHAIN, tmp_path / "state", "--from", "make", "--only", "total")
    assert ran.returncode != 0, ran.output
    assert "give --from or --only, not both" in ran.stderr
    assert no_runs(tmp_path / "state")


# ---------------------------------------------------------------------------------------------
# Parameters


PARAMS = LOCAL / "params" / "pipeline.py"


def _argv(state: Path, ran: Ran) -> list[str]:
    run_dir = state / "runs" / "params" / ran.run_id
    return (run_dir / "echo" / "argv" / "argv.txt").read_text().splitlines()


def test_each_parameter_type_reaches_the_script_as_the_pipeline_renders_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ran = succeeded(run_local(PARAMS, state))
    assert _argv(state, ran) == [
        *("--mode", "fast"),
        *("--epochs", "3"),
        *("--rate", "0.01"),
        *("--flag", "true"),
        *("--execution", ran.run_id),  # execution.id: this run's id
    ]
    with tarfile.open(
        state / "runs" / "params" / ran.run_id / "fit" / "model" / "model.tar.gz"
    ) as tar:
        argv = tar.extractfile("argv.txt").read().decode().splitlines()  # type: ignore[union-attr]
        hps = json.loads(tar.extractfile("hps.json").read())  # type: ignore[union-attr]
    # hyperparameters: --name value, in name order; SM_HPS has them typed
    assert argv == ["--epochs", "3", "--flag", "true", "--mode", "fast", "--rate", "0.01"]
    assert hps == {"epochs": 3, "flag": True, "mode": "fast", "rate": 0.01}


def test_overridden_parameters_reach_the_script(tmp_path: Path) -> None:
    state = tmp_path / "state"
    overrides = ["Mode=two words", "Epochs=7", "Rate=1e-3", "Flag=no"]
    ran = succeeded(run_local(PARAMS, state, *(a for o in overrides for a in ("--param", o))))
    assert _argv(state, ran) == [
        *("--mode", "two words"),
        *("--epochs", "7"),
        *("--rate", "0.001"),
        *("--flag", "false"),
        *("--execution", ran.run_id),
    ]
    assert manifest(state, "params", ran.run_id)["parameters"] == {
        "Mode": "two words",
        "Epochs": 7,
        "Rate": 0.001,
        "Flag": False,
    }


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("Epochs=3.5", "Epochs is an Integer parameter, and '3.5' is not a whole number"),
        ("Rate=fast", "Rate is a Float parameter, and 'fast' is not a number"),
        ("Flag=maybe", "Flag is a Boolean parameter, and 'maybe' is not true or false"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_before_anything_runs(
    tmp_path: Path, given: str, said: str
) -> None:
    state = tmp_path / "state"
    ran = run_local(PARAMS, state, "--param", given)
    assert ran.returncode == 2, ran.output
    assert said in ran.stderr
    assert "Traceback" not in ran.stderr
    assert not state.exists()


def test_an_unknown_parameter_suggests_the_closest(tmp_path: Path) -> None:
    ran = run_local(PARAMS, tmp_path / "state", "--param", "Epoch=4")
    assert ran.returncode == 2, ran.output
    assert "the pipeline has no parameter 'Epoch' (did you mean 'Epochs'?)" in ran.stderr
    assert not (tmp_path / "state").exists()


def test_a_parameter_without_a_default_needs_a_value(tmp_path: Path) -> None:
    pipeline, state = LOCAL / "required_param" / "pipeline.py", tmp_path / "state"
    ran = run_local(pipeline, state)
    assert ran.returncode == 2, ran.output
    assert "no value for parameter Label, which has no default: give --param Label=VALUE" in (
        ran.stderr
    )
    assert not state.exists()
    given = succeeded(run_local(pipeline, state, "--param", "Label=spam"))
    label = state / "runs" / "required-param" / given.run_id / "show" / "label" / "label.txt"
    assert label.read_text() == "spam"


# ---------------------------------------------------------------------------------------------
# /opt/ml paths


def test_a_script_using_opt_ml_paths_directly_runs_unchanged(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ran = succeeded(run_local(LOCAL / "opt_ml" / "pipeline.py", state))
    result = state / "runs" / "opt-ml" / ran.run_id / "touch" / "result"
    report = json.loads((result / "report.json").read_text())
    assert report == {
        "exists": True,
        "extracted": "hello sandbox\n",
        "glob": ["a.txt", "table.csv"],
        "is_file": True,
        "iterdir": ["a.txt", "table.csv"],
        "rows": 2,
    }
    assert (result / "nested" / "deeper" / "sums.csv").read_text() == "a,b,total\n1,2,3\n3,4,7\n"
    assert (result / "notes" / "upper.txt").read_text() == "HELLO SANDBOX\n"
    with tarfile.open(result / "archive.tar.gz") as tar:
        assert tar.getnames() == ["a.txt"]
    assert not Path("/opt/ml/processing").exists()  # nothing reached the real /opt/ml
    # the container folder of a step that succeeded is removed
    assert not (state / "runs" / "opt-ml" / ran.run_id / "touch" / ".container").exists()


def test_a_subprocess_given_an_opt_ml_path_fails_with_the_smdsl_opt_ml_hint(
    tmp_path: Path,
) -> None:
    # the dev profile's local_data names the opt_ml fixture's mirror
    ran = run_local(LOCAL / "subprocess_path" / "pipeline.py", tmp_path / "state", "--env", "dev")
    assert ran.returncode == 1, ran.output
    assert "cat: /opt/ml/processing/input/x/a.txt: No such file or directory" in ran.stderr
    hint = re.search(r"^hint: shell_out\.py .*$", ran.stderr, re.M)
    assert hint, ran.output
    assert "SMDSL_OPT_ML" in hint.group(0) and "subprocess" in hint.group(0)
    assert "--env dev" in ran.stderr  # in the rerun command


def test_a_missing_module_is_named_in_a_hint(tmp_path: Path) -> None:
    ran = run_local(LOCAL / "missing_module" / "pipeline.py", tmp_path / "state")
    assert ran.returncode == 1, ran.output
    assert "ModuleNotFoundError: No module named 'smdsl_no_such_package'" in ran.stderr
    hint = re.search(
        r"^hint: needs_package\.py imports 'smdsl_no_such_package'.*$", ran.stderr, re.M
    )
    assert hint, ran.output
    assert "requirements.txt" in hint.group(0)
    assert "SMDSL_OPT_ML" not in ran.stderr


# ---------------------------------------------------------------------------------------------
# What cannot run locally, reported before anything runs


def test_steps_that_cannot_run_locally_are_reported_together_before_anything_runs(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    ran = run_local(LOCAL / "not_local" / "pipeline.py", state)
    assert ran.returncode != 0, ran.output
    assert "not-local: 2 problems before the local run (nothing ran)" in ran.stderr
    pipeline = LOCAL / "not_local" / "pipeline.py"
    learn = re.search(r"^  - .*in step 'learn': (.*)$", ran.stderr, re.M)
    assert learn, ran.output
    assert f'File "{pipeline}"' in learn.group(0)
    assert "linear-learner:1 runs its own code, which has no local equivalent" in learn.group(1)
    assert "entry_point" in learn.group(1)
    announce = re.search(r"^  - .*in step 'announce': (.*)$", ran.stderr, re.M)
    assert announce, ran.output
    assert "step kind 'notify' has no local runner" in announce.group(1)
    assert "StepKind(local=" in announce.group(1)
    assert "Traceback" not in ran.stderr
    assert "prepare" not in ran.stdout  # the step that could run did not
    assert not state.exists()


def test_missing_mirror_data_names_the_uri_and_where_to_put_it(tmp_path: Path) -> None:
    mirror, state = tmp_path / "mirror", tmp_path / "state"
    mirror.mkdir()
    ran = run_local(QUICKSTART / "pipeline.py", state, "--data-dir", str(mirror), cwd=tmp_path)
    assert ran.returncode != 0, ran.output
    assert "nothing ran" in ran.stderr
    assert "in step 'preprocess'" in ran.stderr
    assert CHURN_URI in ran.stderr
    where = mirror / "smdsl-example-data" / "churn" / "raw"
    assert os.path.relpath(where, tmp_path) in ran.stderr or str(where) in ran.stderr
    assert not state.exists()


# ---------------------------------------------------------------------------------------------
# --s3


BUCKET, KEY = "smdsl-example-data", "churn/raw/churn.csv"


def _s3(server: RecordingMotoServer) -> Any:
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=OFFLINE_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=OFFLINE_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def test_s3_reads_the_input_from_s3_and_writes_nothing_there(
    aws: RecordingMotoServer, tmp_path: Path
) -> None:
    s3 = _s3(aws)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=CHURN_CSV.read_bytes())
    aws.requests.clear()
    state = tmp_path / "state"
    env = aws_env(aws, SMDSL_REGION="us-east-1", PYTHONDONTWRITEBYTECODE="1")
    # preprocess reads s3:// data; train reads preprocess's output, so it is left out
    ran = succeeded(
        run_local(QUICKSTART / "pipeline.py", state, "--s3", "--only", "preprocess", env=env)
    )
    assert re.search(r"^local run \S+ of quickstart: 2 steps, .*from S3$", ran.stdout, re.M)
    assert states(state, "quickstart", ran) == {"preprocess": "succeeded", "train": "not selected"}
    split = state / "runs" / "quickstart" / ran.run_id / "preprocess"
    rows = sum(
        len((split / s / f"{s}.csv").read_text().splitlines())
        for s in ("train", "validation", "test")
    )
    assert rows == 1000
    assert (state / "s3" / BUCKET / KEY).read_bytes() == CHURN_CSV.read_bytes()  # downloaded
    assert aws.requests, "the run read nothing from the server"
    assert aws.writes() == []
    assert {r.method for r in aws.requests} <= {"GET", "HEAD"}


def test_s3_without_the_object_is_an_error_before_anything_runs(
    aws: RecordingMotoServer, tmp_path: Path
) -> None:
    _s3(aws).create_bucket(Bucket=BUCKET)
    state = tmp_path / "state"
    env = aws_env(aws, SMDSL_REGION="us-east-1", PYTHONDONTWRITEBYTECODE="1")
    ran = run_local(QUICKSTART / "pipeline.py", state, "--s3", env=env)
    assert ran.returncode != 0, ran.output
    assert "nothing ran" in ran.stderr
    assert "in step 'preprocess'" in ran.stderr and f"{CHURN_URI}: no object in S3" in ran.stderr
    assert no_runs(state)


def test_s3_and_data_dir_together_are_refused(tmp_path: Path) -> None:
    ran = run_local(QUICKSTART / "pipeline.py", tmp_path / "state", "--s3", "--data-dir", "x")
    assert ran.returncode == 2, ran.output
    assert "give --s3 or --data-dir, not both" in ran.stderr


# ---------------------------------------------------------------------------------------------
# requirements.txt in a source_dir


def build_wheel(folder: Path) -> Path:
    """A pure-Python wheel of ``tinypkg`` (``VALUE = 42``), built by hand: pip needs no network
    and no build backend to install it."""
    files = {
        "tinypkg/__init__.py": "VALUE = 42\n",
        "tinypkg-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n",
        "tinypkg-0.1.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [
        f"{name},sha256={urlsafe_b64encode(sha256(text.encode()).digest()).rstrip(b'=').decode()},"
        f"{len(text.encode())}"
        for name, text in files.items()
    ]
    files["tinypkg-0.1.dist-info/RECORD"] = "\n".join([*record, "tinypkg-0.1.dist-info/RECORD,,"])
    wheel = folder / "tinypkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


def test_requirements_are_installed_once_into_a_cached_folder_not_the_venv(
    tmp_path: Path,
) -> None:
    pipeline = copy_fixture(LOCAL / "requirements", tmp_path / "requirements")
    wheel = build_wheel(tmp_path)
    (pipeline.parent / "code" / "requirements.txt").write_text(f"{wheel}\n")
    state = tmp_path / "state"

    first = succeeded(run_local(pipeline, state))
    run_dir = state / "runs" / "requirements" / first.run_id / "use_package"
    assert (run_dir / "value" / "value.txt").read_text() == "42"
    stdout = (run_dir / ".logs" / "stdout.log").read_text()
    (installed,) = (state / "cache" / "requirements").iterdir()
    assert f"tinypkg.VALUE = 42 from {installed / 'tinypkg' / '__init__.py'}" in stdout
    assert (installed / ".complete").is_file()
    assert "use_package: installing requirements.txt" in first.stdout

    # never into smdsl's own environment
    check = subprocess.run(
        [sys.executable, "-c", "import tinypkg"], capture_output=True, text=True, env=ENV
    )
    assert check.returncode == 1 and "No module named 'tinypkg'" in check.stderr
    assert not list(Path(sys.prefix).rglob("tinypkg*"))

    # a second run (the step run again) installs nothing
    second = succeeded(run_local(pipeline, state, "--no-cache"))
    assert "installing" not in second.stdout
    assert [p.name for p in (state / "cache" / "requirements").iterdir()] == [installed.name]
    again = state / "runs" / "requirements" / second.run_id / "use_package" / "value" / "value.txt"
    assert again.read_text() == "42"


# ---------------------------------------------------------------------------------------------
# The commands themselves


def test_run_without_local_is_a_usage_error(tmp_path: Path) -> None:
    ran = cli("run", QUICKSTART / "pipeline.py", "--state-dir", tmp_path / "state", cwd=tmp_path)
    assert ran.returncode == 2, ran.output
    assert "smdsl run needs --local" in ran.stderr
    assert not (tmp_path / "state").exists()


def test_models_without_local_is_a_usage_error(tmp_path: Path) -> None:
    ran = cli("models", "--state-dir", tmp_path, cwd=tmp_path)
    assert ran.returncode == 2, ran.output
    assert "smdsl models needs --local" in ran.stderr


def test_models_on_an_empty_state_folder_says_there_are_none(tmp_path: Path) -> None:
    ran = succeeded(cli("models", "--local", "--state-dir", tmp_path / "state", cwd=tmp_path))
    assert ran.stdout.startswith("no models in ")
    assert "run a pipeline with --local first" in ran.stdout


def test_run_help_names_every_local_option() -> None:
    ran = succeeded(cli("run", "--help", cwd=ROOT))
    for option in ("--local", "--param", "--from", "--only", "--no-cache", "--s3", "--data-dir"):
        assert option in ran.stdout, option
    assert "--state-dir" in ran.stdout

"""What a new user's trial of ``smdsl run --local`` found, each held by a test: branch decisions
under --from, SageMaker's own refusals (an approval status, a scikit-learn model without
model_fn), CloudWatch-style metric regexes, max_runtime stopping what a script started, and S3
prefix semantics of the data mirror."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from conftest import FIXTURES, clean_env

from smdsl.local.data import Mirror

LOCAL = FIXTURES / "local"


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smdsl", "run", "pipeline.py", "--local", *args],
        cwd=folder,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def states(folder: Path) -> dict[str, str]:
    runs = sorted((folder / ".smdsl" / "runs" / folder.name).iterdir())
    steps = json.loads((runs[-1] / "run.json").read_text())["steps"]
    return {name: step["state"] for name, step in steps.items()}


def running(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (dead, not yet reaped by init) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.is_file():
        return stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    return True


def copy(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(LOCAL / name, folder)
    return folder


def test_from_keeps_the_branch_decisions_of_a_full_run(tmp_path: Path) -> None:
    folder = copy("branches", tmp_path)
    expected = {
        "score": "succeeded",
        "outer": "succeeded",
        "inner": "skipped",
        "publish": "skipped",
        "outer_fail": "failed",
        "inner_fail": "skipped",
    }
    full = run(folder, "--param", "Mode=bad")
    assert full.returncode == 1, full.stdout + full.stderr
    assert "fail step 'outer_fail' reached: outer failed" in full.stderr
    assert states(folder) == expected
    time.sleep(0.01)
    again = run(folder, "--param", "Mode=bad", "--from", "score")
    assert again.returncode == 1, again.stdout + again.stderr
    assert "fail step 'outer_fail' reached" in again.stderr
    assert "inner_fail" not in again.stderr
    assert states(folder) == expected


def test_a_named_step_in_an_untaken_branch_runs_and_says_so(tmp_path: Path) -> None:
    folder = copy("branches", tmp_path)
    run(folder, "--param", "Score=0.1")  # inner does not hold: publish is skipped
    only = run(folder, "--param", "Score=0.1", "--only", "publish")
    assert only.returncode == 0, only.stdout + only.stderr
    assert "publish: ok" in only.stdout
    assert "it is in the then= of 'inner', which chose otherwise=" in only.stdout


def test_reused_results_say_which_parameters_their_run_had(tmp_path: Path) -> None:
    folder = copy("branches", tmp_path)
    run(folder, "--param", "Score=0.7")
    only = run(folder, "--only", "inner")
    assert only.returncode == 0, only.stdout + only.stderr
    assert "score: reused" in only.stdout
    assert "that run had Score=0.7" in only.stdout


def test_job_steps_behave_as_sagemaker_would(tmp_path: Path) -> None:
    folder = copy("jobs", tmp_path)
    ran = run(folder)
    out = ran.stdout + ran.stderr
    assert ran.returncode == 1, out
    # a CloudWatch-style regex (#011 for the tab) matches; an unmatched metric is said
    assert "validation:rmse = 0.6" in out
    assert "metric 'never' matched no line of the output" in out
    # max_runtime stops the script and what it started
    assert "code/slow.py was stopped after its max_runtime of 2s" in out
    pid = int(next(folder.glob(".smdsl/runs/*/*/slow/.container/child.pid")).read_text())
    assert not running(pid), f"the script's child {pid} outlived its max_runtime"
    # an approval status CreateModelPackage refuses fails the register step
    bad = run(folder, "--param", "Approval=Maybe", "--only", "register")
    assert bad.returncode == 1
    assert (
        "approval_status: 'Maybe' is not one CreateModelPackage accepts (Approved, Rejected, "
        "PendingManualApproval)" in bad.stderr
    )


def test_a_scikit_learn_model_without_model_fn_cannot_transform_locally(tmp_path: Path) -> None:
    folder = tmp_path / "sk"
    folder.mkdir()
    (folder / "pipeline.py").write_text(
        "from smdsl import Model, Transform, model_step, transform_step\n"
        "SK = {'framework': 'sklearn', 'framework_version': '1.2-1'}\n"
        "@model_step(**SK)\n"
        "def create() -> Model:\n"
        "    return Model(model_data='s3://bkt/model.tar.gz')\n"
        "@transform_step(instance_type='ml.m5.xlarge')\n"
        "def score(create: Model) -> Transform:  # MARK:transform\n"
        "    return Transform(model=create.model_name, input='s3://bkt/batch/')\n"
    )
    ran = run(folder)
    assert ran.returncode == 1
    assert "nothing ran" in ran.stderr
    assert "in step 'score': model: the model of step 'create' is served by the sklearn image" in (
        ran.stderr
    )
    assert "give the model step an entry_point with model_fn" in ran.stderr
    assert not (folder / ".smdsl" / "runs").exists()


def test_the_local_state_variable_is_a_known_setting(tmp_path: Path) -> None:
    folder = copy("branches", tmp_path)
    env = {**clean_env(), "SMDSL_LOCAL_DIR": str(tmp_path / "state")}
    ran = subprocess.run(
        [sys.executable, "-m", "smdsl", "run", "pipeline.py", "--local"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "warning" not in ran.stderr
    assert list((tmp_path / "state" / "runs" / "branches").glob("*/run.json"))


def test_an_s3_prefix_names_every_key_that_starts_with_it(tmp_path: Path) -> None:
    bucket = tmp_path / "bkt"
    for key in ("sales/a.csv", "sales.csv", "sales_old/o.csv", "sales2/x/y.csv", "other.csv"):
        (bucket / key).parent.mkdir(parents=True, exist_ok=True)
        (bucket / key).write_text(key)
    mirror = Mirror(tmp_path)
    assert sorted(mirror.objects("s3://bkt/sales")) == [
        "sales.csv",
        "sales/a.csv",
        "sales2/x/y.csv",
        "sales_old/o.csv",
    ]
    assert sorted(mirror.objects("s3://bkt/sales/")) == ["a.csv"]
    assert sorted(mirror.objects("s3://bkt/sales2/x")) == ["x/y.csv"]
    assert mirror.objects("s3://bkt/sales.csv") == {"sales.csv": bucket / "sales.csv"}
    assert mirror.objects("s3://bkt/nothing") == {}


def test_a_local_runner_without_run_fails_with_a_message(tmp_path: Path) -> None:
    import pytest

    from smdsl.declare.env import Env
    from smdsl.graph.build import build_graph
    from smdsl.graph.loader import load_pipeline
    from smdsl.local import LocalRunner, LocalStep
    from smdsl.local.data import Mirror
    from smdsl.local.engine import LocalRun
    from smdsl.local.errors import LocalRunError
    from smdsl.local.progress import PlainReporter

    class Forgetful(LocalRunner):
        pass

    folder = copy("branches", tmp_path)
    graph = build_graph(load_pipeline(folder / "pipeline.py"), Env())
    local = LocalRun(
        graph,
        state_dir=tmp_path / "state",
        data=Mirror(tmp_path),
        parameters={},
        reporter=PlainReporter(),
    )
    with pytest.raises(
        LocalRunError,
        match=r"local runner .*Forgetful of step kind 'processing' "
        r"defines no run\(step\) method",
    ):
        Forgetful.run(LocalStep(local, graph.nodes["score"]))

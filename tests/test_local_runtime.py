"""Tests for the scripts `smdsl run --local` executes in subprocesses, and for the examples' data.

``smdsl/local/runtime/xgboost_algorithm.py`` stands in for SageMaker's built-in XGBoost algorithm
(the training container's SM_* contract); ``smdsl/local/runtime/inference.py`` for a batch
transform of a model. The main paths run them as the runner does, ``python SCRIPT`` in a
subprocess, on small data made in tmp_path; the many ways to fail call their ``main()`` in this
process, which is much faster (each subprocess pays XGBoost's import, about a second). The
examples' ``data/generate.py`` scripts must reproduce the shipped files byte for byte.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import joblib
import numpy as np
import pytest
import xgboost as xgb
from conftest import ROOT
from sklearn.linear_model import LinearRegression

import smdsl

RUNTIME = Path(smdsl.__file__).parent / "local" / "runtime"
ALGORITHM = RUNTIME / "xgboost_algorithm.py"
INFERENCE = RUNTIME / "inference.py"
QUICKSTART_DATA = ROOT / "examples" / "quickstart" / "data"
ABALONE_DATA = ROOT / "examples" / "abalone" / "data"
CHURN_CSV = QUICKSTART_DATA / "smdsl-example-data" / "churn" / "raw" / "churn.csv"
ABALONE = ABALONE_DATA / "smdsl-example-data" / "abalone"
EVAL_LINE = re.compile(r"^\[(\d+)\]\ttrain-rmse:[0-9.]+\tvalidation-rmse:([0-9.]+)$", re.M)
HPS = {"objective": "reg:squarederror", "num_round": "30", "max_depth": "3", "eta": "0.3"}
LINES = ("--split-type", "Line", "--assemble-with", "Line")


def load_script(path: Path) -> ModuleType:
    """A script imported as a module, to call its main() in this process."""
    spec = importlib.util.spec_from_file_location(f"_test_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    dont_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:  # no __pycache__ beside the scripts: data/ mirrors S3 buckets
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
    return module


@pytest.fixture
def quiet() -> Iterator[None]:
    """The scripts set warning filters and warnings.showwarning: undone after each test."""
    with warnings.catch_warnings():
        yield


def regression(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (4 columns, 6 decimals) and a label that depends on two of them."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (rows, 4)).round(6)
    return x, 3 * x[:, 0] + 2 * x[:, 1] + rng.normal(0, 0.05, rows)


def csv_text(x: np.ndarray, y: np.ndarray | None = None) -> str:
    rows = x if y is None else np.column_stack([y, x])
    return "".join(",".join(f"{v:.6f}" for v in row) + "\n" for row in rows)


def libsvm_text(x: np.ndarray, y: np.ndarray) -> str:
    return "".join(
        f"{label:.6f} " + " ".join(f"{i}:{v:.6f}" for i, v in enumerate(row)) + "\n"
        for label, row in zip(y, x, strict=True)
    )


def training_job(
    tmp_path: Path,
    hyperparameters: dict[str, str],
    channels: dict[str, dict[str, str]],
    content_types: dict[str, str] | None = None,
) -> dict[str, str]:
    """The SM_* variables of a training job with channels {name: {relative file: text}}."""
    env = {}
    for name, files in channels.items():
        for relative, text in files.items():
            path = tmp_path / "input" / "data" / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        env[f"SM_CHANNEL_{name.upper()}"] = str(tmp_path / "input" / "data" / name)
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    data_config = {name: {"ContentType": kind} for name, kind in (content_types or {}).items()}
    (config / "inputdataconfig.json").write_text(json.dumps(data_config))
    return {
        **env,
        "SM_HPS": json.dumps(hyperparameters),
        "SM_INPUT_CONFIG_DIR": str(config),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DIR": str(tmp_path / "output"),
    }


def run_algorithm(job: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")} | job
    command = [sys.executable, str(ALGORITHM)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def load_booster(path: Path) -> xgb.Booster:
    booster = xgb.Booster({"nthread": 1})
    with warnings.catch_warnings():  # "Unknown file format": a file without extension is UBJSON
        warnings.simplefilter("ignore")
        booster.load_model(str(path))
    return booster


def rmse(booster: xgb.Booster, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((booster.predict(xgb.DMatrix(x)) - y) ** 2)))


# --- the built-in XGBoost algorithm, in a subprocess ----------------------------------------------


def test_builtin_xgboost_trains_on_csv_from_every_file_and_prints_sagemaker_metric_lines(
    tmp_path: Path,
) -> None:
    x, y = regression(300, seed=1)
    train = {"a.csv": csv_text(x[:100], y[:100]), "more/b.csv": csv_text(x[100:200], y[100:200])}
    job = training_job(
        tmp_path,
        {**HPS, "objective": "reg:linear"},  # deprecated: trained as reg:squarederror
        {"train": train, "validation": {"validation.csv": csv_text(x[200:], y[200:])}},
        {"train": "text/csv", "validation": "text/csv; label_size=1"},
    )
    result = run_algorithm(job)
    assert result.returncode == 0, result.stderr
    assert "reg:linear" in result.stdout and "reg:squarederror" in result.stdout
    lines = EVAL_LINE.findall(result.stdout)  # [i]<TAB>train-rmse:..<TAB>validation-rmse:..
    assert [int(i) for i, _ in lines] == list(range(30))
    # what a metric definition written for SageMaker's XGBoost matches
    last = re.findall(r"validation-rmse:([0-9\.]+)", result.stdout)[-1]
    assert float(last) == float(lines[-1][1]) < 0.3
    booster = load_booster(tmp_path / "model" / "xgboost-model")
    assert booster.num_boosted_rounds() == 30 and booster.num_features() == 4
    assert rmse(booster, x[200:], y[200:]) == pytest.approx(float(last), abs=1e-4)
    assert float(last) < 0.3 < float(np.std(y))  # it learned (both files: 200 rows)
    assert "Saving model" not in result.stderr and not (tmp_path / "output" / "failure").exists()


def test_builtin_xgboost_trains_on_libsvm_by_default(tmp_path: Path) -> None:
    """No ContentType: libsvm, as on SageMaker; channels share one width, files are joined."""
    x, y = regression(240, seed=2)
    train = {"part-1": libsvm_text(x[:100], y[:100]), "part-2": libsvm_text(x[100:200], y[100:200])}
    # the validation rows never name feature 3: still four features wide
    rows = zip(y[200:], x[200:], strict=True)
    valid = "".join(f"{label:.6f} 0:{row[0]:.6f} 1:{row[1]:.6f}\n" for label, row in rows)
    job = training_job(tmp_path, HPS, {"train": train, "validation": {"v": valid}})
    result = run_algorithm(job)
    assert result.returncode == 0, result.stderr
    assert len(EVAL_LINE.findall(result.stdout)) == 30
    booster = load_booster(tmp_path / "model" / "xgboost-model")
    assert booster.num_features() == 4
    assert rmse(booster, x[200:], y[200:]) < 0.3


def test_builtin_xgboost_without_num_round_exits_1_and_writes_the_failure_file(
    tmp_path: Path,
) -> None:
    x, y = regression(20, seed=3)
    job = training_job(tmp_path, {"max_depth": "3"}, {"train": {"t.csv": csv_text(x, y)}})
    result = run_algorithm(job)
    assert result.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert "hyperparameter num_round is required" in failure
    assert failure.strip() in result.stderr
    assert not (tmp_path / "model" / "xgboost-model").exists()


# --- the built-in XGBoost algorithm, in this process ----------------------------------------------


@pytest.fixture
def algorithm(quiet: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # what the script sets, undone after
    return load_script(ALGORITHM)


def run_in_process(
    algorithm: ModuleType, monkeypatch: pytest.MonkeyPatch, job: dict[str, str]
) -> int:
    for key in [k for k in os.environ if k.startswith("SM_")]:
        monkeypatch.delenv(key)
    for key, value in job.items():
        monkeypatch.setenv(key, value)
    status: int = algorithm.main()
    return status


@pytest.mark.parametrize(
    ("hyperparameters", "reason"),
    [
        ({"num_round": "ten"}, "num_round must be a whole number, got 'ten'"),
        ({"num_round": "2.5"}, "num_round must be a whole number, got '2.5'"),
        ({"num_round": "3", "objective": "reg:nope"}, "Unknown objective function: `reg:nope`"),
        ({"num_round": "3", "max_depth": "deep"}, "max_depth expect int but value='deep'"),
        ({"num_round": "3", "early_stopping_rounds": "2"}, "needs a validation channel"),
        ({"num_round": "3", "csv_weights": "1"}, "csv_weights=1 (weights after the label)"),
    ],
)
def test_builtin_xgboost_rejects_bad_hyperparameters_in_one_line(
    algorithm: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    hyperparameters: dict[str, str],
    reason: str,
) -> None:
    x, y = regression(30, seed=4)
    job = training_job(
        tmp_path, hyperparameters, {"train": {"t.csv": csv_text(x, y)}}, {"train": "csv"}
    )
    assert run_in_process(algorithm, monkeypatch, job) == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert reason in failure and reason in capsys.readouterr().err
    assert failure.count("\n") == 1  # one line: no stack trace, no list of objectives
    assert "Objective candidate" not in failure and "/workspace/" not in failure


@pytest.mark.parametrize(
    ("channels", "types", "reason"),
    [
        ({}, {}, "the train channel is required"),
        ({"train": {"empty.csv": ""}}, {"train": "text/csv"}, "has no data files"),
        (
            {"train": {"h.csv": "y,a\n1,2\n"}},
            {"train": "text/csv"},
            "h.csv is not a CSV of numbers",
        ),
        ({"train": {"t.csv": "1,2\n3,4\n"}}, {}, "t.csv, line 1, is not libsvm"),
        ({"train": {"t": "1 -1:2\n"}}, {"train": "libsvm"}, "negative feature index"),
        ({"train": {"t": "1,2\n"}}, {"train": "application/x-parquet"}, "not supported locally"),
        (
            {"train": {"t": "1,2,3\n4,5,6\n"}, "validation": {"v": "1,2\n3,4\n"}},
            {"train": "text/csv", "validation": "text/csv"},
            "different numbers of feature columns (2 and 1)",
        ),
    ],
)
def test_builtin_xgboost_names_what_is_wrong_with_the_data(
    algorithm: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    channels: dict[str, dict[str, str]],
    types: dict[str, str],
    reason: str,
) -> None:
    job = training_job(tmp_path, {"num_round": "2"}, channels, types)
    assert run_in_process(algorithm, monkeypatch, job) == 1
    assert reason in (tmp_path / "output" / "failure").read_text()


def test_builtin_xgboost_early_stopping_and_metric_lists(
    algorithm: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    x, y = regression(200, seed=5)
    channels = {
        "train": {"t": csv_text(x[:150], y[:150])},
        "validation": {"v": csv_text(x[150:], y[150:])},
    }
    # nthread 1: in this process OpenMP's idle threads spin, slow on a busy machine
    hps = {**HPS, "num_round": "500", "eta": "0.6", "early_stopping_rounds": "3", "nthread": "1"}
    job = training_job(
        tmp_path, {**hps, "eval_metric": "mae,rmse"}, channels, dict.fromkeys(channels, "text/csv")
    )
    assert run_in_process(algorithm, monkeypatch, job) == 0
    out = capsys.readouterr().out
    rounds = re.findall(
        r"^\[(\d+)\]\ttrain-mae:\S+\ttrain-rmse:\S+\tvalidation-mae:\S+\t", out, re.M
    )
    assert 3 < len(rounds) < 500  # stopped on validation-rmse, the last metric
    assert load_booster(tmp_path / "model" / "xgboost-model").num_boosted_rounds() == len(rounds)


def test_builtin_xgboost_hyperparameters_are_typed_like_sagemakers(algorithm: ModuleType) -> None:
    assert [algorithm.convert(v) for v in ("5", "0.2", "1e-3", "reg:linear")] == [
        5,
        0.2,
        0.001,
        "reg:linear",
    ]
    assert type(algorithm.convert("5")) is int


# --- batch inference ------------------------------------------------------------------------------


def model_tar(tmp_path: Path, files: dict[str, Path]) -> Path:
    tar_path = tmp_path / "model.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for name, path in files.items():
            tar.add(path, arcname=name)
    return tar_path


def infer(
    model: Path, framework: str, data: Path, out: Path, *options: str | Path
) -> subprocess.CompletedProcess[str]:
    args = ["--model-tar", model, "--framework", framework, "--input", data, "--output", out]
    command = [sys.executable, str(INFERENCE), *map(str, [*args, *options])]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def read_floats(path: Path) -> list[float]:
    return [float(line) for line in path.read_text().splitlines()]


def sklearn_model(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A LinearRegression of y = 2*x0 - x3 + 1 in model.tar.gz, some features and their y."""
    x, _ = regression(40, seed=7)
    y = 2 * x[:, 0] - x[:, 3] + 1
    joblib.dump(LinearRegression().fit(x, y), tmp_path / "model.joblib")
    return model_tar(tmp_path, {"model.joblib": tmp_path / "model.joblib"}), x, y


def test_inference_of_an_xgboost_model_writes_one_out_file_per_input_file(tmp_path: Path) -> None:
    x, y = regression(100, seed=6)
    params = {"max_depth": 3, "nthread": 1}  # one thread: OpenMP spins in this process
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=10)
    booster.save_model(str(tmp_path / "saved.ubj"))
    tar = model_tar(tmp_path, {"xgboost-model": tmp_path / "saved.ubj"})
    data = tmp_path / "batch"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text(csv_text(x[:30]) + "\n")  # an empty line: no record
    (data / "sub" / "b").write_text(csv_text(x[30:35]))
    out = tmp_path / "out"
    result = infer(tar, "xgboost", data, out, "--content-type", "text/csv", *LINES)
    assert result.returncode == 0, result.stderr
    outputs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert outputs == ["a.csv.out", "sub/b.out"]
    expected = booster.predict(xgb.DMatrix(x))
    assert read_floats(out / "a.csv.out") == pytest.approx(expected[:30].tolist(), abs=1e-6)
    assert read_floats(out / "sub" / "b.out") == pytest.approx(expected[30:35].tolist(), abs=1e-6)
    assert (out / "a.csv.out").read_text().count("\n") == 30


def test_inference_of_a_sklearn_model_from_a_file(tmp_path: Path) -> None:
    tar, x, y = sklearn_model(tmp_path)
    (tmp_path / "input.csv").write_text(csv_text(x[:12]))
    result = infer(tar, "sklearn", tmp_path / "input.csv", tmp_path / "out", *LINES)
    assert result.returncode == 0, result.stderr
    assert read_floats(tmp_path / "out" / "input.csv.out") == pytest.approx(y[:12].tolist())


def test_inference_uses_the_entry_points_handlers(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "helper.py").write_text("SCALE = 10\n")  # importable: code-dir is on sys.path
    (code / "serve.py").write_text(
        "import os\n"
        "from helper import SCALE\n\n"
        "def model_fn(model_dir):\n"
        "    with open(os.path.join(model_dir, 'weights.txt')) as f:\n"
        "        return float(f.read())\n\n"
        "def predict_fn(data, model):\n"
        "    return data.sum(axis=1) * model * SCALE\n"
    )
    (tmp_path / "weights.txt").write_text("0.5")
    tar = model_tar(tmp_path, {"weights.txt": tmp_path / "weights.txt"})
    (tmp_path / "in.csv").write_text("1,2\n3,4\n")
    entry_point = ("--code-dir", code, "--entry-point", "serve.py")
    result = infer(tar, "pytorch", tmp_path / "in.csv", tmp_path / "out", *LINES, *entry_point)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "in.csv.out").read_text() == "15.0\n35.0\n"


def test_inference_of_an_unknown_framework_without_model_fn_exits_2(tmp_path: Path) -> None:
    (tmp_path / "model.pth").write_text("weights")
    tar = model_tar(tmp_path, {"model.pth": tmp_path / "model.pth"})
    (tmp_path / "in.csv").write_text("1,2\n")
    result = infer(tar, "pytorch", tmp_path / "in.csv", tmp_path / "out")
    assert result.returncode == 2
    message = "no local way to load a pytorch model: give the model an entry_point with model_fn"
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture
def inference(quiet: None) -> ModuleType:
    return load_script(INFERENCE)


def test_inference_json_in_and_out_with_the_whole_file_as_one_request(
    inference: ModuleType, tmp_path: Path
) -> None:
    tar, x, y = sklearn_model(tmp_path)
    (tmp_path / "in.json").write_text(json.dumps(x[:3].tolist()))
    args = ["--model-tar", str(tar), "--framework", "sklearn", "--input", str(tmp_path / "in.json")]
    assert (
        inference.main([*args, "--output", str(tmp_path), "--content-type", "application/json"])
        == 0
    )
    assert json.loads((tmp_path / "in.json.out").read_text()) == pytest.approx(y[:3].tolist())


@pytest.mark.parametrize(
    ("text", "reason"),
    [("1,2,3,4\n1,2\n", "CSV record 2 has 2 values"), ("1,2,x,4\n", "not a CSV of numbers")],
)
def test_inference_of_a_bad_csv_names_the_input_file(
    inference: ModuleType,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str,
    reason: str,
) -> None:
    tar, _, _ = sklearn_model(tmp_path)
    (tmp_path / "bad.csv").write_text(text)
    args = ["--model-tar", str(tar), "--framework", "sklearn", "--input", str(tmp_path / "bad.csv")]
    assert inference.main([*args, "--output", str(tmp_path / "out"), *LINES]) == 1
    err = capsys.readouterr().err
    assert f"inference failed on {tmp_path / 'bad.csv'}" in err and reason in err


def test_inference_of_a_model_that_does_not_load_exits_1(
    inference: ModuleType, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "xgboost-model").write_text("not a model")
    tar = model_tar(tmp_path, {"xgboost-model": tmp_path / "xgboost-model"})
    (tmp_path / "in.csv").write_text("1,2\n")
    args = ["--model-tar", str(tar), "--framework", "xgboost", "--input", str(tmp_path / "in.csv")]
    assert inference.main([*args, "--output", str(tmp_path / "out")]) == 1
    assert f"cannot load the model {tar}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_inference_default_output_is_a_line_per_record(inference: ModuleType) -> None:
    assert (
        inference.default_output_fn(np.array([1.5, 2.0], dtype=np.float32), "text/csv")
        == "1.5\n2.0"
    )
    assert inference.default_output_fn(np.array([[1, 2], [3, 4]]), "text/csv") == "1,2\n3,4"
    assert inference.default_output_fn([0.25], "application/json") == "[0.25]"


def test_the_runtime_scripts_stand_alone() -> None:
    """They run in a bare subprocess (a container, one day): they must not import smdsl."""
    for script in (ALGORITHM, INFERENCE):
        assert not re.search(r"^\s*(import|from)\s+smdsl", script.read_text(), re.M), script


# --- the examples' data ---------------------------------------------------------------------------


def test_the_shipped_example_data_has_the_expected_shape() -> None:
    churn = CHURN_CSV.read_text().splitlines()
    assert churn[0].split(",") == [
        "state",
        "account_length",
        "international_plan",
        "voice_mail_plan",
        "day_minutes",
        "eve_minutes",
        "night_minutes",
        "customer_service_calls",
        "churn",
    ]
    assert len(churn) == 1001 and {row.rsplit(",", 1)[1] for row in churn[1:]} == {"0", "1"}
    abalone = (ABALONE / "abalone-dataset.csv").read_text().splitlines()
    assert len(abalone) == 1500 and {row.split(",")[0] for row in abalone} == {"M", "F", "I"}
    assert all(len(row.split(",")) == 9 for row in abalone)
    rings = [int(row.rsplit(",", 1)[1]) for row in abalone]
    assert min(rings) >= 1 and max(rings) <= 29 and 9 < np.mean(rings) < 11
    batch = np.loadtxt(ABALONE / "abalone-dataset-batch", delimiter=",")
    assert batch.shape == (200, 10)  # 7 standardized measurements, then one-hot F, I, M
    assert set(np.unique(batch[:, 7:])) == {0.0, 1.0} and (batch[:, 7:].sum(axis=1) == 1).all()
    assert np.abs(batch[:, :7].mean(axis=0)).max() < 0.3


@pytest.mark.parametrize(
    ("folder", "files"),
    [
        (QUICKSTART_DATA, ["smdsl-example-data/churn/raw/churn.csv"]),
        (
            ABALONE_DATA,
            [
                "smdsl-example-data/abalone/abalone-dataset-batch",
                "smdsl-example-data/abalone/abalone-dataset.csv",
            ],
        ),
    ],
)
def test_generate_py_reproduces_the_shipped_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, folder: Path, files: list[str]
) -> None:
    generate = load_script(folder / "generate.py")
    monkeypatch.setattr(sys, "argv", ["generate.py", "--out", str(tmp_path)])
    generate.main()
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == files
    for name in files:
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name

"""SageMaker's built-in XGBoost algorithm, run locally: ``python xgboost_algorithm.py``.

The container contract comes in the environment: SM_CHANNEL_TRAIN (and SM_CHANNEL_VALIDATION)
folders of data, typed by SM_INPUT_CONFIG_DIR/inputdataconfig.json (text/csv: no header, label
first; libsvm otherwise); SM_HPS, the hyperparameters as strings. The booster is saved as
SM_MODEL_DIR/xgboost-model; a failure's reason goes to SM_OUTPUT_DIR/failure (exit 1). Evaluation
lines are printed as the real container prints them (``[0]<TAB>train-rmse:3.21000``), so
SageMaker metric regexes match. Standalone: it imports only stdlib, numpy, pandas and xgboost.
"""

import contextlib
import json
import os
import re
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

# Idle OpenMP threads sleep, not spin: spinning on a busy machine (other local steps running)
# makes even a tiny job take seconds. OpenMP reads it when XGBoost loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
import xgboost as xgb

CSV_TYPES = {"text/csv", "csv"}
LIBSVM_TYPES = {"", "text/libsvm", "libsvm", "text/x-libsvm", "application/x-libsvm"}
ALGORITHM_ONLY = {"num_round", "early_stopping_rounds", "csv_weights", "save_model_on_termination"}
CONFIG_DIR = "/opt/ml/input/config"
XGB_PREFIX = re.compile(r"^\[[0-9:]+\] (WARNING: )?\S+:\d+: ")
Sparse = list[tuple[float, dict[int, float]]]  # libsvm rows: (label, {column: value})


class AlgorithmError(Exception):
    """Why the training job fails, in words for the user."""


def first_line(message: str) -> str:
    """XGBoost's message without its timestamp, source location, candidates and stack trace."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return XGB_PREFIX.sub("", lines[0])[:160] if lines else "(no message)"


def show_warning(message: Warning | str, *_: Any, **__: Any) -> None:  # one line, no source
    print(f"xgboost: {first_line(' '.join(str(message).split()))}", file=sys.stderr, flush=True)


def content_type(channel: str) -> str:
    """The channel's ContentType from inputdataconfig.json, without parameters; '' when unset."""
    path = Path(os.environ.get("SM_INPUT_CONFIG_DIR", CONFIG_DIR)) / "inputdataconfig.json"
    config = json.loads(path.read_text()) if path.is_file() else {}
    return str(config.get(channel, {}).get("ContentType") or "").split(";")[0].strip().lower()


def channel_files(channel: str) -> list[Path] | None:
    """Every non-empty file of the channel, sorted, or None when the channel is not given."""
    folder = os.environ.get(f"SM_CHANNEL_{channel.upper()}")
    if not folder:
        return None
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.stat().st_size)
    if not files:
        raise AlgorithmError(f"the {channel} channel's folder {folder} has no data files")
    return files


def read_csv(channel: str, files: list[Path]) -> Any:
    """Rows of numbers as one array: no header, the label first."""
    frames = []
    for path in files:
        try:
            frames.append(pd.read_csv(path, header=None, dtype=float))
        except (ValueError, pd.errors.ParserError) as error:
            raise AlgorithmError(
                f"the {channel} channel's file {path} is not a CSV of numbers "
                f"({first_line(str(error))}): text/csv data has no header and the label first"
            ) from error
    return pd.concat(frames, ignore_index=True).to_numpy()


def read_libsvm(channel: str, files: list[Path]) -> Sparse:
    """The rows of libsvm files, labels and {column: value}; 'qid:' tokens are ignored."""
    rows: Sparse = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            tokens = line.split("#", 1)[0].split()
            try:
                pairs = (token.split(":", 1) for token in tokens[1:])
                row = {int(key): float(value) for key, value in pairs if key != "qid"}
                if min(row, default=0) < 0:
                    raise ValueError("negative feature index")
                if tokens:
                    rows.append((float(tokens[0].split(":")[0]), row))
            except ValueError as error:
                raise AlgorithmError(
                    f"the {channel} channel's file {path}, line {number}, is not libsvm "
                    f"({first_line(str(error))}): for CSV data, set content_type to text/csv"
                ) from error
    return rows


def load(channels: dict[str, list[Path]]) -> dict[str, xgb.DMatrix]:
    """One DMatrix per channel; libsvm channels share one width (absent entries are missing)."""
    matrices: dict[str, xgb.DMatrix] = {}
    sparse: dict[str, Sparse] = {}
    for channel, files in channels.items():
        kind = content_type(channel)
        if kind in CSV_TYPES:
            table = read_csv(channel, files)
            matrices[channel] = xgb.DMatrix(table[:, 1:], label=table[:, 0])
        elif kind in LIBSVM_TYPES:
            sparse[channel] = read_libsvm(channel, files)
        else:
            message = f"the {channel} channel's content type {kind!r} is not supported locally"
            raise AlgorithmError(f"{message}: use text/csv or text/libsvm")
    width = 1 + max((max(row, default=-1) for rs in sparse.values() for _, row in rs), default=0)
    for channel, rows in sparse.items():
        dense = np.full((len(rows), width), np.nan)
        for index, (_, row) in enumerate(rows):
            dense[index, list(row)] = list(row.values())
        matrices[channel] = xgb.DMatrix(dense, label=np.array([label for label, _ in rows]))
    return matrices


def convert(value: str) -> Any:  # a hyperparameter: int, else float, else str
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(value)
    return value


def whole_number(hps: dict[str, str], name: str) -> int | None:
    """A hyperparameter that must be a whole number; None when absent."""
    value = convert(hps[name]) if name in hps else None
    if value is not None and not (isinstance(value, int | float) and float(value).is_integer()):
        raise AlgorithmError(f"hyperparameter {name} must be a whole number, got {hps[name]!r}")
    return None if value is None else int(value)


def train() -> None:
    hps = {str(k): str(v) for k, v in json.loads(os.environ.get("SM_HPS") or "{}").items()}
    num_round = whole_number(hps, "num_round")
    if num_round is None:
        message = "hyperparameter num_round is required by the built-in XGBoost algorithm"
        raise AlgorithmError(f"{message}: the number of boosting rounds, e.g. num_round=50")
    stop = whole_number(hps, "early_stopping_rounds")
    if whole_number(hps, "csv_weights"):  # else its weight column would pass for a feature
        raise AlgorithmError("csv_weights=1 (weights after the label) is not supported locally")
    params: dict[str, Any] = {
        key: convert(value)
        for key, value in hps.items()
        if key not in ALGORITHM_ONLY and not key.startswith(("_", "sagemaker_"))
    }
    if params.get("objective") == "reg:linear":
        print("note: objective reg:linear is deprecated; training with reg:squarederror")
        params["objective"] = "reg:squarederror"
    if "," in str(params.get("eval_metric", "")):
        params["eval_metric"] = [m.strip() for m in str(params["eval_metric"]).split(",")]
    channels = {name: files for name in ("train", "validation") if (files := channel_files(name))}
    if "train" not in channels:
        raise AlgorithmError("the train channel is required: no SM_CHANNEL_TRAIN was given")
    if stop is not None and "validation" not in channels:
        raise AlgorithmError("early_stopping_rounds needs a validation channel, and none was given")
    data = load(channels)
    if len(set(widths := [matrix.num_col() for matrix in data.values()])) > 1:
        message = "the train and validation channels have different numbers of feature columns"
        raise AlgorithmError(f"{message} ({widths[0]} and {widths[1]}): they must match")
    evals = [(matrix, name) for name, matrix in data.items()]  # printed by verbose_eval=True
    booster = xgb.train(params, data["train"], num_round, evals=evals, early_stopping_rounds=stop)
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / "xgboost-model"))


def main() -> int:
    warnings.showwarning = show_warning
    warnings.filterwarnings("ignore", message=r"(?s).*(Saving model in the UBJSON|Unknown file)")
    try:
        train()
    except Exception as error:
        if not isinstance(error, AlgorithmError | xgb.core.XGBoostError):
            traceback.print_exc()
        xgboost_error = isinstance(error, xgb.core.XGBoostError)
        reason = f"{'XGBoost failed' if xgboost_error else type(error).__name__}: "
        reason += first_line(str(error)) if xgboost_error else str(error)
        print(reason, file=sys.stderr, flush=True)
        output_dir = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
        with contextlib.suppress(OSError):
            output_dir.mkdir(parents=True, exist_ok=True)
            (output_dir / "failure").write_text(reason + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.exit(main())

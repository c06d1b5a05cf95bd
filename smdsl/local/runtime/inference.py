"""Batch inference of a model, run locally: what a SageMaker batch transform does with a model.

    python inference.py --model-tar model.tar.gz --framework xgboost --input DATA --output DIR
        [--content-type text/csv] [--accept text/csv] [--split-type None|Line]
        [--assemble-with None|Line] [--code-dir DIR --entry-point FILE]

Every input file (the file, or every file under the folder) gets DIR/<its relative path>.out. The
user's entry point may define model_fn, input_fn, predict_fn and output_fn (or transform_fn), the
SageMaker inference toolkit's contract; defaults stand in for the ones it does not define. Exit
status: 1 when the model does not load or an input fails, 2 when nothing can load the model.
Standalone: stdlib and numpy; xgboost and joblib are imported only when needed.
"""

import argparse
import importlib.util
import json
import os
import pickle
import sys
import tarfile
import tempfile
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

UTF8_TYPES = {"text/csv", "application/json"}  # request bodies the toolkit decodes to str
HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")


class NoModelLoader(Exception):
    """The framework has no default model_fn here, and the entry point defines none."""


def why(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def base_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def model_file(model_dir: Path, names: tuple[str, ...], patterns: tuple[str, ...]) -> Path:
    """The first of names in model_dir, else its only file matching one of patterns."""
    for name in names:
        if (model_dir / name).is_file():
            return model_dir / name
    found = {p for pattern in patterns for p in model_dir.glob(pattern) if p.is_file()}
    found = {p for p in found if not p.name.startswith(".")}
    if len(found) != 1:
        listing = ", ".join(sorted(p.name for p in model_dir.iterdir())) or "nothing"
        raise FileNotFoundError(f"no model file {' or '.join(names or patterns)} in ({listing})")
    return found.pop()


def load_xgboost(model_dir: str) -> Any:
    """The built-in algorithm's xgboost-model (else the only file), saved or pickled."""
    import xgboost

    path = model_file(Path(model_dir), ("xgboost-model",), ("*",))
    booster = xgboost.Booster()
    try:
        booster.load_model(str(path))
    except xgboost.core.XGBoostError:
        with path.open("rb") as file:  # models of the 0.90 algorithm are pickled
            booster = pickle.load(file)
    return booster


def load_sklearn(model_dir: str) -> Any:
    import joblib

    names, patterns = ("model.joblib", "model.pkl"), ("*.joblib", "*.pkl")
    return joblib.load(model_file(Path(model_dir), names, patterns))


def default_model_fn(framework: str) -> Callable[[str], Any]:
    loaders = {"xgboost": load_xgboost, "sklearn": load_sklearn, "scikit-learn": load_sklearn}
    if framework.lower() not in loaders:
        raise NoModelLoader(
            f"no local way to load a {framework} model: give the model an entry_point with model_fn"
        )
    return loaders[framework.lower()]


def default_input_fn(body: str | bytes, content_type: str) -> Any:
    """text/csv (numbers, no header; an empty value is missing) or application/json."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if base_type(content_type) == "application/json":
        return np.asarray(json.loads(text))
    if base_type(content_type) != "text/csv":
        raise ValueError(f"no default input_fn for content type {content_type}: define input_fn")
    rows = [line.split(",") for line in text.splitlines() if line.strip()]
    for number, row in enumerate(rows, start=1):
        if len(row) != len(rows[0]):
            raise ValueError(f"CSV record {number} has {len(row)} values, the first {len(rows[0])}")
    try:
        return np.array([[float(v) if v.strip() else np.nan for v in row] for row in rows])
    except ValueError as error:
        raise ValueError(f"not a CSV of numbers: {error}") from error


def default_predict_fn(data: Any, model: Any) -> Any:
    xgboost = sys.modules.get("xgboost")
    if xgboost is not None and isinstance(model, xgboost.Booster):
        return model.predict(xgboost.DMatrix(data))
    return model.predict(data)


def default_output_fn(prediction: Any, accept: str) -> str:
    """text/csv: a line per record, its values comma-separated; application/json: a list."""
    values = np.asarray(prediction)
    if base_type(accept) == "application/json":
        return json.dumps(values.tolist())
    if base_type(accept) != "text/csv":
        raise ValueError(f"no default output_fn for accept {accept}: define output_fn")
    rows = values.reshape(-1, 1) if values.ndim < 2 else values
    return "\n".join(",".join(str(value) for value in row) for row in rows)


def import_entry_point(code_dir: str | None, name: str) -> ModuleType:
    """The user's inference module, imported with its folder on sys.path."""
    path = Path(code_dir or ".") / name
    sys.path[:0] = [str(path.parent), code_dir or "."]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise FileNotFoundError(f"no Python file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


class Transformer:
    """The model and its handlers, the user's or the defaults: one request in, one response out."""

    def __init__(self, module: ModuleType | None, framework: str, content_type: str, accept: str):
        user = {name: getattr(module, name, None) for name in HANDLERS}
        self.model_fn = user["model_fn"] or default_model_fn(framework)
        self.input_fn = user["input_fn"] or default_input_fn
        self.predict_fn = user["predict_fn"] or default_predict_fn
        self.output_fn = user["output_fn"] or default_output_fn
        self.transform_fn = user["transform_fn"]
        self.content_type, self.accept = content_type, accept
        self.model: Any = None

    def __call__(self, body: bytes) -> bytes:
        data = body.decode("utf-8") if base_type(self.content_type) in UTF8_TYPES else body
        if self.transform_fn is not None:
            result = self.transform_fn(self.model, data, self.content_type, self.accept)
        else:
            features = self.input_fn(data, self.content_type)
            result = self.output_fn(self.predict_fn(features, self.model), self.accept)
        result = result[0] if isinstance(result, tuple) else result  # (body, content type)
        return result if isinstance(result, bytes) else str(result).encode("utf-8")


def requests(body: bytes, split_type: str, content_type: str) -> list[bytes]:
    """One file's requests: the whole file; or its non-empty lines, one each or (CSV) together."""
    if not body.strip():
        return []
    if split_type != "Line":
        return [body]
    lines = [line for line in body.splitlines() if line.strip()]
    return [b"\n".join(lines)] if base_type(content_type) == "text/csv" else lines


def extract(model_tar: str, scratch: str) -> str:
    """The model's folder: model.tar.gz extracted into scratch (a folder is used as it is)."""
    if Path(model_tar).is_dir():
        return model_tar
    with tarfile.open(model_tar) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(scratch, filter="data")
        else:  # Python before 3.10.12 and 3.11.4
            tar.extractall(scratch)
    return scratch


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Batch inference of a model, run locally.")
    for name in ("--model-tar", "--framework", "--input", "--output"):
        parser.add_argument(name, required=True)
    parser.add_argument("--content-type", default="text/csv")
    parser.add_argument("--accept", default=None, help="default: the content type")
    parser.add_argument("--split-type", choices=["None", "Line"], default="None")
    parser.add_argument("--assemble-with", choices=["None", "Line"], default="None")
    parser.add_argument("--code-dir", default=None)
    parser.add_argument("--entry-point", default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message=r"(?s).*Unknown file format")  # xgboost-model
    module: ModuleType | None = None
    try:
        module = import_entry_point(args.code_dir, args.entry_point) if args.entry_point else None
        accept = args.accept or args.content_type
        transformer = Transformer(module, args.framework, args.content_type, accept)
    except NoModelLoader as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        traceback.print_exc()
        print(
            f"error: cannot import the entry point {args.entry_point}: {why(error)}",
            file=sys.stderr,
        )
        return 1
    with tempfile.TemporaryDirectory(prefix="smdsl-model-") as scratch:
        try:
            transformer.model = transformer.model_fn(extract(args.model_tar, scratch))
        except Exception as error:
            if module:
                traceback.print_exc()
            print(f"error: cannot load the model {args.model_tar}: {why(error)}", file=sys.stderr)
            return 1
        root = Path(args.input)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        if not files:
            print(f"error: no input file at {root}", file=sys.stderr)
            return 1
        for path in files:
            try:
                bodies = requests(path.read_bytes(), args.split_type, args.content_type)
                responses = [transformer(body) for body in bodies]
            except Exception as error:
                if module:
                    traceback.print_exc()
                print(f"error: inference failed on {path}: {why(error)}", file=sys.stderr)
                return 1
            if args.assemble_with == "Line":
                responses = [r if r.endswith(b"\n") else r + b"\n" for r in responses]
            name = path.name if path == root else str(path.relative_to(root))
            target = Path(args.output) / f"{name}.out"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"".join(responses))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # XGBoost's idle threads sleep, not spin
    sys.exit(main())

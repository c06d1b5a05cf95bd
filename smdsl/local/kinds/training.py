"""A training step, run locally: the script (script mode) or XGBoost's built-in algorithm in a
subprocess with the training container's contract, its model folder packed as model.tar.gz."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from smdsl.declare.configs import Training, TrainingInput
from smdsl.declare.options import JobOptions
from smdsl.local.results import StepResult
from smdsl.local.step import RUNTIME, LocalRunner, LocalStep, module_available

HOST = "algo-1"


def builtin_algorithm(config: Training, options: JobOptions) -> str | None:
    """The built-in algorithm a training step without a script runs locally, or None."""
    if config.entry_point is not None:
        return None
    if options.framework == "xgboost" or "xgboost" in (options.image_uri or ""):
        return "xgboost"
    return None


class TrainingRunner(LocalRunner):
    cacheable = True

    @classmethod
    def problems(cls, step: LocalStep) -> Iterator[tuple[str, str | None]]:
        config, options = step.config, step.options
        assert isinstance(config, Training) and isinstance(options, JobOptions)
        if config.entry_point is None:
            algorithm = builtin_algorithm(config, options)
            image = options.image_uri or f"the {options.framework} image"
            if algorithm is None:
                yield (
                    f"{image} runs its own code, which has no local equivalent: smdsl runs "
                    "XGBoost's built-in algorithm locally (framework='xgboost'); give this step "
                    "an entry_point to run a script of yours instead",
                    "entry_point",
                )
            elif not module_available("xgboost"):
                yield (
                    "XGBoost's built-in algorithm runs locally with the xgboost package, which "
                    "this Python lacks: pip install 'smdsl[local]'",
                    None,
                )
        for name, spec in config.inputs.items():
            source = spec.source if isinstance(spec, TrainingInput) else spec
            yield from step.data_problems(source, f"inputs[{name!r}]")

    @classmethod
    def run(cls, step: LocalStep) -> StepResult:
        config, options = step.config, step.options
        assert isinstance(config, Training) and isinstance(options, JobOptions)
        input_config: dict[str, Any] = {}
        environment: dict[str, str] = {k: str(v) for k, v in options.environment.items()}
        for name, spec in config.inputs.items():
            source = spec.source if isinstance(spec, TrainingInput) else spec
            content_type = spec.content_type if isinstance(spec, TrainingInput) else None
            folder = step.host(f"/opt/ml/input/data/{name}")
            step.stage_input(source, folder, f"inputs[{name!r}]")
            environment[f"SM_CHANNEL_{name.upper()}"] = str(folder)
            input_config[name] = {
                "TrainingInputMode": "File",
                "S3DistributionType": "FullyReplicated",
                "RecordWrapperType": "None",
                **({"ContentType": content_type} if content_type else {}),
            }
        hyperparameters = {k: step.text(v) for k, v in sorted(config.hyperparameters.items())}
        resources = {"current_host": HOST, "hosts": [HOST], "network_interface_name": "eth0"}
        config_dir = step.host("/opt/ml/input/config")
        config_dir.mkdir(parents=True, exist_ok=True)
        for file, content in (
            ("hyperparameters.json", hyperparameters),
            ("inputdataconfig.json", input_config),
            ("resourceconfig.json", resources),
        ):
            (config_dir / file).write_text(json.dumps(content, indent=2))
        for container in ("/opt/ml/model", "/opt/ml/output/data", "/opt/ml/code"):
            step.host(container).mkdir(parents=True, exist_ok=True)
        algorithm = builtin_algorithm(config, options)
        typed = {k: _typed(v) for k, v in hyperparameters.items()}
        arguments = (
            [] if algorithm else [a for k, v in hyperparameters.items() for a in (f"--{k}", v)]
        )
        environment.update(
            {
                "SM_MODEL_DIR": str(step.host("/opt/ml/model")),
                "SM_OUTPUT_DIR": str(step.host("/opt/ml/output")),
                "SM_OUTPUT_DATA_DIR": str(step.host("/opt/ml/output/data")),
                "SM_INPUT_DIR": str(step.host("/opt/ml/input")),
                "SM_INPUT_CONFIG_DIR": str(config_dir),
                "SM_CHANNELS": json.dumps(sorted(config.inputs)),
                "SM_HPS": json.dumps(hyperparameters if algorithm else typed),
                "SM_USER_ARGS": json.dumps(arguments),
                "SM_CURRENT_HOST": HOST,
                "SM_HOSTS": json.dumps([HOST]),
                "SM_NUM_GPUS": "0",
                "SM_NUM_CPUS": str(os.cpu_count() or 1),
                "SM_NETWORK_INTERFACE_NAME": "eth0",
                "SM_RESOURCE_CONFIG": json.dumps(resources),
                "SM_INPUT_DATA_CONFIG": json.dumps(input_config),
                "SM_LOG_LEVEL": "20",
            }
        )
        pythonpath = None
        if algorithm:
            script = RUNTIME / "xgboost_algorithm.py"
            cwd = step.host("/opt/ml")
        else:
            code = config.code_paths()
            assert code is not None
            script = step.stage_code(code, step.host("/opt/ml/code"))
            environment["SM_USER_ENTRY_POINT"] = script.name
            environment["SM_MODULE_DIR"] = str(step.host("/opt/ml/code"))
            pythonpath = step.requirements(code)
            cwd = step.host("/opt/ml/code")
        output = step.execute(
            script,
            arguments,
            environment,
            cwd,
            pythonpath,
            timeout=options.max_runtime,
            label="XGBoost's built-in algorithm" if algorithm else None,
        )
        result = StepResult()
        model_dir = step.dir / "model"
        model_dir.mkdir(parents=True, exist_ok=True)
        model = model_dir / "model.tar.gz"
        pack(step.host("/opt/ml/model"), model)
        result.outputs["model"] = str(model_dir)
        result.properties["ModelArtifacts.S3ModelArtifacts"] = str(model)
        data = step.host("/opt/ml/output/data")
        if any(data.iterdir()):
            out_dir = step.dir / "output"
            out_dir.mkdir(parents=True, exist_ok=True)
            pack(data, out_dir / "output.tar.gz")
            result.outputs["output"] = str(out_dir)
        for name, regex in config.metric_definitions.items():
            found = _last_match(regex, output)
            if found is not None:
                result.metrics[name] = found
                result.properties[f"FinalMetricDataList['{name}'].Value"] = found
            else:
                result.notes.append(f"metric {name!r} matched no line of the output")
        result.properties["TrainingJobStatus"] = "Completed"
        return result


def pack(folder: Path, archive: Path) -> None:
    """Pack the files of ``folder`` into ``archive`` (tar.gz) at its root, as SageMaker packs
    /opt/ml/model; the same files always give the same bytes (no times, owners or order)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(folder).as_posix())
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if path.is_file():
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    with open(archive, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(buffer.getvalue())


def _typed(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _last_match(regex: str, output: str) -> float | None:
    """The last value ``regex`` captures in ``output``. CloudWatch shows a tab as ``#011``, so
    regexes written against SageMaker's logs say ``#011`` where the output has a tab."""
    found = None
    for match in re.finditer(regex.replace("#011", "\t"), output):
        try:
            found = float(match.group(1) if match.groups() else match.group(0))
        except (ValueError, IndexError):
            continue
    return found

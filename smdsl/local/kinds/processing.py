"""A processing step, run locally: its script in a subprocess with the processing container's
layout (inputs at their /opt/ml/processing paths, outputs collected from theirs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from smdsl.declare.configs import Processing, ProcessingInput
from smdsl.declare.options import JobOptions
from smdsl.local.results import StepResult
from smdsl.local.step import LocalRunner, LocalStep

CODE_DIR = "/opt/ml/processing/input/code"


def _inputs(config: Processing) -> Iterator[tuple[str, object, str]]:
    for name, spec in config.inputs.items():
        source = spec.source if isinstance(spec, ProcessingInput) else spec
        local = spec.local_path if isinstance(spec, ProcessingInput) else None
        yield name, source, local or f"/opt/ml/processing/input/{name}"


class ProcessingRunner(LocalRunner):
    cacheable = True

    @classmethod
    def problems(cls, step: LocalStep) -> Iterator[tuple[str, str | None]]:
        assert isinstance(step.config, Processing)
        for name, source, _ in _inputs(step.config):
            yield from step.data_problems(source, f"inputs[{name!r}]")

    @classmethod
    def run(cls, step: LocalStep) -> StepResult:
        config, options = step.config, step.options
        assert isinstance(config, Processing) and isinstance(options, JobOptions)
        for name, source, local in _inputs(config):
            step.stage_input(source, step.host(local), f"inputs[{name!r}]")
        for output in config.outputs.values():
            step.host(output.container_path).mkdir(parents=True, exist_ok=True)
        code = config.code_paths()
        script = step.stage_code(code, step.host(CODE_DIR))
        arguments = [step.text(a) for a in config.arguments]
        environment = {k: str(v) for k, v in options.environment.items()}
        pythonpath = step.requirements(code)
        step.execute(
            script,
            arguments,
            environment,
            step.host("/"),
            pythonpath,
            command=options.command,
            timeout=options.max_runtime,
        )
        result = StepResult()
        for name, output in config.outputs.items():
            folder = step.move_output(output.container_path, name)
            result.outputs[name] = str(folder)
            if not any(folder.iterdir()):
                result.notes.append(
                    f"output {name!r} is empty: {script.name} wrote nothing to "
                    f"{output.container_path} (a SageMaker training channel from it would fail)"
                )
            uri = f"ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"
            result.properties[uri] = str(folder)
        for name, spec in config.property_files.items():
            result.property_files[name] = str(Path(result.outputs[spec.output]) / spec.path)
        return result

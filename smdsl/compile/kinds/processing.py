"""Compile a processing step: a ScriptProcessor job with content-addressed code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smdsl.compile.bundles import PROCESSING_SOURCE_DIR, StepCode
from smdsl.compile.bundles import processing_code as plan_processing_code
from smdsl.compile.context import StepBuild
from smdsl.declare.configs import Processing, ProcessingInput, ProcessingOutput
from smdsl.declare.env import Env
from smdsl.declare.options import JobOptions
from smdsl.graph.model import StepNode


def processing_code(node: StepNode, env: Env, project: Path) -> StepCode:
    """The code objects of a processing step: its script, or its source bundle and runner."""
    assert isinstance(node.config, Processing) and isinstance(node.options, JobOptions)
    return plan_processing_code(node.config, node.base_dir, env, node.options.command, project)


def compile_processing(build: StepBuild) -> Any:
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingInput as SdkInput
    from sagemaker.core.shapes import ProcessingS3Input
    from sagemaker.core.workflow.properties import PropertyFile as SdkPropertyFile
    from sagemaker.mlops.workflow.steps import ProcessingStep

    config, options, code = build.config, build.options, build.code
    assert isinstance(config, Processing) and isinstance(options, JobOptions) and code is not None
    command = list(options.command) if config.code else ["/bin/bash"]

    def s3_input(name: str, source: Any, local_path: str) -> Any:
        return SdkInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=build.value(source),
                local_path=local_path,
                s3_data_type="S3Prefix",
                s3_input_mode="File",
            ),
        )

    inputs = []
    for name, spec in config.inputs.items():
        source = spec.source if isinstance(spec, ProcessingInput) else spec
        local = spec.local_path if isinstance(spec, ProcessingInput) else None
        inputs.append(s3_input(name, source, local or f"/opt/ml/processing/input/{name}"))
    if code.source_uri is not None:
        inputs.append(s3_input("smdsl-source", code.source_uri, PROCESSING_SOURCE_DIR))
    outputs = [_s3_output(build, out) for out in config.outputs.values()]
    processor = ScriptProcessor(
        role=build.role,
        image_uri=build.image("training"),
        command=command,
        instance_type=build.value(options.instance_type),
        instance_count=build.value(options.instance_count),
        volume_size_in_gb=options.volume_size_gb,
        max_runtime_in_seconds=options.max_runtime,
        env=build.environment() or None,
        base_job_name=build.name,
        sagemaker_session=build.session,
    )
    step_args = processor.run(
        code=code.entry_uri,
        inputs=inputs or None,
        outputs=outputs or None,
        arguments=[build.value(a, as_string=True) for a in config.arguments] or None,
    )
    property_files = [
        SdkPropertyFile(name=name, output_name=spec.output, path=spec.path)
        for name, spec in config.property_files.items()
    ]
    return ProcessingStep(
        step_args=step_args, property_files=property_files or None, **build.settings
    )


def _s3_output(build: StepBuild, output: ProcessingOutput) -> Any:
    from sagemaker.core.shapes import ProcessingOutput as SdkOutput
    from sagemaker.core.shapes import ProcessingS3Output

    destination = (
        build.value(output.destination)
        if output.destination is not None
        else build.compilation.default_output(build.name, output.name)
    )
    return SdkOutput(
        output_name=output.name,
        s3_output=ProcessingS3Output(
            s3_uri=destination,
            local_path=output.container_path,
            s3_upload_mode="EndOfJob",
        ),
    )


_PROCESSING_FIELDS = {
    "ProcessingResources.ClusterConfig.InstanceCount": "instance_count",
    "ProcessingResources.ClusterConfig.InstanceType": "instance_type",
    "ProcessingResources.ClusterConfig.VolumeSizeInGB": "volume_size_gb",
    "StoppingCondition.MaxRuntimeInSeconds": "max_runtime",
    "StoppingCondition": "max_runtime",
    "AppSpecification.ImageUri": "image_uri",
    "AppSpecification.ContainerEntrypoint": "command",
    "AppSpecification.ContainerArguments": "arguments",
    "Environment": "environment",
    "ProcessingInputs": "inputs",
    "ProcessingOutputConfig.Outputs": "outputs",
}
_OWN_INPUTS = {"code": "code", "smdsl-source": "source_dir"}
"""Inputs smdsl adds for a step's code, by their InputName: the field that gives that code."""


def argument_field(path: str, arguments: dict[str, Any]) -> str | None:
    """The field of a processing step that ``path`` of its CreateProcessingJob request came
    from: ``ProcessingResources.ClusterConfig.InstanceCount`` -> ``instance_count``,
    ``ProcessingInputs[2]...`` -> ``inputs['<its InputName>']``; None for any other path."""
    from smdsl.compile.oracle import item_name, list_index, map_key, under

    key = map_key(path, "Environment")
    if key is not None:
        return f"environment[{key!r}]"
    index = list_index(path, "AppSpecification.ContainerArguments")
    if index is not None:
        return f"arguments[{index}]"
    if under(path, "AppSpecification.ContainerEntrypoint"):
        return "command"
    for member, field, name in (
        ("ProcessingInputs", "inputs", "InputName"),
        ("ProcessingOutputConfig.Outputs", "outputs", "OutputName"),
    ):
        index = list_index(path, member)
        if index is not None:
            found = item_name(arguments, member, index, name)
            if found is None:
                return field
            if field == "inputs" and found in _OWN_INPUTS:
                return _OWN_INPUTS[found]
            return f"{field}[{found!r}]"
    return _PROCESSING_FIELDS.get(path)

"""Turn a checked :class:`PipelineGraph` into SageMaker SDK v3 objects and a definition."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smdsl.compile.bundles import (
    PROCESSING_SOURCE_DIR,
    CodeObject,
    StepCode,
    processing_code,
    training_code,
)
from smdsl.compile.sdk import offline_sdk
from smdsl.declare.configs import (
    Processing,
    ProcessingInput,
    ProcessingOutput,
    Training,
    TrainingInput,
)
from smdsl.declare.env import Env, require_deploy_settings
from smdsl.declare.envfile import find_env_file
from smdsl.declare.expressions import Join
from smdsl.declare.notsecret import NotSecret
from smdsl.declare.options import StepOptions
from smdsl.declare.params import Parameter
from smdsl.declare.refs import ModelArtifactsRef, OutputRef
from smdsl.errors import CompileError, display_path
from smdsl.graph.codepaths import project_root
from smdsl.graph.model import PipelineGraph, StepNode


@dataclass(frozen=True)
class CompiledPipeline:
    """What deploy needs: the definition, where it goes, and the code objects it refers to."""

    name: str
    definition: str
    role_arn: str
    region: str
    bucket: str
    prefix: str
    description: str | None
    tags: dict[str, str]
    code: tuple[CodeObject, ...]


def compile_pipeline(graph: PipelineGraph) -> CompiledPipeline:
    """Compile ``graph`` to a definition with no network I/O."""
    env = graph.env
    where = find_env_file(graph.module.path).describe(env.name)
    region, role, bucket = require_deploy_settings(env, where)
    project = project_root(graph.module.path)
    code = {name: _plan_code(node, env, project) for name, node in graph.nodes.items()}
    with offline_sdk(region):
        definition = _Compiler(graph, code, region, role, bucket).definition()
    objects: dict[str, CodeObject] = {}
    for step_code in code.values():
        for obj in step_code.objects:
            objects.setdefault(obj.key, obj)
    return CompiledPipeline(
        name=graph.pipeline_name,
        definition=definition,
        role_arn=role,
        region=region,
        bucket=bucket,
        prefix=env.prefix,
        description=graph.description,
        tags=dict(env.tags),
        code=tuple(objects[k] for k in sorted(objects)),
    )


def _plan_code(node: StepNode, env: Env, project: Path) -> StepCode:
    config = node.config
    try:
        if isinstance(config, Processing):
            return processing_code(config, node.base_dir, env, node.options.command, project)
        return training_code(config, node.base_dir, env, project)
    except OSError as exc:
        raise CompileError(
            f"{node.location}, in step {node.name!r}: cannot read code: {exc}"
        ) from None


class _Compiler:
    """One compilation: SDK objects built in topological order, memoised by step name."""

    def __init__(
        self, graph: PipelineGraph, code: dict[str, StepCode], region: str, role: str, bucket: str
    ) -> None:
        import boto3
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        self.graph = graph
        self.code = code
        self.region = region
        self.role = role
        self.bucket = bucket
        self.session = PipelineSession(
            boto_session=boto3.Session(region_name=region), default_bucket=bucket
        )
        self.parameters = {p.name: _sdk_parameter(p) for p in graph.parameters}
        self.steps: dict[str, Any] = {}

    def definition(self) -> str:
        from sagemaker.mlops.workflow.pipeline import Pipeline

        for name in self.graph.order:
            node = self.graph.nodes[name]
            try:
                if isinstance(node.config, Processing):
                    self.steps[name] = self.processing_step(node, node.config)
                else:
                    self.steps[name] = self.training_step(node, node.config)
            except CompileError:
                raise
            except Exception as exc:
                raise CompileError(
                    f"{node.location}, in step {name!r}: the SageMaker SDK refused this step: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        pipeline = Pipeline(
            name=self.graph.pipeline_name,
            parameters=list(self.parameters.values()),
            steps=[self.steps[n] for n in self.graph.order],
            sagemaker_session=self.session,
        )
        try:
            return json.dumps(json.loads(pipeline.definition()), indent=2, allow_nan=False) + "\n"
        except ValueError as exc:  # NaN or infinity: valid Python, not valid JSON
            raise CompileError(
                f"{display_path(self.graph.module.path)}: the definition holds a value JSON "
                f"cannot represent ({exc}); use finite numbers"
            ) from None

    # -- values -------------------------------------------------------------------------------

    def value(self, value: Any, as_string: bool = False) -> Any:
        """A config value as the SDK wants it: literals, parameters and step properties."""
        if isinstance(value, Parameter):
            sdk = self.parameters[value.name]
            return sdk.to_string() if as_string and value.type != "String" else sdk
        if isinstance(value, OutputRef):
            step = self.steps[value.step]
            return step.properties.ProcessingOutputConfig.Outputs[value.output].S3Output.S3Uri
        if isinstance(value, ModelArtifactsRef):
            return self.steps[value.step].properties.ModelArtifacts.S3ModelArtifacts
        if isinstance(value, Join):
            from sagemaker.core.workflow.functions import Join as SdkJoin

            parts = [
                self.value(v, as_string=not isinstance(v, (str, Parameter))) for v in value.values
            ]
            return SdkJoin(on=value.on, values=parts)
        if isinstance(value, NotSecret):
            return str(value)  # the plain string: the mark only tells the secrets check
        if as_string and not isinstance(value, str):
            return json.dumps(value)
        return value

    def environment(self, options: StepOptions) -> dict[str, str]:
        """A step's environment variables as plain strings (``not_secret`` marks dropped)."""
        return {key: str(value) for key, value in options.environment.items()}

    def step_settings(self, node: StepNode) -> dict[str, Any]:
        """What every SDK step class takes besides its job arguments."""
        return {
            "name": node.name,
            "display_name": node.options.display_name,
            "description": node.options.description,
            "depends_on": self.depends_on(node),
        }

    def depends_on(self, node: StepNode) -> list[Any] | None:
        """Upstream steps that no property reference already makes a dependency."""
        names = [
            n
            for n in self.graph.upstream(node.name)
            if "reference" not in self.graph.dag.edges[n, node.name]["via"]
        ]
        return [self.steps[n] for n in names] or None

    def instance_type(self, options: StepOptions) -> str:
        value = options.instance_type
        if isinstance(value, Parameter):
            return str(value.default) if isinstance(value.default, str) else "ml.m5.xlarge"
        return value

    def image(self, node: StepNode, scope: str) -> str:
        options = node.options
        if options.image_uri:
            return options.image_uri
        from sagemaker.core import image_uris

        try:
            uri: str = image_uris.retrieve(
                framework=options.framework,
                region=self.region,
                version=options.framework_version,
                py_version=options.py_version,
                instance_type=self.instance_type(options),
                image_scope=scope,
            )
        except ValueError as exc:
            raise CompileError(
                f"{node.location}, in step {node.name!r}: framework={options.framework!r} "
                f"framework_version={options.framework_version!r}: {exc}"
            ) from None
        return uri

    def default_output(self, step: str, output: str) -> Any:
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join

        env = self.graph.env
        parts = [p for p in (env.prefix, self.graph.pipeline_name) if p]
        return Join(
            on="/",
            values=[
                f"s3://{self.bucket}",
                *parts,
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                output,
            ],
        )

    # -- steps --------------------------------------------------------------------------------

    def processing_step(self, node: StepNode, config: Processing) -> Any:
        from sagemaker.core.processing import ScriptProcessor
        from sagemaker.core.shapes import (
            ProcessingInput as SdkInput,
        )
        from sagemaker.core.shapes import (
            ProcessingOutput as SdkOutput,
        )
        from sagemaker.core.shapes import (
            ProcessingS3Input,
            ProcessingS3Output,
        )
        from sagemaker.mlops.workflow.steps import ProcessingStep

        options = node.options
        code = self.code[node.name]
        command = list(options.command) if config.code else ["/bin/bash"]

        def s3_input(name: str, source: Any, local_path: str) -> Any:
            return SdkInput(
                input_name=name,
                s3_input=ProcessingS3Input(
                    s3_uri=self.value(source),
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
        outputs = [
            self.s3_output(node.name, out, SdkOutput, ProcessingS3Output)
            for out in config.outputs.values()
        ]
        processor = ScriptProcessor(
            role=self.role,
            image_uri=self.image(node, "training"),
            command=command,
            instance_type=self.value(options.instance_type),
            instance_count=self.value(options.instance_count),
            volume_size_in_gb=options.volume_size_gb,
            max_runtime_in_seconds=options.max_runtime,
            env=self.environment(options) or None,
            base_job_name=node.name,
            sagemaker_session=self.session,
        )
        step_args = processor.run(
            code=code.entry_uri,
            inputs=inputs or None,
            outputs=outputs or None,
            arguments=[self.value(a, as_string=True) for a in config.arguments] or None,
        )
        return ProcessingStep(step_args=step_args, **self.step_settings(node))

    def s3_output(self, step: str, output: ProcessingOutput, sdk_output: Any, s3: Any) -> Any:
        destination = (
            self.value(output.destination)
            if output.destination is not None
            else self.default_output(step, output.name)
        )
        return sdk_output(
            output_name=output.name,
            s3_output=s3(
                s3_uri=destination,
                local_path=output.container_path,
                s3_upload_mode="EndOfJob",
            ),
        )

    def training_step(self, node: StepNode, config: Training) -> Any:
        from sagemaker.core.shapes import MetricDefinition
        from sagemaker.core.training.configs import (
            Compute,
            InputData,
            OutputDataConfig,
            StoppingCondition,
        )
        from sagemaker.mlops.workflow.steps import TrainingStep
        from sagemaker.train import ModelTrainer

        options = node.options
        code = self.code[node.name]
        env = self.graph.env
        hyperparameters: dict[str, Any] = {
            k: self.value(v, as_string=True) for k, v in config.hyperparameters.items()
        }
        hyperparameters.update(
            {
                "sagemaker_program": code.entry_point,
                "sagemaker_submit_directory": code.entry_uri,
                "sagemaker_region": self.region,
            }
        )
        output_path = (
            self.value(config.output_path)
            if config.output_path is not None
            else "s3://"
            + "/".join(
                [self.bucket]
                + [p for p in (env.prefix, self.graph.pipeline_name) if p]
                + [node.name]
            )
        )
        trainer = ModelTrainer(
            training_image=self.image(node, "training"),
            role=self.role,
            base_job_name=node.name,
            sagemaker_session=self.session,
            compute=Compute(
                instance_type=self.value(options.instance_type),
                instance_count=self.value(options.instance_count),
                volume_size_in_gb=options.volume_size_gb,
            ),
            stopping_condition=StoppingCondition(max_runtime_in_seconds=options.max_runtime),
            output_data_config=OutputDataConfig(
                s3_output_path=output_path, compression_type="GZIP"
            ),
            hyperparameters=hyperparameters,
            environment=self.environment(options),
        )
        if config.metric_definitions:
            trainer = trainer.with_metric_definitions(
                [MetricDefinition(name=k, regex=v) for k, v in config.metric_definitions.items()]
            )
        channels = []
        for name, spec in config.inputs.items():
            source = spec.source if isinstance(spec, TrainingInput) else spec
            content_type = spec.content_type if isinstance(spec, TrainingInput) else None
            extra = {"content_type": content_type} if content_type else {}
            channels.append(InputData(channel_name=name, data_source=self.value(source), **extra))
        step_args = trainer.train(input_data_config=channels or None)
        return TrainingStep(step_args=step_args, **self.step_settings(node))


def _sdk_parameter(parameter: Parameter) -> Any:
    from sagemaker.core.workflow.parameters import (
        ParameterBoolean,
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )

    classes = {
        "String": ParameterString,
        "Integer": ParameterInteger,
        "Float": ParameterFloat,
        "Boolean": ParameterBoolean,
    }
    return classes[parameter.type](name=parameter.name, default_value=parameter.default)

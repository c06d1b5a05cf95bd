"""What a step kind's compile function is given: the step, and the compilation it is part of.

A compile function (see :class:`smdsl.declare.kinds.StepKind`) takes a :class:`StepBuild` and
returns the SDK step. :meth:`StepBuild.value` turns any smdsl value (a parameter, a reference to
another step, ``join()``, a JsonGet value, an execution variable) into the SDK object that
stands for it; :attr:`StepBuild.settings` holds what every SDK step class takes besides its
job (name, display name, description, depends_on).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smdsl.compile.bundles import StepCode
from smdsl.declare.base import StepConfig
from smdsl.declare.expressions import Join
from smdsl.declare.notsecret import NotSecret
from smdsl.declare.options import ImageOptions, StepOptions
from smdsl.declare.params import Parameter
from smdsl.declare.refs import (
    ExecutionVariable,
    JsonGet,
    ModelArtifactsRef,
    OutputRef,
    StepProperty,
)
from smdsl.errors import CompileError
from smdsl.graph.model import PipelineGraph, StepNode

_TOKEN = re.compile(r"\.?([A-Za-z]\w*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")

_EXECUTION = {
    "PipelineExecutionId": "PIPELINE_EXECUTION_ID",
    "PipelineExecutionArn": "PIPELINE_EXECUTION_ARN",
    "StartDateTime": "START_DATETIME",
    "CurrentDateTime": "CURRENT_DATETIME",
    "PipelineName": "PIPELINE_NAME",
    "PipelineArn": "PIPELINE_ARN",
}


class Compilation:
    """One compilation of a graph: the session, the parameters and the SDK steps built so far."""

    def __init__(
        self,
        graph: PipelineGraph,
        code: dict[str, StepCode | None],
        region: str,
        role: str,
        bucket: str,
        workdir: Path,
    ) -> None:
        import boto3
        from sagemaker.core.workflow.pipeline_context import PipelineSession

        self.graph = graph
        self.code = code
        self.region = region
        self.role = role
        self.bucket = bucket
        self.workdir = workdir
        self.session = PipelineSession(
            boto_session=boto3.Session(region_name=region), default_bucket=bucket
        )
        self.parameters = {p.name: _sdk_parameter(p) for p in graph.parameters}
        self.steps: dict[str, Any] = {}
        self.images: dict[tuple[str | None, ...], str] = {}  # image_uris.retrieve, by its args

    def value(self, value: Any, as_string: bool = False) -> Any:
        """A config value as the SDK wants it: literals, parameters, properties, functions.

        ``as_string`` asks for a string where SageMaker wants one (arguments, hyperparameters):
        a number becomes its JSON text, a non-String parameter its ``to_string()``.
        """
        if isinstance(value, Parameter):
            sdk = self.parameters[value.name]
            return sdk.to_string() if as_string and value.type != "String" else sdk
        if isinstance(value, OutputRef):
            step = self.steps[value.step]
            return step.properties.ProcessingOutputConfig.Outputs[value.output].S3Output.S3Uri
        if isinstance(value, ModelArtifactsRef):
            return self.steps[value.step].properties.ModelArtifacts.S3ModelArtifacts
        if isinstance(value, StepProperty):
            return self.property(value)
        if isinstance(value, JsonGet):
            from sagemaker.core.workflow.functions import JsonGet as SdkJsonGet

            found = SdkJsonGet(
                step_name=value.step, property_file=value.property_file, json_path=value.json_path
            )
            return found.to_string() if as_string and value.type not in (None, "String") else found
        if isinstance(value, ExecutionVariable):
            from sagemaker.core.workflow.execution_variables import ExecutionVariables

            return getattr(ExecutionVariables, _EXECUTION[value.name])
        if isinstance(value, Join):
            from sagemaker.core.workflow.functions import Join as SdkJoin

            # literals become text; pipeline values go in as they are (Join makes them text)
            parts = [self.value(v, as_string=_literal(v)) for v in value.values]
            return SdkJoin(on=value.on, values=parts)
        if isinstance(value, NotSecret):
            return str(value)  # the plain string: the mark only tells the secrets check
        if as_string and not isinstance(value, str):
            return json.dumps(value)
        return value

    def property(self, ref: StepProperty) -> Any:
        """The SDK property at ``ref.path`` of the step ``ref.step``."""
        current = self.steps[ref.step].properties
        for match in _TOKEN.finditer(ref.path):
            name, index, key1, key2 = match.groups()
            try:
                if name is not None:
                    current = getattr(current, name)
                elif index is not None:
                    current = current[int(index)]
                else:
                    current = current[key1 if key1 is not None else key2]
            except (AttributeError, KeyError, IndexError, TypeError):
                raise CompileError(
                    f"{ref!s}: the {self.graph.nodes[ref.step].kind} step {ref.step!r} has no "
                    f"property {ref.path!r} (stopped at {match.group(0).lstrip('.')!r}); see the "
                    "Describe response of its job for the names"
                ) from None
        return current

    def default_output(self, step: str, *parts: str) -> Any:
        """``s3://<bucket>/<prefix>/<pipeline>/<execution id>/<step>/<parts>``: unique per
        execution, so that two executions never overwrite each other's results."""
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join as SdkJoin

        env = self.graph.env
        prefix = [p for p in (env.prefix, self.graph.pipeline_name) if p]
        return SdkJoin(
            on="/",
            values=[
                f"s3://{self.bucket}",
                *prefix,
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                *parts,
            ],
        )


@dataclass
class StepBuild:
    """One step being compiled: its node (config, options, location) within a compilation."""

    compilation: Compilation
    node: StepNode

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def config(self) -> StepConfig:
        return self.node.config

    @property
    def options(self) -> StepOptions:
        return self.node.options

    @property
    def code(self) -> StepCode | None:
        """The step's code objects as planned by its kind's code function, if it has code."""
        return self.compilation.code.get(self.node.name)

    @property
    def session(self) -> Any:
        return self.compilation.session

    @property
    def role(self) -> str:
        return self.compilation.role

    @property
    def region(self) -> str:
        return self.compilation.region

    @property
    def bucket(self) -> str:
        return self.compilation.bucket

    def value(self, value: Any, as_string: bool = False) -> Any:
        """See :meth:`Compilation.value`."""
        return self.compilation.value(value, as_string)

    def step(self, name: str) -> Any:
        """The SDK step already built for ``name`` (an upstream or a branch step)."""
        return self.compilation.steps[name]

    @property
    def settings(self) -> dict[str, Any]:
        """What every SDK step class takes besides its job arguments."""
        options = self.node.options
        return {
            "name": self.node.name,
            "display_name": options.display_name,
            "description": options.description,
            "depends_on": self.depends_on(),
        }

    def depends_on(self) -> list[Any] | None:
        """Upstream steps that no property reference (or branch) already makes a dependency."""
        graph = self.compilation.graph
        names = [
            n
            for n in graph.upstream(self.node.name)
            if not any(
                via == "reference" or via.startswith("branch")
                for via in graph.dag.edges[n, self.node.name]["via"]
            )
        ]
        return [self.compilation.steps[n] for n in names] or None

    def environment(self) -> dict[str, str]:
        """The step's environment variables as plain strings (``not_secret`` marks dropped)."""
        return {key: str(value) for key, value in self.node.options.variables.items()}

    def instance_type_default(self, value: str | Parameter | None) -> str | None:
        """A literal instance type, or a parameter's default (what picks an image)."""
        if isinstance(value, Parameter):
            return str(value.default) if isinstance(value.default, str) else "ml.m5.xlarge"
        return value

    def image(self, scope: str = "training") -> str:
        """The step's image: its ``image_uri``, else its framework's image for ``scope``."""
        options = self.node.options
        if not isinstance(options, ImageOptions):
            raise CompileError(f"{self.where}: a {self.node.kind} step has no image options")
        if options.image_uri:
            return options.image_uri
        from sagemaker.core import image_uris

        instance_type = self.instance_type_default(options.image_instance_type)
        key = (
            options.framework,
            options.framework_version,
            options.py_version,
            self.region,
            instance_type,
            scope,
        )
        known = self.compilation.images.get(key)
        if known is not None:
            return known
        try:
            uri: str = image_uris.retrieve(
                framework=options.framework,
                region=self.region,
                version=options.framework_version,
                py_version=options.py_version,
                instance_type=instance_type,
                image_scope=scope,
            )
        except ValueError as exc:
            raise CompileError(
                f"{self.where}: framework={options.framework!r} "
                f"framework_version={options.framework_version!r}: {exc}"
            ) from None
        self.compilation.images[key] = uri
        return uri

    @property
    def where(self) -> str:
        return f"{self.node.location}, in step {self.node.name!r}"


def _literal(value: Any) -> bool:
    return isinstance(value, (int, float, bool)) and not isinstance(value, str)


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

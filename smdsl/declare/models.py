"""Model steps: create a model, register it in a model package group, run a batch transform."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from smdsl.declare.base import CodePaths, StepConfig
from smdsl.declare.configs import InputSource, input_source
from smdsl.declare.expressions import Join
from smdsl.declare.kinds import StepKind, register_step_kind
from smdsl.declare.options import ModelOptions, TransformOptions, check_instance_type
from smdsl.declare.params import Parameter
from smdsl.declare.refs import ModelArtifactsRef, ModelName, OutputRef, StepProperty
from smdsl.declare.s3uri import check_s3_uri
from smdsl.declare.steps import StepFunction, declare_step, settings
from smdsl.declare.validation import accepting
from smdsl.errors import DeclarationError, did_you_mean

ModelData = Annotated[
    str | Parameter | ModelArtifactsRef | OutputRef | StepProperty | Join,
    accepting(
        "a training step's model_artifacts, an S3 URI of a model.tar.gz, a parameter or join()",
        prepare=lambda v: check_s3_uri(v) if isinstance(v, str) else v,
    ),
]
Uri = Annotated[
    str | Parameter | OutputRef | StepProperty | Join,
    accepting(
        "an S3 URI, a parameter, another step's output or join()",
        prepare=lambda v: input_source(v),
    ),
]


class _InferenceCode(StepConfig):
    """The inference code a model's container runs: a script, or a script in a folder."""

    model_data: ModelData
    entry_point: str | None = None
    source_dir: str | None = None

    @model_validator(mode="after")
    def _entry_point_for_source_dir(self) -> _InferenceCode:
        if self.source_dir is not None and self.entry_point is None:
            raise ValueError("source_dir= needs entry_point=, the inference script inside it")
        return self

    def code_paths(self) -> CodePaths | None:
        if self.entry_point is None:
            return None  # the image serves the model with its own code
        return CodePaths(None, self.source_dir, self.entry_point)


class Model(_InferenceCode):
    """A model step: a SageMaker model from model artifacts and the step's image.

    Example: ``Model(model_data=train.model_artifacts)``; give ``entry_point`` (and
    ``source_dir``) for inference code of your own. Later steps use ``<step>.model_name``.
    """

    @property
    def model_name(self) -> ModelName:
        """The name of the model this step creates, known once it has run."""
        if self.step_name is None:
            raise ValueError(
                "this Model config was not returned by a step function; use <step>.model_name"
            )
        return ModelName(step=self.step_name)


class ModelMetrics(BaseModel):
    """Quality reports attached to a registered model: S3 URIs of JSON files a step wrote.

    Example: ``ModelMetrics(model_statistics=join(evaluate.outputs["evaluation"],
    "evaluation.json", on="/"))``
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_statistics: Uri | None = None
    model_constraints: Uri | None = None
    data_statistics: Uri | None = None
    data_constraints: Uri | None = None
    content_type: str = "application/json"

    @model_validator(mode="after")
    def _some(self) -> ModelMetrics:
        if all(
            value is None
            for value in (
                self.model_statistics,
                self.model_constraints,
                self.data_statistics,
                self.data_constraints,
            )
        ):
            raise ValueError(
                "give at least one report: model_statistics, model_constraints, "
                "data_statistics or data_constraints"
            )
        return self


ApprovalStatus = Literal["Approved", "Rejected", "PendingManualApproval"]


class Register(_InferenceCode):
    """A register step: a model package version in ``model_package_group``.

    Example::

        Register(model_data=train.model_artifacts, model_package_group="Abalone",
                 approval_status=approval, content_types=["text/csv"],
                 response_types=["text/csv"], inference_instances=["ml.m5.large"],
                 transform_instances=["ml.m5.large"], metrics=ModelMetrics(...))
    """

    model_package_group: Annotated[
        str | Parameter, accepting("a model package group name or a String parameter")
    ]
    approval_status: Annotated[
        ApprovalStatus | Parameter,
        accepting("'Approved', 'Rejected', 'PendingManualApproval' or a String parameter"),
    ] = "PendingManualApproval"
    content_types: list[str] = []
    response_types: list[str] = []
    inference_instances: list[str] = []
    transform_instances: list[str] = []
    metrics: ModelMetrics | None = None
    model_description: str | None = None

    @field_validator("model_package_group", "approval_status")
    @classmethod
    def _string_parameter(cls, value: Any) -> Any:
        if isinstance(value, Parameter) and value.type != "String":
            raise ValueError(f"parameter {value.name!r} is {value.type}; a String one is needed")
        return value

    @field_validator("approval_status")
    @classmethod
    def _status_default(cls, value: Any) -> Any:
        statuses = get_args(ApprovalStatus)
        if isinstance(value, Parameter) and value.default not in (None, *statuses):
            raise ValueError(
                f"parameter {value.name!r} defaults to {value.default!r}, which SageMaker "
                f"refuses as an approval status{did_you_mean(str(value.default), statuses)}; "
                f"it takes {', '.join(statuses)}"
            )
        return value

    @field_validator("inference_instances", "transform_instances")
    @classmethod
    def _instances(cls, value: list[str]) -> list[str]:
        for item in value:
            check_instance_type(item)
        return value

    def instance_types(self) -> Iterator[tuple[str, str, str]]:
        for index, value in enumerate(self.inference_instances):
            yield f"inference_instances[{index}]", "ProductionVariantInstanceType", value
        for index, value in enumerate(self.transform_instances):
            yield f"transform_instances[{index}]", "TransformInstanceType", value

    def summary(self) -> str:
        group = self.model_package_group
        shown = f"{{{group.name}}}" if isinstance(group, Parameter) else group
        return f"into {shown}"


class Transform(StepConfig):
    """A batch transform step: run a model over ``input`` and write to ``output_path``.

    Example::

        Transform(model=create_model.model_name, input=batch_data, content_type="text/csv",
                  split_type="Line", assemble_with="Line")

    ``output_path`` defaults to a path unique to each execution, as processing outputs do.
    """

    model: Annotated[
        str | Parameter | StepProperty,
        accepting("a model step's model_name, a model's name or a String parameter"),
    ]
    input: Annotated[
        InputSource,
        accepting(
            "an S3 URI, a parameter, join() or another step's output",
            prepare=lambda v: input_source(v),
        ),
    ]
    output_path: (
        Annotated[str | Parameter | Join, accepting("an S3 URI, a parameter or join()")] | None
    ) = None
    content_type: str | None = None
    accept: str | None = None
    split_type: Literal["None", "Line", "RecordIO", "TFRecord"] | None = None
    assemble_with: Literal["None", "Line"] | None = None
    data_type: Literal["S3Prefix", "ManifestFile", "AugmentedManifestFile"] = "S3Prefix"

    @field_validator("output_path")
    @classmethod
    def _s3(cls, value: Any) -> Any:
        return check_s3_uri(value) if isinstance(value, str) else value

    @field_validator("model")
    @classmethod
    def _model_parameter(cls, value: Any) -> Any:
        if isinstance(value, Parameter) and value.type != "String":
            raise ValueError(
                f"parameter {value.name!r} is {value.type}; a model's name needs a String one"
            )
        return value


MODEL = register_step_kind(
    StepKind(
        name="model",
        config=Model,
        options=ModelOptions,
        compile="smdsl.compile.kinds.models:compile_model",
        local="smdsl.local.kinds.models:ModelRunner",
        code="smdsl.compile.kinds.models:inference_code",
        fields="smdsl.compile.kinds.models:argument_field",
        provides=frozenset({"model_name"}),
    )
)
REGISTER = register_step_kind(
    StepKind(
        name="register",
        config=Register,
        options=ModelOptions,
        compile="smdsl.compile.kinds.models:compile_register",
        local="smdsl.local.kinds.models:RegisterRunner",
        code="smdsl.compile.kinds.models:inference_code",
        fields="smdsl.compile.kinds.models:argument_field",
    )
)
TRANSFORM = register_step_kind(
    StepKind(
        name="transform",
        config=Transform,
        options=TransformOptions,
        compile="smdsl.compile.kinds.transform:compile_transform",
        local="smdsl.local.kinds.transform:TransformRunner",
        fields="smdsl.compile.kinds.transform:argument_field",
    )
)

_Steps = Sequence[str | StepFunction[Any]] | str | StepFunction[Any] | None


def model_step(
    _function: Callable[..., Any] | None = None,
    /,
    *,
    framework: str | None = None,
    framework_version: str | None = None,
    py_version: str | None = None,
    image_uri: str | None = None,
    instance_type: str | None = None,
    environment: dict[str, str] | None = None,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    depends_on: _Steps = None,
) -> Callable[[Callable[..., Model]], StepFunction[Model]]:
    """Declare a model step; the function returns a :class:`Model`.

    The image is a framework's inference image (``framework=``, ``framework_version=``; the
    ``instance_type`` picks CPU or GPU) or any ``image_uri=``. Example::

        @model_step(framework="xgboost", framework_version="1.7-1")
        def create_model(train: Training) -> Model:
            return Model(model_data=train.model_artifacts)
    """
    _check_called("model", _function)
    return declare_step(MODEL, settings(locals()))


def register_step(
    _function: Callable[..., Any] | None = None,
    /,
    *,
    framework: str | None = None,
    framework_version: str | None = None,
    py_version: str | None = None,
    image_uri: str | None = None,
    instance_type: str | None = None,
    environment: dict[str, str] | None = None,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    depends_on: _Steps = None,
) -> Callable[[Callable[..., Register]], StepFunction[Register]]:
    """Declare a register step; the function returns a :class:`Register`.

    Example::

        @register_step(framework="xgboost", framework_version="1.7-1")
        def register(train: Training) -> Register:
            return Register(model_data=train.model_artifacts, model_package_group="Abalone",
                            content_types=["text/csv"], response_types=["text/csv"])
    """
    _check_called("register", _function)
    return declare_step(REGISTER, settings(locals()))


def transform_step(
    _function: Callable[..., Any] | None = None,
    /,
    *,
    instance_type: str | Parameter | None = None,
    instance_count: int = 1,
    environment: dict[str, str] | None = None,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    depends_on: _Steps = None,
) -> Callable[[Callable[..., Transform]], StepFunction[Transform]]:
    """Declare a batch transform step; the function returns a :class:`Transform`.

    Example::

        @transform_step(instance_type="ml.m5.xlarge")
        def transform(create_model: Model) -> Transform:
            return Transform(model=create_model.model_name, input="s3://bucket/batch/")
    """
    if _function is not None or instance_type is None:
        raise _missing("transform", 'instance_type="ml.m5.xlarge"')
    return declare_step(TRANSFORM, settings(locals()))


def _check_called(kind: str, function: Any) -> None:
    if function is not None:
        raise _missing(kind, 'framework="xgboost", framework_version="1.7-1"')


def _missing(kind: str, example: str) -> Exception:
    return DeclarationError(f"@{kind}_step needs its settings: @{kind}_step({example})")


__all__ = [
    "MODEL",
    "REGISTER",
    "TRANSFORM",
    "Model",
    "ModelMetrics",
    "Register",
    "Transform",
    "model_step",
    "register_step",
    "transform_step",
]

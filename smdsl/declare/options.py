"""What a user sets per step in its decorator, validated when the decorator is applied."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from smdsl.declare.durations import to_seconds
from smdsl.declare.notsecret import Text
from smdsl.declare.params import Parameter
from smdsl.declare.validation import accepting, shown

INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9\-]+\.[a-z0-9\-]+$")


def check_instance_type(value: str) -> str:
    """``value`` if it has the form of a SageMaker instance type, else a ValueError."""
    if not INSTANCE_TYPE.match(value):
        raise ValueError(
            f"{value!r} is not a SageMaker instance type; they look like 'ml.m5.xlarge'"
        )
    return value


IMAGE_URI = re.compile(
    r"^[a-z0-9][a-z0-9.\-]*(:\d+)?/[a-z0-9._\-/]+(:[\w.\-]{1,128}|@sha256:[0-9a-f]{64})?$"
)
"""A registry host, a repository path, and an optional tag or digest."""

STEP_DISPLAY_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")

FRAMEWORKS: dict[str, str | None] = {
    "sklearn": "1.2-1",
    "xgboost": "1.7-1",
    "pytorch": None,
    "tensorflow": None,
}
"""Frameworks whose containers smdsl knows, with the version used when none is given."""


class StepOptions(BaseModel):
    """What every step decorator takes: the step's name, how it shows, what it waits for.

    Each step kind has its options class (:class:`JobOptions` for processing and training,
    :class:`ModelOptions`, :class:`TransformOptions`, this one for condition and fail steps); an
    environment's per-step override may set only the fields its step's class has.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    name: str | None = None
    display_name: str | None = None
    description: str | None = None
    depends_on: Annotated[tuple[str, ...], accepting("a list of step names or step functions")] = ()

    instance_shape: ClassVar[str | None] = None
    """The botocore shape listing the instance types this kind of job accepts, if it has one."""

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        if value is not None and not STEP_DISPLAY_NAME.match(value):
            raise ValueError(
                f"{value!r}: the pipeline definition schema allows 1-64 letters, digits, '-' "
                "and '_' in a display name"
            )
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        if value is not None and len(value) > 4096:
            raise ValueError(f"is {len(value)} characters long; SageMaker takes at most 4096")
        return value

    @property
    def variables(self) -> dict[str, str]:
        """The environment variables the step's container gets (none for control steps)."""
        return {}

    def summary(self) -> str:
        """What the step runs on, for ``smdsl graph``: ``sklearn 1.2-1, ml.m5.xlarge x2``."""
        return ""

    def merged(self, override: dict[str, Any]) -> StepOptions:
        """These options with an environment's per-step overrides applied (and re-validated).

        A setting this kind of step does not have is a ValueError naming the ones it has.
        """
        fields = type(self).model_fields
        data = {key: getattr(self, key) for key in fields}  # Parameter objects kept as they are
        for key, value in override.items():
            if value is None:
                continue
            if key not in fields:
                settable = sorted(
                    k
                    for k in (
                        "instance_type",
                        "instance_count",
                        "volume_size_gb",
                        "max_runtime",
                        "environment",
                    )
                    if k in fields
                )
                raise ValueError(
                    f"a {self.kind} step has no {key}; an override may set "
                    f"{', '.join(settable) or 'nothing for it'}"
                )
            if key == "environment":
                data["environment"] = {**data["environment"], **value}
            else:
                data[key] = value
        return type(self)(**data)


class EnvironmentOptions(StepOptions):
    """Options of a step whose container gets environment variables."""

    environment: dict[str, Text] = {}  # a value may be a not_secret() one

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: Any) -> Any:
        return check_environment(value)

    @property
    def variables(self) -> dict[str, str]:
        return dict(self.environment)


class ComputeOptions(EnvironmentOptions):
    """Options of a step that runs a job on instances: their type and count, its environment."""

    instance_type: Annotated[
        str | Parameter,
        accepting('an instance type such as "ml.m5.xlarge" or a String parameter'),
    ]
    instance_count: Annotated[
        int | Parameter,
        accepting('a whole number >= 1 or an Integer parameter such as param("Count", default=1)'),
    ] = 1

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str | Parameter) -> str | Parameter:
        if isinstance(value, str):
            check_instance_type(value)
        if isinstance(value, Parameter) and value.type != "String":
            raise ValueError(
                f"parameter {value.name!r} is {value.type}, instance_type needs String"
            )
        return value

    @field_validator("instance_count")
    @classmethod
    def _instance_count(cls, value: int | Parameter) -> int | Parameter:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"must be at least 1, got {value}")
        if isinstance(value, Parameter) and value.type != "Integer":
            raise ValueError(
                f"parameter {value.name!r} is {value.type}, instance_count needs Integer"
            )
        if isinstance(value, Parameter) and isinstance(value.default, int) and value.default < 1:
            raise ValueError(
                f"parameter {value.name!r} defaults to {value.default}; an instance count is at "
                "least 1"
            )
        return value

    def summary(self) -> str:
        count = self.instance_count
        shown = f" x{_shown(count)}" if isinstance(count, Parameter) or count != 1 else ""
        return f"{_shown(self.instance_type)}{shown}"


class ImageOptions(StepOptions):
    """Options of a step that names a container image: a framework's, or any by its URI."""

    framework: str | None = None
    framework_version: str | None = None
    py_version: str | None = None
    image_uri: str | None = None

    @field_validator("image_uri")
    @classmethod
    def _image_uri(cls, value: str | None) -> str | None:
        if value is not None and not IMAGE_URI.match(value):
            raise ValueError(
                f"{value!r} is not a container image URI; they look like "
                "'123456789012.dkr.ecr.us-east-1.amazonaws.com/my-image:1.0' (at most 255 "
                "characters, no spaces)"
            )
        return value

    @model_validator(mode="after")
    def _image(self) -> ImageOptions:
        if self.image_uri and self.framework:
            raise ValueError("give framework= or image_uri=, not both")
        if not self.image_uri and not self.framework:
            raise ValueError(
                f"give framework= (one of {', '.join(FRAMEWORKS)}) or an explicit image_uri="
            )
        if self.framework is None:
            return self
        if self.framework not in FRAMEWORKS:
            raise ValueError(
                f"framework {self.framework!r} is not one of {', '.join(FRAMEWORKS)}; "
                "for another container give image_uri="
            )
        if self.framework_version is None:
            default = FRAMEWORKS[self.framework]
            if default is None:
                raise ValueError(f"framework {self.framework!r} needs framework_version=")
            object.__setattr__(self, "framework_version", default)
        if self.framework in ("pytorch", "tensorflow") and self.py_version is None:
            raise ValueError(f"framework {self.framework!r} needs py_version= (e.g. 'py310')")
        return self

    @property
    def image_instance_type(self) -> str | Parameter | None:
        """The instance type that picks the image's processor kind (CPU or GPU), if any."""
        return None

    def image_summary(self) -> str:
        if self.framework:
            return f"{self.framework} {self.framework_version}"
        return "image"


class JobOptions(ImageOptions, ComputeOptions):
    """Options of a processing or training step: an image, instances, a volume, a runtime."""

    volume_size_gb: Annotated[int, accepting("a whole number of GB from 1 to 16384")] = 30
    max_runtime: int | None = None
    command: Annotated[
        tuple[str, ...], accepting('a list of strings such as ["python3", "-u"]')
    ] = ("python3",)

    @field_validator("max_runtime", mode="before")
    @classmethod
    def _max_runtime(cls, value: int | str | timedelta | None) -> int | None:
        return None if value is None else to_seconds(value)

    @field_validator("volume_size_gb")
    @classmethod
    def _volume(cls, value: int) -> int:
        if not 1 <= value <= 16384:
            raise ValueError(f"must be between 1 and 16384 GB, got {value}")
        return value

    @property
    def image_instance_type(self) -> str | Parameter | None:
        return self.instance_type

    def summary(self) -> str:
        return f"{self.image_summary()}, {ComputeOptions.summary(self)}"


class ProcessingOptions(JobOptions):
    instance_shape: ClassVar[str | None] = "ProcessingInstanceType"


class TrainingOptions(JobOptions):
    instance_shape: ClassVar[str | None] = "TrainingInstanceType"


class ModelOptions(ImageOptions, EnvironmentOptions):
    """Options of a model or register step: the serving image and its environment.

    ``instance_type`` only picks the image's processor kind (CPU or GPU) for a framework image.
    """

    instance_shape: ClassVar[str | None] = "ProductionVariantInstanceType"

    instance_type: str | None = None

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str | None) -> str | None:
        return None if value is None else check_instance_type(value)

    @property
    def image_instance_type(self) -> str | Parameter | None:
        return self.instance_type

    def summary(self) -> str:
        return self.image_summary()


class TransformOptions(ComputeOptions):
    """Options of a batch transform step: the instances it runs on."""

    instance_shape: ClassVar[str | None] = "TransformInstanceType"

    @field_validator("instance_count")
    @classmethod
    def _literal_count(cls, value: int | Parameter) -> int | Parameter:
        if isinstance(value, Parameter):
            raise ValueError(
                f"a batch transform's instance count is a whole number, not parameter "
                f"{value.name!r}: the SageMaker SDK v3 takes no parameter there (set it per "
                "environment with a profile's steps.<name>.instance_count instead)"
            )
        return value


def check_environment(value: Any) -> Any:
    """``value`` if it is a dict of variable name -> string, else a ValueError saying why."""
    if not isinstance(value, dict):
        raise ValueError(
            "must be a dict of variable name -> string value, e.g. "
            f'{{"LOG_LEVEL": "info"}}, not {shown(value)}'
        )
    for key, item in value.items():
        if not isinstance(item, str):
            hint = ""
            if isinstance(item, (dict, list, tuple, set)):
                hint = "; pass a nested structure as one string, e.g. json.dumps(value)"
            elif isinstance(item, (int, float)):
                hint = f" (write {str(item)!r})"
            raise ValueError(f"{key!r} must be a string, not {shown(item)}{hint}")
    return value


def _shown(value: str | int | Parameter) -> str:
    """A literal as itself, a pipeline parameter by name: ``{Workers}``."""
    return f"{{{value.name}}}" if isinstance(value, Parameter) else str(value)

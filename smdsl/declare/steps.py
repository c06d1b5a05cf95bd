"""The step decorators.

A decorator checks its own arguments, attaches a frozen :class:`StepSpec` and returns a
:class:`StepFunction` that still behaves as the plain function: calling it returns the config,
stamped with the step's name. Nothing is compiled and no global registry is touched; the step is
only noted in its own module's namespace so that the graph layer can find it (and spot two steps
that share a name).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from smdsl.declare.base import StepConfig
from smdsl.declare.configs import Processing, Training
from smdsl.declare.kinds import StepKind, register_step_kind
from smdsl.declare.options import ProcessingOptions, StepOptions, TrainingOptions
from smdsl.declare.params import Parameter
from smdsl.declare.refs import JsonGet, ModelArtifactsRef, ModelName, OutputRef, StepProperty
from smdsl.declare.validation import describe_validation
from smdsl.errors import DeclarationError, SourceLocation

MODULE_STEPS = "__smdsl_steps__"
"""Name of the list, in a pipeline module's namespace, of the steps declared in it."""

C = TypeVar("C", bound=StepConfig)

PROCESSING = register_step_kind(
    StepKind(
        name="processing",
        config=Processing,
        options=ProcessingOptions,
        compile="smdsl.compile.kinds.processing:compile_processing",
        local="smdsl.local.kinds.processing:ProcessingRunner",
        code="smdsl.compile.kinds.processing:processing_code",
        fields="smdsl.compile.kinds.processing:argument_field",
        provides=frozenset({"outputs", "property_files"}),
    )
)
TRAINING = register_step_kind(
    StepKind(
        name="training",
        config=Training,
        options=TrainingOptions,
        compile="smdsl.compile.kinds.training:compile_training",
        local="smdsl.local.kinds.training:TrainingRunner",
        code="smdsl.compile.kinds.training:training_code",
        fields="smdsl.compile.kinds.training:argument_field",
        provides=frozenset({"model_artifacts"}),
    )
)


@dataclass(frozen=True)
class StepSpec:
    """A declared step: its name, kind, options and where it was written."""

    name: str
    step_kind: StepKind
    options: StepOptions
    location: SourceLocation
    function_name: str
    parameters: tuple[str, ...]
    optional: frozenset[str] = frozenset()  # parameters with a default value

    @property
    def kind(self) -> str:
        """The kind's name: "processing", "condition", ..."""
        return self.step_kind.name


class StepOutputs:
    """``step.outputs["name"]``: references to a processing step's outputs by name.

    Which names exist is known only once the step function has run, so the graph layer checks
    each reference against the outputs the step declares.
    """

    def __init__(self, step: str) -> None:
        self._step = step

    def __getitem__(self, name: str) -> OutputRef:
        return OutputRef(step=self._step, output=name)


class StepFunction(Generic[C]):
    """A step function: call it to get its config; pass it around to refer to the step."""

    def __init__(self, fn: Callable[..., C], spec: StepSpec) -> None:
        functools.update_wrapper(self, fn)
        self.fn: Callable[..., C] = fn
        self.spec = spec

    @property
    def name(self) -> str:
        """The step's name in the pipeline."""
        return self.spec.name

    @property
    def outputs(self) -> StepOutputs:
        """References to this step's outputs, e.g. ``preprocess.outputs["train"]``."""
        return StepOutputs(self.spec.name)

    @property
    def model_artifacts(self) -> ModelArtifactsRef:
        """A reference to the model a training step produces."""
        if "model_artifacts" not in self.spec.step_kind.provides:
            raise AttributeError(f"step {self.name!r} is a {self.spec.kind} step: no model")
        return ModelArtifactsRef(step=self.spec.name)

    @property
    def model_name(self) -> ModelName:
        """The name of the model a model step creates, known once it has run."""
        return ModelName(step=self.spec.name)

    def json_get(self, property_file: str, json_path: str, type: Any = None) -> JsonGet:
        """A value read from this step's property file ``property_file`` when the pipeline runs,
        e.g. ``evaluate.json_get("EvaluationReport", "metrics.mse.value", type=float)``."""
        return JsonGet(
            step=self.spec.name, property_file=property_file, json_path=json_path, type=type
        )

    def property(self, path: str) -> StepProperty:
        """A property of this step's job by its path in the job's Describe response, e.g.
        ``train.property("FinalMetricDataList['validation:rmse'].Value")``."""
        return StepProperty(step=self.spec.name, path=path)

    def __call__(self, *args: Any, **kwargs: Any) -> C:
        config = self.fn(*args, **kwargs)
        expected = self.spec.step_kind.config
        if not isinstance(config, expected):
            raise DeclarationError(
                f"step {self.name!r} must return a {expected.__name__} config, "
                f"got {type(config).__name__}"
            )
        stamped: C = config.stamped(self.spec.name)  # type: ignore[assignment]
        return stamped

    def __repr__(self) -> str:
        return f"<{self.spec.kind} step {self.name!r}>"


def declare_step(
    kind: StepKind, settings: dict[str, Any]
) -> Callable[[Callable[..., C]], StepFunction[C]]:
    """The decorator that declares a step of ``kind`` with the decorator's ``settings``."""
    settings = dict(settings)
    depends_on = settings.pop("depends_on", None) or ()
    if isinstance(depends_on, (str, StepFunction)):
        depends_on = (depends_on,)
    if isinstance(depends_on, (list, tuple)):  # anything else is refused by the options
        depends_on = tuple(d.name if isinstance(d, StepFunction) else d for d in depends_on)
    settings["depends_on"] = depends_on

    def decorate(fn: Callable[..., C]) -> StepFunction[C]:
        if isinstance(fn, StepFunction):
            raise DeclarationError(f"{fn.name!r} is already a step; apply one step decorator")
        if not callable(fn):
            raise DeclarationError(f"@{kind.name}_step decorates a function, not {fn!r}")
        name = settings.get("name") or fn.__name__
        try:
            options = kind.options(kind=kind.name, **settings)
        except ValidationError as exc:
            raise DeclarationError(
                f"step {name!r}: {describe_validation(exc, title=False)}"
            ) from None
        code = fn.__code__
        signature = inspect.signature(fn).parameters
        spec = StepSpec(
            name=name,
            step_kind=kind,
            options=options,
            location=SourceLocation(code.co_filename, code.co_firstlineno),
            function_name=fn.__qualname__,
            parameters=tuple(signature),
            optional=frozenset(
                n for n, p in signature.items() if p.default is not inspect.Parameter.empty
            ),
        )
        step: StepFunction[C] = StepFunction(fn, spec)
        fn.__globals__.setdefault(MODULE_STEPS, []).append(step)
        return step

    return decorate


def processing_step(
    _function: Callable[..., Any] | None = None,
    /,
    *,
    instance_type: str | Parameter | None = None,
    framework: str | None = None,
    framework_version: str | None = None,
    py_version: str | None = None,
    image_uri: str | None = None,
    instance_count: int | Parameter = 1,
    volume_size_gb: int = 30,
    max_runtime: int | str | timedelta | None = None,
    environment: dict[str, str] | None = None,
    command: Sequence[str] = ("python3",),
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    depends_on: Sequence[str | StepFunction[Any]] | str | StepFunction[Any] | None = None,
) -> Callable[[Callable[..., Processing]], StepFunction[Processing]]:
    """Declare a SageMaker processing step; the function returns a :class:`Processing`.

    Example::

        @processing_step(instance_type="ml.m5.xlarge", framework="sklearn")
        def preprocess() -> Processing:
            return Processing(code="code/preprocess.py", outputs=["train", "test"])
    """
    _check_called("processing", _function, instance_type)
    return declare_step(PROCESSING, settings(locals()))


def training_step(
    _function: Callable[..., Any] | None = None,
    /,
    *,
    instance_type: str | Parameter | None = None,
    framework: str | None = None,
    framework_version: str | None = None,
    py_version: str | None = None,
    image_uri: str | None = None,
    instance_count: int | Parameter = 1,
    volume_size_gb: int = 30,
    max_runtime: int | str | timedelta | None = "1d",
    environment: dict[str, str] | None = None,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    depends_on: Sequence[str | StepFunction[Any]] | str | StepFunction[Any] | None = None,
) -> Callable[[Callable[..., Training]], StepFunction[Training]]:
    """Declare a SageMaker training step; the function returns a :class:`Training`.

    Example::

        @training_step(instance_type="ml.m5.2xlarge", framework="xgboost")
        def train(preprocess: Processing) -> Training:
            return Training(entry_point="code/train.py",
                            inputs={"train": preprocess.outputs["train"]})
    """
    _check_called("training", _function, instance_type)
    return declare_step(TRAINING, settings(locals()))


def _check_called(kind: str, function: Any, instance_type: Any) -> None:
    """Catch ``@processing_step`` written without its settings, or without an instance type."""
    if function is not None or instance_type is None:
        raise DeclarationError(
            f"@{kind}_step needs its settings, at least the instance type: "
            f'@{kind}_step(instance_type="ml.m5.xlarge", framework="sklearn")'
        )


def settings(given: dict[str, Any]) -> dict[str, Any]:
    """A decorator's arguments that were given (not None), for :func:`declare_step`."""
    return {k: v for k, v in given.items() if v is not None and not k.startswith("_")}

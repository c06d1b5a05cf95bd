"""smdsl: write Amazon SageMaker Pipelines as plain, testable Python.

Importing this package is cheap: it never imports the SageMaker SDK. Only compiling a pipeline
(``smdsl definition`` / ``smdsl deploy``) does.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smdsl.declare.base import CodePaths, StepConfig
    from smdsl.declare.conditions import Comparison, IsIn, Predicate
    from smdsl.declare.configs import (
        Processing,
        ProcessingInput,
        ProcessingOutput,
        PropertyFile,
        Training,
        TrainingInput,
    )
    from smdsl.declare.control import Condition, Fail, condition_step, fail_step
    from smdsl.declare.env import Env, StepOverride
    from smdsl.declare.expressions import Join, join
    from smdsl.declare.kinds import StepKind, register_step_kind, step_kinds
    from smdsl.declare.models import (
        Model,
        ModelMetrics,
        Register,
        Transform,
        model_step,
        register_step,
        transform_step,
    )
    from smdsl.declare.notsecret import NotSecret, not_secret
    from smdsl.declare.options import (
        ComputeOptions,
        ImageOptions,
        JobOptions,
        ModelOptions,
        StepOptions,
        TransformOptions,
    )
    from smdsl.declare.params import Parameter, param
    from smdsl.declare.refs import (
        ExecutionVariable,
        JsonGet,
        ModelArtifactsRef,
        OutputRef,
        StepProperty,
        execution,
    )
    from smdsl.declare.steps import StepFunction, processing_step, training_step
    from smdsl.errors import DeclarationError, SmdslError

__version__ = "0.1.0"

_EXPORTS = {
    "CodePaths": "smdsl.declare.base",
    "Comparison": "smdsl.declare.conditions",
    "ComputeOptions": "smdsl.declare.options",
    "Condition": "smdsl.declare.control",
    "DeclarationError": "smdsl.errors",
    "Env": "smdsl.declare.env",
    "ExecutionVariable": "smdsl.declare.refs",
    "Fail": "smdsl.declare.control",
    "ImageOptions": "smdsl.declare.options",
    "IsIn": "smdsl.declare.conditions",
    "JobOptions": "smdsl.declare.options",
    "Join": "smdsl.declare.expressions",
    "JsonGet": "smdsl.declare.refs",
    "Model": "smdsl.declare.models",
    "ModelArtifactsRef": "smdsl.declare.refs",
    "ModelMetrics": "smdsl.declare.models",
    "ModelOptions": "smdsl.declare.options",
    "NotSecret": "smdsl.declare.notsecret",
    "OutputRef": "smdsl.declare.refs",
    "Parameter": "smdsl.declare.params",
    "Predicate": "smdsl.declare.conditions",
    "Processing": "smdsl.declare.configs",
    "ProcessingInput": "smdsl.declare.configs",
    "ProcessingOutput": "smdsl.declare.configs",
    "PropertyFile": "smdsl.declare.configs",
    "Register": "smdsl.declare.models",
    "SmdslError": "smdsl.errors",
    "StepConfig": "smdsl.declare.base",
    "StepFunction": "smdsl.declare.steps",
    "StepKind": "smdsl.declare.kinds",
    "StepOptions": "smdsl.declare.options",
    "StepOverride": "smdsl.declare.env",
    "StepProperty": "smdsl.declare.refs",
    "Training": "smdsl.declare.configs",
    "TrainingInput": "smdsl.declare.configs",
    "Transform": "smdsl.declare.models",
    "TransformOptions": "smdsl.declare.options",
    "condition_step": "smdsl.declare.control",
    "execution": "smdsl.declare.refs",
    "fail_step": "smdsl.declare.control",
    "join": "smdsl.declare.expressions",
    "model_step": "smdsl.declare.models",
    "not_secret": "smdsl.declare.notsecret",
    "param": "smdsl.declare.params",
    "processing_step": "smdsl.declare.steps",
    "register_step": "smdsl.declare.models",
    "register_step_kind": "smdsl.declare.kinds",
    "step_kinds": "smdsl.declare.kinds",
    "training_step": "smdsl.declare.steps",
    "transform_step": "smdsl.declare.models",
}
"""Where each public name lives: imported when first used, so that ``import smdsl`` (and
``smdsl --help``) stays cheap."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smdsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "CodePaths",
    "Comparison",
    "ComputeOptions",
    "Condition",
    "DeclarationError",
    "Env",
    "ExecutionVariable",
    "Fail",
    "ImageOptions",
    "IsIn",
    "JobOptions",
    "Join",
    "JsonGet",
    "Model",
    "ModelArtifactsRef",
    "ModelMetrics",
    "ModelOptions",
    "NotSecret",
    "OutputRef",
    "Parameter",
    "Predicate",
    "Processing",
    "ProcessingInput",
    "ProcessingOutput",
    "PropertyFile",
    "Register",
    "SmdslError",
    "StepConfig",
    "StepFunction",
    "StepKind",
    "StepOptions",
    "StepOverride",
    "StepProperty",
    "Training",
    "TrainingInput",
    "Transform",
    "TransformOptions",
    "condition_step",
    "execution",
    "fail_step",
    "join",
    "model_step",
    "not_secret",
    "param",
    "processing_step",
    "register_step",
    "register_step_kind",
    "step_kinds",
    "training_step",
    "transform_step",
]

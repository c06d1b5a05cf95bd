"""smdsl: write Amazon SageMaker Pipelines as plain, testable Python.

Importing this package is cheap: it never imports the SageMaker SDK. Only compiling a pipeline
(``smdsl definition`` / ``smdsl deploy``) does.
"""

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

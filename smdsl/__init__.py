"""smdsl: write Amazon SageMaker Pipelines as plain, testable Python.

Importing this package is cheap: it never imports the SageMaker SDK. Only compiling a pipeline
(``smdsl definition`` / ``smdsl deploy``) does.
"""

from smdsl.declare.configs import (
    Processing,
    ProcessingInput,
    ProcessingOutput,
    Training,
    TrainingInput,
)
from smdsl.declare.env import Env, StepOverride
from smdsl.declare.expressions import Join, join
from smdsl.declare.notsecret import NotSecret, not_secret
from smdsl.declare.params import Parameter, param
from smdsl.declare.refs import ModelArtifactsRef, OutputRef
from smdsl.declare.steps import StepFunction, processing_step, training_step
from smdsl.errors import SmdslError

__version__ = "0.1.0"

__all__ = [
    "Env",
    "Join",
    "ModelArtifactsRef",
    "NotSecret",
    "OutputRef",
    "Parameter",
    "Processing",
    "ProcessingInput",
    "ProcessingOutput",
    "SmdslError",
    "StepFunction",
    "StepOverride",
    "Training",
    "TrainingInput",
    "join",
    "not_secret",
    "param",
    "processing_step",
    "training_step",
]

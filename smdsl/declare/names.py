"""The names SageMaker accepts for steps, parameters, inputs, outputs and channels."""

from __future__ import annotations

import re

SAGEMAKER_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
"""What SageMaker accepts as a step, parameter, input or output name."""

CHANNEL_NAME = re.compile(r"^[A-Za-z0-9\.\-_]{1,64}$")

RESERVED_PROCESSING_NAMES = {
    "code": "the SageMaker SDK adds an input named 'code' that carries the step's script",
    "smdsl-source": "smdsl adds an input named 'smdsl-source' that carries a source_dir",
}
"""Input names a processing job gets besides the user's, with the reason, for messages."""

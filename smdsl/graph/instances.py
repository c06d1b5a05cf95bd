"""The instance types SageMaker offers, read from the service model that botocore ships.

botocore's model of the SageMaker API lists every instance type a processing or training job
accepts; it is current with each botocore release and needs no network. Loading it costs about
0.3 s, so it is read once, and only when a pipeline is checked.
"""

from __future__ import annotations

import functools


@functools.cache
def instance_types(shape: str) -> frozenset[str]:
    """Every instance type the botocore enum ``shape`` ("ProcessingInstanceType",
    "TrainingInstanceType", "TransformInstanceType"...) lists."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for(shape).enum)

"""The AWS regions where SageMaker runs, read from the endpoint data that botocore ships.

botocore's endpoint data lists, per partition (aws, aws-cn, aws-us-gov, the isolated ones), the
regions each service has an endpoint in. It needs no network and no credentials, but reading it
(and the SageMaker model, for the service's endpoint prefix) costs about 0.2 s, so the list is
derived once per botocore installation and kept in smdsl's cache (:mod:`smdsl.graph.cache`),
and read only when a profile names a region.
"""

from __future__ import annotations

import difflib
import functools

from smdsl.graph import cache

DATA_FILES = (("endpoints",), ("sagemaker", "*", "service-2"))
"""botocore's data files the list is derived from: the endpoints, and the SageMaker API's
model (which names its endpoint prefix)."""


@functools.cache
def sagemaker_regions() -> frozenset[str]:
    """Every region, in every partition, where the SageMaker API has an endpoint."""
    key = cache.botocore_key(*DATA_FILES)
    kept = cache.load("regions", key)
    if isinstance(kept, list) and all(isinstance(region, str) for region in kept):
        return frozenset(kept)
    regions = derive_regions()
    cache.store("regions", key, sorted(regions))
    return regions


def derive_regions() -> frozenset[str]:
    """The regions as botocore lists them, partition by partition."""
    import botocore.session

    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sagemaker", partition_name=partition)
    )


def closest_region(region: str) -> str | None:
    """The SageMaker region most like ``region``: a mistyped one, or a number too high.

    Ties go to the longer common prefix, then to the first in order, so ``us-est-1`` gives
    ``us-east-1`` (not ``us-west-1``) and ``eu-west-9`` gives ``eu-west-1``.
    """

    def likeness(candidate: str) -> tuple[float, int]:
        prefix = 0
        while prefix < min(len(region), len(candidate)) and region[prefix] == candidate[prefix]:
            prefix += 1
        return round(difflib.SequenceMatcher(None, region, candidate).ratio(), 6), prefix

    close = difflib.get_close_matches(region, sorted(sagemaker_regions()), n=100)
    return max(sorted(close), key=likeness) if close else None

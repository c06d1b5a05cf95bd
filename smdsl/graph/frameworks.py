"""Framework versions the SageMaker SDK has container images for, read without importing it.

The SDK ships one JSON file per framework (``sagemaker/core/image_uri_config/<framework>.json``)
listing the versions of its training images. Reading those files directly lets ``validate``
catch a mistyped ``framework_version`` without the seconds an SDK import costs.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path


@functools.cache
def framework_versions(framework: str) -> frozenset[str] | None:
    """The versions (and aliases) with training images, or None when they cannot be read."""
    spec = importlib.util.find_spec("sagemaker")  # a top-level find: nothing is imported
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "core" / "image_uri_config" / f"{framework}.json"
        if path.is_file():
            scope = json.loads(path.read_text()).get("training", {})
            versions = set(scope.get("versions", {})) | set(scope.get("version_aliases", {}))
            return frozenset(versions) or None
    return None

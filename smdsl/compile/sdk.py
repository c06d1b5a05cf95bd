"""Run the SageMaker SDK offline, quietly and reproducibly.

Inside :func:`offline_sdk`:

- the SDK's telemetry (an HTTP GET and an STS call on every ``processor.run``/``train``) is off;
- the SDK's own defaults files (``~/.config/sagemaker/config.yaml``, admin config) are replaced by
  an empty config, so a definition does not depend on the machine that compiled it;
- role validation (an IAM SimulatePrincipalPolicy call) is off;
- ``ProcessingStep`` no longer builds a full local SageMaker client (a boto session, a service
  model load and an STS call, ~0.2 s a step) only to read one method's name;
- ``image_uris.retrieve`` no longer re-reads botocore's endpoint data (a JSON file of several
  MB) on every call to find the ECR domain of a region: the resolver is built once (~0.055 s a
  step, 95% of compiling 500 steps, before);
- the SDK's chatty INFO logs and "No Job being started" warnings are silenced.

Everything is restored on exit. Each workaround has a test (tests/test_sdk_workarounds.py) that
fails when a new SDK version makes it unnecessary or wrong.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class _MethodNames:
    """Stands in for LocalSagemakerClient where the SDK only reads ``method.__name__``."""

    def create_processing_job(self) -> None:
        """Name read by ProcessingStep."""

    def create_transform_job(self) -> None:
        """Name read by TransformStep."""


@contextlib.contextmanager
def offline_sdk(region: str) -> Iterator[Path]:
    """Configure the SDK for compiling with no network I/O; restore everything afterwards.

    ``region`` becomes the default region while inside: importing ``sagemaker.mlops`` creates
    boto3 clients at import time and fails without one. Yields a scratch folder, removed on
    exit, for what the SDK insists on writing somewhere (ModelBuilder's model path).
    """
    with tempfile.TemporaryDirectory(prefix="smdsl-") as folder, contextlib.ExitStack() as stack:
        empty = Path(folder) / "sagemaker-config.json"
        empty.write_text("{}")
        stack.enter_context(
            _environ(
                {
                    "SAGEMAKER_USER_CONFIG_OVERRIDE": str(empty),
                    "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(empty),
                    "SAGEMAKER_VALIDATE_ROLE": "false",
                    "AWS_DEFAULT_REGION": region,
                }
            )
        )
        stack.enter_context(_quiet_logs())
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        from sagemaker.core import common_utils
        from sagemaker.core.telemetry import telemetry_logging
        from sagemaker.mlops.workflow import steps

        stack.enter_context(_patched(telemetry_logging, "_send_telemetry_request", _no_telemetry))
        stack.enter_context(_patched(steps, "LocalSagemakerClient", _MethodNames))
        stack.enter_context(_patched(common_utils, "_botocore_resolver", endpoint_resolver))
        yield Path(folder)


def _no_telemetry(*args: Any, **kwargs: Any) -> None:
    return None


@functools.cache
def endpoint_resolver() -> Any:
    """botocore's endpoint resolver, built once: what the SDK's ``_botocore_resolver`` builds
    anew, from the same data, on every call."""
    import botocore.loaders
    import botocore.regions

    return botocore.regions.EndpointResolver(
        botocore.loaders.create_loader().load_data("endpoints")
    )


@contextlib.contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    """Replace ``owner.name`` while inside; do nothing if this SDK version has no such name."""
    if not hasattr(owner, name):
        yield
        return
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Silence the SDK's INFO logs, and undo the root logging set-up its import performs."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)
        root.handlers[:] = handlers
        root.setLevel(level)

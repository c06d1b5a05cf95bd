"""The container images the SageMaker SDK knows for a framework, read without importing it.

The SDK ships one JSON file per framework (``sagemaker/core/image_uri_config/<framework>.json``)
listing, for each version of its training images, the Python versions (``py_versions``), the
processor kinds (``processors``: cpu, gpu, trn...) and the regions (``registries``) it has
images for. Reading those files directly lets ``validate`` find what ``image_uris.retrieve``
would refuse at compile time without the seconds an SDK import costs; the lookups below mirror
that function (``sagemaker/core/image_uris.py``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from smdsl.declare.options import ImageOptions
from smdsl.declare.params import Parameter
from smdsl.errors import did_you_mean


@functools.cache
def image_config(framework: str) -> dict[str, Any] | None:
    """The SDK's config of ``framework``'s training images, or None when it cannot be read."""
    spec = importlib.util.find_spec("sagemaker")  # a top-level find: nothing is imported
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "core" / "image_uri_config" / f"{framework}.json"
        if path.is_file():
            try:
                config = json.loads(path.read_text())
            except (OSError, ValueError):
                return None
            scope = config if "scope" in config else config.get("training")
            if isinstance(scope, dict) and isinstance(scope.get("versions"), dict):
                return scope
            return None
    return None


def framework_versions(framework: str) -> frozenset[str] | None:
    """The versions (and aliases) with training images, or None when they cannot be read."""
    config = image_config(framework)
    if config is None:
        return None
    return frozenset(config["versions"]) | frozenset(config.get("version_aliases", {})) or None


def instance_family(instance_type: str) -> str:
    """``m5`` for ``ml.m5.xlarge``: the family the SDK picks an image by, or ``""``."""
    match = re.match(r"^ml[\._]([a-z\d\-]+)\.?\w*$", instance_type)
    return match[1] if match else ""


def image_framework(framework: str, instance_type: str | None) -> str:
    """The config the SDK reads: pytorch on Trainium or Inferentia has images of its own."""
    family = instance_family(instance_type or "")
    if framework == "pytorch" and family.startswith(("inf", "trn")):
        return f"{framework}-neuron"
    return framework


def processor_kind(instance_type: str, available: list[str]) -> str:
    """The image kind the SDK picks for ``instance_type``: its family when an image is built
    for it, else ``inf``, ``trn``, ``gpu`` (g* and p* families) or ``cpu``."""
    family = instance_family(instance_type)
    if family in available:
        return family
    if family.startswith("inf"):
        return "inf"
    if family.startswith("trn"):
        return "trn"
    return "gpu" if family[:1] in ("g", "p") else "cpu"


def version_key(config: dict[str, Any], version: str) -> str | None:
    """The entry of ``config["versions"]`` that ``version`` selects (aliases resolved), if any."""
    versions: dict[str, Any] = config["versions"]
    aliases: dict[str, str] = config.get("version_aliases", {})
    if len(versions) == 1 and version not in aliases:
        return next(iter(versions))  # the SDK takes the only version whatever was asked
    key = aliases.get(version, version)
    return key if key in versions else None


def py_versions(version_config: dict[str, Any]) -> list[str]:
    """The Python versions a version has images for; empty when it takes no py_version."""
    if "repository" in version_config:
        return list(version_config.get("py_versions") or [])
    return [k for k, v in version_config.items() if isinstance(v, dict)]


def image_regions(version_config: dict[str, Any], py_version: str | None) -> frozenset[str]:
    """The regions with an image of this version (for ``py_version`` when images differ by it)."""
    chosen = version_config.get(py_version) if py_version else None
    if isinstance(chosen, dict):
        return frozenset(chosen.get("registries", {}))
    if "registries" in version_config:
        return frozenset(version_config["registries"])
    nested = [v for v in version_config.values() if isinstance(v, dict)]
    return frozenset(region for v in nested for region in v.get("registries", {}))


PROCESSOR_NAMES = {"cpu": "CPU", "gpu": "GPU", "trn": "Trainium", "inf": "Inferentia"}


def image_problems(
    options: ImageOptions, region: str | None, region_origin: str = ""
) -> Iterator[tuple[str, str]]:
    """(message, field) for each reason the SDK would find no image for a step's framework.

    Mirrors ``image_uris.retrieve`` as the compile layer calls it (training images, the step's
    instance type or its parameter's default): the framework version, the py_version, a
    registry in ``region`` (skipped when None; ``region_origin`` says where it was set) and an
    image for the processor kind of the instance type (CPU, GPU, Trainium...).
    """
    framework, version = options.framework, options.framework_version
    if framework is None or version is None:
        return
    declared = options.image_instance_type
    instance = declared if isinstance(declared, str) or declared is None else declared.default
    if not isinstance(instance, str):
        instance = None
    shown = repr(instance)
    if isinstance(declared, Parameter):
        shown += f" (the default of parameter {declared.name!r})"
    if instance is not None and "trn" in instance and framework != "pytorch":
        yield (
            f"{shown} is a Trainium instance; SageMaker has Trainium images for pytorch only, "
            f"not {framework}",
            "instance_type",
        )
        instance = None
    name = image_framework(framework, instance)
    config = image_config(name)
    if config is None:
        return  # the SDK is not installed here: nothing to check against
    key = version_key(config, version)
    if key is None:
        known = set(config["versions"]) | set(config.get("version_aliases", {}))
        newest = sorted(known, key=_version_key)[-4:]
        target = f" for {instance} ({name})" if name != framework else ""
        yield (
            f"{framework} {version!r} has no SageMaker image{target}"
            f"{did_you_mean(version, known)}; recent versions: {', '.join(newest)}",
            "framework_version",
        )
        return
    version_config: dict[str, Any] = config["versions"][key]
    label = f"{framework} {version!r}"
    if name != framework:
        label += f" on {instance} (its Neuron image: {name} {key})"
    available = py_versions(version_config)
    py_version = options.py_version
    if py_version is None and len(available) == 1:
        py_version = available[0]  # what the SDK picks when none is given
    elif available and py_version not in available:
        wanted = ", ".join(available)
        yield (
            f"{label} needs py_version= (one of {wanted})"
            if py_version is None
            else f"{label} has no image for py_version {py_version!r}"
            f"{did_you_mean(py_version, available)}; it has: {wanted}",
            "py_version",
        )
        py_version = None
    if region is not None and region not in image_regions(version_config, py_version):
        there = [v for v, c in config["versions"].items() if region in image_regions(c, None)]
        hint = (
            f"; versions with one there: {', '.join(sorted(there, key=_version_key)[-4:])}"
            if there
            else f"; SageMaker publishes no {framework} image there: give image_uri= or "
            "deploy to another region"
        )
        origin = f", set by {region_origin}" if region_origin else ""
        yield (
            f"{label} has no SageMaker image in region {region!r}{origin}{hint}",
            "framework_version",
        )
    processors: list[str] = config.get("processors") or version_config.get("processors") or []
    if instance is None:
        return
    kind = processor_kind(instance, processors)
    if processors and kind not in processors:
        have = " and ".join(PROCESSOR_NAMES.get(p, p) for p in processors)
        hint = "; use a CPU instance type such as 'ml.m5.xlarge'" if "cpu" in processors else ""
        yield (
            f"{shown} is a {PROCESSOR_NAMES.get(kind, kind)} instance but {label} has {have} "
            f"images only{hint}",
            "instance_type",
        )
    dropped = {"pytorch": (1, 13), "tensorflow": (2, 12)}.get(framework)
    if instance_family(instance) == "p2" and dropped and _version_key(version) >= dropped:
        yield (
            f"{shown}: SageMaker has no P2 images for {framework} "
            f"{'.'.join(map(str, dropped))} and later; use a newer GPU family such as ml.g5",
            "instance_type",
        )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))

"""The local model registry: what the model and register steps of local runs would create.

One JSON file, ``<state dir>/registry.json``: ``models`` by name (what CreateModel would
create) and ``model_package_groups`` by name, each a list of versions (what
CreateModelPackage would register). ``smdsl models --local`` lists it; a transform step finds
its model there.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from smdsl.local.errors import LocalRunError

FILE = "registry.json"


@dataclass
class Registry:
    path: Path

    @classmethod
    def at(cls, state_dir: Path) -> Registry:
        return cls(state_dir / FILE)

    def load(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {"models": {}, "model_package_groups": {}}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise LocalRunError(
                f"{self.path} is not a registry file smdsl can read: {exc}"
            ) from None
        data.setdefault("models", {})
        data.setdefault("model_package_groups", {})
        return data  # type: ignore[no-any-return]

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)

    def add_model(self, name: str, record: dict[str, Any]) -> None:
        data = self.load()
        data["models"][name] = {**record, "created": _now()}
        self._save(data)

    def model(self, name: str) -> dict[str, Any]:
        models = self.load()["models"]
        if name not in models:
            from smdsl.errors import did_you_mean

            known = ", ".join(sorted(models)[-5:]) or "none"
            raise LocalRunError(
                f"no model {name!r} in the local registry {self.path}"
                f"{did_you_mean(name, models)} (latest: {known}); a local run knows the models "
                "its own model steps created"
            )
        return models[name]  # type: ignore[no-any-return]

    def add_package(self, group: str, record: dict[str, Any]) -> int:
        """Register a new version in ``group``; return its version number (from 1)."""
        data = self.load()
        versions = data["model_package_groups"].setdefault(group, [])
        version = len(versions) + 1
        versions.append({**record, "version": version, "created": _now()})
        self._save(data)
        return version


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

"""A batch transform step, run locally: the model's inference over every input file, in a
subprocess, written as ``<file>.out`` as SageMaker writes it."""

from __future__ import annotations

from collections.abc import Iterator

from smdsl.declare.models import Model, Transform
from smdsl.declare.options import ModelOptions
from smdsl.declare.refs import StepProperty
from smdsl.local.registry import Registry
from smdsl.local.results import StepResult
from smdsl.local.step import RUNTIME, LocalRunner, LocalStep, module_available

LOADERS = {"xgboost": "xgboost"}
"""The frameworks whose serving images load a model without inference code of the user's (and
the package smdsl needs to do the same). SageMaker's scikit-learn image needs a model_fn."""


class TransformRunner(LocalRunner):
    cacheable = True

    @classmethod
    def problems(cls, step: LocalStep) -> Iterator[tuple[str, str | None]]:
        config = step.config
        assert isinstance(config, Transform)
        yield from step.data_problems(config.input, "input")
        if not isinstance(config.model, StepProperty):
            return  # a model by name: found in the local registry when the step runs
        node = step.run.graph.nodes.get(config.model.step)
        if node is None or not isinstance(node.config, Model):
            return
        options = node.options
        assert isinstance(options, ModelOptions)
        framework = options.framework or (
            "xgboost" if "xgboost" in (options.image_uri or "") else None
        )
        if node.config.entry_point is None and framework not in LOADERS:
            image = options.image_uri or (f"the {framework} image" if framework else "its image")
            yield (
                f"the model of step {node.name!r} is served by {image} with no inference code "
                "of yours, which has no local equivalent (SageMaker's scikit-learn image, too, "
                "needs a model_fn): give the model step an entry_point with model_fn; smdsl "
                "loads XGBoost models without one",
                "model",
            )
        elif framework in LOADERS and not module_available(LOADERS[framework]):
            yield (
                f"loading a {framework} model locally needs the {LOADERS[framework]} package, "
                "which this Python lacks: pip install 'smdsl[local]'",
                "model",
            )

    @classmethod
    def run(cls, step: LocalStep) -> StepResult:
        config = step.config
        assert isinstance(config, Transform)
        name = str(step.resolve(config.model))
        model = Registry.at(step.run.state_dir).model(name)
        framework = model.get("framework") or (
            "xgboost" if "xgboost" in (model.get("image_uri") or "") else "unknown"
        )
        source = step.host("/opt/ml/transform/input")
        step.stage_input(config.input, source, "input")
        output = step.dir / "output"
        output.mkdir(parents=True, exist_ok=True)
        arguments = [
            "--model-tar",
            model["model_data"],
            "--framework",
            framework,
            "--input",
            str(source),
            "--output",
            str(output),
        ]
        content_type = config.content_type or "text/csv"
        arguments += ["--content-type", content_type, "--accept", config.accept or content_type]
        arguments += ["--split-type", config.split_type or "None"]
        arguments += ["--assemble-with", config.assemble_with or "None"]
        if model.get("entry_point"):
            arguments += ["--code-dir", model["code_dir"], "--entry-point", model["entry_point"]]
        environment = dict(model.get("environment") or {})
        step.execute(
            RUNTIME / "inference.py",
            arguments,
            environment,
            step.host("/"),
            label="batch inference",
        )
        files = sorted(p.name for p in output.rglob("*.out"))
        return StepResult(
            outputs={"output": str(output)},
            properties={"TransformOutput.S3OutputPath": str(output)},
            notes=[f"model {name}: {len(files)} file{'s' if len(files) != 1 else ''} transformed"],
        )

"""``smdsl run --local``: a pipeline run on this machine, no AWS, no Docker.

The engine (:mod:`smdsl.local.engine`) runs a checked graph step by step; each step kind runs
through the :class:`LocalRunner` its :class:`~smdsl.declare.kinds.StepKind` names (``local=``),
one module per built-in kind under :mod:`smdsl.local.kinds`. Scripts run as subprocesses with
the contract of SageMaker's containers (:mod:`smdsl.local.runtime`). See docs/local.md.
"""

from smdsl.local.results import StepResult
from smdsl.local.step import LocalRunner, LocalStep

__all__ = ["LocalRunner", "LocalStep", "StepResult"]

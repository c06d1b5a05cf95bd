"""``not_secret``: the opt-out for a value that looks like a secret but is not one.

smdsl refuses what looks like a secret in ``environment``, ``hyperparameters`` and
``arguments`` (see smdsl.graph.secrets). A value wrapped in :func:`not_secret` is let through and
reaches the definition as the plain string it wraps.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ValidatorFunctionWrapHandler, WrapValidator


class NotSecret(str):
    """A string its author vouches is no secret. It is a ``str`` in every other respect."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"not_secret({str.__repr__(self)})"


def not_secret(value: str) -> NotSecret:
    """Mark ``value`` as no secret, so smdsl lets it into the pipeline definition.

    Example::

        environment={"PAD_TOKEN": "[PAD]", "TOKEN": not_secret("anonymous")}
    """
    if not isinstance(value, str):
        raise TypeError(f"not_secret() takes a string, got {type(value).__name__} {value!r}")
    return NotSecret(value)


def _keep_mark(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return value if isinstance(value, NotSecret) else handler(value)


Text = Annotated[str, WrapValidator(_keep_mark)]
"""A ``str`` field that keeps a :class:`NotSecret` as it is (pydantic would make it a plain str)."""

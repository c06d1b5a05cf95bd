"""Say what a command is waiting for when AWS is slow to answer.

A :class:`CallWatch` hooks into botocore's events (``before-call`` / ``after-call`` /
``after-call-error``) of the clients it watches. A call still unanswered after
:data:`SLOW_AFTER` seconds gets one line naming it (``waiting for SageMaker DescribePipeline:
no answer after 2 s ...``), and another every :data:`SLOW_EVERY` seconds while it goes on, so a
slow or hung endpoint is never minutes of silence. Calls in flight at once (parallel S3 checks)
share one line per operation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SLOW_AFTER = 2.0
"""Seconds before a call still waiting for its answer is named."""

SLOW_EVERY = 10.0
"""Seconds between further lines about a call that still waits."""

_TICK = 0.2


@dataclass
class _Call:
    label: str
    started: float
    context: dict[str, Any]
    told: float = 0.0  # when this call was last named (0: never)


class CallWatch:
    """Names the AWS calls that take long, through ``notify``."""

    def __init__(
        self,
        notify: Callable[[str], None],
        describe_limits: Callable[[], str] = lambda: "",
        after: float = SLOW_AFTER,
        every: float = SLOW_EVERY,
    ) -> None:
        self._notify = notify
        self._limits = describe_limits
        self._after = after
        self._every = every
        self._calls: dict[int, _Call] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def attach(self, client: Any) -> None:
        """Watch every call ``client`` makes."""
        events = client.meta.events
        events.register("before-call", self._before)
        events.register("after-call", self._after_call)
        events.register("after-call-error", self._after_call)

    def _before(self, model: Any = None, context: Any = None, **_: Any) -> None:
        if not isinstance(context, dict) or model is None:
            return
        service = model.service_model.service_id
        call = _Call(f"{service} {model.name}", time.monotonic(), context)
        with self._lock:
            self._calls[id(context)] = call
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="smdsl-watch", daemon=True)
                self._thread.start()

    def _after_call(self, context: Any = None, **_: Any) -> None:
        if isinstance(context, dict):
            with self._lock:
                self._calls.pop(id(context), None)

    def _run(self) -> None:
        while True:
            time.sleep(_TICK)
            now = time.monotonic()
            due: dict[str, list[_Call]] = {}
            with self._lock:
                if not self._calls:
                    self._thread = None  # a later call starts a new watcher
                    return
                for call in self._calls.values():
                    wait = now - call.started
                    if (call.told == 0 and wait >= self._after) or (
                        call.told and now - call.told >= self._every
                    ):
                        due.setdefault(call.label, []).append(call)
                        call.told = now
            for label, calls in due.items():
                self._notify(self._line(label, calls, now))

    def _line(self, label: str, calls: list[_Call], now: float) -> str:
        oldest = min(calls, key=lambda c: c.started)
        waited = now - oldest.started
        many = f" ({len(calls)} calls)" if len(calls) > 1 else ""
        retries = oldest.context.get("retries")
        attempt = retries.get("attempt") if isinstance(retries, dict) else None
        limits = self._limits()
        details = ", ".join(p for p in (f"attempt {attempt}" if attempt else "", limits) if p)
        return f"waiting for {label}{many}: no answer after {waited:.0f} s" + (
            f" ({details})" if details else ""
        )

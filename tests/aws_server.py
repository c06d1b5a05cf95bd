"""A moto server on 127.0.0.1 that also records every request it serves.

Counting at the server works across processes: the CLI under test runs as a real subprocess with
``AWS_ENDPOINT_URL`` pointing here, and the test reads back which calls reached "AWS".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

WRITE_PREFIXES = ("Create", "Update", "Delete", "Add", "Put", "Start", "Stop")


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    operation: str  # "SageMaker.UpdatePipeline" for JSON APIs, else "S3 <METHOD>"

    @property
    def is_write(self) -> bool:
        if self.operation.startswith("S3 "):
            return self.method in ("PUT", "POST", "DELETE")
        return self.operation.split(".")[-1].startswith(WRITE_PREFIXES)


class RecordingMotoServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` with a log of the requests it handled."""

    def __init__(self) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)

        def recording(environ: dict[str, Any], start_response: Any) -> Any:
            target = environ.get("HTTP_X_AMZ_TARGET")
            method = environ["REQUEST_METHOD"]
            path = environ.get("PATH_INFO", "")
            if not path.startswith("/moto-api"):
                operation = target or f"S3 {method}"
                with self._lock:
                    self.requests.append(Request(method, path, operation))
            return app(environ, start_response)

        self._server = make_server(self._ip_address, self._port, recording, True)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget all AWS state and the request log."""
        requests.post(f"{self.url}/moto-api/reset", timeout=10)
        with self._lock:
            self.requests.clear()

    def writes(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.is_write]

    def operations(self) -> list[str]:
        with self._lock:
            return [r.operation for r in self.requests]


class FailingServer:
    """An HTTP server on 127.0.0.1 that answers every request with one status and no body, or
    (``hang=True``) never answers.

    It stands in for an AWS endpoint having an outage (HTTP 500, a hang), which moto cannot
    produce.
    """

    def __init__(self, status: int = 500, hang: bool = False) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.count = 0
        self._stopped = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.count += 1
                if hang:  # an endpoint that accepts the connection and never answers
                    server._stopped.wait(timeout=60)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FailingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._httpd.shutdown()
        self._httpd.server_close()

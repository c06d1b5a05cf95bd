"""A network guard for benchmark processes: refuse, and record, every connection and name lookup
except (when allowed) to 127.0.0.1.

benchmarks/_bench.py installs it in child processes through a ``sitecustomize`` on PYTHONPATH,
and compile_scale.py in its workers directly. It imports only ``os`` and ``socket``, so that a
guarded process starts almost as fast as an unguarded one.
"""

from __future__ import annotations

import os
import socket

NET_LOG = "SMDSL_BENCH_NET_LOG"
ALLOW_LOOPBACK = "SMDSL_BENCH_ALLOW_LOOPBACK"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def install_guard() -> None:
    """Refuse, and append to the file ``$SMDSL_BENCH_NET_LOG``, every connection and name lookup
    this process attempts, except to 127.0.0.1 when ``$SMDSL_BENCH_ALLOW_LOOPBACK`` is 1.

    A refused attempt raises OSError in the code that made it, which then fails or carries on as
    it would offline; the benchmark checks the log, which must stay empty.
    """
    log = os.environ[NET_LOG]
    loopback_ok = os.environ.get(ALLOW_LOOPBACK) == "1"
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    getaddrinfo = socket.getaddrinfo

    def allowed(host: object) -> bool:
        return loopback_ok and str(host) in LOOPBACK

    def refuse(what: str) -> None:
        with open(log, "a") as out:
            out.write(f"pid {os.getpid()}: {what}\n")
        raise OSError(f"benchmark network guard: refused {what}")

    def check(sock: socket.socket, address: object) -> None:
        if sock.family != socket.AF_UNIX:
            host = address[0] if isinstance(address, tuple) else address
            if not allowed(host):
                refuse(f"connect to {address!r}")

    def guarded_connect(self: socket.socket, address: object) -> None:
        check(self, address)
        connect(self, address)  # type: ignore[arg-type]

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        check(self, address)
        return connect_ex(self, address)  # type: ignore[arg-type]

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host is not None and not allowed(host):
            refuse(f"name lookup of {host!r}")
        return getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = guarded_getaddrinfo  # type: ignore[assignment]

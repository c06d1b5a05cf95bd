"""What the benchmarks share: the offline settings, a network guard, timed child processes with
their peak memory, medians, a description of the machine and the "MISSED" marks.

Not a benchmark itself; imported by compile_scale.py, cold_start.py, deploy_io.py and by
tests/test_benchmarks.py (with benchmarks/ on sys.path).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _netguard import ALLOW_LOOPBACK, NET_LOG

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
QUICKSTART = ROOT / "examples" / "quickstart"
REGION = "us-east-1"

OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
"""Dummy credentials and a region, and no AWS config or instance metadata to read."""


GUARD_SOURCE = '''\
"""Benchmark network guard (installed through PYTHONPATH by benchmarks/_bench.py)."""
import os as _os

if _os.environ.get("SMDSL_BENCH_NET_LOG"):
    import sys as _sys

    _sys.path.insert(0, {bench!r})
    import _netguard

    _netguard.install_guard()
    del _sys.path[0], _sys.modules["_netguard"]
'''


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without AWS, SageMaker SDK or smdsl settings, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "SMDSL_", "SAGEMAKER_")) and k != "PYTHONPATH"
    }
    env.update(extra)
    return env


def guard_env(folder: Path, allow_loopback: bool = False) -> dict[str, str]:
    """Environment entries that install the network guard in every Python child process:
    a ``sitecustomize`` in ``folder`` (put on PYTHONPATH) and a log file, empty so far."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        GUARD_SOURCE.format(bench=str(Path(__file__).resolve().parent))
    )
    log = folder / "network.log"
    log.write_text("")
    return {
        "PYTHONPATH": str(folder),
        NET_LOG: str(log),
        ALLOW_LOOPBACK: "1" if allow_loopback else "0",
    }


def network_attempts(env: dict[str, str]) -> list[str]:
    """The attempts the guard of ``env`` refused so far."""
    return Path(env[NET_LOG]).read_text().splitlines()


@dataclass(frozen=True)
class Run:
    """One finished child process."""

    seconds: float
    peak_mb: float  # the child's own maximum resident set size (getrusage via wait4)
    returncode: int
    stdout: str
    stderr: str


def run_process(
    args: Sequence[str],
    env: dict[str, str],
    cwd: Path = ROOT,
    scratch: Path | None = None,
    timeout: float = 3600,
) -> Run:
    """Run ``args`` to its end: its wall time and its own peak RSS (``os.wait4``'s rusage, so
    only this child, not earlier ones). Output goes through files, so a child printing megabytes
    of JSON cannot block on a full pipe while it is timed."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=scratch) as folder:
        out_path, err_path = Path(folder) / "out", Path(folder) / "err"
        with out_path.open("w") as out, err_path.open("w") as err:
            start = time.perf_counter()
            child = subprocess.Popen(list(args), env=env, cwd=cwd, stdout=out, stderr=err)
            killer = threading.Timer(timeout, child.kill)
            killer.start()
            try:
                _, status, usage = os.wait4(child.pid, 0)
            finally:
                killer.cancel()
            seconds = time.perf_counter() - start
            child.returncode = os.waitstatus_to_exitcode(status)
        return Run(
            seconds=seconds,
            peak_mb=usage.ru_maxrss / 1024,
            returncode=child.returncode,
            stdout=out_path.read_text(),
            stderr=err_path.read_text(),
        )


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def mark(ok: bool) -> str:
    """What stands next to a target: nothing when it is met."""
    return "" if ok else "MISSED"


def versions() -> dict[str, str]:
    found = {}
    for package in ("smdsl", "sagemaker", "sagemaker-core", "sagemaker-mlops", "botocore", "moto"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "-"
    return found


def machine() -> str:
    """One line naming the machine and the versions the figures depend on."""
    listed = " ".join(f"{k} {v}" for k, v in versions().items())
    return (
        f"{os.cpu_count()} CPUs ({platform.machine()}, {platform.system()}), "
        f"Python {platform.python_version()}, {listed}; {time.strftime('%Y-%m-%d %H:%M %Z')}"
    )

"""Cold start: `smdsl validate`, `smdsl graph` and `smdsl --help` on the quickstart, as whole
processes, against a bare import of the SageMaker SDK.

One command (from the repository root):

    .venv/bin/python benchmarks/cold_start.py             # median of 5 runs of each
    .venv/bin/python benchmarks/cold_start.py --runs 11

Each command runs as a user types it: the ``smdsl`` console script of this environment (or
``python -m smdsl`` when there is none), from the repository root, offline (dummy credentials,
a region, no AWS config). The baseline is ``python -c "import sagemaker.mlops.workflow.pipeline"``,
what any hand-written SDK v3 pipeline pays before it builds its first step.

First one untimed run of each command, which also warms the OS file cache and the bytecode
caches, under two checks: a network guard (no connection or name lookup may be attempted) and
``PYTHONPROFILEIMPORTTIME``, which shows what the command imports (validate, graph and --help must
not import the SageMaker SDK; the heaviest imports of validate are printed). Then ``--runs``
timed runs of each, taken in turns so that a slow moment of the machine spreads over all of
them, with smdsl's cache folder kept between runs (what a user sees on the second command of the
day). "validate, empty cache" runs with a new, empty ``SMDSL_CACHE_DIR`` each time (the first
command after an install or an upgrade). Peak memory: each process's own maximum RSS.

Exit status 1 if a check fails (a command fails, prints the wrong thing, imports the SDK or
touches the network); a missed target only prints "MISSED". Target: validate takes at most 15%
of the bare SDK import.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    OFFLINE_ENV,
    PYTHON,
    QUICKSTART,
    ROOT,
    clean_env,
    guard_env,
    machine,
    mark,
    median,
    network_attempts,
    run_process,
)

TARGET_VALIDATE = 0.15  # validate / bare SDK import
PIPELINE = str((QUICKSTART / "pipeline.py").relative_to(ROOT))
SDK_IMPORT = "import sagemaker.mlops.workflow.pipeline"
IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+\d+\s+\|\s*(\S+)")


def smdsl_command() -> list[str]:
    """The console script of this environment, as a user runs it."""
    script = Path(PYTHON).parent / "smdsl"
    return [str(script)] if script.exists() else [PYTHON, "-m", "smdsl"]


def commands() -> dict[str, list[str]]:
    smdsl = smdsl_command()
    return {
        "smdsl validate": [*smdsl, "validate", PIPELINE],
        "smdsl graph": [*smdsl, "graph", PIPELINE],
        "smdsl --help": [*smdsl, "--help"],
        "validate, empty cache": [*smdsl, "validate", PIPELINE],
        "SDK import (baseline)": [PYTHON, "-c", SDK_IMPORT],
    }


EXPECTED_OUTPUT = {
    "smdsl validate": "ok: examples/quickstart/pipeline.py",
    "smdsl graph": "preprocess",
    "smdsl --help": "Usage:",
    "validate, empty cache": "ok: examples/quickstart/pipeline.py",
    "SDK import (baseline)": "",
}
NO_SDK = ("smdsl validate", "smdsl graph", "smdsl --help", "validate, empty cache")


@dataclass
class Result:
    name: str
    seconds: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    heaviest: list[tuple[float, str]] = field(default_factory=list)  # cumulative s, module


def imports(stderr: str) -> list[tuple[float, str]]:
    """(own seconds, module) of each import that PYTHONPROFILEIMPORTTIME shows."""
    found = []
    for line in stderr.splitlines():
        matched = IMPORT_LINE.match(line)
        if matched:
            found.append((int(matched[1]) / 1e6, matched[2]))
    return found


def by_package(loaded: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Import time by top-level package: the sum of its modules' own times, largest first."""
    totals: dict[str, float] = {}
    for seconds, module in loaded:
        package = module.split(".")[0]
        totals[package] = totals.get(package, 0.0) + seconds
    return sorted(((s, p) for p, s in totals.items()), reverse=True)


def check(name: str, command: list[str], scratch: Path) -> tuple[list[str], list[str]]:
    """One guarded, import-profiled, untimed run: the problems found, and the packages whose
    modules took longest to import."""
    env = clean_env(
        **OFFLINE_ENV,
        **guard_env(scratch / "guard"),
        PYTHONPROFILEIMPORTTIME="1",
        SMDSL_CACHE_DIR=tempfile.mkdtemp(dir=scratch),
    )
    run = run_process(command, env, scratch=scratch)
    problems = [f"{name}: {attempt}" for attempt in network_attempts(env)]
    if run.returncode != 0:
        problems.append(f"{name} exited with {run.returncode}:\n{run.stderr[-2000:]}")
    if EXPECTED_OUTPUT[name] not in run.stdout:
        problems.append(f"{name} did not print {EXPECTED_OUTPUT[name]!r}:\n{run.stdout[-2000:]}")
    loaded = imports(run.stderr)
    if name in NO_SDK:
        sdk = sorted({m for _, m in loaded if m.split(".")[0] == "sagemaker"})
        if sdk:
            problems.append(f"{name} imports the SageMaker SDK: {', '.join(sdk[:5])}")
    return problems, [f"{p} {s:.3f} s" for s, p in by_package(loaded)[:8]]


def measure(runs: int, scratch: Path) -> tuple[dict[str, Result], list[str], list[str]]:
    """Check every command once, then time each ``runs`` times in turns."""
    listed = commands()
    problems: list[str] = []
    heaviest: list[str] = []
    for name, command in listed.items():
        found, top = check(name, command, scratch)
        problems += found
        if name == "smdsl validate":
            heaviest = top
    warm_cache = tempfile.mkdtemp(dir=scratch)
    results = {name: Result(name) for name in listed}
    for _ in range(runs):
        for name, command in listed.items():
            cache = tempfile.mkdtemp(dir=scratch) if name == "validate, empty cache" else warm_cache
            run = run_process(command, clean_env(**OFFLINE_ENV, SMDSL_CACHE_DIR=cache))
            if run.returncode != 0:
                problems.append(f"{name} exited with {run.returncode}")
            results[name].seconds.append(run.seconds)
            results[name].peaks.append(run.peak_mb)
    return results, problems, heaviest


def table(results: dict[str, Result], runs: int) -> str:
    baseline = median(results["SDK import (baseline)"].seconds)
    head = (
        f"{'command':<24}{'median s':>9}{'min s':>8}{'max s':>8}{'peak MB':>9}"
        f"{'vs SDK import':>15}  target"
    )
    lines = [head, "-" * (len(head) + 12)]
    for name, result in results.items():
        middle = median(result.seconds)
        ratio = middle / baseline
        target = ""
        if name == "smdsl validate":
            target = f"<= {TARGET_VALIDATE:.0%} {mark(ratio <= TARGET_VALIDATE)}".rstrip()
        lines.append(
            f"{name:<24}{middle:>9.3f}{min(result.seconds):>8.3f}{max(result.seconds):>8.3f}"
            f"{max(result.peaks):>9.0f}{ratio:>14.1%}  {target}"
        )
    lines.append(f"(median of {runs} runs each; ratios against the SDK import's median)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start-up time of smdsl commands.")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each (median)")
    args = parser.parse_args(argv)
    print(f"cold_start on {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cold-start-") as scratch:
        results, problems, heaviest = measure(args.runs, Path(scratch))
    print(table(results, args.runs))
    if heaviest:
        print("import time of smdsl validate by package: " + ", ".join(heaviest))
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print("checks: " + ("all passed" if not problems else f"{len(problems)} FAILED"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Deploy I/O: what `smdsl deploy` asks of AWS, counted at a moto server, and how long an
unchanged redeploy takes against the first deploy.

One command (from the repository root):

    .venv/bin/python benchmarks/deploy_io.py              # N = 2 and 100, median of 3 runs
    .venv/bin/python benchmarks/deploy_io.py 2 20 --runs 1

For each N, two pipelines of N chained processing steps: one script shared by all steps (K = 1
code object) and one script per step (K = N). Each is deployed by the real CLI in a subprocess,
``smdsl deploy pipeline.py --env bench --yes``, with ``AWS_ENDPOINT_URL`` pointing at a moto
server on 127.0.0.1 and dummy credentials; then deployed again, unchanged. Every run starts
from an empty account (the server is reset, the bucket created) and an empty smdsl cache folder
(``SMDSL_CACHE_DIR``), which the redeploy of that run then shares with its first deploy, as on a
developer's machine.

The server is tests/aws_server.py's RecordingMotoServer (imported with tests/ on sys.path, not
copied): the benchmark counts requests exactly as the end-to-end tests do, so a figure here and
an assertion there mean the same thing. S3 requests, which the server logs as a method and a
path, are named by this script (a path of one segment is the bucket: HeadBucket, ListObjects;
longer is an object: HeadObject, PutObject...).

Checks (exit status 1 if one fails): both deploys succeed; the first uploads exactly K objects
(PutObject under the code prefix, counted at the server) and the bucket then holds exactly K
code objects; the first creates the pipeline once; the redeploy uploads nothing, updates
nothing and makes no write call at all; no process attempts a connection other than to
127.0.0.1. Target (prints "MISSED" when missed, exit status unaffected): the unchanged
redeploy takes at most 25% of the first deploy's time (medians).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import (
    OFFLINE_ENV,
    PYTHON,
    REGION,
    ROOT,
    clean_env,
    guard_env,
    machine,
    mark,
    median,
    network_attempts,
    run_process,
)

sys.path.insert(0, str(ROOT / "tests"))
from aws_server import RecordingMotoServer, Request

BUCKET = "bench-deploy"
PREFIX = "bench"
ROLE = "arn:aws:iam::123456789012:role/Bench"
ENV = "bench"
TARGET_REDEPLOY = 0.25  # unchanged redeploy / first deploy


def write_project(folder: Path, steps: int, scripts: int) -> Path:
    """An smdsl project: ``steps`` chained processing steps running ``scripts`` distinct
    scripts (1: all share one; ``steps``: one each)."""
    assert scripts in (1, steps), "K is 1 or N"
    (folder / "code").mkdir(parents=True)
    for k in range(scripts):
        (folder / "code" / f"step{k}.py").write_text(f"print('step {k}')\n")
    (folder / "smdsl.toml").write_text(
        f'[envs.{ENV}]\nregion = "{REGION}"\nbucket = "{BUCKET}"\nrole_arn = "{ROLE}"\n'
        f'prefix = "{PREFIX}"\npipeline_name = "bench-{steps}-{scripts}"\n'
    )
    lines = ["from smdsl import Processing, processing_step"]
    for i in range(steps):
        source = f'step{i - 1}.outputs["out"]' if i else '"s3://bench-data/raw/"'
        script = f"code/step{i if scripts > 1 else 0}.py"
        lines += [
            "",
            "",
            '@processing_step(instance_type="ml.m5.xlarge", framework="sklearn")',
            f"def step{i}() -> Processing:",
            f'    return Processing(code="{script}", inputs={{"data": {source}}}, outputs=["out"])',
        ]
    path = folder / "pipeline.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def operation(request: Request) -> str:
    """A request as an API operation name: SageMaker's from its target header, S3's from its
    method and path (path-style: ``/bucket`` or ``/bucket/key``)."""
    if not request.operation.startswith("S3 "):
        return request.operation
    is_object = len([p for p in request.path.split("/") if p]) > 1
    names = {
        ("HEAD", False): "HeadBucket",
        ("GET", False): "ListObjects",
        ("PUT", False): "CreateBucket",
        ("HEAD", True): "HeadObject",
        ("GET", True): "GetObject",
        ("PUT", True): "PutObject",
        ("DELETE", True): "DeleteObject",
        ("POST", False): "DeleteObjects",
    }
    return "S3." + names.get((request.method, is_object), f"{request.method} {request.path}")


def is_code_upload(request: Request) -> bool:
    return operation(request) == "S3.PutObject" and f"/{BUCKET}/{PREFIX}/code/" in request.path


@dataclass
class Deploy:
    """One `smdsl deploy` process and the requests it made."""

    seconds: float
    requests: list[Request]
    stdout: str

    @property
    def counts(self) -> Counter[str]:
        return Counter(operation(r) for r in self.requests)

    @property
    def uploads(self) -> int:
        return sum(is_code_upload(r) for r in self.requests)

    @property
    def updates(self) -> int:
        return self.counts["SageMaker.UpdatePipeline"]

    @property
    def writes(self) -> list[str]:
        return [operation(r) for r in self.requests if r.is_write]


@dataclass
class Case:
    steps: int
    scripts: int
    first: list[Deploy] = field(default_factory=list)
    again: list[Deploy] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"N={self.steps} K={self.scripts}"

    @property
    def ratio(self) -> float:
        return median([d.seconds for d in self.again]) / median([d.seconds for d in self.first])


def _s3(server: RecordingMotoServer) -> Any:
    import boto3

    return boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _deploy(
    server: RecordingMotoServer, pipeline: Path, env: dict[str, str], case: Case, what: str
) -> Deploy | None:
    server.requests.clear()  # as the end-to-end tests do; the server is idle between deploys
    command = [PYTHON, "-m", "smdsl", "deploy", str(pipeline), "--env", ENV, "--yes"]
    run = run_process(command, env, cwd=pipeline.parent)
    requests = list(server.requests)
    if run.returncode != 0 or "Traceback" in run.stderr:
        case.problems.append(f"{what} failed ({run.returncode}):\n{run.stderr[-3000:]}")
        return None
    return Deploy(run.seconds, requests, run.stdout)


def deploy_case(
    server: RecordingMotoServer, steps: int, scripts: int, scratch: Path, runs: int = 3
) -> Case:
    """Deploy a pipeline of ``steps`` steps and ``scripts`` scripts ``runs`` times, each time
    into an empty account, then again unchanged; check what reached the server."""
    case = Case(steps, scripts)
    folder = Path(tempfile.mkdtemp(prefix=f"deploy-{steps}-{scripts}-", dir=scratch))
    pipeline = write_project(folder / "project", steps, scripts)
    for run in range(runs):
        server.reset()
        _s3(server).create_bucket(Bucket=BUCKET)
        env = clean_env(
            **OFFLINE_ENV,
            **guard_env(folder / f"guard-{run}", allow_loopback=True),
            AWS_ENDPOINT_URL=server.url,
            SMDSL_CACHE_DIR=str(folder / f"cache-{run}"),
        )
        first = _deploy(server, pipeline, env, case, "first deploy")
        again = _deploy(server, pipeline, env, case, "unchanged redeploy") if first else None
        case.problems += [f"network: {a}" for a in network_attempts(env)]
        if first is None or again is None:
            break
        case.first.append(first)
        case.again.append(again)
        listed = _s3(server).list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/code/")
        stored = len(listed.get("Contents", []))
        checks = [
            (first.uploads == scripts, f"first deploy uploaded {first.uploads} code objects"),
            (stored == scripts, f"the bucket holds {stored} code objects"),
            (
                first.counts["SageMaker.CreatePipeline"] == 1,
                f"first deploy called CreatePipeline {first.counts['SageMaker.CreatePipeline']}"
                " times",
            ),
            (again.uploads == 0, f"unchanged redeploy uploaded {again.uploads} objects"),
            (again.updates == 0, f"unchanged redeploy updated {again.updates} times"),
            (not again.writes, f"unchanged redeploy wrote: {again.writes}"),
        ]
        case.problems += [f"run {run + 1}: {text}" for ok, text in checks if not ok]
    return case


def table(cases: list[Case]) -> str:
    head = (
        f"{'pipeline':<14}{'first s':>9}{'redeploy s':>11}{'redeploy/first':>16} {'':6}"
        f"{'uploads: first':>15}{'(=K)':>5}{'redeploy':>9}{'updates':>8}{'writes':>7}"
    )
    lines = [head, "-" * len(head)]
    for case in cases:
        if not case.first:
            lines.append(f"{case.label:<14} failed")
            continue
        first, again = case.first[0], case.again[0]
        ok = case.ratio <= TARGET_REDEPLOY
        lines.append(
            f"{case.label:<14}{median([d.seconds for d in case.first]):>9.2f}"
            f"{median([d.seconds for d in case.again]):>11.2f}{case.ratio:>15.0%}  {mark(ok):6}"
            f"{first.uploads:>15}{case.scripts:>5}{again.uploads:>9}{again.updates:>8}"
            f"{len(again.writes):>7}"
        )
    return "\n".join(lines)


def requests_table(cases: list[Case]) -> str:
    """Requests by operation: a column per deploy, "N/K first" and "N/K again" (unchanged)."""
    done = [c for c in cases if c.first]
    names = sorted({op for c in done for d in (c.first[0], c.again[0]) for op in d.counts})
    columns = [
        (f"{c.steps}/{c.scripts} {when}", deploy)
        for c in done
        for when, deploy in (("first", c.first[0]), ("again", c.again[0]))
    ]
    width = max([len(label) for label, _ in columns] + [8]) + 2
    head = f"{'requests':<28}" + "".join(f"{label:>{width}}" for label, _ in columns)
    lines = [head, "-" * len(head)]
    for name in [*names, "total"]:
        cells = [len(d.requests) if name == "total" else d.counts.get(name, 0) for _, d in columns]
        lines.append(f"{name:<28}" + "".join(f"{n:>{width}}" for n in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy requests and redeploy time.")
    parser.add_argument("sizes", nargs="*", type=int, default=[2, 100], help="N, steps")
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (median)")
    args = parser.parse_args(argv)
    print(f"deploy_io on {machine()}", flush=True)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's log of each request
    server = RecordingMotoServer()
    server.start()
    cases: list[Case] = []
    try:
        with tempfile.TemporaryDirectory(prefix="deploy-io-") as scratch:
            for steps in args.sizes:
                for scripts in dict.fromkeys((1, steps)):
                    cases.append(deploy_case(server, steps, scripts, Path(scratch), args.runs))
                    print(f"  measured {cases[-1].label}", file=sys.stderr, flush=True)
    finally:
        server.stop()
    print(table(cases))
    print(
        f"(times: whole `smdsl deploy` processes, median of {args.runs} runs; target: "
        f"redeploy/first <= {TARGET_REDEPLOY:.0%}; requests below: counted at the server, first "
        "run of each; columns N/K)"
    )
    print(requests_table(cases))
    problems = [f"{c.label}: {p}" for c in cases for p in c.problems]
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print("checks: " + ("all passed" if not problems else f"{len(problems)} FAILED"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

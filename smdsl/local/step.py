"""What a kind's local runner is given: one step of a local run, and the means to run it.

A step kind runs locally through a :class:`LocalRunner` subclass named by its
:class:`~smdsl.declare.kinds.StepKind` (``local=``). The runner's :meth:`LocalRunner.problems`
says, before anything runs, why a step cannot run here; :meth:`LocalRunner.run` runs it with a
:class:`LocalStep` and returns its :class:`~smdsl.local.results.StepResult`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from smdsl.declare.base import CodePaths
from smdsl.declare.refs import StepReference
from smdsl.declare.walk import walk
from smdsl.errors import display_path
from smdsl.graph.codepaths import dotenv_file
from smdsl.graph.model import StepNode
from smdsl.local.data import stage, stage_path
from smdsl.local.errors import LocalRunError, StepFailed
from smdsl.local.results import StepResult

if TYPE_CHECKING:
    from smdsl.local.engine import LocalRun

RUNTIME = Path(__file__).resolve().parent / "runtime"
"""The scripts smdsl runs in a step's subprocess: the sandbox, XGBoost, batch inference."""

OPT_ML = "/opt/ml"
STDERR_TAIL = 20
STOP_GRACE = 10.0
"""Seconds a script stopped at its max_runtime has to end after SIGTERM, before SIGKILL."""
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


class LocalRunner:
    """How the steps of one kind run locally. Subclass it and name it in ``StepKind(local=)``.

    ``cacheable`` says whether a step whose code, config and inputs are unchanged since a
    successful local run is reused instead of run again (job steps: yes; control steps: no).
    """

    cacheable: ClassVar[bool] = False

    @classmethod
    def problems(cls, step: LocalStep) -> Iterator[tuple[str, str | None]]:
        """(message, field) for each reason ``step`` cannot run locally, known before it runs."""
        return iter(())

    @classmethod
    def run(cls, step: LocalStep) -> StepResult:
        """Run ``step`` and return its result; every runner defines it."""
        raise LocalRunError(
            f"step {step.name!r}: the local runner {cls.__qualname__} of step kind "
            f"{step.node.kind!r} defines no run(step) method"
        )


class LocalStep:
    """One step of a local run: its node, its folders and the run's resolved values."""

    def __init__(self, run: LocalRun, node: StepNode) -> None:
        self.run = run
        self.node = node
        self.config = node.config
        self.options = node.options
        self.name = node.name
        self.dir = run.run_dir / node.name
        self.container = self.dir / ".container"
        self.logs = self.dir / ".logs"
        self.mapped: dict[str, str] = {OPT_ML: str(self.container / "opt" / "ml")}
        self.sources: dict[str, str] = {}  # staged code folder -> the user's folder

    # values -------------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        return self.run.values.resolve(value)

    def text(self, value: Any) -> str:
        return self.run.values.text(value)

    def known(self, value: Any) -> bool:
        """Whether ``value`` is known before the run starts (a literal or a parameter)."""
        return not any(isinstance(v, StepReference) for _, v in walk(value))

    # files --------------------------------------------------------------------------------

    def host(self, container_path: str) -> Path:
        """The host folder that stands for ``container_path`` (under /opt/ml) in this step."""
        if container_path == OPT_ML or container_path.startswith(OPT_ML + "/"):
            return self.container / "opt" / "ml" / container_path[len(OPT_ML) + 1 :]
        found = self.container / "root" / container_path.strip("/")
        if container_path.strip("/"):  # a path outside /opt/ml the job reads or writes
            self.mapped[container_path.rstrip("/")] = str(found)
        return found

    def stage_input(self, source: Any, target: Path, field: str) -> None:
        """Copy what an input ``source`` names into the folder ``target``."""
        value = self.resolve(source)
        if isinstance(value, str) and value.startswith("s3://"):
            files = self.run.data.objects(value)
            if not files:
                raise LocalRunError(f"{field}: {self.run.data.missing(value)}")
            stage(files, target)
            return
        path = Path(str(value))
        if not path.is_absolute() or not path.exists():
            raise LocalRunError(
                f"{field}: {value!r} is neither an s3:// URI nor a file or "
                "folder written by an earlier step"
            )
        stage_path(path, target)

    def data_problems(self, source: Any, field: str) -> Iterator[tuple[str, str | None]]:
        """The problem of an input known before the run: s3:// data missing from the source."""
        if not self.known(source):
            return
        value = self.resolve(source)
        if isinstance(value, str) and value.startswith("s3://"):
            found = self.run.data.objects(value)  # an S3 failure ends the check: exit code 3
            if not found:
                yield self.run.data.missing(value), field

    def stage_code(self, code: CodePaths, target: Path) -> Path:
        """Copy a step's code into ``target`` (a container folder); return the entry script."""
        base = self.node.base_dir
        target.mkdir(parents=True, exist_ok=True)
        origin = (
            base / code.source_dir
            if code.source_dir
            else base / (code.code or code.entry_point or ".")
        )
        self.sources[str(target)] = str(origin if code.source_dir else origin.parent)
        if code.code:
            script = base / code.code
            shutil.copyfile(script, target / script.name)
            return target / script.name
        assert code.entry_point is not None
        if code.source_dir is None:
            script = base / code.entry_point
            shutil.copyfile(script, target / script.name)
            return target / script.name
        source = base / code.source_dir
        shutil.copytree(
            source,
            target,
            dirs_exist_ok=True,
            ignore=lambda _d, names: [
                n for n in names if dotenv_file(n) or n in ("__pycache__", ".git")
            ],
        )
        return target / code.entry_point

    def requirements(self, code: CodePaths) -> Path | None:
        """A source_dir's requirements.txt installed into a cached folder of its own (never
        into smdsl's environment); the folder to put first on PYTHONPATH, or None."""
        if code.source_dir is None:
            return None
        file = self.node.base_dir / code.source_dir / "requirements.txt"
        if not file.is_file():
            return None
        digest = hashlib.sha256(file.read_bytes() + sys.version.encode()).hexdigest()[:20]
        target = self.run.cache_dir / "requirements" / digest
        if (target / ".complete").is_file():
            return target
        self.run.reporter.note(self.name, f"installing {file.name} into a cached folder")
        if target.exists():
            shutil.rmtree(target)
        result = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                *("--target", str(target), "-r", str(file)),
            ],
            capture_output=True,
            text=True,
            cwd=file.parent,
            check=False,
        )
        if result.returncode != 0:
            raise StepFailed(
                f"installing {display_path(file)} failed (pip exit {result.returncode})",
                _tail(result.stderr or result.stdout),
            )
        (target / ".complete").write_text("")
        return target

    # processes ----------------------------------------------------------------------------

    def execute(
        self,
        script: Path,
        args: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        pythonpath: Path | None = None,
        sandbox: bool = True,
        command: Sequence[str] = ("python3",),
        timeout: int | None = None,
        label: str | None = None,
    ) -> str:
        """Run ``script`` with ``args`` in a subprocess of this Python; return its output.

        With ``sandbox`` the script sees /opt/ml as this step's container folder. ``command``
        is the container's (a processing step's ``command``): a Python one runs the script with
        this Python, any other (``["bash"]``) runs as it is, without the redirection (the script
        finds the container folder in ``$SMDSL_OPT_ML``). stdout and stderr go to ``.logs/`` in
        the step's folder; a non-zero exit, or a run longer than ``timeout`` seconds (the
        step's ``max_runtime``: SIGTERM to the script and what it started, SIGKILL after
        :data:`STOP_GRACE` seconds), raises :class:`StepFailed` with the tail of stderr and a
        hint when one fits. ``label`` names one of smdsl's own runtime scripts in messages.
        """
        self.logs.mkdir(parents=True, exist_ok=True)
        cwd.mkdir(parents=True, exist_ok=True)
        variables = dict(os.environ)
        variables.update(env)
        variables["PYTHONUNBUFFERED"] = "1"
        # idle OpenMP threads (XGBoost, scikit-learn) spin and starve other work on few cores
        variables.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        variables["SMDSL_OPT_ML"] = str(self.host(OPT_ML))
        paths = [str(pythonpath)] if pythonpath else []
        if variables.get("PYTHONPATH"):
            paths.append(variables["PYTHONPATH"])
        if paths:
            variables["PYTHONPATH"] = os.pathsep.join(paths)
        launch = [sys.executable]
        if command and not Path(command[0]).name.startswith("python"):
            launch = list(command)
        elif sandbox:
            variables["SMDSL_PATH_MAP"] = json.dumps(self.mapped)
            variables["SMDSL_SOURCE_MAP"] = json.dumps(self.sources)
            launch.append(str(RUNTIME / "sandbox.py"))
        launch += [str(script), *args]
        out_file, err_file = self.logs / "stdout.log", self.logs / "stderr.log"
        started = time.monotonic()
        ours = RUNTIME in script.parents  # smdsl's own runtime script (XGBoost, inference)
        shown = (
            label
            if ours and label
            else Path(
                display_path(self.sources.get(str(script.parent), str(script.parent))),
                script.name,
            ).as_posix()
        )
        with open(out_file, "wb") as out, open(err_file, "wb") as err:
            try:
                process = subprocess.Popen(
                    launch, stdout=out, stderr=err, env=variables, cwd=cwd, start_new_session=True
                )
            except OSError as exc:
                raise StepFailed(f"cannot start {launch[0]!r}: {exc.strerror}") from None
            try:
                returncode = _wait(process, timeout)
            except BaseException:
                _stop(process)
                raise
        if returncode is None:
            tail = _tail(err_file.read_text(errors="replace"))
            raise StepFailed(
                f"{shown} was stopped after its max_runtime of {timeout}s",
                "\n".join(line for line in (tail, f"log: {err_file}") if line),
            )
        output = out_file.read_text(errors="replace")
        if returncode != 0:
            stderr = err_file.read_text(errors="replace")
            failure = self.host(f"{OPT_ML}/output/failure")
            reason = failure.read_text(errors="replace").strip() if failure.is_file() else ""
            if ours:  # smdsl's frames say nothing to the user: the reason, or the last line
                last = [line for line in stderr.splitlines() if line.strip()][-1:]
                detail = "" if reason else _tail("\n".join(last))
            else:
                detail = _tail(stderr)
            hint = _hint(stderr, script, self.node.kind)
            message = f"{shown} exited with {returncode}"
            message += f" after {time.monotonic() - started:.1f}s" + (
                f": {reason}" if reason else ""
            )
            lines = [line for line in (detail, hint, f"log: {err_file}") if line]
            raise StepFailed(message, "\n".join(lines))
        return output + err_file.read_text(errors="replace")

    def finish(self) -> None:
        """Remove the container folder of a step that succeeded (its outputs were moved out)."""
        if self.container.exists():
            shutil.rmtree(self.container, ignore_errors=True)

    def move_output(self, container_path: str, name: str) -> Path:
        """Move what the job wrote at ``container_path`` to the step's output folder ``name``."""
        source = self.host(container_path)
        target = self.dir / name
        if target.exists():
            shutil.rmtree(target)
        if source.is_dir():
            shutil.move(str(source), str(target))
        else:
            target.mkdir(parents=True)
        return target


def _wait(process: subprocess.Popen[bytes], timeout: int | None) -> int | None:
    """The exit code of ``process``, or None when it ran out of time (it is then stopped)."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process and everything it started, as SageMaker stops a job; SIGKILL to
    what is left after :data:`STOP_GRACE` seconds."""
    for sig, grace in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            process.wait(timeout=grace)
            os.killpg(process.pid, signal.SIGKILL)  # what it started and left behind
        except subprocess.TimeoutExpired:
            continue
        except (ProcessLookupError, PermissionError):
            pass
        return


def module_available(module: str) -> bool:
    """Whether ``module`` can be imported in this Python (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _tail(text: str, lines: int = STDERR_TAIL) -> str:
    kept = [line for line in text.rstrip().splitlines() if line.strip()][-lines:]
    return "\n".join(f"  | {line}" for line in kept)


def _hint(stderr: str, script: Path, kind: str) -> str:
    missing = _MISSING_MODULE.findall(stderr)
    if missing:
        module = missing[-1].split(".")[0]
        return (
            f"hint: {script.name} imports {module!r}, which this Python ({sys.executable}) "
            f"does not have: install it (pip install {module}, or pip install 'smdsl[local]' for "
            "the packages of SageMaker's scikit-learn and XGBoost images), or list it in a "
            "requirements.txt in the step's source_dir"
        )
    if OPT_ML in stderr and re.search(r"No such file|not found|Errno|cannot open|Failed", stderr):
        if kind == "training":
            return (
                f"hint: {script.name} reached an {OPT_ML} path through code smdsl cannot "
                "redirect (a native library or a subprocess is given the path). Take the "
                "folders from the variables SageMaker sets, which run both here and there: "
                'os.environ["SM_MODEL_DIR"], os.environ["SM_CHANNEL_TRAIN"], '
                'os.environ["SM_OUTPUT_DATA_DIR"]'
            )
        return (
            f"hint: {script.name} reached an {OPT_ML} path through code smdsl cannot redirect "
            "(a native library or a subprocess is given the path). The one-line change that "
            "runs both here and on SageMaker: build the path from SMDSL_OPT_ML, e.g. "
            'BASE = os.environ.get("SMDSL_OPT_ML", "/opt/ml") + "/processing"'
        )
    return ""

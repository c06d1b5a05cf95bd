"""Every example in README.md, docs/ and the examples' READMEs is run here.

Conventions in the markdown:

- a fenced block whose first line is ``# file: NAME`` is written to NAME in the document's working
  folder (a fresh temporary folder holding a copy of ``examples/quickstart/code``, or of the whole
  quickstart when the document says ``<!-- docs-test: quickstart -->``, or of the document's own
  folder, under its name, when it says ``<!-- docs-test: example -->``);
- any other ``python`` block is run as a script in that folder;
- a ``console`` block holds ``$ command`` lines, each run in that folder with the ``smdsl`` of
  this environment on PATH, followed by the lines it must print: ``...`` alone skips any lines,
  ``...`` inside a line stands for any text, and a line ending in `` ...`` matches by prefix. A
  command whose expected output starts with ``error:``
  must fail; every other must succeed;
- a ``bash`` block is a set-up command from README.md: the test command must appear verbatim in
  ``.ci/run``, and the smdsl commands of the other are run from the repository root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import QUICKSTART, ROOT, clean_env

DOCUMENTS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("**/*.md"), *(ROOT / "examples").glob("*/README.md")]
)
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
BIN = str(Path(sys.executable).parent)


@dataclass
class Block:
    lang: str
    text: str
    line: int


def blocks(document: Path) -> list[Block]:
    text = document.read_text()
    return [
        Block(m.group(1), m.group(2), text[: m.start()].count("\n") + 1)
        for m in FENCE.finditer(text)
    ]


def doc_env() -> dict[str, str]:
    return clean_env(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONDONTWRITEBYTECODE="1",
    )


def expect_lines(expected: list[str], output: str, where: str) -> None:
    actual = [line.rstrip() for line in output.splitlines()]
    position = 0
    for want in expected:
        if want.strip() == "...":
            continue
        pattern = _pattern(want.rstrip())
        for index in range(position, len(actual)):
            if pattern.fullmatch(actual[index]):
                position = index + 1
                break
        else:
            raise AssertionError(f"{where}: expected line {want!r} not found in:\n{output}")


def _pattern(want: str) -> re.Pattern[str]:
    """An expected line as a regex: ``...`` anywhere in it stands for any text (a line ending in
    `` ...`` matches by prefix)."""
    if want.endswith(" ..."):
        want = want[:-4] + "..."
    return re.compile(".*".join(re.escape(part) for part in want.split("...")))


def run_console(block: Block, folder: Path, where: str) -> None:
    commands: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
    assert commands, f"{where}: a console block with no $ command"
    for command, expected in commands:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=folder,
            env=doc_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = result.stdout + result.stderr
        should_fail = bool(expected) and expected[0].startswith("error:")
        assert (result.returncode != 0) == should_fail, f"{where}: $ {command}\n{output}"
        assert "Traceback" not in output, f"{where}: $ {command}\n{output}"
        expect_lines(expected, output, f"{where}: $ {command}")


def run_setup_command(block: Block, where: str, state_dir: Path) -> None:
    command = block.text.strip()
    if "pytest" in command:
        ci = (ROOT / ".ci" / "run").read_text().splitlines()
        assert command in ci, f"{where}: .ci/run does not run the README's test command"
        return
    for part in command.split(" && "):
        if part.startswith(("python3 -m venv", ".venv/bin/pip")):
            continue  # the environment this test suite runs in is that environment
        part = part.replace(".venv/bin/", "")
        result = subprocess.run(
            ["bash", "-c", part],
            cwd=ROOT,
            env={**doc_env(), "SMDSL_LOCAL_DIR": str(state_dir)},  # local runs: not in the repo
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{where}: {part}\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_in_the_document_runs(document: Path, tmp_path: Path) -> None:
    folder = tmp_path / "churn"
    if "<!-- docs-test: quickstart -->" in document.read_text():
        shutil.copytree(QUICKSTART, folder)
    elif "<!-- docs-test: example -->" in document.read_text():
        folder = tmp_path / document.parent.name
        shutil.copytree(document.parent, folder)
    else:
        shutil.copytree(QUICKSTART / "code", folder / "code")
    for block in blocks(document):
        where = f"{document.relative_to(ROOT)}:{block.line}"
        first = block.text.splitlines()[0] if block.text else ""
        if first.startswith("# file: "):
            (folder / first.removeprefix("# file: ").strip()).write_text(block.text)
        elif block.lang == "python":
            result = subprocess.run(
                [sys.executable, "-c", block.text],
                cwd=folder,
                env=doc_env(),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, f"{where}\n{result.stdout}{result.stderr}"
        elif block.lang == "console":
            run_console(block, folder, where)
        elif block.lang == "bash":
            run_setup_command(block, where, tmp_path / "state")
        else:
            # Only diagrams (plain fences) may go unrun; anything else is an untested example.
            assert block.lang == "", f"{where}: a {block.lang} block that no test runs"

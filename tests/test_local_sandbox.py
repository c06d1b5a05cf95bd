"""The /opt/ml redirection of ``smdsl/local/runtime/sandbox.py``, run as the local runner runs it.

``python sandbox.py SCRIPT ARGS...`` with ``SMDSL_PATH_MAP`` (container path -> host folder)
runs SCRIPT so that the Python functions that take a path see the container's layout. Each test
writes a small script to tmp_path and runs it in a subprocess: what the script reads and writes
at /opt/ml paths must land in the host folder, and nothing else may change.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, clean_env

SANDBOX = ROOT / "smdsl" / "local" / "runtime" / "sandbox.py"


def sandboxed(
    tmp_path: Path,
    body: str,
    *args: str,
    mapping: dict[str, str] | None = None,
    sources: dict[str, str] | None = None,
    script: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``body`` as a script in the sandbox, /opt/ml mapped to ``tmp_path/host`` unless
    ``mapping`` says otherwise, in the working folder ``tmp_path/work``."""
    script = script or tmp_path / "script.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(textwrap.dedent(body))
    (tmp_path / "host").mkdir(exist_ok=True)
    (tmp_path / "work").mkdir(exist_ok=True)
    variables = {
        "SMDSL_PATH_MAP": json.dumps(mapping or {"/opt/ml": str(tmp_path / "host")}),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if sources is not None:
        variables["SMDSL_SOURCE_MAP"] = json.dumps(sources)
    return subprocess.run(
        [sys.executable, str(SANDBOX), str(script), *args],
        cwd=tmp_path / "work",
        env=clean_env(**variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    """What the script printed last, as JSON, once it exited 0."""
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by its relative path, with its text."""
    return {
        p.relative_to(folder).as_posix(): p.read_text()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_open_reads_and_writes_under_the_host_folder(tmp_path: Path) -> None:
    (tmp_path / "host" / "output").mkdir(parents=True)
    result = sandboxed(
        tmp_path,
        """
        import io, json
        with open("/opt/ml/output/a.txt", "w") as out:
            out.write("written in the container")
        with open("/opt/ml/output/a.txt") as handle:
            text = handle.read()
        with io.open("/opt/ml/output/a.txt", "a", encoding="utf-8") as out:
            out.write("!")
        print(json.dumps(text))
        """,
    )
    assert ok(result) == "written in the container"
    assert files(tmp_path / "host") == {"output/a.txt": "written in the container!"}
    assert files(tmp_path / "work") == {}
    assert not Path("/opt/ml/output").exists()


def test_os_functions_that_take_a_path_are_redirected(tmp_path: Path) -> None:
    result = sandboxed(
        tmp_path,
        """
        import json, os
        os.makedirs("/opt/ml/processing/output/deep/er", exist_ok=True)
        for name in ("one", "two", "three"):
            with open(f"/opt/ml/processing/output/{name}.txt", "w") as out:
                out.write(name)
        os.rename("/opt/ml/processing/output/one.txt", "/opt/ml/processing/output/uno.txt")
        os.replace("/opt/ml/processing/output/two.txt", "/opt/ml/processing/output/dos.txt")
        os.remove("/opt/ml/processing/output/three.txt")
        os.mkdir("/opt/ml/processing/gone")
        os.rmdir("/opt/ml/processing/gone")
        fd = os.open("/opt/ml/processing/output/raw.bin", os.O_CREAT | os.O_WRONLY)
        os.write(fd, b"raw")
        os.close(fd)
        with os.scandir("/opt/ml/processing/output") as entries:
            scanned = sorted((e.name, e.is_dir()) for e in entries)
        walked = [(top, sorted(dirs), sorted(names)) for top, dirs, names in os.walk("/opt/ml")]
        print(json.dumps({
            "listdir": sorted(os.listdir("/opt/ml/processing/output")),
            "scandir": scanned,
            "walk": walked,
            "size": os.stat("/opt/ml/processing/output/uno.txt").st_size,
            "exists": os.path.exists("/opt/ml/processing/output/dos.txt"),
            "isdir": os.path.isdir("/opt/ml/processing/output/deep"),
            "isfile": os.path.isfile("/opt/ml/processing/output/uno.txt"),
            "gone": os.path.exists("/opt/ml/processing/output/three.txt"),
            "getsize": os.path.getsize("/opt/ml/processing/output/raw.bin"),
        }))
        """,
    )
    assert ok(result) == {
        "listdir": ["deep", "dos.txt", "raw.bin", "uno.txt"],
        "scandir": [["deep", True], ["dos.txt", False], ["raw.bin", False], ["uno.txt", False]],
        "walk": [
            ["/opt/ml", ["processing"], []],
            ["/opt/ml/processing", ["output"], []],
            ["/opt/ml/processing/output", ["deep"], ["dos.txt", "raw.bin", "uno.txt"]],
            ["/opt/ml/processing/output/deep", ["er"], []],
            ["/opt/ml/processing/output/deep/er", [], []],
        ],
        "size": 3,
        "exists": True,
        "isdir": True,
        "isfile": True,
        "gone": False,
        "getsize": 3,
    }
    output = tmp_path / "host" / "processing" / "output"
    assert files(output) == {"dos.txt": "two", "raw.bin": "raw", "uno.txt": "one"}
    assert (output / "deep" / "er").is_dir()


def test_glob_finds_files_and_returns_container_paths(tmp_path: Path) -> None:
    data = tmp_path / "host" / "processing" / "input" / "raw"
    (data / "nested").mkdir(parents=True)
    for name in ("b.csv", "a.csv", "notes.txt", "nested/c.csv"):
        (data / name).write_text(name)
    result = sandboxed(
        tmp_path,
        """
        import glob, json
        print(json.dumps({
            "flat": sorted(glob.glob("/opt/ml/processing/input/raw/*.csv")),
            "deep": sorted(glob.glob("/opt/ml/processing/input/**/*.csv", recursive=True)),
            "iglob": sorted(glob.iglob("/opt/ml/processing/input/raw/*.txt")),
        }))
        """,
    )
    base = "/opt/ml/processing/input/raw"
    assert ok(result) == {
        "flat": [f"{base}/a.csv", f"{base}/b.csv"],
        "deep": [f"{base}/a.csv", f"{base}/b.csv", f"{base}/nested/c.csv"],
        "iglob": [f"{base}/notes.txt"],
    }


def test_pathlib_is_redirected(tmp_path: Path) -> None:
    result = sandboxed(
        tmp_path,
        """
        import json
        from pathlib import Path
        base = Path("/opt/ml/model")
        before = base.exists()
        (base / "sub").mkdir(parents=True)
        (base / "sub" / "m.txt").write_text("model")
        (base / "w.bin").write_bytes(b"weights")
        (base / "tmp.txt").touch()
        (base / "tmp.txt").unlink()
        print(json.dumps({
            "before": before,
            "exists": base.exists(),
            "is_dir": (base / "sub").is_dir(),
            "is_file": (base / "w.bin").is_file(),
            "iterdir": sorted(str(p) for p in base.iterdir()),
            "glob": sorted(str(p) for p in base.glob("*/*.txt")),
            "rglob": sorted(str(p) for p in base.rglob("*.txt")),
            "read_text": (base / "sub" / "m.txt").read_text(),
            "read_bytes": (base / "w.bin").read_bytes().decode(),
            "size": (base / "w.bin").stat().st_size,
        }))
        """,
    )
    assert ok(result) == {
        "before": False,
        "exists": True,
        "is_dir": True,
        "is_file": True,
        "iterdir": ["/opt/ml/model/sub", "/opt/ml/model/w.bin"],
        "glob": ["/opt/ml/model/sub/m.txt"],
        "rglob": ["/opt/ml/model/sub/m.txt"],
        "read_text": "model",
        "read_bytes": "weights",
        "size": 7,
    }
    assert files(tmp_path / "host") == {"model/sub/m.txt": "model", "model/w.bin": "weights"}


@pytest.mark.parametrize(
    ("call", "made"),
    [
        ("shutil.copy(f'{DATA}/a.txt', '/opt/ml/copy.txt')", {"copy.txt": "a"}),
        ("shutil.copyfile(f'{DATA}/a.txt', '/opt/ml/copy.txt')", {"copy.txt": "a"}),
        ("shutil.copy2(f'{DATA}/a.txt', '/opt/ml/copy.txt')", {"copy.txt": "a"}),
        (
            "shutil.copytree(DATA, '/opt/ml/tree')",
            {"tree/a.txt": "a", "tree/inner/b.txt": "b"},
        ),
        (
            "shutil.copytree(DATA, '/opt/ml/tree', copy_function=shutil.copy)",
            {"tree/a.txt": "a", "tree/inner/b.txt": "b"},
        ),
        ("shutil.move(f'{DATA}/a.txt', '/opt/ml/moved.txt')", {"moved.txt": "a"}),
        ("shutil.rmtree(f'{DATA}/inner')", {}),
    ],
    ids=["copy", "copyfile", "copy2", "copytree", "copytree-copy", "move", "rmtree"],
)
def test_shutil_copies_moves_and_removes_under_the_host_folder(
    tmp_path: Path, call: str, made: dict[str, str]
) -> None:
    source = tmp_path / "host" / "input" / "data"
    (source / "inner").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "inner" / "b.txt").write_text("b")
    result = sandboxed(tmp_path, f"import shutil\nDATA = '/opt/ml/input/data'\n{call}\n")
    assert result.returncode == 0, result.stderr
    found = files(tmp_path / "host")
    inputs = {k: v for k, v in found.items() if k.startswith("input/")}
    assert {k: v for k, v in found.items() if k not in inputs} == made
    if "move" in call:
        assert inputs == {"input/data/inner/b.txt": "b"}
    elif "rmtree" in call:
        assert inputs == {"input/data/a.txt": "a"} and not (source / "inner").exists()
    else:
        assert inputs == {"input/data/a.txt": "a", "input/data/inner/b.txt": "b"}


def test_tarfile_packs_and_unpacks_at_container_paths(tmp_path: Path) -> None:
    model = tmp_path / "host" / "model"
    model.mkdir(parents=True)
    (model / "weights.txt").write_text("w")
    (tmp_path / "host" / "output").mkdir()
    result = sandboxed(
        tmp_path,
        """
        import os, tarfile
        with tarfile.open("/opt/ml/output/model.tar.gz", "w:gz") as tar:
            tar.add("/opt/ml/model", arcname=".")
        os.makedirs("/opt/ml/unpacked")
        with tarfile.open("/opt/ml/output/model.tar.gz") as tar:
            tar.extractall("/opt/ml/unpacked")
        with tarfile.open("/opt/ml/output/model.tar.gz", "r:gz") as tar:
            print(sorted(tar.getnames()))
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['.', './weights.txt']"
    with tarfile.open(tmp_path / "host" / "output" / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == [".", "./weights.txt"]
    assert (tmp_path / "host" / "unpacked" / "weights.txt").read_text() == "w"


def test_bytes_paths_are_redirected_and_stay_bytes(tmp_path: Path) -> None:
    result = sandboxed(
        tmp_path,
        """
        import json, os
        with open(b"/opt/ml/b.txt", "wb") as out:
            out.write(b"bytes")
        names = os.listdir(b"/opt/ml")
        print(json.dumps({
            "names": [n.decode() for n in names],
            "kinds": sorted({type(n).__name__ for n in names}),
            "exists": os.path.exists(b"/opt/ml/b.txt"),
        }))
        """,
    )
    assert ok(result) == {"names": ["b.txt"], "kinds": ["bytes"], "exists": True}
    assert files(tmp_path / "host") == {"b.txt": "bytes"}


def test_a_path_that_only_starts_like_the_container_path_is_not_redirected(
    tmp_path: Path,
) -> None:
    container = tmp_path / "container" / "ml"  # stands for /opt/ml: a folder the test may write
    (tmp_path / "container" / "mlx").mkdir(parents=True)
    result = sandboxed(
        tmp_path,
        f"""
        with open("{container}/in.txt", "w") as out:
            out.write("redirected")
        with open("{container}x/out.txt", "w") as out:
            out.write("not redirected")
        """,
        mapping={str(container): str(tmp_path / "host")},
    )
    assert result.returncode == 0, result.stderr
    assert files(tmp_path / "host") == {"in.txt": "redirected"}
    assert files(tmp_path / "container") == {"mlx/out.txt": "not redirected"}


def test_relative_paths_are_left_alone(tmp_path: Path) -> None:
    result = sandboxed(
        tmp_path,
        """
        import os
        with open("here.txt", "w") as out:
            out.write("cwd")
        os.makedirs("opt/ml", exist_ok=True)
        with open("opt/ml/x.txt", "w") as out:
            out.write("relative")
        """,
    )
    assert result.returncode == 0, result.stderr
    assert files(tmp_path / "work") == {"here.txt": "cwd", "opt/ml/x.txt": "relative"}
    assert files(tmp_path / "host") == {}


def test_chdir_into_the_container_makes_relative_paths_land_in_the_host_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "host" / "code").mkdir(parents=True)
    result = sandboxed(
        tmp_path,
        """
        import os
        os.chdir("/opt/ml/code")
        with open("relative.txt", "w") as out:
            out.write("in code")
        """,
    )
    assert result.returncode == 0, result.stderr
    assert files(tmp_path / "host") == {"code/relative.txt": "in code"}


def test_several_mappings_take_the_longest_match(tmp_path: Path) -> None:
    (tmp_path / "inputs").mkdir()
    result = sandboxed(
        tmp_path,
        """
        with open("/opt/ml/a.txt", "w") as out:
            out.write("ml")
        with open("/opt/ml/input/data/train/b.txt", "w") as out:
            out.write("train")
        with open("/data/in/c.txt", "w") as out:
            out.write("outside /opt/ml")
        """,
        mapping={
            "/opt/ml": str(tmp_path / "host"),
            "/opt/ml/input/data/train": str(tmp_path / "inputs"),
            "/data/in/": str(tmp_path / "work"),
        },
    )
    assert result.returncode == 0, result.stderr
    assert files(tmp_path / "host") == {"a.txt": "ml"}
    assert files(tmp_path / "inputs") == {"b.txt": "train"}
    assert files(tmp_path / "work") == {"c.txt": "outside /opt/ml"}


def test_numpy_and_gzip_files_are_redirected(tmp_path: Path) -> None:
    result = sandboxed(
        tmp_path,
        """
        import gzip, json
        import numpy as np
        np.savetxt("/opt/ml/x.csv", np.arange(6).reshape(3, 2), delimiter=",", fmt="%d")
        np.save("/opt/ml/x.npy", np.arange(3))
        with gzip.open("/opt/ml/x.gz", "wt") as out:
            out.write("zipped")
        with gzip.open("/opt/ml/x.gz", "rt") as handle:
            zipped = handle.read()
        print(json.dumps({
            "loadtxt": np.loadtxt("/opt/ml/x.csv", delimiter=",").sum().item(),
            "load": np.load("/opt/ml/x.npy").tolist(),
            "gzip": zipped,
        }))
        """,
    )
    assert ok(result) == {"loadtxt": 15.0, "load": [0, 1, 2], "gzip": "zipped"}
    assert sorted(p.name for p in (tmp_path / "host").iterdir()) == ["x.csv", "x.gz", "x.npy"]


@pytest.mark.parametrize(
    "call",
    [
        'open(file="/opt/ml/kw.txt", mode="w").close()',
        'open("/opt/ml/kw.txt", "w").close()\nos.rename(src=KW, dst="/opt/ml/k.txt")',
        'open("/opt/ml/kw.txt", "w").close()\nos.replace(src=KW, dst="/opt/ml/k.txt")',
    ],
    ids=["open-file=", "rename-src=-dst=", "replace-src=-dst="],
)
def test_paths_given_by_keyword_are_redirected(tmp_path: Path, call: str) -> None:
    """Python's own names for the path arguments work as in any Python."""
    result = sandboxed(tmp_path, f"import os\nKW = '/opt/ml/kw.txt'\n{call}\n")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "host").iterdir()] in (["kw.txt"], ["k.txt"])


def test_the_script_gets_its_arguments_and_runs_as_main(tmp_path: Path) -> None:
    script = tmp_path / "code" / "entry.py"
    script.parent.mkdir()
    (script.parent / "helper.py").write_text("VALUE = 'beside'\n")
    result = sandboxed(
        tmp_path,
        """
        import json, sys
        import helper  # a module beside the script
        print(json.dumps({
            "argv": sys.argv,
            "name": __name__,
            "file": __file__,
            "helper": helper.VALUE,
            "path0": sys.path[0],
        }))
        """,
        *("--epochs", "3", "two words", "", "--flag=false"),
        script=script,
    )
    assert ok(result) == {
        "argv": [str(script), "--epochs", "3", "two words", "", "--flag=false"],
        "name": "__main__",
        "file": str(script),
        "helper": "beside",
        "path0": str(script.parent),
    }


@pytest.mark.parametrize(
    ("code", "status", "said"),
    [
        ("import sys\nsys.exit(3)\n", 3, ""),
        ("import sys\nsys.exit(0)\n", 0, ""),
        ("raise SystemExit(7)\n", 7, ""),
        ("import sys\nsys.exit('bad input: no rows')\n", 1, "bad input: no rows"),
        ("import os\nos._exit(4)\n", 4, ""),
    ],
)
def test_exit_codes_pass_through(tmp_path: Path, code: str, status: int, said: str) -> None:
    result = sandboxed(tmp_path, code)
    assert result.returncode == status, result.stderr
    assert result.stderr.strip() == said
    assert "Traceback" not in result.stderr


def test_an_exception_exits_1_with_a_traceback_of_the_script_only(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    result = sandboxed(
        tmp_path,
        """
        def load(rows):
            if not rows:
                raise ValueError("no rows in /opt/ml/processing/input")

        load([])
        """,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert f'File "{script}", line 6, in <module>' in result.stderr
    assert f'File "{script}", line 4, in load' in result.stderr
    assert result.stderr.rstrip().endswith("ValueError: no rows in /opt/ml/processing/input")
    assert "sandbox.py" not in result.stderr
    assert "runpy" not in result.stderr and "<frozen" not in result.stderr
    assert result.stderr.count('File "') == 2


def test_a_traceback_names_the_users_files_not_their_staged_copies(tmp_path: Path) -> None:
    staged, original = tmp_path / "staged", tmp_path / "project" / "code"
    (staged / "lib.py").parent.mkdir(parents=True)
    (staged / "lib.py").write_text("def fail():\n    raise KeyError('label')\n")
    result = sandboxed(
        tmp_path,
        "import lib\nlib.fail()\n",
        script=staged / "train.py",
        sources={str(staged): str(original)},
    )
    assert result.returncode == 1
    assert f'File "{original / "train.py"}", line 2, in <module>' in result.stderr
    assert f'File "{original / "lib.py"}", line 2, in fail' in result.stderr
    assert str(staged) not in result.stderr
    assert result.stderr.rstrip().endswith("KeyError: 'label'")


def test_a_syntax_error_is_reported_without_the_sandbox(tmp_path: Path) -> None:
    result = sandboxed(tmp_path, "def broken(:\n    pass\n")
    assert result.returncode == 1
    assert "SyntaxError" in result.stderr
    assert str(tmp_path / "script.py") in result.stderr
    assert "sandbox.py" not in result.stderr


def test_without_a_script_it_says_how_to_use_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SANDBOX)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "usage: sandbox.py SCRIPT [ARGS...]" in result.stderr

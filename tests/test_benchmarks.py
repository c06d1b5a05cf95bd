"""The benchmarks' correctness checks, at small sizes: no timing is asserted here.

benchmarks/compile_scale.py checks that smdsl, the hand-written SDK v3 code and its floor give
the same definition; deploy_io.py that a deploy uploads exactly the code it needs and that an
unchanged redeploy writes nothing; cold_start.py that the commands it times work offline without
the SDK. The same functions run here, on pipelines of a few steps.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from aws_server import RecordingMotoServer
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import cold_start
import compile_scale
import deploy_io


def three_ways(variant: str, size: int, folder: Path) -> list[Any]:
    """smdsl's, the hand-written and the floor definitions, normalised as the benchmark does."""
    path = compile_scale.WRITERS[variant](folder, size)
    return [
        compile_scale.normalised(compile_scale.smdsl_definition(path)),
        compile_scale.normalised(compile_scale.hand_written(variant, size)),
        compile_scale.normalised(compile_scale.hand_written(variant, size, floor=True)),
    ]


def all_steps(definition: Any) -> list[str]:
    names = []
    for step in definition["Steps"]:
        names.append(step["Name"])
        names += all_steps({"Steps": step["Arguments"].get("IfSteps", [])})
        names += all_steps({"Steps": step["Arguments"].get("ElseSteps", [])})
    return names


def test_a_chain_compiles_to_the_same_definition_three_ways(tmp_path: Path) -> None:
    ours, by_hand, floor = three_ways("chain", 3, tmp_path)
    assert ours == by_hand
    assert ours == floor
    assert all_steps(ours) == ["step0", "step1", "step2"]
    assert compile_scale.HASH.pattern  # only the code hashes were normalised
    assert ours["Steps"][0]["Arguments"]["ProcessingInputs"][-1]["S3Input"]["S3Uri"].endswith(
        "/bench/code/HASH/step.py"
    )


def test_the_mixed_variant_compiles_to_the_same_definition_three_ways(tmp_path: Path) -> None:
    ours, by_hand, floor = three_ways("mixed", 2, tmp_path)
    assert ours == by_hand
    assert ours == floor
    kinds = {step["Type"] for step in ours["Steps"]}
    assert kinds == {"Processing", "Training", "Condition"}
    branch = ours["Steps"][3]["Arguments"]
    assert {s["Type"] for s in branch["IfSteps"]} == {"RegisterModel", "Model", "Transform"}
    assert [s["Type"] for s in branch["ElseSteps"]] == ["Fail"]
    assert len(all_steps(ours)) == 2 * compile_scale.STEPS_PER_BLOCK


def test_the_compile_benchmark_checks_pass_end_to_end(tmp_path: Path) -> None:
    """Workers in fresh processes, `smdsl definition` with an empty and a filled cache, and the
    network guard: what a real run does, at 2 steps."""
    row = compile_scale.measure("chain", 2, runs=1, scratch=tmp_path)
    assert row.problems == []
    assert row.same
    assert set(row.seconds) == set(compile_scale.SIDES)
    assert row.cli_seconds > 0 and row.cli_cached > 0 and row.cli_peak_mb > 0


@pytest.mark.parametrize("scripts", [1, 2])
def test_deploying_uploads_exactly_the_code_and_an_unchanged_redeploy_nothing(
    moto_server: RecordingMotoServer, tmp_path: Path, scripts: int
) -> None:
    case = deploy_io.deploy_case(moto_server, steps=2, scripts=scripts, scratch=tmp_path, runs=1)
    assert case.problems == []
    [first], [again] = case.first, case.again
    assert first.uploads == scripts
    assert first.counts["SageMaker.CreatePipeline"] == 1
    assert again.uploads == 0
    assert again.updates == 0
    assert again.writes == []
    assert again.counts["SageMaker.DescribePipeline"] == 1
    if scripts == 1:
        return
    # The counts are read at the server: after one script changed, its upload and the update
    # show up (with the same cache folder, as a developer's next deploy would have).
    pipeline = next(tmp_path.glob("deploy-2-2-*/project/pipeline.py"))
    (pipeline.parent / "code" / "step1.py").write_text("print('changed')\n")
    env = deploy_io.clean_env(
        **deploy_io.OFFLINE_ENV,
        AWS_ENDPOINT_URL=moto_server.url,
        SMDSL_CACHE_DIR=str(next(tmp_path.glob("deploy-2-2-*/cache-0"))),
    )
    changed = deploy_io._deploy(moto_server, pipeline, env, case, "changed redeploy")
    assert changed is not None, case.problems
    assert changed.uploads == 1
    assert changed.updates == 1


@pytest.mark.parametrize("name", ["smdsl validate", "smdsl graph", "smdsl --help"])
def test_the_cold_start_commands_work_offline_without_the_sdk(tmp_path: Path, name: str) -> None:
    problems, _ = cold_start.check(name, cold_start.commands()[name], tmp_path)
    assert problems == []

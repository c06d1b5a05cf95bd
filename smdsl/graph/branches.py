"""Where each step runs: at the top level of the pipeline, or in a branch of a condition.

A condition's config lists the steps of each branch (``then=``, ``otherwise=``). A step listed
there is compiled inside that branch, as the SDK does, and never also at the top level. A step
that uses a branch step (a reference, a parameter, ``depends_on``) can run only where that step
runs: it must be listed in the same branch or in a branch nested inside it, else it is an error
that says which branch to add it to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from smdsl.errors import did_you_mean

Branch = tuple[str, str]
"""(condition step, side): ("check_mse", "then")."""


@dataclass(frozen=True)
class BranchProblem:
    """A problem found placing steps, at ``step`` (its field, when known)."""

    step: str
    message: str
    field: str | None = None


def describe(branch: Branch) -> str:
    condition, side = branch
    when = "holds" if side == "then" else "does not hold"
    return f"only when condition {condition!r} {when} (it is in its {side}=)"


def place_steps(
    branches: Mapping[str, Mapping[str, list[str]]],
    steps: Mapping[str, object],
) -> tuple[dict[str, Branch], list[BranchProblem]]:
    """The branch each listed step runs in, from each condition's resolved branch lists."""
    placed: dict[str, Branch] = {}
    problems: list[BranchProblem] = []
    for condition, sides in branches.items():
        for side, names in sides.items():
            for index, name in enumerate(names):
                where = f"{side}[{index}]"
                if name == condition:
                    problems.append(
                        BranchProblem(condition, "a condition cannot run in its own branch", where)
                    )
                elif name in placed and placed[name] != (condition, side):
                    other_condition, other_side = placed[name]
                    problems.append(
                        BranchProblem(
                            condition,
                            f"step {name!r} is in two branches: {other_side}= of "
                            f"{other_condition!r} and {side}= of {condition!r}; a step runs in "
                            "one place only",
                            where,
                        )
                    )
                elif name not in steps:
                    problems.append(
                        BranchProblem(
                            condition,
                            f"unknown step {name!r}{did_you_mean(name, list(steps))}",
                            where,
                        )
                    )
                else:
                    placed[name] = (condition, side)
    return placed, problems


def enclosing(branch: Branch | None, placed: Mapping[str, Branch]) -> list[Branch]:
    """``branch`` and the branches around it, innermost first."""
    chain: list[Branch] = []
    while branch is not None and branch not in chain:
        chain.append(branch)
        branch = placed.get(branch[0])
    return chain


def placement_problems(dag: nx.DiGraph, placed: Mapping[str, Branch]) -> list[BranchProblem]:
    """A step that uses a step of a branch it does not run in."""
    problems = []
    for upstream, downstream, data in sorted(dag.edges(data=True)):
        vias = data.get("via", set())
        if all(via.startswith("branch") for via in vias):
            continue
        source = placed.get(upstream)
        if source is None or source in enclosing(placed.get(downstream), placed):
            continue
        condition, side = source
        at = placed.get(downstream)
        if at is None:
            advice = f"add {downstream!r} to the {side}= of {condition!r} too"
            where = "at the top level"
        else:
            where = f"in the {at[1]}= of {at[0]!r}"
            advice = (
                f"a step uses only steps of its own branch, of the branches around it or of the "
                f"top level: move {downstream!r} to the {side}= of {condition!r}, or list "
                f"condition {at[0]!r} there"
                if at[0] != condition
                else f"a step runs in one branch only: move {downstream!r} to the {side}= of "
                f"{condition!r}, or take {upstream!r} out of the branches"
            )
        problems.append(
            BranchProblem(
                downstream,
                f"uses step {upstream!r}, which runs {describe(source)}, but runs {where}; "
                f"{advice}",
            )
        )
    return problems


def decided_by_branch(condition: str, side: str, step: str, dag: nx.DiGraph) -> BranchProblem:
    """The condition ``condition`` uses ``step``, listed in its own ``side`` branch."""
    path = nx.shortest_path(dag, step, condition)
    via = " -> ".join(path)
    return BranchProblem(
        condition,
        f"is decided from step {step!r} ({via}), which it lists in its {side}=: a branch step "
        "runs after its condition is decided; take it out of the branch",
        None,
    )

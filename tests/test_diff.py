"""The plan's account of what changed between the deployed and the compiled definition."""

from __future__ import annotations

from typing import Any

from smdsl.deploy.diff import definition_changes


def definition(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Epochs", "Type": "Integer", "DefaultValue": 5}],
        "Steps": [
            {"Name": "prep", "Type": "Processing", "Arguments": {"Env": {"A": "1"}, "N": [1, 2]}},
            {"Name": "train", "Type": "Training", "Arguments": {"HyperParameters": {"eta": "0.2"}}},
        ],
    }
    base.update(overrides)
    return base


def test_identical_definitions_have_no_changes() -> None:
    assert definition_changes(definition(), definition()) == []


def test_added_removed_and_changed_steps_and_parameters() -> None:
    new = definition(
        Parameters=[{"Name": "Rate", "Type": "Float", "DefaultValue": 0.1}],
        Steps=[
            {"Name": "prep", "Type": "Processing", "Arguments": {"Env": {"A": "2"}, "N": [1, 2]}},
            {"Name": "eval", "Type": "Processing", "Arguments": {}},
        ],
    )
    assert definition_changes(definition(), new) == [
        "+ parameter Rate",
        "- parameter Epochs",
        "+ step eval",
        "- step train",
        '~ step prep: Arguments.Env.A: "1" -> "2"',
    ]


def test_long_values_and_structures_show_only_their_path() -> None:
    new = definition()
    new["Steps"][0]["Arguments"]["N"] = [1, 2, 3]
    new["Steps"][1]["Arguments"]["HyperParameters"] = {"eta": "0.2", "gamma": "x" * 80}
    assert definition_changes(definition(), new) == [
        "~ step prep: Arguments.N",
        "~ step train: Arguments.HyperParameters.gamma (added)",
    ]


def test_top_level_changes_are_named() -> None:
    assert definition_changes(definition(), definition(Version="2021-01-01")) == ["~ Version"]

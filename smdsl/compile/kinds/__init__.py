"""One module per step kind: its compile function (and its code planner, when it has code)."""

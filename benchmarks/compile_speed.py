"""Superseded by compile_scale.py; kept so that existing references keep working.

    .venv/bin/python benchmarks/compile_speed.py          # = compile_scale.py 10 50 100 --mixed
    .venv/bin/python benchmarks/compile_speed.py 20 200   # = compile_scale.py 20 200 --mixed

Runs compile_scale.py on chains of processing steps only (no mixed variant), with this script's
old default sizes; see compile_scale.py for what is measured and checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compile_scale

if __name__ == "__main__":
    sys.exit(compile_scale.main([*(sys.argv[1:] or ["10", "50", "100"]), "--mixed"]))

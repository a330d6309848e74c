"""`make bench`: every benchmark script in this folder, one after the other."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))  # the fakes under tests/ are importable by the benchmarks

for script in sorted(HERE.glob("*.py")):
    if script.name in ("run.py", "__init__.py"):
        continue
    print(f"== {script.stem}")
    runpy.run_path(str(script), run_name="__main__")
    print()

"""Start-up of `followup --help` and `followup plan` as ratios to `python -c "import click"`.

Each command runs interleaved with the others, many times; the median is reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNS = 21
TARGETS = {"followup --help": 1.3, "followup plan": 2.5}


def main() -> None:
    followup = [sys.executable, "-m", "followup"]
    commands = {
        "import click": [sys.executable, "-c", "import click"],
        "followup --help": [*followup, "--help"],
        "followup plan": [
            *followup,
            "--now",
            "2026-11-20T19:00:00-05:00",
            "plan",
            str(ROOT / "samples" / "onsite-acme.yaml"),
        ],
    }
    env = {**os.environ, "FOLLOWUP_HOME": tempfile.mkdtemp(prefix="followup-bench-")}
    # As on a user's machine, compiled bytecode is cached (click's was compiled at install).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for command in commands.values():  # warm the OS cache and followup's holiday cache
        subprocess.run(command, env=env, capture_output=True, check=True)
    timings: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=True)
            timings[name].append(time.perf_counter() - start)
    floor = statistics.median(timings["import click"])
    print(f"start-up (median of {RUNS} runs)")
    print(f"  {'import click':<18} {floor * 1000:7.1f} ms   (the floor)")
    for name, target in TARGETS.items():
        median = statistics.median(timings[name])
        ratio = median / floor
        verdict = "ok" if ratio <= target else "over target"
        print(
            f"  {name:<18} {median * 1000:7.1f} ms   {ratio:4.2f}x  (target {target}x: {verdict})"
        )


if __name__ == "__main__":
    main()

"""Fault trials for every destination: runs die at random after writes land (answers lost),
the record is edited between runs, then one clean run. Counts what the destination holds
against the plan: duplicates and missing items must both be 0."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from test_contract import BACKENDS
from test_sync_faults import fault_trial

TRIALS = 20

if __name__ == "__main__":
    home = tempfile.mkdtemp(prefix="followup-bench-")  # never the user's own settings or secrets
    os.environ.update(FOLLOWUP_HOME=home, FOLLOWUP_NO_KEYRING="1")
    print(f"{'destination':<12} {'trials':>6} {'kills':>6} {'duplicates':>10} {'missing':>8}")
    for name in BACKENDS:
        with tempfile.TemporaryDirectory() as folder:
            trials = [
                fault_trial(name, Path(folder) / f"t{n}", f"bench-{name}-{n}")
                for n in range(TRIALS)
            ]
        kills = sum(t.kills for t in trials)
        duplicates = sum(t.duplicates for t in trials)
        missing = sum(t.missing for t in trials)
        print(f"{name:<12} {TRIALS:>6} {kills:>6} {duplicates:>10} {missing:>8}")

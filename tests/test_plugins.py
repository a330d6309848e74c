"""Third-party exporters: a real distribution installed beside followup is found and used,
and one that fails to import is a warning while the others keep working."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
NOW = "2026-11-20T19:00:00-05:00"

DEMO_EXPORTER = """
import json
from pathlib import Path
from followup.exporter import Exporter, Outcome, Setting

class JsonLinesExporter(Exporter):
    name = "jsonl"
    description = "one JSON line per task"
    settings = (Setting("path", "where to append"),)

    def apply(self, changes):
        with Path(self.options["path"]).open("a") as out:
            for change in changes:
                out.write(json.dumps({"action": change.action, "key": change.task.key}) + "\\n")
                yield Outcome(change, remote_id=change.task.key)
"""


def build_wheel(folder: Path, name: str, module: str, source: str, entry: str) -> Path:
    """A minimal wheel, as any plugin author's build would produce."""
    wheel = folder / f"{name}-0.1-py3-none-any.whl"
    info = f"{name}-0.1.dist-info"
    files = {
        f"{module}.py": source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{info}/entry_points.txt": f"[followup.exporters]\n{entry}\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    target = tmp_path / "site"
    wheels = [
        build_wheel(
            tmp_path,
            "followup_jsonl",
            "followup_jsonl",
            DEMO_EXPORTER,
            "jsonl = followup_jsonl:JsonLinesExporter",
        ),
        build_wheel(
            tmp_path,
            "followup_broken",
            "followup_broken",
            "raise ImportError('this plugin needs a library that is not installed')\n",
            "broken = followup_broken:Exporter",
        ),
    ]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            *map(str, wheels),
        ],
        check=True,
    )
    return target


def followup(plugin_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(plugin_path), "FOLLOWUP_NOW": NOW}
    return subprocess.run(
        [sys.executable, "-m", "followup", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_an_installed_third_party_exporter_is_listed_and_used(
    plugin_path: Path, tmp_path: Path
) -> None:
    listing = followup(plugin_path, "exporters")
    assert listing.returncode == 0, listing.stderr
    assert "jsonl" in listing.stdout and "followup_jsonl 0.1" in listing.stdout
    assert "ics" in listing.stdout  # the built-in ones are found the same way
    assert "broken" in listing.stdout and "warning: failed to load" in listing.stdout

    out = tmp_path / "tasks.jsonl"
    run = followup(
        plugin_path, "export", "samples/onsite-acme.yaml", "--to", "jsonl", "--set", f"path={out}"
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("11 created, 0 updated, 0 cancelled, 0 unchanged")
    assert len(out.read_text().splitlines()) == 11


def test_a_broken_plugin_does_not_stop_the_others(plugin_path: Path, tmp_path: Path) -> None:
    run = followup(
        plugin_path,
        "export",
        "samples/onsite-acme.yaml",
        "--to",
        "ics",
        "-o",
        str(tmp_path / "out"),
    )
    assert run.returncode == 0, run.stderr
    broken = followup(plugin_path, "export", "samples/onsite-acme.yaml", "--to", "broken")
    assert broken.returncode == 1
    assert "the broken exporter failed to load: this plugin needs a library" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_an_unknown_exporter_is_bad_usage(plugin_path: Path) -> None:
    run = followup(plugin_path, "export", "samples/onsite-acme.yaml", "--to", "fax")
    assert run.returncode == 2 and "no exporter named 'fax'" in run.stderr

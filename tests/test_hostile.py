"""Hostile record files stay contained: each is refused in one line naming its file and
field (exit 2, nothing written), in bounded memory, and never stops the rest of a folder.

The small files live in `tests/hostile/`; the big ones (deep nesting, oversized files) and
the special files (FIFO, device) are made by the tests. Anything that crashed or blew up
before runs in a child process under memory and CPU limits, so the suite survives.
"""

from __future__ import annotations

import http.client
import itertools
import os
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.cli import cli
from followup.config import Settings
from followup.errors import RecordError
from followup.planner import plan_record
from followup.playbook import RULE_IDS, TIMED_RULE_IDS
from followup.record import load_record, parse_text, record_from_data

HOSTILE = Path(__file__).parent / "hostile"
SAMPLES = Path(__file__).parent.parent / "samples"
NOW = "2026-11-20T19:00:00-05:00"
MEMORY_LIMIT = 1 << 30  # bytes of address space a child may use
CPU_LIMIT = 60  # seconds of CPU a child may use (a guard, not a timing assertion)

# file -> (the field its message names, words the problem must contain)
REFUSED = {
    "merge-key-bomb.yaml": ("a0", "anchors and aliases"),
    "alias.yaml": ("company", "anchors and aliases"),
    "merge-key.yaml": ("contact.<<", "merge keys"),
    "duplicate-key.yaml": ("company", "given twice (line 4)"),
    "nul-in-text.yaml": ("company", "NUL"),
    "nul-in-key.json": ("comp\\x00any", "NUL"),
    "lone-surrogate.json": ("interviews[0].interviewers[0].name", "lone surrogate"),
    "lone-surrogate-key.json": ("offsets.thank-you\\udc00", "lone surrogate"),
    "offset-days.yaml": ("offsets.thank-you", "at most"),
    "offset-business-days.yaml": ("offsets.check-in", "at most"),
    "offset-digits.yaml": ("offsets.check-in", "not an offset like"),
    "offset-hours-on-a-day.yaml": ("offsets.gracious-close", "not hours"),
    "year-9999.yaml": ("interviews[0].at", "year"),
    "year-1.yaml": ("recorded_at", "year"),
    "status-since-9999.json": ("status_since", "year"),
    "invalid-date.yaml": ("decision.expected_by", "line 10"),
    "invalid-date-quoted.yaml": ("decision.expected_by", "line 10"),
    "invalid-datetime.yaml": ("interviews[0].at", "line 6"),
    "invalid-date.toml": ("decision.expected_by", "line 13"),
    "unknown-country.yaml": ("country", "'XX'"),
    "huge-integer.yaml": ("role", "number"),
}
ACCEPTED = ["bom.json", "bom.toml", "bom.yaml"]
IN_PROCESS = sorted(set(REFUSED) - {"merge-key-bomb.yaml"})  # the bomb runs in a child


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--now", NOW, *args])
    return result.exit_code, result.stdout, result.stderr


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT))


def run_child(*args: str) -> subprocess.CompletedProcess[str]:
    """`followup ARGS` in its own process, under memory and CPU limits and a hang guard."""
    return subprocess.run(
        [sys.executable, "-m", "followup", "--now", NOW, *args],
        capture_output=True,
        text=True,
        preexec_fn=_limit_child,
        timeout=300,  # a guard against hanging forever, not a speed assertion
        check=False,
    )


def assert_refused(
    code: int, out: str, err: str, path: Path, field: str | None, words: str
) -> None:
    assert code == 2, (code, out, err)
    assert out == ""
    [line] = err.strip().splitlines()
    assert "Traceback" not in err
    assert len(line) < 300
    assert line.startswith(f"followup: {path}: {field}: " if field else f"followup: {path}: ")
    assert words in line, line


def test_the_hostile_corpus_is_complete() -> None:
    assert sorted(p.name for p in HOSTILE.iterdir()) == sorted([*REFUSED, *ACCEPTED])


@pytest.mark.parametrize("command", ["validate", "plan"])
@pytest.mark.parametrize("name", IN_PROCESS)
def test_each_hostile_file_is_refused_naming_file_and_field(name: str, command: str) -> None:
    path = HOSTILE / name
    assert_refused(*run(command, str(path)), path, *REFUSED[name])


@pytest.mark.parametrize("name", ACCEPTED)
def test_a_utf8_byte_order_mark_is_accepted(name: str) -> None:
    code, out, err = run("validate", str(HOSTILE / name))
    assert (code, err) == (0, ""), err
    assert ": ok (bom-" in out


@pytest.mark.slow
@pytest.mark.parametrize("command", [["validate"], ["plan"], ["status", "heard-back"]])
def test_a_merge_key_bomb_is_refused_in_bounded_memory(command: list[str], tmp_path: Path) -> None:
    """`status` edits YAML with ruamel.yaml, which expands merge keys too: the bounded
    loader refuses the file before ruamel sees it, and the file stays as it was."""
    path = tmp_path / "merge-key-bomb.yaml"
    shutil.copy(HOSTILE / path.name, path)
    done = run_child(command[0], str(path), *command[1:])
    assert_refused(done.returncode, done.stdout, done.stderr, path, *REFUSED[path.name])
    assert path.read_bytes() == (HOSTILE / path.name).read_bytes()


def nested(kind: str, depth: int) -> str:
    """A 50 KB record nested `depth` levels deep in `forgot_to_mention`."""
    if kind == "toml":
        return 'id = "deep"\nforgot_to_mention = ' + "[" * depth + "]" * depth + "\n"
    if kind == "json":
        return '{"id": "deep", "forgot_to_mention": ' + "[" * depth + "]" * depth + "}\n"
    return "id: deep\nforgot_to_mention: " + "[" * depth + "]" * depth + "\n"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["yaml", "json", "toml"])
def test_deep_nesting_is_refused_not_a_crash(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"deep.{kind}"
    path.write_text(nested(kind, 25_000))
    done = run_child("validate", str(path))
    # The JSON and TOML parsers recurse: they stop at Python's recursion limit, before any
    # field is known; YAML is read iteratively and names the field.
    field = "forgot_to_mention" if kind == "yaml" else None
    assert_refused(done.returncode, done.stdout, done.stderr, path, field, "nested deeper")


@pytest.mark.parametrize("kind", ["yaml", "json", "toml"])
def test_nesting_a_parser_survives_is_refused_too(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"deep.{kind}"
    path.write_text(nested(kind, 100))
    assert_refused(*run("validate", str(path)), path, "forgot_to_mention", "nested deeper")


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    record = (SAMPLES / "onsite-acme.yaml").read_text()
    path.write_text(record + ("# padding\n" * 200_000))  # valid, but 2 MB
    code, out, err = run("validate", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"followup: {path}: ") and "larger than" in err, err


@pytest.mark.slow
def test_a_fifo_given_as_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    for args in (["validate", str(path)], ["status", str(path), "heard-back"]):
        done = run_child(*args)
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"followup: {path}: not a regular file (a FIFO)\n"


@pytest.mark.slow
def test_a_fifo_given_as_an_invitation_is_refused_not_waited_on(tmp_path: Path) -> None:
    path = tmp_path / "invite.ics"
    os.mkfifo(path)
    done = run_child("new", "--from", str(path), "-o", str(tmp_path / "new.yaml"))
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"followup: {path}: not a regular file (a FIFO)\n"
    assert not (tmp_path / "new.yaml").exists()


@pytest.mark.slow
def test_a_device_given_as_file_is_refused_not_read(tmp_path: Path) -> None:
    path = tmp_path / "zero.yaml"
    path.symlink_to("/dev/zero")
    done = run_child("validate", str(path))
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"followup: {path}: not a regular file (a device)\n"


@pytest.mark.parametrize("year", [1970, 2100])
@pytest.mark.parametrize("now_year", [1970, 2100])
def test_records_at_the_bounds_plan_without_overflow(year: int, now_year: int) -> None:
    """The earliest and latest dates a record may hold, every offset at its limit either
    way, in the zones furthest from UTC, planned from either end of time."""
    limits = {"d": 366, "bd": 262, "h": 366 * 24}
    at = "1970-01-01 00:00" if year == 1970 else "2100-12-31 23:59"
    statuses = ("waiting", "heard-back", "rejected")
    for sign, unit, status in itertools.product((1, -1), limits, statuses):
        rules = TIMED_RULE_IDS if unit == "h" else RULE_IDS
        data = {
            "id": "bounds",
            "company": "Acme",
            "role": "Engineer",
            "timezone": "Pacific/Kiritimati" if year == 2100 else "Pacific/Niue",
            "interviews": [{"at": at, "interviewers": [{"name": "Jane"}]}],
            "decision": {"expected_by": at[:10], "may_call": True},
            "offsets": {rule: f"{sign * limits[unit]}{unit}" for rule in rules},
            "status": status,
            "status_since": at[:10],
            "country": "US",
        }
        record = record_from_data(Path("bounds.yaml"), data)
        now = datetime(now_year, 1 if now_year == 1970 else 12, 31 if now_year == 2100 else 1)
        assert plan_record(record, Settings(), now.replace(tzinfo=UTC))
        beyond = {rule: f"{sign * (limits[unit] + 1)}{unit}" for rule in rules}
        with pytest.raises(RecordError, match="an offset moves at most"):
            record_from_data(Path("bounds.yaml"), {**data, "offsets": beyond})
    past = ("1969-12-31 23:59" if year == 1970 else "2101-01-01 00:00", "interviews[0].at")
    with pytest.raises(RecordError, match=rf"{re.escape(past[1])}: year \d+ is out of range"):
        record_from_data(
            Path("bounds.yaml"), {**data, "interviews": [{**data["interviews"][0], "at": past[0]}]}
        )


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00+00:00", "9999-12-31T00:00:00+00:00"])
def test_now_out_of_range_is_refused(now: str) -> None:
    result = CliRunner().invoke(cli, ["--now", now, "plan", str(SAMPLES / "onsite-acme.yaml")])
    assert result.exit_code == 2
    assert result.stderr == "followup: --now: a year from 1970 to 2100, like the records'\n"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "folder.yaml"
    path.mkdir()
    with pytest.raises(RecordError, match=r"folder\.yaml: not a regular file \(a folder\)$"):
        load_record(path)


# --- a folder with hostile files: the others still plan, sync and serve ------------------


@pytest.fixture
def hostile_folder(folder: Path) -> Path:
    """The samples, every hostile file of the corpus and a 50 KB deeply nested YAML."""
    for path in HOSTILE.iterdir():
        shutil.copy(path, folder / path.name)
    (folder / "deep.yaml").write_text(nested("yaml", 25_000))
    return folder


def assert_each_hostile_file_reported(err: str, folder: Path) -> None:
    skipped = [name for name in [*REFUSED, "deep.yaml"] if f"{folder / name}: " in err]
    assert sorted(skipped) == sorted([*REFUSED, "deep.yaml"]), err
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_folder_with_hostile_files_still_lists_and_feeds_the_others(
    hostile_folder: Path, tmp_path: Path
) -> None:
    listed = run_child("list", str(hostile_folder))
    assert listed.returncode == 2, listed.stderr
    assert_each_hostile_file_reported(listed.stderr, hostile_folder)
    assert all(company in listed.stdout for company in _sample_companies())
    assert all(f"bom-{kind}" not in listed.stderr for kind in ("json", "toml", "yaml"))
    fed = run_child("feed", str(hostile_folder), "-o", str(tmp_path / "feed.ics"))
    assert fed.returncode == 2, fed.stderr
    assert_each_hostile_file_reported(fed.stderr, hostile_folder)
    assert "items from 10 records" in fed.stdout  # the 7 samples and the 3 with a BOM


@pytest.mark.slow
def test_a_folder_with_hostile_files_still_syncs_the_others(hostile_folder: Path) -> None:
    initialised = run_child(
        "init", "--name", "Alex Morgan", "--timezone", "America/New_York", "--country", "US",
        "--folder", str(hostile_folder), "--destination", "ics",
    )  # fmt: skip
    assert initialised.returncode == 0, initialised.stderr
    synced = run_child("sync")
    assert synced.returncode == 2, synced.stderr
    assert_each_hostile_file_reported(synced.stderr, hostile_folder)
    assert "10 record(s) from" in synced.stdout


def _sample_companies() -> list[str]:
    return [load_record(path).company for path in SAMPLES.iterdir() if path.name != "config.toml"]


@pytest.fixture
def served(hostile_folder: Path) -> Iterator[tuple[subprocess.Popen[str], str, int, str]]:
    command = [sys.executable, "-m", "followup", "--now", NOW]
    command += ["serve", str(hostile_folder), "--port", "0"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit_child,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            match = re.search(r"subscribe: http://([\d.]+):(\d+)(/feed/[\w-]+\.ics)", line)
            if match:
                yield process, match[1], int(match[2]), match[3]
                break
        else:
            pytest.fail(f"serve did not start: {process.communicate()[1]}")
    finally:
        process.terminate()
        process.communicate(timeout=60)


@pytest.mark.slow
def test_serve_survives_a_folder_of_hostile_files(
    served: tuple[subprocess.Popen[str], str, int, str],
) -> None:
    process, host, port, path = served
    for _ in range(2):  # the first request builds the feed, the second is answered as well
        connection = http.client.HTTPConnection(host, port, timeout=120)
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 200
        assert b"Acme Corp" in body and b"Initech" in body
        assert process.poll() is None


# --- the bounded YAML reader reads what PyYAML's safe loader reads ------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.dates()
    | st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=20)
)
DATA = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(data=DATA, flow=st.booleans())
def test_yaml_reads_as_the_safe_loader_does(data: Any, flow: bool) -> None:
    import yaml

    text = yaml.safe_dump({"field": data}, default_flow_style=flow, allow_unicode=True)
    assert parse_text(Path("x.yaml"), text).data == yaml.safe_load(text)


@pytest.mark.parametrize("key", ["country", "employer_country"])
def test_an_unknown_country_in_the_settings_names_the_file_and_field(
    followup_home: Path, key: str
) -> None:
    from click.testing import CliRunner

    from followup.cli import cli

    settings = followup_home / "config" / "config.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(f'[planning]\n{key} = "XX"\n', encoding="utf-8")
    sample = Path(__file__).parent.parent / "samples" / "onsite-acme.yaml"
    result = CliRunner().invoke(cli, ["--now", "2026-11-20T19:00:00-05:00", "plan", str(sample)])
    assert result.exit_code == 2
    assert f"{settings}: planning.{key}: no public holidays known for 'XX'" in result.output


@pytest.mark.slow
def test_a_fifo_inside_the_folder_is_reported_not_skipped_silently(tmp_path: Path) -> None:
    folder = tmp_path / "search"
    folder.mkdir()
    shutil.copy(SAMPLES / "onsite-acme.yaml", folder / "acme.yaml")
    os.mkfifo(folder / "pipe.yaml")
    done = run_child("list", str(folder))
    assert done.returncode == 2, done.stderr
    assert f"{folder / 'pipe.yaml'}: not a regular file (a FIFO)" in done.stderr
    assert "Acme Corp" in done.stdout

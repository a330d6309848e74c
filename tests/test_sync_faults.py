"""Unknown outcomes, for every destination: writes land but their answers are lost, runs die
half-way, the record is edited before the retry — and each planned task still stands exactly once.

A `LossyExporter` wraps any backend's real exporter. The write really happens at the destination;
then, at random, the run "dies" (a BaseException, as a SIGKILL would) before the engine hears of
it. This is the case that duplicates: only reconciliation (`Exporter.lookup`) can tell it landed.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
from test_contract import BACKENDS, NOW, SETTINGS, assert_matches_plan, onsite

from followup.exporter import Change, Exporter, Outcome
from followup.planner import plan_record
from followup.record import InterviewRecord
from followup.state import StateStore
from followup.sync import sync
from followup.tasks import Task

TRIALS = {"memory": 20, "ics": 10, "todoist": 10, "google": 10, "caldav": 10}


class Killed(BaseException):
    """The process died: nothing after this point ran."""


def lossy(exporter: Exporter, rng: random.Random, loss: float) -> Exporter:
    """The same exporter, except that after a write lands the run may die unheard."""
    inner_apply = exporter.apply

    def apply(changes: Sequence[Change]) -> Iterator[Outcome]:
        for outcome in inner_apply(changes):
            if rng.random() < loss:
                raise Killed(outcome.change.task.key)
            yield outcome

    exporter.apply = apply  # type: ignore[method-assign]
    return exporter


def edit(record: InterviewRecord, round_: int) -> InterviewRecord:
    """A different edit each round: topics change, so thank-you drafts (and hashes) change."""
    interview = record.interviews[0]
    people = tuple(
        msgspec.structs.replace(person, topics=(*person.topics[:1], f"follow-up topic {round_}"))
        for person in interview.interviewers
    )
    return msgspec.structs.replace(
        record, interviews=(msgspec.structs.replace(interview, interviewers=people),)
    )


def plan(record: InterviewRecord) -> list[Task]:
    return plan_record(record, SETTINGS, NOW)


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Trial:
    kills: int = 0  # runs that died after a write had landed
    duplicates: int = 0  # items beyond one per planned task
    missing: int = 0  # planned tasks with no item
    failures: int = 0  # tasks the final, clean run could not write


def fault_trial(backend_name: str, directory: Path, seed: str) -> Trial:
    """A few runs that die at random after writes land, editing the record between some of
    them, then one clean run; counts what the destination ends up with against the plan."""
    rng = random.Random(seed)
    module = importlib.import_module(f"backends.{backend_name}")
    trial = Trial()
    with module.backend(directory) as remote:
        store = StateStore(directory / "state.db")
        record = onsite()
        for round_ in range(4):
            if rng.random() < 0.5:
                record = edit(record, round_)
            exporter = lossy(remote.make_exporter(), rng, loss=0.3)
            try:
                sync(plan(record), {record.id}, exporter, store)
            except Killed:
                trial.kills += 1
            finally:
                exporter.close()
        exporter = remote.make_exporter()
        try:
            report = sync(plan(record), {record.id}, exporter, store)
        finally:
            exporter.close()
            store.close()
        live = [task for task in plan(record) if task.status == "planned"]
        trial.duplicates = max(0, remote.live_count() - len(live))
        if not trial.duplicates:  # (some backends refuse to list duplicated keys)
            trial.missing = len({task.key for task in live} - set(remote.remote_items()))
        trial.failures = report.failed
        if not (trial.duplicates or trial.missing or trial.failures):
            assert_matches_plan(remote, plan(record))
    return trial


def test_lost_answers_kills_and_edits_never_duplicate_or_lose(
    backend_name: str, tmp_path: Path
) -> None:
    trials = [
        fault_trial(backend_name, tmp_path / f"t{number}", f"{backend_name}-{number}")
        for number in range(TRIALS[backend_name])
    ]
    assert sum(trial.kills for trial in trials) > 0, "the trials must kill some runs"
    found = [(trial.duplicates, trial.missing, trial.failures) for trial in trials]
    assert found == [(0, 0, 0)] * len(trials)


def test_an_unchanged_rerun_after_recovery_writes_nothing(
    backend_name: str, tmp_path: Path
) -> None:
    module = importlib.import_module(f"backends.{backend_name}")
    with module.backend(tmp_path) as remote:
        store = StateStore(tmp_path / "state.db")
        record = onsite()
        exporter = lossy(remote.make_exporter(), random.Random(1), loss=1.0)
        with pytest.raises(Killed):
            sync(plan(record), {record.id}, exporter, store)
        for _ in range(2):
            exporter = remote.make_exporter()
            sync(plan(record), {record.id}, exporter, store)
            exporter.close()
        writes = remote.write_requests()
        exporter = remote.make_exporter()
        report = sync(plan(record), {record.id}, exporter, store)
        exporter.close()
        assert (report.created, report.updated, report.cancelled) == (0, 0, 0)
        assert remote.write_requests() == writes
        store.close()


def test_a_lost_state_database_adopts_what_the_destination_has(
    backend_name: str, tmp_path: Path
) -> None:
    module = importlib.import_module(f"backends.{backend_name}")
    with module.backend(tmp_path) as remote:
        record = onsite()
        first = StateStore(tmp_path / "state.db")
        exporter = remote.make_exporter()
        sync(plan(record), {record.id}, exporter, first)
        exporter.close()
        first.close()
        (tmp_path / "state.db").unlink()
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"state.db{suffix}").unlink(missing_ok=True)

        fresh = StateStore(tmp_path / "state.db")
        exporter = remote.make_exporter()
        report = sync(plan(edit(record, 9)), {record.id}, exporter, fresh)
        exporter.close()
        assert report.ok
        assert_matches_plan(remote, plan(edit(record, 9)))
        fresh.close()

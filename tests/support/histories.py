"""The saved workflow histories the replay tests read (tests/histories/).

Histories at the top of that folder were recorded by releases before 2026-12-07; each later
release records into a folder of its own (`CRIER_RECORD_HISTORIES=<release>`), so that
re-recording never overwrites the promise made to runs an earlier release left in flight.
docs/operations.md ("Upgrading") says which histories were retired, and why."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory

FOLDER = Path(__file__).parent.parent / "histories"


def saved_histories() -> list[Path]:
    return sorted(FOLDER.glob("**/*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(str(path.relative_to(FOLDER)), path.read_text())


def name_of(path: Path) -> str:
    return str(path.relative_to(FOLDER).with_suffix(""))

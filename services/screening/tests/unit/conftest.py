"""Session fixtures: the shipped lists are parsed and indexed once per test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from stc_screening.domain.index import ScreeningIndex
from stc_screening.domain.lists import ListEntry
from stc_screening.importers.bundle import load_lists
from stc_screening.testing.evaluation import LabelledSets, build_labelled_sets

_REPO = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder (``STC_DATA_DIR`` or ``../shared/data`` next to the repo)."""
    path = Path(os.environ.get("STC_DATA_DIR", _REPO.parent / "shared" / "data"))
    if not (path / "lists").is_dir():
        pytest.fail(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def all_entries(data_dir: Path) -> list[ListEntry]:
    """Every entry of every shipped list."""
    return load_lists(data_dir)


@pytest.fixture(scope="session")
def labelled(all_entries: list[ListEntry]) -> LabelledSets:
    """The labelled positives, negatives and probe entries."""
    return build_labelled_sets(all_entries)


@pytest.fixture(scope="session")
def full_index(all_entries: list[ListEntry], labelled: LabelledSets) -> ScreeningIndex:
    """An index over every shipped list plus the synthetic evaluation probes."""
    return ScreeningIndex([*all_entries, *labelled.probes])

"""Which dataset version a pipeline adds new rows to (no TF): only "not a dataset version" falls
back to the pipeline's dataset; any other error stops instead of swapping the baseline."""

from __future__ import annotations

import pytest

from core.errors import NotFound
from core.pipelines.stages.ingest import base_dataset_version


class Events:
    def __init__(self):
        self.seen: list[tuple[str, str]] = []

    def event(self, message: str, level: str = "info") -> None:
        self.seen.append((message, level))


class Datasets:
    def __init__(self, versions: dict[str, str], broken: str = ""):
        self.versions, self.broken = versions, broken

    def get(self, ref: str) -> str:
        if ref == self.broken:
            raise OSError(f"manifest of {ref} unreadable")
        if ref not in self.versions:
            raise NotFound(f"{ref!r} is not a dataset id (expected name@vN)")
        return self.versions[ref]


def test_production_dataset_version_is_the_baseline():
    events = Events()
    got = base_dataset_version(
        Datasets({"iris@v2": "V2", "iris@v1": "V1"}), "iris@v2", "iris@v1", events
    )
    assert got == "V2" and events.seen == []


def test_production_trained_on_a_sample_falls_back_with_a_warning():
    events = Events()
    got = base_dataset_version(Datasets({"iris@v1": "V1"}), "sample:iris", "iris@v1", events)
    assert got == "V1"
    assert events.seen == [
        (
            "production was trained on 'sample:iris', not a dataset version: new rows are added "
            "to the pipeline's dataset 'iris@v1'",
            "warning",
        )
    ]


def test_an_unreadable_production_dataset_stops_instead_of_swapping():
    # Regression: a broad `except Exception` used to switch to the pipeline's dataset silently.
    events = Events()
    datasets = Datasets({"iris@v1": "V1", "iris@v2": "V2"}, broken="iris@v2")
    with pytest.raises(OSError, match="unreadable"):
        base_dataset_version(datasets, "iris@v2", "iris@v1", events)
    assert events.seen == []


def test_no_production_uses_the_pipeline_dataset():
    assert base_dataset_version(Datasets({"iris@v1": "V1"}), None, "iris@v1", Events()) == "V1"

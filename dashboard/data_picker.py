"""The data picker of the Train page: a dataset version, a bundled sample, or a new upload
(imported as a dataset version, so every run records its data's hash as lineage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st

from core.data.datasets import DatasetStore
from core.data.limits import UPLOAD_LIMIT_MB
from core.data.resolve import LoadedData, load_data
from core.data.samples import SAMPLES
from core.data.suggest import can_train, suggest_target
from core.errors import BadInput
from core.help import HELP
from core.spec_base import Spec
from dashboard.services import workspace

SOURCES = ("Dataset", "Bundled sample", "Upload a file")
S = TypeVar("S", bound=Spec)


@dataclass(frozen=True)
class PickedData:
    ref: str  # what a spec stores: sample:NAME or a dataset id (name@vN)
    label: str
    default_target: str = ""


@dataclass(frozen=True)
class PickedTable:
    """What the Train and Tune pages build their forms from."""

    picked: PickedData
    loaded: LoadedData  # a large table's columns and statistics only (its rows stay on disk)
    kind: str  # the dataset kind: table, timeseries, text, images
    columns: list[str]
    targets: list[str]  # what the target box offers ("label" for images)
    default_target: str

    def target_box(self, col, key: str) -> str:
        """The box for the column to predict; images have none to choose (the class is the
        folder), so theirs is disabled."""
        return col.selectbox(
            "Column to predict (target)",
            self.targets,
            index=self.targets.index(self.default_target),
            key=f"{key}-target",
            disabled=self.kind == "images",
            help=HELP["target"],
        )

    def target_name(self, target: str) -> str:
        """The target as a run's name says it ("label" for images)."""
        return "label" if self.kind == "images" else target

    def spec(self, spec_type: type[S], target: str, **fields: Any) -> S:
        """A spec of `spec_type` on the picked data; images have no target column (the class
        is the folder), so their spec stores none."""
        return spec_type(
            data=self.picked.ref, target="" if self.kind == "images" else target, **fields
        )


def pick_table(key: str) -> PickedTable:
    """The data picker, then the picked data's columns; stops the page (saying why) when
    nothing usable is picked."""
    picked = render_data_picker(key, preselect=st.query_params.get("data"))
    if picked is None:
        st.stop()
    try:
        loaded = load_data(picked.ref, workspace(), stream_large=True)
    except BadInput as exc:
        st.error(str(exc))
        st.stop()
    columns = list(map(str, loaded.frame.columns))
    kind = loaded.dataset.kind if loaded.dataset else "table"
    targets = ["label"] if kind == "images" else columns
    default = picked.default_target if picked.default_target in targets else targets[-1]
    return PickedTable(picked, loaded, kind, columns, targets, default)


def _trainable_index(datasets: DatasetStore, versions) -> int:
    """The newest version the Train page's defaults can train; else the newest."""
    newest_first = sorted(range(len(versions)), key=lambda i: -versions[i].created_at)
    for i in newest_first:
        v = versions[i]
        try:
            if can_train(v.kind, datasets.schema(v), datasets.profile(v)):
                return i
        except (OSError, ValueError, KeyError, TypeError):  # an unreadable version: skip it
            continue
    return newest_first[0]


def render_data_picker(key: str, preselect: str | None = None) -> PickedData | None:
    datasets = DatasetStore(workspace())
    versions = datasets.list_versions()
    ids = [v.id for v in versions]
    default = 0 if ids else 1
    if preselect and preselect.startswith("sample:"):
        default = 1
    source = st.radio("Data", SOURCES, horizontal=True, index=default, key=f"{key}-source")
    if source == "Dataset":
        if not ids:
            st.info("No datasets yet: pick a bundled sample, upload a file, or use the Data page.")
            return None
        index = ids.index(preselect) if preselect in ids else _trainable_index(datasets, versions)
        chosen = st.selectbox(
            "Dataset",
            ids,
            index=index,
            key=f"{key}-dataset",
            format_func=lambda i: f"{i} · {datasets.get(i).kind} · {datasets.get(i).rows:,} rows",
        )
        version = datasets.get(chosen)
        target = suggest_target(version.kind, datasets.schema(version), datasets.profile(version))
        return PickedData(chosen, chosen, target)
    if source == "Bundled sample":
        names = list(SAMPLES)
        wanted = (
            preselect[len("sample:") :] if preselect and preselect.startswith("sample:") else ""
        )
        name = st.selectbox(
            "Sample",
            names,
            key=f"{key}-sample",
            index=names.index(wanted) if wanted in names else 0,
            format_func=lambda n: f"{n} · {SAMPLES[n].task} · {SAMPLES[n].description}",
        )
        return PickedData(f"sample:{name}", f"sample {name}", SAMPLES[name].target)
    upload = st.file_uploader(
        "Table (CSV, TSV, Parquet, JSON Lines) or a zip of image class folders",
        type=["csv", "tsv", "txt", "parquet", "jsonl", "ndjson", "zip"],
        key=f"{key}-upload",
        help=f"Up to {UPLOAD_LIMIT_MB} MB. It becomes a dataset version (see the Data page).",
    )
    if upload is None:
        st.info(
            "Choose a file: a table with a header row (one column per feature plus the "
            "column to predict), or a zip with one folder of images per class."
        )
        return None
    try:
        version = datasets.import_file(upload.getvalue(), upload.name)
    except BadInput as exc:
        st.error(f"**{upload.name}** cannot be used: {exc}")
        return None
    target = suggest_target(version.kind, datasets.schema(version), datasets.profile(version))
    return PickedData(version.id, f"{upload.name} ({version.id})", target)

"""The data picker shared by the Data and Train pages: a bundled sample, an upload, or a file
uploaded earlier. Returns the data reference a spec takes (`sample:NAME` or a path)."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.data.samples import SAMPLES
from core.data.uploads import display_name, list_uploads, save_upload
from core.errors import BadInput
from dashboard.services import workspace

SOURCES = ("Bundled sample", "Upload a CSV", "Earlier upload")


@dataclass(frozen=True)
class PickedData:
    ref: str  # what a spec stores: sample:NAME or an absolute path
    label: str
    default_target: str = ""


def render_data_picker(key: str) -> PickedData | None:
    ws = workspace()
    source = st.radio("Data", SOURCES, horizontal=True, key=f"{key}-source")
    if source == SOURCES[0]:
        names = list(SAMPLES)
        name = st.selectbox(
            "Sample",
            names,
            key=f"{key}-sample",
            format_func=lambda n: f"{n} · {SAMPLES[n].task} · {SAMPLES[n].description}",
        )
        return PickedData(f"sample:{name}", f"sample {name}", SAMPLES[name].target)
    if source == SOURCES[1]:
        upload = st.file_uploader(
            "CSV file",
            type=["csv", "tsv", "txt"],
            key=f"{key}-upload",
            help="Up to 200 MB. Comma, semicolon, tab or pipe separated.",
        )
        if upload is None:
            st.info(
                "Choose a CSV file with a header row: one column per feature, plus the column "
                "to predict."
            )
            return None
        try:
            path = save_upload(ws, upload.name, upload.getvalue())
        except BadInput as exc:
            st.error(f"**{upload.name}** cannot be used: {exc}")
            return None
        return PickedData(str(path), upload.name)
    uploads = list_uploads(ws)
    if not uploads:
        st.info("No uploads yet: choose 'Upload a CSV' first.")
        return None
    path = st.selectbox("Earlier upload", uploads, format_func=display_name, key=f"{key}-earlier")
    return PickedData(str(path), display_name(path))

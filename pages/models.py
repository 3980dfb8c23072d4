"""Models: the catalog, with each entry's task, input, parameter count and hyperparameters."""

import pandas as pd
import streamlit as st

from core.models.backbones import cached_weights_file
from core.models.browse import SOURCES, browse
from core.models.catalog import list_entries
from core.models.inspect import cached_counts, nominal_input
from core.runs import launcher
from core.runs.status import RunStatus
from dashboard.services import store, workspace

st.title("Models")
st.caption(
    "Built-in architectures, and pretrained models from KerasHub, Keras Applications and TF Hub. "
    "Pretrained weights are downloaded once into the usual caches (KERAS_HOME, TFHUB_CACHE_DIR, "
    "KAGGLEHUB_CACHE) and used from there offline; with downloads off (TFSTUDIO_OFFLINE) a "
    "missing file stops the run at once, never with random weights."
)
counts = cached_counts(workspace())
pending = store().list_runs(kind="inspect", statuses={RunStatus.PENDING, RunStatus.RUNNING})
if not counts:
    if pending:
        st.info("Counting parameters in a worker… refresh in a minute.")
    elif st.button(
        "Count parameters",
        icon=":material/calculate:",
        help="Builds every model once in a worker process (about half a minute)",
    ):
        launcher.submit(workspace(), store(), {}, kind="inspect", name="count catalog parameters")
        st.rerun()

SOURCE_TITLES = {
    "kerashub": "KerasHub presets",
    "keras-app": "Keras Applications",
    "hub": "TF Hub / Kaggle",
}

st.subheader("Pretrained models")
left, mid, right = st.columns([1, 2, 1])
source = left.selectbox("Source", SOURCES, format_func=SOURCE_TITLES.get, key="models-source")
query = mid.text_input("Search", key="models-search", placeholder="e.g. bert tiny, mobilenet")
pre_task = right.selectbox(
    "Task", ["all", "image-classification", "text-classification", "other"], key="models-pre-task"
)
rows = browse(source, query, "" if pre_task == "all" else pre_task)
st.caption(
    f"{len(rows)} model(s). Pick a **model** name on the Train page to use it; "
    "sizes marked ≈ are estimated from the parameter count, the exact size is asked from the "
    "server and shown on the run before the download starts."
)
st.dataframe(
    pd.DataFrame(
        [
            {
                "model": r.model,
                "task": r.task,
                "parameters": r.params,
                "download": r.download,
                "cached here": r.cached,
                "licence": r.licence,
                "description": r.description,
                "trained here": "yes" if not r.trainable else f"no: {r.trainable}",
            }
            for r in rows
        ]
    ),
    hide_index=True,
    width="stretch",
    column_config={"parameters": st.column_config.NumberColumn(format="localized")},
)

st.subheader("Catalog")
task = st.selectbox(
    "Task",
    [
        "all",
        "classification",
        "regression",
        "forecasting",
        "image-classification",
        "text-classification",
    ],
    key="models-task",
)
entries = list_entries(None if task == "all" else task, handles=True)
summary = pd.DataFrame(
    [
        {
            "model": e.name,
            "title": e.title,
            "tasks": ", ".join(e.tasks),
            "input": e.input_kind,
            "parameters": counts.get(e.name),
        }
        for e in entries
    ]
)
st.dataframe(
    summary,
    hide_index=True,
    width="stretch",
    column_config={"parameters": st.column_config.NumberColumn(format="localized")},
)

for entry in entries:
    with st.container(border=True):
        st.markdown(f"**{entry.title}** · `{entry.name}`")
        st.markdown(entry.description)
        parts = [f"tasks: {', '.join(entry.tasks)}", f"input: {entry.input_kind}"]
        if entry.name in counts:
            parts.append(f"{counts[entry.name]:,} parameters at {nominal_input(entry.input_kind)}")
        if entry.name.startswith("keras-app:"):
            cached = cached_weights_file(entry.name.split(":", 1)[1], 224).is_file()
            parts.append(
                "ImageNet weights in the Keras cache"
                if cached
                else "ImageNet weights downloaded when a run starts (not cached yet)"
            )
        st.caption(" · ".join(parts))
        if entry.hyperparameters:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "hyperparameter": h.name,
                            "type": h.kind,
                            "default": str(h.default),
                            "range / choices": (
                                ", ".join(map(str, h.choices))
                                if h.choices
                                else f"{h.low} … {h.high}{' (log)' if h.log else ''}"
                            ),
                            "meaning": h.help,
                        }
                        for h in entry.hyperparameters
                    ]
                ),
                hide_index=True,
                width="stretch",
            )

"""Models: the catalog, with each entry's task, input, parameter count and hyperparameters."""

import pandas as pd
import streamlit as st

from core.models.backbones import cached_weights_file
from core.models.catalog import list_entries
from core.models.inspect import cached_counts, nominal_input
from core.runs import launcher
from core.runs.status import RunStatus
from dashboard.services import store, workspace

st.title("Models")
st.caption(
    "Built-in architectures, Keras Applications backbones, TF Hub handles and KerasHub presets. "
    "Pretrained weights are used only from local copies (a weights file, the Keras cache, a "
    "SavedModel or preset folder); a backbone without them trains from random initialisation "
    "and the run says so."
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
                else "no cached weights: random initialisation unless --weights"
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

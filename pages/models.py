"""Models: the catalog, with each entry's task, input and tunable hyperparameters."""

import pandas as pd
import streamlit as st

from core.models.catalog import list_entries

st.title("Models")
st.caption(
    "Every model the engine can build. Keras Applications, TF Hub and KerasHub entries "
    "join this catalog as the Models issue lands."
)
for entry in list_entries():
    with st.container(border=True):
        st.markdown(f"### {entry.title} · `{entry.name}`")
        st.markdown(entry.description)
        st.caption(f"Tasks: {', '.join(entry.tasks)} · input: {entry.input_kind}")
        hps = pd.DataFrame(
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
        )
        st.dataframe(hps, hide_index=True, width="stretch")

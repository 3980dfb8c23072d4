"""Compress: the Model Optimization toolkit (the Compression issue); not built yet."""

import streamlit as st

from dashboard.navigation import page_icon, page_path

st.title("Compress")
st.info(
    "**Coming next.** This page will quantize (dynamic range, float16, int8), prune, cluster and "
    "quantization-aware-train a run's model, and report size, accuracy and latency measured with "
    "the TFLite interpreter beside the float baseline. Today every training run already gives a "
    "float TFLite file on the Train and Export pages."
)
st.page_link(page_path("export"), label="Go to Export →", icon=page_icon("export"))

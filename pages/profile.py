"""Profile: TensorFlow Profiler traces read on the page (the Profiler issue); not built yet."""

import streamlit as st

from dashboard.navigation import page_icon, page_path

st.title("Profile")
st.info(
    "**Coming next.** This page will capture TensorFlow Profiler traces of a run's training steps "
    "or inference batches and show, offline, where each step's time goes: step-time breakdown, "
    "top operations, input-pipeline waits and a trace timeline, with recommendations."
)
st.page_link(page_path("runs"), label="See your runs →", icon=page_icon("runs"))

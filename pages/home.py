"""Home: what TF Studio does, the flow in a few lines, and where each step lives."""

import streamlit as st

from core.runs.status import RunStatus
from dashboard.components import status_label
from dashboard.demo_view import render_demo_banner
from dashboard.learn_view import learn_enabled, render_learn_path
from dashboard.navigation import page_icon, page_path
from dashboard.services import store

st.title("TF Studio")
st.markdown(
    "Take a TensorFlow model **from data to deployment** in your browser. Every long job runs in "
    "its own worker process, so you can close this tab or restart the app: the run carries on and "
    "its page finds it again."
)
render_demo_banner()  # only in a demo workspace (`make demo`)

STEPS = [
    (
        "data",
        "1 · Data",
        "Add a sample or upload tables, images, text or series; profile and validate them.",
    ),
    ("models", "2 · Models", "Browse the model catalog and its hyperparameters."),
    (
        "train",
        "3 · Train",
        "Choose the column to predict, train, watch the curves live, "
        "read the evaluation and download `.keras` / `.tflite`.",
    ),
    ("tune", "4 · Tune", "Search hyperparameters with KerasTuner or AutoKeras; resume, promote."),
    ("profile", "5 · Profile", "See where each training step's time goes, and what to try."),
    ("compress", "6 · Compress", "Quantize, prune and cluster, with honest numbers."),
    (
        "export",
        "7 · Export",
        "Keras, SavedModel, TFLite, TF.js and C arrays, each checked by its runtime; serve REST.",
    ),
    ("registry", "8 · Registry", "Model versions with lineage and stages; promote one."),
    ("pipelines", "9 · Pipelines", "Validate new data, retrain, compare and push; Kubeflow."),
    ("runs", "10 · Runs", "Every run, its status, curves, log and files."),
]
if learn_enabled():
    render_learn_path()
    st.divider()
left, right = st.columns(2)
for i, (page, title, text) in enumerate(STEPS):
    with (left if i % 2 == 0 else right).container(border=True):
        st.page_link(page_path(page), label=title, icon=page_icon(page))
        st.caption(text)

st.subheader("Recent runs")
runs = store().list_runs(limit=5)
if not runs:
    st.info("No runs yet. Start with **Train**: the iris sample trains in about ten seconds.")
for run in runs:
    st.markdown(f"{status_label(run.status)} **{run.name or run.kind}** · `{run.id}`")
if any(r.status is RunStatus.LOST for r in runs):
    st.caption("LOST means the worker process vanished (killed, or the machine restarted).")

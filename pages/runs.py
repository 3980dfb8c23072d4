"""Runs: every run in the workspace; pick one for its curves, events, files and log, try its
model, open its TensorBoard, or compare finished training runs side by side."""

import pandas as pd
import streamlit as st

from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from dashboard.compare import compare_panel
from dashboard.components import fmt_time, render_downloads
from dashboard.navigation import page_icon, page_path
from dashboard.playground import render_playground
from dashboard.run_view import render_log, render_run, render_training_result
from dashboard.services import store
from dashboard.tools_view import render_tensorboard_panel, render_tools_panel

st.title("Runs")
reconcile(store())
runs = store().list_runs(limit=500)
if not runs:
    st.info("No runs yet. Start one on the Train page.")
    st.page_link(page_path("train"), label="Go to Train →", icon=page_icon("train"))
    st.stop()

one_tab, compare_tab = st.tabs(["One run", "Compare"])

with compare_tab:
    compare_panel(key="compare")

with one_tab:
    table = pd.DataFrame(
        [
            {
                "run": r.id,
                "name": r.name,
                "kind": r.kind,
                "status": r.status.value,
                "progress": r.fraction
                if r.status.is_active
                else (1.0 if r.status.value == "SUCCEEDED" else None),
                "created": fmt_time(r.created_at),
                "error": r.error or "",
            }
            for r in runs
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=1)
        },
    )

    ids = [r.id for r in runs]
    wanted = st.query_params.get("run")
    index = ids.index(wanted) if wanted in ids else 0
    chosen = st.selectbox(
        "Run",
        ids,
        index=index,
        key="runs-pick",
        format_func=lambda i: f"{i} · {next(r.name for r in runs if r.id == i)}",
    )
    if chosen != wanted:
        st.query_params["run"] = chosen
    run = store().get_run(chosen)

    def finished_train(run) -> None:
        render_training_result(run)
        if run.status is RunStatus.SUCCEEDED:
            render_playground(run, key="runs-play")

    render_run(chosen, key="runs", finished=finished_train if run.kind == "train" else None)
    if run.kind == "train":
        render_tensorboard_panel(run, key="runs-tb")
    if run.kind == "export" and run.result:
        st.json(run.result)
        render_downloads(
            store().get_artifacts(run.id),
            ["model.keras", "model.tflite", "savedmodel.zip"],
            key=f"runs-{run.id}",
        )
    if run.kind == "predict" and run.result:
        st.json(run.result)
    with st.expander("Spec"):
        st.json(run.spec)
    events = store().get_events(run.id)
    if events:
        with st.expander(f"Events ({len(events)})"):
            for e in events:
                flag = ":orange[warning] " if e.level == "warning" else ""
                st.markdown(f"`{fmt_time(e.ts)}` {flag}{e.message}")
    render_log(run)
    render_tools_panel(key="runs-tools")

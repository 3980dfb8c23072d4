"""Runs: every run in the workspace; pick one for its curves, events, files and log, try its
model, open its TensorBoard, or compare finished training runs side by side."""

import pandas as pd
import streamlit as st

from core.errors import NotFound
from core.report.model import relative_paths
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from dashboard.batch_view import render_batch_predict
from dashboard.compare import compare_panel
from dashboard.components import fmt_time, render_downloads
from dashboard.navigation import page_icon, page_path
from dashboard.playground import render_playground
from dashboard.run_summary import render_raw_result, render_run_summary
from dashboard.run_view import render_log, render_run, render_training_result
from dashboard.services import store, workspace
from dashboard.tools_view import render_tensorboard_panel, render_tools_panel

st.title("Runs")


def render_store_banner() -> None:
    """A damaged store, or run folders it lacks, in a banner with a repair button (the check is
    one id query and one folder listing). A damaged store stops the page: nothing else can load."""
    import os

    from core.runs import doctor
    from core.workspace import Workspace

    ws = Workspace.resolve(os.environ.get("TFSTUDIO_HOME"))
    problem = doctor.quick_check(ws)
    if problem is None:
        return
    st.error(problem, icon="🩺")
    if st.button("Repair: rebuild the store from the run folders", key="runs-repair"):
        try:
            report = doctor.repair(ws)
        except Exception as exc:  # read-only and the like: the message says what to do
            st.error(str(exc))
            st.stop()
        st.cache_resource.clear()  # the cached store points at the old file
        st.toast("; ".join(report.repaired))
        st.rerun()
    if "damaged" in problem:
        st.stop()


render_store_banner()
reconcile(store())
# The list is paged (newest first, PAGE_SIZE a page) so a workspace with thousands of runs opens
# as fast as one with ten: one indexed query for the page, one count.
PAGE_SIZE = 50
total = store().count_runs()
if not total:
    st.info("No runs yet. Start one on the Train page.")
    st.page_link(page_path("train"), label="Go to Train →", icon=page_icon("train"))
    st.stop()

one_tab, compare_tab = st.tabs(["One run", "Compare"])

with compare_tab:
    compare_panel(key="compare")

with one_tab:
    pages = -(-total // PAGE_SIZE)
    page_no = (
        int(
            st.number_input(
                f"Page (of {pages}; {total} runs, newest first)",
                min_value=1,
                max_value=pages,
                value=1,
                key="runs-page",
            )
        )
        if pages > 1
        else 1
    )
    runs = store().list_runs(limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
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

    names = {r.id: r.name for r in runs}
    wanted = st.query_params.get("run")
    if wanted and wanted not in names:  # a link to a run on another page still opens it
        try:
            names = {wanted: store().get_run(wanted).name, **names}
        except NotFound:
            pass
    ids = list(names)
    index = ids.index(wanted) if wanted in ids else 0
    chosen = st.selectbox(
        "Run",
        ids,
        index=index,
        key="runs-pick",
        format_func=lambda i: f"{i} · {names[i]}",
    )
    if chosen != wanted:
        st.query_params["run"] = chosen
    run = store().get_run(chosen)

    def finished(run) -> None:
        render_run_summary(run, key="runs")
        if run.kind == "train":
            render_training_result(run)
            if run.status is RunStatus.SUCCEEDED:
                render_playground(run, key="runs-play")
                render_batch_predict(run, key="runs-batch")

    render_run(chosen, key="runs", finished=finished)
    if run.kind == "train":
        render_tensorboard_panel(run, key="runs-tb")
    if run.kind == "export" and run.result:
        render_downloads(
            store().get_artifacts(run.id),
            ["model.keras", "model.tflite", "savedmodel.zip"],
            key=f"runs-{run.id}",
        )
    render_raw_result(run)
    with st.expander("Spec"):
        st.json(relative_paths(run.spec, workspace().root), expanded=False)
    events = store().get_events(run.id)
    if events:
        with st.expander(f"Events ({len(events)})"):
            for e in events:
                flag = ":orange[warning] " if e.level == "warning" else ""
                st.markdown(f"`{fmt_time(e.ts)}` {flag}{e.message}")
    render_log(run)
    render_tools_panel(key="runs-tools")

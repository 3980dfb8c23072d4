"""A run on the page: live while it is active (a polling fragment), complete once it ends."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.errors import NotFound
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from core.runs.store import MetricPoint, Run
from dashboard.components import (
    fmt_bytes,
    read_json_artifact,
    render_curves,
    render_downloads,
    render_evaluation,
    render_run_header,
    tail_text,
)
from dashboard.navigation import page_icon, page_path
from dashboard.progress import POLL_S
from dashboard.services import store


def new_metric_points(run_id: str) -> list[MetricPoint]:
    """All points of a run, fetching from the store only those newer than the last poll."""
    cache = st.session_state.setdefault(f"metrics:{run_id}", {"after": 0, "points": []})
    page = store().get_metrics(run_id, after=cache["after"])
    cache["points"].extend(page.points)
    cache["after"] = page.next_after
    return cache["points"]


def finished_training_runs(then: str = "") -> list[Run]:
    """The succeeded training runs, newest first, for a page that works on one; with none, says
    so (`then`: what to do after training), links to the Train page and stops the page."""
    trained = store().list_runs(kind="train", statuses={RunStatus.SUCCEEDED})
    if not trained:
        st.info(f"No finished training run yet: train a model first{then}.")
        st.page_link(page_path("train"), label="Go to Train →", icon=page_icon("train"))
        st.stop()
    return trained


def render_cancel_button(
    run: Run,
    key: str,
    label: str = "Cancel run",
    help: str = "Stops at the next epoch boundary; forced after a grace period.",
) -> None:
    if run.status.is_active and not run.cancel_requested_at:
        if st.button(label, icon=":material/stop:", key=f"{key}-cancel-{run.id}", help=help):
            store().request_cancel(run.id)
            st.rerun()


def render_run(run_id: str, key: str, finished: Callable[[Run], None] | None = None) -> None:
    """Show a run; while it is active the panel polls the store every second."""
    try:
        run = store().get_run(run_id)
    except NotFound:
        st.warning(f"There is no run {run_id} in this workspace.")
        return
    if run.status.is_active:
        _live(run_id, key)
    else:
        render_run_header(run)
        if run.kind == "train":
            render_curves(new_metric_points(run_id), key=f"{key}-{run_id}")
        if finished:
            finished(run)


def live_run(run_id: str) -> Run:
    """The run as a polling fragment reads it: lost workers reconciled first; once the run has
    finished, the whole page is redrawn (once) in its finished form instead."""
    reconcile(store())
    run = store().get_run(run_id)
    if run.status.is_finalized:
        st.rerun()
    return run


@st.fragment(run_every=POLL_S)
def _live(run_id: str, key: str) -> None:
    run = live_run(run_id)
    render_run_header(run)
    render_cancel_button(run, key)
    if run.kind == "train":
        render_curves(new_metric_points(run_id), key=f"{key}-{run_id}-live")


def render_training_result(run: Run) -> None:
    artifacts = store().get_artifacts(run.id)
    evaluation = read_json_artifact(artifacts, "evaluation.json")
    result = run.result or {}
    if evaluation:
        st.subheader("Evaluation on the held-out test split")
        render_evaluation(evaluation, key=run.id)
    for warning in result.get("warnings", []):
        st.warning(warning)
    if result.get("parameters"):
        facts = [f"model **{result.get('model', '')}**", f"{result['parameters']:,} parameters"]
        if result.get("model_bytes"):
            facts.append(f"{fmt_bytes(result['model_bytes'])} as .keras")
        if result.get("backbone_weights"):
            facts.append(f"backbone weights: {result['backbone_weights']}")
        strategy = result.get("strategy") or {}
        if strategy.get("name", "default") != "default":
            facts.append(f"{strategy['name']} strategy, {strategy['replicas']} replicas")
        st.caption(" · ".join(facts))
    if "model_summary.txt" in artifacts:
        with st.expander("Model summary"):
            st.code(tail_text(artifacts["model_summary.txt"].path, 200), language="text")
    if run.result:
        st.subheader("Download")
        parity = result.get("tflite_parity", {})
        if parity:
            agree = (
                f", same class on {parity['agreement']:.0%} of rows"
                if "agreement" in parity
                else ""
            )
            st.caption(
                f"The TFLite file was run with the LiteRT interpreter on {parity['rows']} "
                f"test rows: max |difference| from Keras {parity['max_abs_diff']:.2g}{agree}."
            )
        render_downloads(
            artifacts,
            ["model.keras", "model.tflite", "preprocessing.keras", "features.json"],
            key=run.id,
        )


def render_log(run: Run) -> None:
    artifacts = store().get_artifacts(run.id)
    if "log" in artifacts:
        with st.expander("Worker log"):
            st.code(tail_text(artifacts["log"].path) or "(empty)", language="text")

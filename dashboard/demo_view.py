"""The demo story's banner on the Home page: "demo story: 3 of 4 ready", each run linked, live
while the story runs (core.demo). Reads the store only; no TensorFlow."""

from __future__ import annotations

import streamlit as st

from core.demo import StoryProgress, story_progress
from core.errors import BadInput
from core.report.collect import build_report
from core.runs.status import RunStatus
from core.runs.store import Run
from dashboard.components import status_label
from dashboard.navigation import page_icon, page_path
from dashboard.services import store, workspace

# What each of the story's runs shows a stakeholder, by kind.
ROLE = {
    "train": "a trained model (curves, test metrics, confusion matrix)",
    "compress": "its int8 variant: smaller file, accuracy kept",
    "export": "its exports: TFLite, SavedModel for TF Serving, TF.js checked in a browser",
    "tune": "a hyperparameter search (KerasTuner, random search)",
}


def one_line(run: Run) -> str:
    """The finished run's result in its report's own words (from its numbers): the test score
    of the model, the TF.js check of the export, the first sentence otherwise."""
    try:
        report = build_report(workspace(), store(), run.id)
    except BadInput:
        return ""
    sections = [s for s in report.sections if s.primary and s.notes]
    if run.kind == "train":
        sections = [s for s in sections if s.title.endswith("Test results")] or sections
    notes = [n for s in sections for n in s.notes]
    if run.kind == "export":
        notes = [n for n in notes if n.startswith("TF.js")] or notes
    return notes[0] if notes else ""


def banner_text(progress: StoryProgress) -> str:
    return f"demo story: {progress.ready} of {progress.total} ready"


def _render(progress: StoryProgress) -> None:
    box = st.success if progress.ended and not progress.failed else st.info
    if progress.failed:
        box = st.warning
    with st.container(border=True):
        box(banner_text(progress), icon=":material/slideshow:")
        for run in progress.runs:
            line = f"{status_label(run.status)} {ROLE.get(run.kind, run.kind)}"
            if run.status.is_active and run.message:
                line += f" · *{run.message}*"
            elif run.status is RunStatus.SUCCEEDED and (said := one_line(run)):
                line += f"  \n{said[:1].upper()}{said[1:]}"
            elif run.status is not RunStatus.SUCCEEDED and run.error:
                line += f" · {run.error}"
            left, right = st.columns([4, 1])
            left.markdown(line)
            if run.status.is_finalized:
                right.page_link(
                    page_path("runs"),
                    label="Open",
                    icon=page_icon("runs"),
                    query_params={"run": run.id},
                    help="The run's page: its summary and its report (HTML, PDF)",
                )
        if not progress.ended:
            st.caption(
                "One process runs the story's jobs in order (TensorFlow imported once); each "
                "run appears here as it finishes. You can use the app meanwhile."
            )


@st.fragment(run_every=2)
def _live() -> None:
    progress = story_progress(workspace(), store())
    if progress is None:
        return
    _render(progress)
    if progress.ended:
        st.rerun()  # the whole page: recent runs, learn path


def render_demo_banner() -> None:
    """Nothing outside a demo workspace; a live banner while the story runs, then a still one."""
    progress = story_progress(workspace(), store())
    if progress is None:
        return
    if progress.ended:
        _render(progress)
    else:
        _live()

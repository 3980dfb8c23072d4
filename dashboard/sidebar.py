"""The sidebar on every page: runs in progress, polled as often as the run panel and worded
the same (dashboard.progress), so the two agree."""

from __future__ import annotations

import time

import streamlit as st

from core.errors import StoreDamaged
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from dashboard.progress import POLL_S, progress_text
from dashboard.services import keep_warm_worker, store, workspace

WARM_CHECK_S = 5.0  # how often the sidebar checks that a warm worker is ready (cheap, not free)
_last_warm_check = [0.0]


@st.fragment(run_every=POLL_S)
def render_active_runs() -> None:
    st.markdown("**Active runs**")
    try:
        s = store()
        reconcile(s)
        active = s.list_runs(statuses={RunStatus.PENDING, RunStatus.RUNNING}, limit=10)
        if not active and time.time() - _last_warm_check[0] > WARM_CHECK_S:
            _last_warm_check[0] = time.time()
            keep_warm_worker(workspace(), s)  # replaces a warm worker that died or retired
    except StoreDamaged:
        st.caption("The run store is damaged: the Runs page repairs it.")
        return
    if not active:
        st.caption("None right now.")
        return
    for run in active:
        st.markdown(f"[{run.name or run.kind}](/runs?run={run.id})  \n`{run.id}`")
        st.progress(run.fraction, text=progress_text(run))

"""The sidebar on every page: runs in progress, refreshed every few seconds."""

from __future__ import annotations

import streamlit as st

from core.errors import StoreDamaged
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from dashboard.services import store


@st.fragment(run_every=3)
def render_active_runs() -> None:
    st.markdown("**Active runs**")
    try:
        s = store()
        reconcile(s)
        active = s.list_runs(statuses={RunStatus.PENDING, RunStatus.RUNNING}, limit=10)
    except StoreDamaged:
        st.caption("The run store is damaged: the Runs page repairs it.")
        return
    if not active:
        st.caption("None right now.")
        return
    for run in active:
        st.markdown(f"[{run.name or run.kind}](/runs?run={run.id})  \n`{run.id}`")
        st.progress(run.fraction, text=run.phase or run.status.value.lower())

"""TensorBoard on demand: start a local TensorBoard on a run's log folder, link to it, stop it.

The server is a separate detached process (`core.runs.tools`); this process never imports
TensorFlow or TensorBoard.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.runs.store import Run
from core.runs.tools import ToolError, find_tool, list_tools, start_tool, stop_tool
from dashboard.services import workspace

TENSORBOARD = "tensorboard"
LOG_FOLDER = "tensorboard"
# TensorBoard imports TensorFlow at start: 15-25 s on a small machine, so wait longer than the
# default 30 s before calling it failed.
START_TIMEOUT_S = 60.0


def tensorboard_logdir(run: Run) -> Path:
    return workspace().run_dir(run.id) / LOG_FOLDER


def render_tensorboard_panel(run: Run, key: str = "tb") -> None:
    """ "Open TensorBoard" for a run with a TensorBoard log folder; a link and "Stop" once it
    runs. Nothing for runs without logs."""
    logdir = tensorboard_logdir(run)
    if not logdir.is_dir():
        return
    ws = workspace()
    running = find_tool(ws, TENSORBOARD, logdir)
    k = f"{key}-{run.id}"
    if running is None:
        if st.button(
            "Open TensorBoard",
            icon=":material/monitoring:",
            key=f"{k}-open",
            help="Starts TensorBoard on this run's logs, on this machine only (127.0.0.1).",
        ):
            with st.spinner("Starting TensorBoard (this takes about 15 s)…"):
                try:
                    start_tool(ws, TENSORBOARD, logdir, timeout_s=START_TIMEOUT_S)
                except ToolError as exc:
                    st.error(f"TensorBoard did not start: {exc}")
                    return
            st.rerun()
        return
    left, right, _ = st.columns([2, 1, 4])
    left.link_button("TensorBoard ↗", running.url, icon=":material/monitoring:", width="stretch")
    if right.button("Stop", icon=":material/stop:", key=f"{k}-stop", width="stretch"):
        stop_tool(ws, running.pid)
        st.rerun()
    st.caption(f"TensorBoard runs on {running.url} (pid {running.pid}) for this run's logs.")


def render_tools_panel(key: str = "tools") -> None:
    """Every tool server running for this workspace, each with a Stop button."""
    tools = list_tools(workspace())
    if not tools:
        return
    with st.expander(f"Tool servers running ({len(tools)})"):
        for t in tools:
            left, right = st.columns([4, 1])
            left.markdown(f"**{t.name}** · [{t.url}]({t.url}) · pid {t.pid}  \n`{t.logdir}`")
            if right.button("Stop", key=f"{key}-stop-{t.pid}", width="stretch"):
                stop_tool(workspace(), t.pid)
                st.rerun()

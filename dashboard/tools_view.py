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
    render_tool_panel(
        TENSORBOARD,
        logdir,
        f"{key}-{run.id}",
        START_TIMEOUT_S,
        open_label="Open TensorBoard",
        icon=":material/monitoring:",
        open_help="Starts TensorBoard on this run's logs, on this machine only (127.0.0.1).",
        spinner="Starting TensorBoard (this takes about 15 s)…",
        failed="TensorBoard did not start",
        link_label="TensorBoard ↗",
        caption="TensorBoard runs on {url} (pid {pid}) for this run's logs.",
    )


def render_tool_panel(
    tool: str,
    logdir: Path,
    key: str,
    timeout_s: float,
    *,
    open_label: str,
    icon: str,
    open_help: str,
    spinner: str,
    failed: str,
    link_label: str,
    caption: str,
    url_suffix: str = "",
) -> None:
    """A local tool on `logdir`, started on demand: its start button, or once it runs a link
    to it, "Stop" and `caption` (formatted with its `url` and `pid`)."""
    ws = workspace()
    running = find_tool(ws, tool, logdir)
    if running is None:
        if st.button(open_label, icon=icon, key=f"{key}-open", help=open_help):
            with st.spinner(spinner):
                try:
                    start_tool(ws, tool, logdir, timeout_s=timeout_s)
                except ToolError as exc:
                    st.error(f"{failed}: {exc}")
                    return
            st.rerun()
        return
    url = f"{running.url}{url_suffix}"
    left, right, _ = st.columns([2, 1, 4])
    left.link_button(link_label, url, icon=icon, width="stretch")
    if right.button("Stop", icon=":material/stop:", key=f"{key}-stop", width="stretch"):
        stop_tool(ws, running.pid)
        st.rerun()
    st.caption(caption.format(url=url, pid=running.pid))


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

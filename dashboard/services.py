"""Shared services for every page: the workspace and the run store, created once per server.

The first call also reconciles the store (RUNNING runs whose worker is gone become LOST), so a
restarted server shows the truth at once.
"""

from __future__ import annotations

import streamlit as st

from core.runs.recovery import reconcile
from core.runs.store import RunStore
from core.workspace import Workspace


@st.cache_resource
def _services(home: str | None) -> tuple[Workspace, RunStore]:
    ws = Workspace.resolve(home)
    store = RunStore(ws.db_path)
    reconcile(store)
    return ws, store


def services() -> tuple[Workspace, RunStore]:
    import os

    return _services(os.environ.get("TFSTUDIO_HOME"))


def workspace() -> Workspace:
    return services()[0]


def store() -> RunStore:
    return services()[1]

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
def _workspace(home: str | None) -> Workspace:
    return Workspace.resolve(home)


@st.cache_resource
def _store(home: str | None) -> RunStore:
    # A damaged store raises StoreDamaged here (not cached): the Runs page offers the repair,
    # and pages that need only the workspace still open.
    store = RunStore(_workspace(home).db_path)
    reconcile(store)
    return store


def _home() -> str | None:
    import os

    return os.environ.get("TFSTUDIO_HOME")


def services() -> tuple[Workspace, RunStore]:
    return workspace(), store()


def workspace() -> Workspace:
    return _workspace(_home())


def store() -> RunStore:
    return _store(_home())

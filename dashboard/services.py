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
    keep_warm_worker(_workspace(home), store)
    return store


def keep_warm_worker(ws: Workspace, store: RunStore) -> None:
    """Have a worker with TensorFlow imported ready for the next job when the app runs with warm
    workers on (`tfstudio app` does) and no job is running; replaces one that died."""
    from core.runs import launcher, warm

    env = launcher.worker_env(ws)
    if warm.wanted(env, ws.root):
        warm.ensure(ws.root, env, store)


def _home() -> str | None:
    import os

    return os.environ.get("TFSTUDIO_HOME")


def services() -> tuple[Workspace, RunStore]:
    return workspace(), store()


def workspace() -> Workspace:
    return _workspace(_home())


def store() -> RunStore:
    return _store(_home())

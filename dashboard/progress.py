"""How often live views poll the store, and the one line that says where a run is.

The run panel and the sidebar both use these, so the sidebar's active runs say what the page
says, refreshed at the same pace. Light on purpose (no plotly, no pandas): every page draws the
sidebar first.
"""

from __future__ import annotations

from core.runs.store import Run

POLL_S = 1.0  # seconds between polls of an active run (page panel and sidebar)


def progress_text(run: Run) -> str:
    """'training · epoch 3/8 · val_loss 0.41', or the status while the worker has said nothing."""
    phase = run.phase or ("starting" if run.status.is_active else run.status.value.lower())
    return f"{phase} · {run.message}" if run.message else phase

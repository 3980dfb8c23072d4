"""Import what the pages import, once per server, in a background thread after the first page.

A page's first visit otherwise pays its imports (scikit-learn through the training pre-check,
pandas, plotly): measured here, the Train page's first visit took 5.2 s against 0.6 s later
(benchmarks/README.md, page render times). The list is read from the page scripts themselves,
so it stays current. No TensorFlow: the pages never import it (tests/test_pages.py checks).
"""

from __future__ import annotations

import ast
import importlib
import threading

import streamlit as st

from dashboard.navigation import PAGES, page_path

# Imported inside functions that pages call while drawing (the Train page's pre-check splits the
# table with scikit-learn), so the page scripts' own import lines do not name them.
LATER_IMPORTS = ("sklearn.model_selection", "plotly.express")


def page_imports() -> list[str]:
    """Every module the page scripts import at their top level, in page order."""
    names: list[str] = []
    for name in PAGES:
        tree = ast.parse(page_path(name).read_text())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
            elif isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
    return [n for n in dict.fromkeys([*names, *LATER_IMPORTS]) if n != "__future__"]


def _import_all(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - the page itself reports a broken import when it runs
            continue


@st.cache_resource
def start_preload() -> threading.Thread:
    """Start the import thread once per server process; later calls return the same thread."""
    thread = threading.Thread(
        target=_import_all, args=(page_imports(),), name="tfstudio-preload", daemon=True
    )
    thread.start()
    return thread

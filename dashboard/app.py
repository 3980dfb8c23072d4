"""TF Studio's Streamlit entry point: navigation, the active-runs sidebar, then the chosen page.

Run it with `tfstudio app` (or `streamlit run dashboard/app.py` from the repository root).
"""

from __future__ import annotations

import streamlit as st

from core.errors import StoreDamaged
from dashboard.learn_view import render_learn_card, render_learn_sidebar
from dashboard.navigation import PAGES, page_path
from dashboard.preload import start_preload
from dashboard.sidebar import render_active_runs

st.set_page_config(page_title="TF Studio", page_icon=":material/neurology:", layout="wide")

page = st.navigation(
    [
        st.Page(page_path(name), title=title, icon=icon, default=(name == "home"))
        for name, (title, icon) in PAGES.items()
    ]
)
with st.sidebar:
    try:
        render_learn_sidebar()
        render_active_runs()
    except StoreDamaged:  # the page below says what happened and where to repair it
        st.caption("The run store is damaged.")
try:
    render_learn_card(next((n for n, (t, _) in PAGES.items() if t == page.title), ""))
except StoreDamaged:
    pass  # the page says so (the Runs page offers the repair)
try:
    page.run()
except StoreDamaged as exc:  # any page: say so once, and send the user to the repair
    st.error(f"{exc.finding}: repair it on the Runs page.")
    st.page_link(page_path("runs"), label="Repair on the Runs page →")
start_preload()  # after the first page is drawn: the other pages' imports, in the background

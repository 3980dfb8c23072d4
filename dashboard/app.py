"""TF Studio's Streamlit entry point: navigation, the active-runs sidebar, then the chosen page.

Run it with `tfstudio app` (or `streamlit run dashboard/app.py` from the repository root).
"""

from __future__ import annotations

import streamlit as st

from dashboard.learn_view import render_learn_card, render_learn_sidebar
from dashboard.navigation import PAGES, page_path
from dashboard.sidebar import render_active_runs

st.set_page_config(page_title="TF Studio", page_icon=":material/neurology:", layout="wide")

page = st.navigation(
    [
        st.Page(page_path(name), title=title, icon=icon, default=(name == "home"))
        for name, (title, icon) in PAGES.items()
    ]
)
with st.sidebar:
    render_learn_sidebar()
    render_active_runs()
render_learn_card(next((n for n, (t, _) in PAGES.items() if t == page.title), ""))
page.run()

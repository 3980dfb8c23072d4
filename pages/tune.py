"""Tune: KerasTuner and AutoKeras searches (the Tuning issue); not built yet, said plainly."""

import streamlit as st

from dashboard.navigation import page_icon, page_path

st.title("Tune")
st.info(
    "**Coming next.** This page will run KerasTuner searches (random, grid, Hyperband, Bayesian) "
    "and AutoKeras over any catalog model, with a live trial table, best-so-far curve and "
    "hyperparameter importance, and resume after a crash. Until then, train single models on the "
    "Train page."
)
st.page_link(page_path("train"), label="Go to Train →", icon=page_icon("train"))

"""The network beside the baselines a practitioner tries first (core/training/baselines.py):
one plain sentence, and each model's score on the same test rows with its 95% interval."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from core.training.baselines import metric_label


def render_baselines(comparison: dict[str, Any] | None, key: str = "") -> None:
    if not comparison:
        return
    if comparison.get("chance_warning"):
        st.warning(f"This model is at chance: {comparison['chance_warning']}.")
    if "network" not in comparison or not comparison.get("baselines"):
        return
    verdict = comparison.get("verdict")
    text = comparison.get("sentence", "")
    if verdict == "network":
        st.success(text)
    elif verdict == "tie":
        st.info(text)
    else:
        st.warning(text)
    names = ["this network", *comparison["baselines"]]
    scores = [comparison["network"], *comparison["baselines"].values()]
    values = [s["value"] for s in scores]
    fig = go.Figure(
        go.Scatter(
            x=values,
            y=names,
            mode="markers",
            marker=dict(size=12, color=["#E8710A"] + ["#5F6368"] * (len(names) - 1)),
            error_x=dict(
                type="data",
                symmetric=False,
                array=[s["high"] - s["value"] for s in scores],
                arrayminus=[s["value"] - s["low"] for s in scores],
            ),
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    label = metric_label(comparison)
    fig.update_layout(
        title=f"Test {label}, same {comparison['test_rows']} rows, 95% intervals",
        height=120 + 40 * len(names),
        margin=dict(l=10, r=10, t=50, b=10),
        yaxis_autorange="reversed",
    )
    st.plotly_chart(fig, width="stretch", key=f"{key}-baselines")
    if comparison.get("note"):
        st.caption(comparison["note"])
    for name, why in comparison.get("failed", {}).items():
        st.caption(f"{name} could not be fitted: {why}")

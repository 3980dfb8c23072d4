"""The Tune page's charts and tables over a search's trials: table, curves, importance, failures."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.tuning import analytics as an

STATUS_TEXT = {
    "RUNNING": "running",
    "COMPLETED": "completed",
    "FAILED": "failed",
    "INVALID": "invalid",
    "STOPPED": "interrupted",
}


def hp_text(hps: dict[str, Any], bold: bool = True) -> str:
    """`name = value · ...` with short names (AutoKeras' long paths) and rounded floats."""
    short = an.short_names(list(hps))
    mark = "**" if bold else ""
    return " · ".join(f"{short[k]} = {mark}{an.fmt_value(v)}{mark}" for k, v in hps.items())


def render_trial_table(trials, space, best, key: str) -> None:
    frame = an.trial_frame(trials, space)
    best_id = best.get("trial_id") if best else None
    frame.insert(0, "best", frame["trial_id"].map(lambda i: "★" if i == best_id else ""))
    frame["status"] = frame["status"].map(lambda s: STATUS_TEXT.get(s, s))
    frame["checkpoint_kept"] = frame["checkpoint_kept"].map(lambda k: "kept" if k else "")
    frame = frame.drop(columns=["error"])
    for col in frame.columns:  # mixed hyperparameter values (a choice of widths) as text
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: "—" if v is None else str(v))
    names = an.hp_names(trials, space)
    short = an.short_names(names)
    labels = {
        an.hp_column(n): st.column_config.Column(short[n], help=n) for n in names if short[n] != n
    }
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key=f"{key}-trials",
        column_config={
            **labels,
            "best": st.column_config.TextColumn("", width="small"),
            "trial": st.column_config.NumberColumn("#", width="small"),
            "trial_id": st.column_config.TextColumn("trial id"),
            "score": st.column_config.NumberColumn("score", format="%.4f"),
            "duration_s": st.column_config.NumberColumn("duration", format="%.1f s"),
            "checkpoint_kept": st.column_config.TextColumn("checkpoint"),
        },
    )


def render_best_so_far(trials, direction: str, objective: str, key: str) -> None:
    curve = an.best_so_far(trials, direction)
    if curve.empty:
        st.caption("The best-so-far curve starts with the first completed trial.")
        return
    fig = go.Figure()
    fig.add_scatter(
        x=curve["completed"],
        y=curve["score"],
        mode="markers",
        name="trial score",
        marker=dict(color="#9AA0A6", size=8),
        customdata=curve["trial"],
        hovertemplate="trial #%{customdata}<br>score %{y:.4g}<extra></extra>",
    )
    fig.add_scatter(
        x=curve["completed"],
        y=curve["best"],
        mode="lines",
        line=dict(color="#1967D2", width=3, shape="hv"),
        name="best so far",
    )
    st.markdown(f"**Best {objective} so far** ({direction})")
    fig.update_layout(
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title="completed trials",
        yaxis_title=objective,
        legend=dict(orientation="h", y=-0.25),
    )
    if len(curve) <= 20:
        fig.update_xaxes(dtick=1)
    st.plotly_chart(fig, width="stretch", key=f"{key}-best-so-far")


def render_parallel(trials, space, objective: str, direction: str, key: str) -> None:
    frame, dims = an.parallel_frame(trials, space)
    if len(frame) < 2 or len(dims) < 2:
        st.caption("Parallel coordinates appear after two completed trials.")
        return
    dimensions = []
    for d in dims:
        dim: dict[str, Any] = {"label": d["label"], "values": d["values"]}
        if "ticktext" in d:
            dim.update(tickvals=d["tickvals"], ticktext=d["ticktext"])
            if len(d["tickvals"]) == 1:
                dim["range"] = [-0.5, 0.5]
        dimensions.append(dim)
    fig = go.Figure(
        go.Parcoords(
            line=dict(
                color=frame["score"],
                colorscale="Viridis",
                reversescale=direction == "min",  # the better end is always yellow
                showscale=True,
                colorbar=dict(title=objective),
            ),
            dimensions=dimensions,
        )
    )
    fig.update_layout(height=360, margin=dict(l=60, r=60, t=50, b=20))
    st.markdown(f"**Hyperparameters of the completed trials, coloured by {objective}**")
    st.plotly_chart(fig, width="stretch", key=f"{key}-parallel")


@st.cache_data(show_spinner=False, max_entries=64)
def _importance(payload: str) -> pd.DataFrame:
    trials, space = json.loads(payload)
    return an.importance(trials, space)


def render_importance(trials, space, key: str) -> None:
    st.markdown("**Which hyperparameters mattered**")
    missing = an.importance_shortfall(trials)
    if missing:
        st.info(
            f"Hyperparameter importance needs {an.MIN_TRIALS_FOR_IMPORTANCE} completed trials: "
            f"{missing} more to go."
        )
        return
    slim = [
        {k: t.get(k) for k in ("number", "status", "score", "hyperparameters")}
        for t in an.completed(trials)
    ]
    ranked = _importance(json.dumps([slim, space], sort_keys=True, default=str))
    if ranked.empty:
        st.caption("No hyperparameter varies between trials.")
        return
    short = an.short_names(list(ranked["hyperparameter"]))
    ranked = ranked.assign(hyperparameter=ranked["hyperparameter"].map(short))
    fig = px.bar(
        ranked.iloc[::-1],
        x="importance",
        y="hyperparameter",
        orientation="h",
        text=ranked.iloc[::-1]["importance"].map(lambda v: f"{v:.0%}"),
    )
    fig.update_layout(
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_tickformat=".0%",
        xaxis_title="share of importance",
        yaxis_title="",
    )
    fig.update_traces(marker_color="#1967D2")
    st.plotly_chart(fig, width="stretch", key=f"{key}-importance")
    st.caption(
        f"A random forest (scikit-learn) fitted on {len(slim)} completed trials, hyperparameters "
        "→ score; importance is how much its error grows when one hyperparameter is shuffled. "
        "With few trials, read it as a hint."
    )


def render_trial_curves(trials, best, key: str) -> None:
    with_history = [t for t in trials if t.get("history")]
    if not with_history:
        return
    st.subheader("Learning curves of one trial")
    labels = {
        t["trial_id"]: f"#{t.get('number', 0)} · {t['trial_id']} · {t.get('status', '')}"
        + (f" · score {t['score']:.4g}" if t.get("score") is not None else "")
        for t in with_history
    }
    ids = list(labels)
    start = ids.index(best["trial_id"]) if best and best.get("trial_id") in ids else len(ids) - 1
    chosen = st.selectbox(
        "Trial", ids, index=start, format_func=labels.get, key=f"{key}-curve-trial"
    )
    trial = next(t for t in with_history if t["trial_id"] == chosen)
    curves = an.learning_curves(trial)
    families = list(dict.fromkeys(curves["metric"]))
    cols = st.columns(min(len(families), 3) or 1)
    for i, family in enumerate(families):
        fig = px.line(
            curves[curves["metric"] == family],
            x="epoch",
            y="value",
            color="split",
            markers=True,
            title=family,
            color_discrete_map={"training": "#E8710A", "validation": "#1967D2"},
        )
        fig.update_layout(height=280, margin=dict(l=10, r=10, t=40, b=10), legend_title_text="")
        if len(curves) and curves["epoch"].max() <= 20:
            fig.update_xaxes(dtick=1)
        cols[i % len(cols)].plotly_chart(fig, width="stretch", key=f"{key}-tc-{family}")
    hps = trial.get("hyperparameters") or {}
    if hps:
        st.caption(hp_text(hps))


def render_failures(trials) -> None:
    failed = an.failed_trials(trials)
    if not failed:
        return
    with st.expander(f"Failed trials ({len(failed)})", expanded=True):
        for t in failed:
            hps = hp_text(t.get("hyperparameters") or {}, bold=False)
            st.error(
                f"**Trial #{t.get('number', 0)} ({t.get('trial_id')})** {hps}\n\n"
                f"{t.get('error') or 'no error recorded'}"
            )

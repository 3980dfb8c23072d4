"""render_* helpers for the Data page: a dataset's profile, columns, series, images, validation.

They take domain objects (profiles, frames, reports) and draw them; none of them writes anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.data.profile import ColumnProfile, TableProfile
from core.data.timeindex import time_values
from core.data.windows import WindowSpec, window_starts
from core.help import HELP

ORANGE, BLUE, GREY = "#E8710A", "#1967D2", "#9AA0A6"
SEVERITY_COLOR = {"high": "red", "medium": "orange", "low": "gray"}

# What the engine's preprocessing layers make of each column type (shown to the user).
BECOMES = {
    "numeric": "missing → training mean, then Normalization",
    "integer": "missing → training mean, then Normalization",
    "boolean": "StringLookup → one-hot",
    "categorical": "StringLookup → one-hot (unseen → OOV slot); Hashing into 64 bins above 100 "
    "values",
    "text": "TextVectorization → token ids (text models); left out of table models",
    "timestamp": "orders a time series; left out of table models",
    "image_path": "left out of table models",
}


def _layout(fig: go.Figure, height: int = 300) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), showlegend=False)
    return fig


def columns_frame(prof: TableProfile) -> pd.DataFrame:
    rows = []
    for c in prof.columns:
        s = c.stats
        rows.append(
            {
                "column": c.name,
                "type": c.type,
                "inferred": c.inferred_type,
                "missing": c.missing,
                "missing %": round(100 * c.missing_fraction, 1),
                "distinct": c.distinct,
                "min": _shown(c, s.get("min")),
                "mean": _shown(c, s.get("mean")),
                "std": _shown(c, s.get("std"), spread=True),
                "max": _shown(c, s.get("max")),
                "top": ", ".join(f"{v} ({n})" for v, n in c.top[:3]),
                "becomes": BECOMES.get(c.type, ""),
            }
        )
    return pd.DataFrame(rows)


def _shown(c: ColumnProfile, value, spread: bool = False) -> str:
    """A statistic as a person reads it: dates as dates, durations as durations (not seconds)."""
    if value is None:
        return ""
    if c.type == "timestamp" or c.stats.get("unit") == "seconds":
        if spread or c.type != "timestamp":
            return str(pd.Timedelta(seconds=float(value))).replace("0 days ", "")
        return str(pd.Timestamp(float(value), unit="s"))[:19]
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def render_issues(prof: TableProfile) -> None:
    if not prof.issues:
        st.success("No problems found in this data.")
        return
    with st.container(border=True):
        st.markdown(f"**{len(prof.issues)} thing(s) to look at**")
        for issue in prof.issues:
            st.markdown(f"- :orange[:material/warning:] {issue}")


def render_column(col: ColumnProfile, key: str) -> None:
    left, right = st.columns([2, 1])
    if col.histogram:
        edges, counts = col.histogram["edges"], col.histogram["counts"]
        centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        fig = go.Figure(
            go.Bar(
                x=centers,
                y=counts,
                marker_color=ORANGE,
                width=[b - a for a, b in zip(edges[:-1], edges[1:], strict=True)],
            )
        )
        fig.update_layout(
            title=f"Distribution of {col.name}", xaxis_title=col.name, yaxis_title="rows"
        )
        left.plotly_chart(_layout(fig), width="stretch", key=f"{key}-hist")
    elif col.top:
        top = pd.DataFrame(col.top, columns=["value", "rows"])
        fig = px.bar(top, x="value", y="rows", title=f"Most frequent values of {col.name}")
        fig.update_traces(marker_color=ORANGE)
        left.plotly_chart(_layout(fig), width="stretch", key=f"{key}-top")
    stats = {"type": col.type, "count": col.count, "missing": col.missing, "distinct": col.distinct}
    for k, v in col.stats.items():
        if isinstance(v, dict):
            stats.update({f"q{q}": _shown(col, x) for q, x in v.items()})
        elif k in ("min", "max", "mean", "std"):
            stats[k] = _shown(col, v, spread=k == "std")
        else:
            stats[k] = round(v, 4) if isinstance(v, float) else v
    right.dataframe(
        pd.DataFrame(stats.items(), columns=["statistic", "value"]).astype(str),
        hide_index=True,
        width="stretch",
    )
    for note in col.notes:
        right.caption(note)


def render_class_balance(prof: TableProfile, key: str) -> None:
    if not prof.class_balance:
        return
    balance = pd.DataFrame(prof.class_balance.items(), columns=["class", "rows"])
    fig = px.bar(balance, x="class", y="rows", title=f"Class balance of {prof.target}")
    fig.update_traces(marker_color=BLUE)
    st.plotly_chart(_layout(fig), width="stretch", key=f"{key}-balance")


def render_correlations(prof: TableProfile, key: str) -> None:
    if not prof.correlations:
        st.caption("Correlations need at least two numeric columns.")
        return
    names = prof.correlations["columns"]
    fig = px.imshow(
        np.array(prof.correlations["matrix"], dtype=float),
        x=names,
        y=names,
        color_continuous_scale="RdBu_r",
        zmin=-1,
        zmax=1,
        title="Correlation of numeric columns (Pearson)",
    )
    st.plotly_chart(_layout(fig, 420), width="stretch", key=f"{key}-corr")


def render_series(frame: pd.DataFrame, prof: TableProfile, key: str) -> None:
    time_col = prof.time_column
    numeric = [
        c.name for c in prof.columns if c.type in ("numeric", "integer") and c.name != time_col
    ]
    if not time_col or not numeric:
        return
    shown = st.multiselect("Series to plot", numeric, default=numeric[:3], key=f"{key}-series")
    data = frame.assign(**{time_col: time_values(frame[time_col])})  # dates, or the index itself
    data = data.sort_values(time_col)
    as_number = prof.time.get("index") in ("years", "steps")
    fig = go.Figure()
    for name in shown:
        fig.add_trace(
            go.Scatter(
                x=data[time_col],
                y=pd.to_numeric(data[name], errors="coerce"),
                mode="lines",
                name=name,
            )
        )
    for gap in prof.time.get("gaps", [])[:50]:
        x0, x1 = (
            (float(gap["after"]), float(gap["before"]))
            if as_number
            else (
                gap["after"],
                gap["before"],
            )
        )
        fig.add_vrect(x0=x0, x1=x1, fillcolor="red", opacity=0.15, line_width=0)
    fig.update_layout(
        title=f"Series over {time_col} (gaps shaded red)",
        height=340,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    st.plotly_chart(fig, width="stretch", key=f"{key}-plot")
    t = prof.time
    cols = st.columns(4)
    cols[0].metric("usual step", t.get("step") or "—")
    cols[1].metric("gaps", t.get("gap_count", 0))
    cols[2].metric("irregular steps", f"{t.get('irregular_fraction', 0):.0%}")
    cols[3].metric("duplicate stamps", t.get("duplicates", 0))


def render_window_preview(frame: pd.DataFrame, prof: TableProfile, key: str) -> WindowSpec | None:
    """Pick a window shape and see three windows on the series: inputs shaded, labels marked."""
    numeric = [
        c.name
        for c in prof.columns
        if c.type in ("numeric", "integer") and c.name != prof.time_column
    ]
    if not prof.time_column or not numeric:
        return None
    a, b, c, d = st.columns(4)
    target = a.selectbox("Predict", numeric, key=f"{key}-wtarget")
    width = b.number_input(
        "Input steps",
        1,
        10_000,
        min(24, max(1, len(frame) // 4)),
        key=f"{key}-wwidth",
        help=HELP["window"],
    )
    horizon = c.number_input(
        "Steps ahead", 1, 1_000, 1, key=f"{key}-whorizon", help=HELP["horizon"]
    )
    stride = d.number_input("Stride", 1, 1_000, 1, key=f"{key}-wstride", help=HELP["stride"])
    spec = WindowSpec(int(width), int(horizon), int(stride), (target,))
    try:
        starts = window_starts(len(frame), spec)
    except Exception as exc:  # BadInput: the series is shorter than one window
        st.warning(str(exc))
        return None
    data = (
        frame.assign(**{prof.time_column: time_values(frame[prof.time_column])})
        .sort_values(prof.time_column)
        .reset_index(drop=True)
    )
    times, values = data[prof.time_column], pd.to_numeric(data[target], errors="coerce")
    fig = go.Figure(go.Scatter(x=times, y=values, mode="lines", line_color=GREY, name=target))
    picks = starts[np.linspace(0, len(starts) - 1, min(3, len(starts))).astype(int)]
    for i, s in enumerate(picks):
        color = [ORANGE, BLUE, "#188038"][i]
        fig.add_vrect(
            x0=times[s],
            x1=times[s + spec.input_width - 1],
            fillcolor=color,
            opacity=0.15,
            line_width=0,
        )
        lab = np.arange(s + spec.input_width, s + spec.total_width)
        fig.add_trace(
            go.Scatter(
                x=times[lab],
                y=values[lab],
                mode="markers",
                marker=dict(color=color, size=9, symbol="x"),
                name=f"window {i + 1} labels",
            )
        )
    fig.update_layout(
        title=f"{len(starts):,} windows: shaded inputs, × the steps to predict",
        height=320,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    st.plotly_chart(fig, width="stretch", key=f"{key}-windows")
    return spec


def render_images(index: pd.DataFrame, folder: Path, key: str, per_class: int = 6) -> None:
    classes = sorted(index["label"].astype(str).unique())
    counts = index["label"].value_counts().reindex(classes)
    left, right = st.columns(2)
    fig = px.bar(
        x=classes, y=counts.values, labels={"x": "class", "y": "images"}, title="Images per class"
    )
    fig.update_traces(marker_color=BLUE)
    left.plotly_chart(_layout(fig), width="stretch", key=f"{key}-imgcls")
    fig = px.scatter(
        index, x="width", y="height", color="label", opacity=0.6, title="Image sizes (pixels)"
    )
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10))
    right.plotly_chart(fig, width="stretch", key=f"{key}-imgsize")
    for label in classes:
        sample = index[index["label"] == label].head(per_class)
        st.markdown(f"**{label}** · {int(counts[label])} images")
        cols = st.columns(per_class)
        for col, (_, row) in zip(cols, sample.iterrows(), strict=False):
            col.image(
                str(folder / row["path"]),
                caption=f"{row['width']}×{row['height']}",
                width="stretch",
            )


def render_text(frame: pd.DataFrame, prof: TableProfile, key: str) -> None:
    texts = [c.name for c in prof.columns if c.type == "text"]
    if not texts:
        return
    column = texts[0]
    lengths = frame[column].astype("string").str.split().str.len()
    fig = px.histogram(
        x=lengths.dropna(), nbins=40, labels={"x": "words per text"}, title=f"Length of {column}"
    )
    fig.update_traces(marker_color=ORANGE)
    st.plotly_chart(_layout(fig), width="stretch", key=f"{key}-textlen")
    if prof.target and prof.target in frame.columns:
        for label, group in frame.groupby(prof.target):
            st.markdown(f"**{label}**")
            for text in group[column].head(2):
                st.caption(str(text)[:300])


def render_validation(report: dict) -> None:
    anomalies = report["anomalies"]
    counts = report["counts"]
    a, b, c, d = st.columns(4)
    a.metric("anomalies", len(anomalies))
    b.metric("high", counts.get("high", 0))
    c.metric("medium", counts.get("medium", 0))
    d.metric("low", counts.get("low", 0))
    if not anomalies:
        st.success(
            f"The new data ({report['rows_new']:,} rows) matches the schema and the "
            "reference statistics."
        )
        return
    if counts.get("high"):
        st.error("High-severity anomalies: a retraining pipeline would stop here.")
    for item in anomalies:
        color = SEVERITY_COLOR[item["severity"]]
        st.markdown(
            f":{color}-badge[{item['severity']}] **{item['column'] or '(table)'}** · "
            f"`{item['kind']}` — {item['detail']}"
        )

"""Compare training runs side by side: the settings that differ, the final metrics, the curves.

The table builders and `render_*` helpers take Run objects and metric points; only
`compare_panel` reads the store.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.runs.status import FINAL, RunStatus
from core.runs.store import MetricPoint, Run, RunStore
from dashboard.components import metric_frame, status_label
from dashboard.services import store

MISSING = "—"
PALETTE = px.colors.qualitative.Plotly


def run_label(run: Run) -> str:
    """A short unique label: the run's name and the random tail of its id."""
    return f"{run.name or run.kind} · {run.id[-6:]}"


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) if value else "(none)"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if value == "":
        return "(default)"
    return str(value)


def spec_tables(runs: list[Run]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fields whose values differ between the runs, fields that are the same in all of them).

    One row per spec field, one column per run, every cell as text.
    """
    fields = list(dict.fromkeys(k for r in runs for k in r.spec))
    table = pd.DataFrame(
        {
            run_label(r): [_cell(r.spec[f]) if f in r.spec else MISSING for f in fields]
            for r in runs
        },
        index=pd.Index(fields, name="setting"),
        dtype=object,
    )
    differs = table.nunique(axis=1) > 1
    return table[differs], table[~differs]


def metrics_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: task, model, parameters, final validation metrics and test metrics."""
    rows = []
    for r in runs:
        result = r.result or {}
        row: dict[str, Any] = {
            "run": run_label(r),
            "status": r.status.value,
            "task": result.get("task", r.spec.get("task", "")),
            "model": result.get("model", r.spec.get("model", "")),
        }
        if "parameters" in result:
            row["parameters"] = result["parameters"]
        for name, value in (result.get("metrics") or {}).items():
            row[f"validation {name.removeprefix('val_')}"] = value
        for name, value in (result.get("test_metrics") or {}).items():
            row[f"test {name}"] = value
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("run")
    for col in frame.columns:
        if col.startswith(("validation ", "test ")):
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def curve_frame(points_by_run: dict[str, list[MetricPoint]]) -> pd.DataFrame:
    """All runs' metric points with `run`, `metric` (without `val_`) and `split` columns."""
    frames = []
    for label, points in points_by_run.items():
        if points:
            frames.append(metric_frame(points).assign(run=label))
    if not frames:
        return pd.DataFrame(columns=["step", "name", "value", "run", "metric", "split"])
    df = pd.concat(frames, ignore_index=True)
    df["split"] = df["name"].map(lambda n: "validation" if n.startswith("val_") else "training")
    df["metric"] = df["name"].str.removeprefix("val_")
    return df


def curve_figures(points_by_run: dict[str, list[MetricPoint]]) -> dict[str, go.Figure]:
    """One figure per metric: a line per run and split, validation dashed, a colour per run."""
    df = curve_frame(points_by_run)
    colors = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(points_by_run)}
    figures = {}
    for metric in dict.fromkeys(df["metric"]):
        fig = go.Figure()
        sub = df[df["metric"] == metric]
        for label in points_by_run:
            for split in ("training", "validation"):
                line = sub[(sub["run"] == label) & (sub["split"] == split)].sort_values("step")
                if line.empty:
                    continue
                fig.add_scatter(
                    x=line["step"],
                    y=line["value"],
                    name=f"{label} · {split}",
                    legendgroup=label,
                    mode="lines+markers" if len(line) < 30 else "lines",
                    line=dict(color=colors[label], dash="dash" if split == "validation" else None),
                )
        fig.update_layout(
            title=metric,
            xaxis_title="epoch",
            yaxis_title=metric,
            height=380,
            margin=dict(l=10, r=10, t=40, b=10),
            legend=dict(font=dict(size=10), orientation="h", yanchor="top", y=-0.25),
        )
        figures[metric] = fig
    return figures


def render_compare(
    runs: list[Run], points_by_run: dict[str, list[MetricPoint]], key: str = "compare"
) -> None:
    """Settings that differ (the rest collapsed), final metrics, and the curves overlaid."""
    st.markdown(" · ".join(f"{run_label(r)} {status_label(r.status)}" for r in runs))
    differing, common = spec_tables(runs)
    st.subheader("Settings")
    if differing.empty:
        st.caption("These runs have the same settings.")
    else:
        st.dataframe(differing, width="stretch", key=f"{key}-spec-diff")
    with st.expander(f"Settings shared by every run ({len(common)})"):
        st.dataframe(common, width="stretch", key=f"{key}-spec-common")

    st.subheader("Final metrics")
    st.caption("Validation: the last epoch's value. Test: on each run's held-out test split.")
    table = metrics_table(runs)
    numeric = [c for c in table.columns if c.startswith(("validation ", "test "))]
    st.dataframe(
        table.style.format({c: _fmt_metric for c in numeric}),
        width="stretch",
        key=f"{key}-metrics",
    )

    st.subheader("Curves")
    figures = curve_figures(points_by_run)
    if not figures:
        st.caption("These runs logged no metrics.")
        return
    st.caption("Solid: training, dashed: validation; one colour per run.")
    cols = st.columns(min(len(figures), 2))
    for i, (metric, fig) in enumerate(figures.items()):
        cols[i % len(cols)].plotly_chart(fig, width="stretch", key=f"{key}-curve-{metric}")


def _fmt_metric(value: Any) -> str:
    return (
        MISSING
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.4g}")
    )


def all_metric_points(s: RunStore, run_id: str) -> list[MetricPoint]:
    points: list[MetricPoint] = []
    after = 0
    while True:
        page = s.get_metrics(run_id, after=after)
        points.extend(page.points)
        if not page.points:
            return points
        after = page.next_after


def compare_panel(key: str = "compare") -> None:
    """Pick finished training runs from the store and compare them."""
    runs = store().list_runs(kind="train", statuses=set(FINAL), limit=500)
    if len(runs) < 2:
        st.info("Compare needs at least two finished training runs. Train another model first.")
        return
    by_id = {r.id: r for r in runs}
    wanted = [i for i in st.query_params.get("compare", "").split(",") if i in by_id]
    default = wanted or [r.id for r in runs if r.status is RunStatus.SUCCEEDED][:2]
    chosen = st.multiselect(
        "Runs to compare",
        list(by_id),
        default=default,
        key=f"{key}-pick",
        format_func=lambda i: f"{run_label(by_id[i])} · {by_id[i].status.value}",
    )
    if len(chosen) < 2:
        st.info("Pick two or more runs.")
        return
    picked = [by_id[i] for i in chosen]
    points = {run_label(r): all_metric_points(store(), r.id) for r in picked}
    render_compare(picked, points, key=key)

"""The compression report as a table and Pareto charts (plain data in, Plotly out; no TF)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.compression.preflight import METHOD_LABELS, Preflight
from core.help import HELP

LOWER_IS_BETTER = ("mae", "rmse", "loss")


def methods_frame(report: Preflight) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "method": m,
                "what it does": HELP.get(f"compress.{m}", METHOD_LABELS[m]),
                "available": "yes" if c.supported else "no",
                "applies to": c.scope,
                "why / note": c.reason or c.note,
            }
            for m, c in report.methods.items()
        ]
    ).set_index("method")


def report_frame(result: dict[str, Any]) -> pd.DataFrame:
    """Baseline first, then each variant; failed variants keep their error."""
    rows = []
    base = result.get("baseline") or {}
    for v in [base, *result.get("variants", [])]:
        if not v:
            continue
        if "error" in v:
            rows.append({"method": v["method"], "error": v["error"]})
            continue
        rows.append(
            {
                "method": v["method"],
                "scope": v.get("scope", ""),
                "size (bytes)": v["size_bytes"],
                "gzip (bytes)": v["gzip_bytes"],
                "× float size": v["size_bytes"] / base["size_bytes"] if base else None,
                "× float gzip": v["gzip_bytes"] / base["gzip_bytes"] if base else None,
                v["metric_name"]: v["metric"],
                "latency 1 row (ms)": v["latency_ms"],
                f"latency {v.get('batch_rows', '')} rows (ms)": v.get("batch_latency_ms"),
                "sparsity": v.get("sparsity"),
                "distinct weights": v.get("distinct_values"),
                "same class as float": v.get("agreement"),
                "note": v.get("note", ""),
            }
        )
    return pd.DataFrame(rows).set_index("method") if rows else pd.DataFrame()


def pareto_mask(xs: list[float], ys: list[float], higher_is_better: bool) -> list[bool]:
    """True for points no other point beats on both axes (smaller x, better y)."""
    sign = 1 if higher_is_better else -1
    mask = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        dominated = any(
            xs[j] <= x and sign * ys[j] >= sign * y and (xs[j] < x or sign * ys[j] > sign * y)
            for j in range(len(xs))
            if j != i
        )
        mask.append(not dominated)
    return mask


def pareto_figure(result: dict[str, Any], x_key: str, x_title: str) -> go.Figure | None:
    points = [
        v
        for v in [result.get("baseline") or {}, *result.get("variants", [])]
        if v and "error" not in v
    ]
    if not points:
        return None
    name = points[0]["metric_name"]
    xs = [float(p[x_key]) for p in points]
    ys = [float(p["metric"]) for p in points]
    front = pareto_mask(xs, ys, name not in LOWER_IS_BETTER)
    fig = go.Figure()
    order = sorted((x, y) for x, y, f in zip(xs, ys, front, strict=True) if f)
    fig.add_trace(
        go.Scatter(
            x=[o[0] for o in order],
            y=[o[1] for o in order],
            mode="lines",
            line=dict(dash="dot", color="#9AA0A6"),
            name="Pareto front",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="markers+text",
            text=[p["method"] for p in points],
            textposition="top center",
            marker=dict(
                size=12, color=["#E8710A" if f else "#1967D2" for f in front], symbol="circle"
            ),
            name="variants",
        )
    )
    fig.update_layout(
        title=f"{x_title} vs {name}",
        xaxis_title=x_title,
        yaxis_title=f"{name} ({'lower' if name in LOWER_IS_BETTER else 'higher'} is better)",
        height=360,
        margin=dict(l=10, r=10, t=40, b=10),
        showlegend=False,
    )
    # Plotly pads equal values to +-1 (an accuracy axis of 0..1.5 when int8 lost nothing):
    # pad by the spread instead, with room above for the labels.
    lo, hi = min(ys), max(ys)
    span = (hi - lo) or max(abs(hi) * 0.02, 0.01)
    fig.update_yaxes(range=[lo - span * 0.6, hi + span * 0.9])
    return fig

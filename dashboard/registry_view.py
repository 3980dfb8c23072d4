"""The registry on the page: version tables, side-by-side metrics and the lineage graph."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.registry.store import ModelVersion
from dashboard.components import fmt_time

STAGE_BADGE = {
    "production": ":green-badge[production]",
    "candidate": ":blue-badge[candidate]",
    "archived": ":gray-badge[archived]",
}
STAGE_COLOR = {"production": "#d3f9d8", "candidate": "#d0ebff", "archived": "#f1f3f5"}


def versions_frame(versions: list[ModelVersion]) -> pd.DataFrame:
    metric_names = sorted({m for v in versions for m in v.metrics})
    rows = []
    for v in reversed(versions):
        row: dict[str, Any] = {
            "version": v.id,
            "stage": v.stage,
            "registered": fmt_time(v.created_at),
            "dataset": v.dataset.get("dataset") or v.dataset.get("file") or v.dataset.get("sample"),
            "sha256": (v.dataset.get("sha256") or "")[:12],
            "model": v.model,
            "run": v.run_id,
        }
        for m in metric_names:
            value = v.metrics.get(m)
            row[m] = None if value is None else round(float(value), 4)
        row["bundles"] = ", ".join(b["format"] for b in v.bundles)
        rows.append(row)
    return pd.DataFrame(rows)


def metrics_figure(versions: list[ModelVersion]) -> go.Figure:
    names = sorted({m for v in versions for m in v.metrics if v.metrics[m] is not None})
    fig = go.Figure()
    for v in versions:
        fig.add_bar(
            name=f"{v.id} ({v.stage})",
            x=names,
            y=[v.metrics.get(m) for m in names],
            text=[f"{v.metrics[m]:.3f}" if v.metrics.get(m) is not None else "" for m in names],
            textposition="outside",
        )
    fig.update_layout(
        barmode="group",
        height=320,
        margin=dict(l=10, r=10, t=30, b=10),
        yaxis_title="test split",
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def spec_differences(versions: list[ModelVersion]) -> pd.DataFrame:
    """The training settings that differ between the versions (data, epochs, warm start...)."""
    keys = sorted({k for v in versions for k in v.spec})
    rows = []
    for k in keys:
        values = [v.spec.get(k) for v in versions]
        if len({repr(x) for x in values}) > 1:
            rows.append(
                {"setting": k, **{v.id: repr(x) for v, x in zip(versions, values, strict=True)}}
            )
    return pd.DataFrame(rows)


def lineage_dot(versions: list[ModelVersion]) -> str:
    """Graphviz: data version -> training run -> model version, with warm starts, tuning runs,
    the pipelines that made them and their bundles."""
    lines = [
        "digraph lineage {",
        '  rankdir=LR; bgcolor="transparent";',
        '  node [fontname="Helvetica", fontsize=10, style="rounded,filled"];',
        '  edge [color="#868e96", fontsize=9, fontname="Helvetica", arrowsize=0.6];',
    ]
    seen: set[str] = set()

    def node(key: str, label: str, shape: str, fill: str) -> None:
        if key not in seen:
            seen.add(key)
            lines.append(f'  "{key}" [label="{label}", shape={shape}, fillcolor="{fill}"];')

    by_run = {v.run_id: v for v in versions}
    for v in versions:
        data = v.dataset.get("dataset") or v.dataset.get("sample") or v.dataset.get("file") or "?"
        sha = (v.dataset.get("sha256") or "")[:8]
        node(f"data:{data}", f"{data}\\nsha256 {sha}", "cylinder", "#fff9db")
        node(f"run:{v.run_id}", f"train run\\n{v.run_id}", "box", "#f8f9fa")
        node(f"model:{v.id}", f"{v.id}\\n{v.stage}", "box", STAGE_COLOR.get(v.stage, "#ffffff"))
        lines.append(f'  "data:{data}" -> "run:{v.run_id}" [label="trained on"];')
        lines.append(f'  "run:{v.run_id}" -> "model:{v.id}" [label="registered"];')
        for p in v.parents:
            if p["run_id"] == v.run_id:
                continue
            if p["role"] == "warm-started from":
                source = by_run.get(p["run_id"])
                key = f"model:{source.id}" if source else f"run:{p['run_id']}"
                if not source:
                    node(key, f"train run\\n{p['run_id']}", "box", "#f8f9fa")
                lines.append(f'  "{key}" -> "run:{v.run_id}" [label="warm start", style=dashed];')
            else:
                key = f"{p['kind']}:{p['run_id']}"
                node(key, f"{p['kind']} run\\n{p['run_id']}", "box", "#f3f0ff")
                target = f"model:{v.id}" if p["kind"] == "pipeline" else f"run:{v.run_id}"
                lines.append(f'  "{key}" -> "{target}" [label="{p["role"]}", style=dotted];')
        formats = ", ".join(b["format"] for b in v.bundles)
        if formats:
            node(f"bundles:{v.id}", f"bundles\\n{formats}", "folder", "#e6fcf5")
            lines.append(f'  "model:{v.id}" -> "bundles:{v.id}" [label="exported"];')
    lines.append("}")
    return "\n".join(lines)

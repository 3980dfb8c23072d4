"""The Profile page's pure Plotly figures and tables, built from a `profile_summary.json` dict."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

PARTS = {  # breakdown key -> (label, colour)
    "input": ("input (waiting for data)", "#EF553B"),
    "compute": ("compute", "#636EFA"),
    "host_device": ("host/device (launch, copies)", "#AB63FA"),
    "other": ("other (framework, Python)", "#B6B6B6"),
}


def apply_layout(fig: go.Figure, title: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend_title=""
    )
    return fig


# -- overview ------------------------------------------------------------------------------


def overview_figure(summary: dict[str, Any]) -> go.Figure | None:
    steps = summary.get("steps") or []
    if not steps:
        return None
    names = [s["step"] for s in steps]
    fig = go.Figure()
    for key, (label, colour) in PARTS.items():
        fig.add_bar(
            x=names, y=[s.get(f"{key}_ms", 0.0) for s in steps], name=label, marker_color=colour
        )
    fig.update_layout(barmode="stack", xaxis_title="step", yaxis_title="ms")
    return apply_layout(fig, "Step time and its breakdown")


def breakdown_frame(summary: dict[str, Any]) -> pd.DataFrame:
    parts = summary.get("breakdown_ms") or {}
    step = float(summary.get("step_time_ms") or 0.0)
    return pd.DataFrame(
        [
            {
                "part": PARTS[k][0],
                "ms per step": round(float(parts.get(k, 0.0)), 4),
                "% of step": round(100 * float(parts.get(k, 0.0)) / step, 1) if step else 0.0,
            }
            for k in PARTS
        ]
    ).set_index("part")


# -- top ops -------------------------------------------------------------------------------


def top_ops_frame(summary: dict[str, Any]) -> pd.DataFrame:
    ops = summary.get("top_ops") or []
    frame = pd.DataFrame(
        ops, columns=["name", "type", "self_time_us", "percent", "occurrences", "where"]
    )
    return frame.rename(
        columns={"self_time_us": "self time (µs)", "percent": "% of op time", "where": "on"}
    )


def top_ops_figure(summary: dict[str, Any], n: int = 15) -> go.Figure | None:
    ops = (summary.get("top_ops") or [])[:n]
    if not ops:
        return None
    ops = list(reversed(ops))
    fig = go.Figure(
        go.Bar(
            x=[o["self_time_us"] for o in ops],
            y=[f"{o['name'][-60:]}" for o in ops],
            orientation="h",
            text=[f"{o['type']} · {o['percent']:.1f}%" for o in ops],
            textposition="auto",
            marker_color="#636EFA",
        )
    )
    fig.update_layout(xaxis_title="self time (µs, all profiled steps)", yaxis={"automargin": True})
    return apply_layout(fig, f"Top {len(ops)} operations by self time", 80 + 28 * len(ops))


def op_types_figure(summary: dict[str, Any], n: int = 12) -> go.Figure | None:
    types = (summary.get("op_types") or [])[:n]
    if not types:
        return None
    fig = go.Figure(
        go.Bar(
            x=[t["type"] for t in types],
            y=[t["percent"] for t in types],
            text=[f"{t['percent']:.1f}%" for t in types],
            marker_color="#00CC96",
        )
    )
    fig.update_layout(yaxis_title="% of op self time")
    return apply_layout(fig, "Grouped by op type")


# -- input pipeline ------------------------------------------------------------------------


def input_figure(summary: dict[str, Any]) -> go.Figure | None:
    steps = [s for s in summary.get("steps") or [] if "input_ms" in s]
    if not steps:
        return None
    names = [s["step"] for s in steps]
    fig = go.Figure()
    fig.add_bar(
        x=names, y=[s["input_ms"] for s in steps], name="waiting for data", marker_color="#EF553B"
    )
    fig.add_bar(
        x=names,
        y=[s["step_time_ms"] - s["input_ms"] for s in steps],
        name="rest of the step",
        marker_color="#636EFA",
    )
    fig.add_scatter(
        x=names,
        y=[s.get("input_percent", 0.0) for s in steps],
        name="input share (%)",
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#FFA15A"},
    )
    fig.update_layout(
        barmode="stack",
        yaxis_title="ms",
        yaxis2={"title": "%", "overlaying": "y", "side": "right", "rangemode": "tozero"},
    )
    return apply_layout(fig, "How much of each step waits for data")


def input_ops_frame(summary: dict[str, Any]) -> pd.DataFrame:
    ops = (summary.get("input_pipeline") or {}).get("ops") or []
    frame = pd.DataFrame(ops, columns=["name", "count", "self_time_ms", "percent", "category"])
    return frame.rename(
        columns={"self_time_ms": "self time (ms)", "percent": "% of input time"}
    ).set_index("name")


# -- trace ---------------------------------------------------------------------------------


def trace_figure(summary: dict[str, Any], index: int = 0) -> go.Figure | None:
    steps = summary.get("trace") or []
    if not steps or not 0 <= index < len(steps):
        return None
    step = steps[index]
    events = step.get("events") or []
    if not events:
        return None
    threads = sorted({e["thread"] for e in events})
    palette = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692"]
    fig = go.Figure()
    rows: list[str] = []
    for i, thread in enumerate(threads):
        lanes = _lanes(sorted((e for e in events if e["thread"] == thread), key=_start))
        for depth, mine in enumerate(lanes):
            row = thread if depth == 0 else f"{thread} · {depth + 1}"
            rows.append(row)
            fig.add_bar(
                base=[e["start_us"] for e in mine],
                x=[max(e["dur_us"], 0.5) for e in mine],
                y=[row] * len(mine),
                orientation="h",
                name=thread,
                marker_color=palette[i % len(palette)],
                customdata=[[e["name"], e["dur_us"]] for e in mine],
                text=[e["name"][:40] for e in mine],
                textposition="inside",
                insidetextanchor="start",
                hovertemplate="%{customdata[0]}<br>start %{base:.1f} µs, "
                "%{customdata[1]:.1f} µs<extra>%{y}</extra>",
            )
    fig.update_layout(
        barmode="overlay",
        xaxis_title=f"µs from the start of {step['step']} ({step['dur_us'] / 1000:.3g} ms)",
        showlegend=False,
        yaxis={"automargin": True, "categoryorder": "array", "categoryarray": rows[::-1]},
        uniformtext={"minsize": 8, "mode": "hide"},
    )
    fig.update_traces(marker_line_width=0.5, marker_line_color="white", opacity=0.9)
    return apply_layout(fig, f"Trace of {step['step']}", 120 + 26 * len(rows))


def _start(event: dict[str, Any]) -> float:
    return float(event["start_us"])


def _lanes(events: list[dict[str, Any]], most: int = 8) -> list[list[dict[str, Any]]]:
    """Nested or overlapping events of one thread on separate rows (the first row that is
    free when the event starts), as a trace viewer stacks them."""
    lanes: list[list[dict[str, Any]]] = []
    ends: list[float] = []
    for e in events:
        for i, end in enumerate(ends):
            if e["start_us"] >= end - 1e-6:
                lanes[i].append(e)
                ends[i] = e["start_us"] + e["dur_us"]
                break
        else:
            if len(lanes) < most:
                lanes.append([e])
                ends.append(e["start_us"] + e["dur_us"])
    return lanes


# -- memory --------------------------------------------------------------------------------


def memory_figure(summary: dict[str, Any]) -> tuple[go.Figure | None, str]:
    memory = summary.get("memory") or {}
    allocators = memory.get("allocators") or {}
    fig = go.Figure()
    if allocators:
        for name, alloc in allocators.items():
            pts = alloc.get("points") or []
            fig.add_scatter(
                x=[p["t_ms"] for p in pts], y=[p["mb"] for p in pts], name=name, mode="lines"
            )
        fig.update_layout(xaxis_title="ms", yaxis_title="MB in use")
        return apply_layout(fig, "Memory in use (profiler allocator records)"), "profiler"
    process = memory.get("process") or {}
    pts = process.get("points") or []
    if not pts:
        return None, ""
    fig.add_scatter(
        x=[p["t_ms"] for p in pts], y=[p["mb"] for p in pts], mode="lines+markers", name="RSS"
    )
    fig.update_layout(xaxis_title="ms since the profiler started", yaxis_title="MB")
    return apply_layout(fig, "Process memory during the profiled steps"), "process"

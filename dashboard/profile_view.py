"""The Profile page's views, drawn with Plotly from `profile_summary.json` (never TensorFlow).

Pure builders (`*_figure`, `*_frame`) take the summary dict the profile job wrote with XProf's
converters; `render_*` put them on the page. Everything here works offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.profiling.compare import compare
from core.report.explain import explain_profile
from core.runs.store import Run
from dashboard.services import workspace
from dashboard.tools_view import render_tool_panel

SUMMARY_NAME = "profile_summary.json"
PROFILER_UI = "profiler"
START_TIMEOUT_S = 120.0  # TensorBoard imports TensorFlow first: slow on a busy machine
PARTS = {  # breakdown key -> (label, colour)
    "input": ("input (waiting for data)", "#EF553B"),
    "compute": ("compute", "#636EFA"),
    "host_device": ("host/device (launch, copies)", "#AB63FA"),
    "other": ("other (framework, Python)", "#B6B6B6"),
}
KNOB_LABELS = {
    "prefetch": "Prefetch",
    "cache": "Cache",
    "parallel_calls": "Parallel map calls",
    "batch_size": "Batch size",
}


def load_summary(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / SUMMARY_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _layout(fig: go.Figure, title: str, height: int = 340) -> go.Figure:
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
    return _layout(fig, "Step time and its breakdown")


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
    return _layout(fig, f"Top {len(ops)} operations by self time", 80 + 28 * len(ops))


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
    return _layout(fig, "Grouped by op type")


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
    return _layout(fig, "How much of each step waits for data")


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
    return _layout(fig, f"Trace of {step['step']}", 120 + 26 * len(rows))


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
        return _layout(fig, "Memory in use (profiler allocator records)"), "profiler"
    process = memory.get("process") or {}
    pts = process.get("points") or []
    if not pts:
        return None, ""
    fig.add_scatter(
        x=[p["t_ms"] for p in pts], y=[p["mb"] for p in pts], mode="lines+markers", name="RSS"
    )
    fig.update_layout(xaxis_title="ms since the profiler started", yaxis_title="MB")
    return _layout(fig, "Process memory during the profiled steps"), "process"


# -- rendering -----------------------------------------------------------------------------


def knob_text(knob: dict[str, Any] | None) -> str:
    if not knob:
        return ""
    value = knob["value"]
    if isinstance(value, bool):
        value = "on" if value else "off"
    return f"{KNOB_LABELS.get(knob['name'], knob['name'])} → {value}"


def render_recommendations(summary: dict[str, Any], key: str, apply=None) -> None:
    """Each recommendation as a sentence, with its knob and (when `apply`) a button to set it."""
    recs = summary.get("recommendations") or []
    st.subheader("What to try")
    for i, rec in enumerate(recs):
        box = {"high": st.error, "medium": st.warning}.get(rec.get("severity"), st.info)
        knob = rec.get("knob")
        text = rec["text"] + (f"  \n**Knob:** {knob_text(knob)}" if knob else "")
        box(text, icon=":material/lightbulb:")
        if knob and apply is not None and knob.get("value") is not None:
            if st.button(
                f"Apply: {knob_text(knob)}, then profile again",
                key=f"{key}-apply-{i}",
                icon=":material/tune:",
            ):
                apply(knob)


def render_summary(summary: dict[str, Any], key: str) -> None:
    """The five views of one profile."""
    stats = summary.get("step_time_stats_ms") or {}
    timing = summary.get("timing") or {}
    cols = st.columns(4)
    cols[0].metric("Step time", f"{summary.get('step_time_ms', 0):.3g} ms")
    cols[1].metric("Waiting for input", f"{summary.get('input_percent', 0):.3g}%")
    top = (summary.get("op_types") or [{}])[0]
    cols[2].metric(
        f"Top op type: {str(top.get('type', '—'))[:28]}",
        f"{top.get('percent', 0):.1f}%",
        help="Its share of all operations' self time in the profiled steps.",
    )
    ratio = timing.get("overhead_ratio")
    cols[3].metric(
        "Profiler overhead",
        f"{ratio:.2f}×" if ratio else "—",
        help="Median profiled step time over the same steps timed without the profiler.",
    )
    knobs = summary.get("knobs") or {}
    st.caption(
        f"{summary.get('mode', 'train')} · steps {'-'.join(map(str, summary.get('range', [])))}"
        f" of {summary.get('steps_per_epoch', '?')} per epoch · batch size "
        f"{knobs.get('batch_size', '?')} · prefetch {knobs.get('prefetch', '?')} · cache "
        f"{'on' if knobs.get('cache') else 'off'}"
        + (f" · parallel map calls {knobs['parallel_calls']}" if "parallel_calls" in knobs else "")
        + f" · device {summary.get('device', '?')} · min/max step "
        f"{stats.get('min', 0):.3g}/{stats.get('max', 0):.3g} ms · converted in "
        f"{summary.get('conversion_s', 0):.2f} s"
    )
    tabs = st.tabs(["Overview", "Top operations", "Input pipeline", "Trace", "Memory"])
    with tabs[0]:
        for line in explain_profile(summary):
            st.markdown(f"- {line[0].upper()}{line[1:]}")
        fig = overview_figure(summary)
        if fig is None:
            st.info("XProf found no step boundaries in this trace, so there is no breakdown.")
        else:
            st.plotly_chart(fig, width="stretch", key=f"{key}-overview")
        st.dataframe(breakdown_frame(summary), width="stretch")
    with tabs[1]:
        fig = top_ops_figure(summary)
        if fig is not None:
            st.plotly_chart(fig, width="stretch", key=f"{key}-ops")
        st.dataframe(top_ops_frame(summary), width="stretch", hide_index=True)
        fig = op_types_figure(summary)
        if fig is not None:
            st.plotly_chart(fig, width="stretch", key=f"{key}-types")
    with tabs[2]:
        fig = input_figure(summary)
        if fig is not None:
            st.plotly_chart(fig, width="stretch", key=f"{key}-input")
        conclusion = (summary.get("input_pipeline") or {}).get("conclusion")
        if conclusion:
            st.caption(f"XProf: {conclusion}")
        frame = input_ops_frame(summary)
        if len(frame):
            st.markdown("**tf.data stages by self time**")
            st.dataframe(frame, width="stretch")
    with tabs[3]:
        steps = summary.get("trace") or []
        if not steps:
            st.info("The trace kept no step events.")
        else:
            index = st.selectbox(
                "Step",
                range(len(steps)),
                format_func=lambda i: f"{steps[i]['step']} ({steps[i]['dur_us'] / 1000:.3g} ms)",
                key=f"{key}-trace-step",
            )
            fig = trace_figure(summary, index)
            if fig is not None:
                st.plotly_chart(fig, width="stretch", key=f"{key}-trace")
            shown, total = len(steps[index]["events"]), steps[index].get("events_total", 0)
            st.caption(f"{shown} longest of {total} events in this step; hover a bar for its op.")
    with tabs[4]:
        fig, source = memory_figure(summary)
        if fig is None:
            st.info("No memory was recorded during this profile.")
        else:
            if source == "process":
                st.caption(
                    "The profiler records allocator memory only on GPUs; on the CPU this is the "
                    "worker's resident memory, sampled after each profiled step."
                )
            st.plotly_chart(fig, width="stretch", key=f"{key}-memory")


def comparison_frame(a: dict[str, Any], b: dict[str, Any]) -> tuple[pd.DataFrame, dict]:
    result = compare(a, b)
    frame = pd.DataFrame(
        result["rows"], columns=["view", "metric", "a", "b", "delta", "delta_percent", "verdict"]
    ).rename(columns={"a": "A", "b": "B", "delta": "B − A", "delta_percent": "change (%)"})
    return frame, result


def render_comparison(a: dict[str, Any], b: dict[str, Any], key: str) -> None:
    frame, result = comparison_frame(a, b)
    speedup = result.get("speedup")
    if speedup:
        if speedup >= 1.05:
            st.markdown(f"**B's steps are {speedup:.2f}× faster than A's.**")
        elif speedup <= 0.95:
            st.markdown(f"**B's steps are {1 / speedup:.2f}× slower than A's.**")
        else:
            st.markdown("**B's steps take about as long as A's (within 5%).**")
    views = result["views"]
    cols = st.columns(max(len(views), 1))
    for col, (view, verdict) in zip(cols, views.items(), strict=False):
        icon, colour = {
            "improved": (":material/check_circle:", "green"),
            "worse": (":material/warning:", "red"),
        }.get(verdict, (":material/remove:", "gray"))
        col.markdown(f":{colour}[{icon} **{view}**: {verdict}]")
    st.dataframe(frame, width="stretch", hide_index=True)
    fig = go.Figure()
    for label, summary in (("A", a), ("B", b)):
        parts = summary.get("breakdown_ms") or {}
        fig.add_bar(
            x=[PARTS[k][0] for k in PARTS], y=[parts.get(k, 0.0) for k in PARTS], name=label
        )
    fig.update_layout(barmode="group", yaxis_title="ms per step")
    st.plotly_chart(_layout(fig, "Step breakdown, A beside B"), width="stretch", key=f"{key}-cmp")


def render_profiler_ui(run: Run, key: str) -> None:
    """The full profiler (TensorBoard with its profile plugin) on this profile's log folder,
    on 127.0.0.1; started on demand, stopped when asked."""
    logdir = workspace().run_dir(run.id) / "profile"
    if not logdir.is_dir():
        return
    render_tool_panel(
        PROFILER_UI,
        logdir,
        key,
        START_TIMEOUT_S,
        open_label="Open the full profiler (TensorBoard)",
        icon=":material/speed:",
        open_help="Starts TensorBoard with its profile plugin on this profile's trace, on this "
        "machine only (127.0.0.1). Its own pages load some charts from the internet.",
        spinner="Starting TensorBoard's profiler (about 15 s)…",
        failed="The profiler UI did not start",
        link_label="Profiler ↗",
        caption="The profiler runs on {url} (pid {pid}).",
        url_suffix="#profile",
    )

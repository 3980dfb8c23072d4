"""The Profile page's views, drawn with Plotly from `profile_summary.json` (never TensorFlow).

The pure builders (`*_figure`, `*_frame`, in dashboard/profile_figures.py) take the summary dict
the profile job wrote with XProf's converters; `render_*` here put them on the page. Everything
works offline.
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
from dashboard.profile_figures import (
    PARTS,
    apply_layout,
    breakdown_frame,
    input_figure,
    input_ops_frame,
    memory_figure,
    op_types_figure,
    overview_figure,
    top_ops_figure,
    top_ops_frame,
    trace_figure,
)
from dashboard.services import workspace
from dashboard.tools_view import render_tool_panel

SUMMARY_NAME = "profile_summary.json"
PROFILER_UI = "profiler"
START_TIMEOUT_S = 120.0  # TensorBoard imports TensorFlow first: slow on a busy machine
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
    st.plotly_chart(
        apply_layout(fig, "Step breakdown, A beside B"), width="stretch", key=f"{key}-cmp"
    )


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

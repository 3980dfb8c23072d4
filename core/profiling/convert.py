"""An `.xplane.pb` trace -> a compact summary, with XProf's own converters.

`summarize(path)` runs `xprof.convert.raw_to_tool_data.xspace_to_tool_data` for the overview,
input-pipeline, framework-op-stats, memory-profile and trace-viewer tools and keeps what the
pages draw: step times and their breakdown, the top operations by self time and their op types,
how much of each step waits for data, the events of a few steps, and memory over time where the
profiler recorded it. XProf's converters are a C++ extension that does not import TensorFlow;
still, only jobs and the CLI call this module, never the UI process.

The converters return empty tables for a file they cannot read, so a file is first checked to be
an XSpace protocol buffer: a corrupt or foreign file, or a trace without events, is a BadInput
that says why there is no profile data and what to do.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.profiling.xspace import SUFFIX, check_trace, convert_tool, find_traces

TOP_OPS = 25
TRACE_STEPS = 12  # steps whose events are kept for the timeline
EVENTS_PER_STEP = 250

# The step breakdown XProf reports (milliseconds per step), folded into four parts.
BREAKDOWN = {
    "input": ("infeedTimeMs",),
    "compute": ("hostComputeTimeMs", "deviceComputeTimeMs"),
    "host_device": (
        "kernelLaunchTimeMs",
        "deviceToDeviceTimeMs",
        "deviceCollectivesTimeMs",
        "outfeedTimeMs",
    ),
    "other": ("compileTimeMs", "otherTimeMs"),
}
# Op types that copy between host and device.
COPY_TYPES = ("MemcpyHToD", "MemcpyDToH", "MemcpyDtoH", "MemcpyHtoD", "_HostSend", "_HostRecv")


# -- DataTables ------------------------------------------------------------------------------


def _rows(table: dict[str, Any]) -> list[dict[str, Any]]:
    ids = [c.get("id") for c in table.get("cols", [])]
    return [
        {k: (cell or {}).get("v") for k, cell in zip(ids, row.get("c", []), strict=False)}
        for row in table.get("rows") or []
    ]


def _table_with(tables: Any, column: str) -> dict[str, Any] | None:
    for t in tables if isinstance(tables, list) else []:
        if isinstance(t, dict) and any(c.get("id") == column for c in t.get("cols", [])):
            return t
    return None


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return 0.0


# -- the views -------------------------------------------------------------------------------


def _steps(analyzer: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    table = _table_with(analyzer, "stepnum")
    if table is None:
        return [], {}
    steps = []
    for r in _rows(table):
        step_ms = _num(r.get("stepTimeMs"))
        parts = {k: sum(_num(r.get(c)) for c in cols) for k, cols in BREAKDOWN.items()}
        steps.append(
            {
                "step": str(r.get("stepnum")),
                "step_time_ms": round(step_ms, 4),
                **{f"{k}_ms": round(v, 4) for k, v in parts.items()},
                "input_percent": round(100 * parts["input"] / step_ms, 2) if step_ms else 0.0,
            }
        )
    return steps, table.get("p", {}) or {}


def _input_ops(analyzer: Any) -> tuple[list[dict[str, Any]], dict[str, float]]:
    table = _table_with(analyzer, "opName")
    if table is None:
        return [], {}
    ops = [
        {
            "name": str(r.get("opName")),
            "count": int(_num(r.get("count"))),
            "time_ms": round(_num(r.get("timeInMs")), 4),
            "self_time_ms": round(_num(r.get("selfTimeInMs")), 4),
            "percent": round(100 * _num(r.get("selfTimeInPercent")), 2),
            "category": str(r.get("category") or ""),
        }
        for r in _rows(table)
    ]
    totals = {k: _num(v) for k, v in (table.get("p") or {}).items()}
    return ops, totals


def _ops(op_stats: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """Top ops by self time (IDLE excluded) and their op-type groups."""
    tables = op_stats if isinstance(op_stats, list) else []
    table = tables[1] if len(tables) > 1 else _table_with(tables, "total_self_time")
    rows = [r for r in _rows(table or {}) if r.get("type") != "IDLE"]
    total = sum(_num(r.get("total_self_time")) for r in rows)
    ops: list[dict[str, Any]] = []
    for r in rows:
        self_us = _num(r.get("total_self_time"))
        ops.append(
            {
                "name": str(r.get("operation")),
                "type": str(r.get("type")),
                "self_time_us": round(self_us, 3),
                "percent": round(100 * self_us / total, 2) if total else 0.0,
                "occurrences": int(_num(r.get("occurrences"))),
                "total_time_us": round(_num(r.get("total_time")), 3),
                "where": str(r.get("host_or_device") or ""),
            }
        )
    ops.sort(key=lambda o: -o["self_time_us"])
    groups: dict[str, dict[str, Any]] = {}
    for o in ops:
        g = groups.setdefault(o["type"], {"type": o["type"], "self_time_us": 0.0, "ops": 0})
        g["self_time_us"] += o["self_time_us"]
        g["ops"] += 1
    types = sorted(groups.values(), key=lambda g: -g["self_time_us"])
    for g in types:
        g["self_time_us"] = round(g["self_time_us"], 3)
        g["percent"] = round(100 * g["self_time_us"] / total, 2) if total else 0.0
    return ops, types, total


def _threads(events: list[dict[str, Any]]) -> dict[tuple[Any, Any], str]:
    names = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e.get("pid"), e.get("tid"))] = str((e.get("args") or {}).get("name", ""))
    return names


def _short_thread(name: str) -> str:
    return name.split("/")[0] or name


def _trace(trace: Any, step_names: list[str]) -> tuple[list[dict[str, Any]], int]:
    """Per step: its window and its longest events on every thread (times relative to it)."""
    events = (trace or {}).get("traceEvents") or [] if isinstance(trace, dict) else []
    complete = [e for e in events if isinstance(e, dict) and e.get("ph") == "X"]
    names = _threads(events)
    wanted = set(step_names)
    markers = [
        e
        for e in complete
        if "step_num" in (e.get("args") or {}) and (not wanted or e.get("name") in wanted)
    ]
    markers.sort(key=lambda e: _num(e.get("ts")))
    out = []
    for m in markers[:TRACE_STEPS]:
        start, dur = _num(m.get("ts")), _num(m.get("dur"))
        inside: list[dict[str, Any]] = []
        for e in complete:
            if e is m:
                continue
            ts, d = _num(e.get("ts")), _num(e.get("dur"))
            if ts + d <= start or ts >= start + dur:
                continue
            s = max(ts, start)
            inside.append(
                {
                    "name": str(e.get("name"))[:160],
                    "thread": _short_thread(names.get((e.get("pid"), e.get("tid")), "")),
                    "start_us": round(s - start, 3),
                    "dur_us": round(min(ts + d, start + dur) - s, 3),
                }
            )
        inside.sort(key=lambda e: -e["dur_us"])
        kept = sorted(inside[:EVENTS_PER_STEP], key=lambda e: (e["thread"], e["start_us"]))
        out.append(
            {
                "step": str(m.get("name")),
                "dur_us": round(dur, 3),
                "events": kept,
                "events_total": len(inside),
            }
        )
    return out, len(complete)


def _memory(profile: Any) -> dict[str, Any]:
    """Memory in use over time per allocator, where the profiler recorded allocations."""
    per = (
        (profile or {}).get("memoryProfilePerAllocator") or {} if isinstance(profile, dict) else {}
    )
    allocators = {}
    for name, alloc in per.items():
        points = []
        for snap in alloc.get("memoryProfileSnapshots") or []:
            stats = snap.get("aggregationStats") or {}
            used = _num(stats.get("heapAllocatedBytes")) + _num(stats.get("stackReservedBytes"))
            points.append(
                {"t_ms": round(_num(snap.get("timeOffsetPs")) / 1e9, 4), "mb": used / 2**20}
            )
        if points:
            summary = alloc.get("profileSummary") or {}
            allocators[name] = {
                "points": points,
                "peak_mb": _num((summary.get("peakStats") or {}).get("peakBytesInUse")) / 2**20,
            }
    return allocators


def summarize(path: str | Path) -> dict[str, Any]:
    """The summary of a trace (a `.xplane.pb` file, or a folder holding them).

    Raises BadInput for a missing, empty, corrupt or foreign file and for a trace with no
    events, each with what to do next.
    """
    started = time.perf_counter()
    paths = find_traces(path)
    for p in paths:
        check_trace(p)
    with tempfile.TemporaryDirectory(prefix="tfstudio-xplane-") as tmp:
        # The converters cache their results beside the trace; work on copies so a read-only
        # or shared folder stays as it is.
        copies = []
        for i, p in enumerate(paths):
            name = p.name if p.name.endswith(SUFFIX) else f"host{i}{SUFFIX}"
            copies.append(Path(tmp) / f"{i}" / name)
            copies[-1].parent.mkdir()
            shutil.copyfile(p, copies[-1])
        trace = convert_tool(copies, "trace_viewer")
        op_stats = convert_tool(copies, "framework_op_stats")
        analyzer = convert_tool(copies, "input_pipeline_analyzer")
        try:
            memory = _memory(convert_tool(copies, "memory_profile"))
        except (AttributeError, TypeError, ValueError):  # a layout this version cannot read
            memory = {}
    steps, step_info = _steps(analyzer)
    ops, op_types, total_self_us = _ops(op_stats)
    timeline, n_events = _trace(trace, [])
    if n_events == 0 and not ops:
        raise BadInput(
            "the trace holds no events: the profiler was running while nothing executed (the "
            "steps finished before it started, or the capture was stopped at once); profile a "
            "range of steps that run, e.g. --steps 2-6"
        )
    input_ops, input_totals = _input_ops(analyzer)
    step_times = [s["step_time_ms"] for s in steps]
    if not steps and timeline:
        # No step breakdown (XProf drops steps it cannot group): the markers still time them.
        steps = [
            {"step": t["step"], "step_time_ms": round(t["dur_us"] / 1000, 4)} for t in timeline
        ]
        step_times = [s["step_time_ms"] for s in steps]
    total_step_ms = sum(step_times)
    breakdown = {
        k: round(sum(s.get(f"{k}_ms", 0.0) for s in steps) / len(steps), 4) if steps else 0.0
        for k in BREAKDOWN
    }
    copy_us = sum(o["self_time_us"] for o in ops if o["type"] in COPY_TYPES)
    return {
        "version": 1,
        "traces": [str(p) for p in paths],
        "device": str(step_info.get("hardware_type", "")) or "unknown",
        "steps": steps,
        "step_time_ms": round(statistics.fmean(step_times), 4) if step_times else 0.0,
        "step_time_stats_ms": {
            "min": round(min(step_times), 4) if step_times else 0.0,
            "max": round(max(step_times), 4) if step_times else 0.0,
            "std": round(statistics.pstdev(step_times), 4) if len(step_times) > 1 else 0.0,
        },
        "breakdown_ms": breakdown,
        "input_percent": round(100 * sum(s.get("input_ms", 0.0) for s in steps) / total_step_ms, 2)
        if total_step_ms
        else 0.0,
        "top_ops": ops[:TOP_OPS],
        "op_types": op_types,
        "ops_total": len(ops),
        "self_time_total_us": round(total_self_us, 3),
        "host_device_copy_percent": round(100 * copy_us / total_self_us, 2)
        if total_self_us
        else 0.0,
        "input_pipeline": {
            "ops": input_ops[:TOP_OPS],
            "totals_us": input_totals,
            "conclusion": str(step_info.get("input_conclusion", "")),
        },
        "trace": timeline,
        "events_total": n_events,
        "memory": {"allocators": memory},
        "conversion_s": round(time.perf_counter() - started, 3),
    }

"""Two profiles side by side: the numbers of each view, their deltas, and which view improved.

Pure Python over two `profile_summary.json` dicts (no TensorFlow), for the page and scripts.
Lower is better for every number compared here (times, waiting shares, memory).
"""

from __future__ import annotations

from typing import Any

SAME_WITHIN = 0.05  # a change under 5% counts as no change

# (view, metric label, how to read it from a summary)
METRICS: list[tuple[str, str, Any]] = [
    ("overview", "step time (ms)", lambda s: s.get("step_time_ms")),
    ("overview", "input (ms/step)", lambda s: (s.get("breakdown_ms") or {}).get("input")),
    ("overview", "compute (ms/step)", lambda s: (s.get("breakdown_ms") or {}).get("compute")),
    (
        "overview",
        "host/device (ms/step)",
        lambda s: (s.get("breakdown_ms") or {}).get("host_device"),
    ),
    ("overview", "other (ms/step)", lambda s: (s.get("breakdown_ms") or {}).get("other")),
    ("input pipeline", "input share of a step (%)", lambda s: s.get("input_percent")),
    (
        "top ops",
        "op self time per step (ms)",
        lambda s: _per_step(s.get("self_time_total_us"), s) / 1000,
    ),
    (
        "memory",
        "peak memory (MB)",
        lambda s: max((a.get("peak_mb", 0.0) for a in _allocators(s).values()), default=None),
    ),
]


def _allocators(s: dict[str, Any]) -> dict[str, Any]:
    return (s.get("memory") or {}).get("allocators") or {}


def _per_step(total_us: Any, s: dict[str, Any]) -> float:
    n = len(s.get("trace") or []) or len(s.get("steps") or []) or 1
    return float(total_us or 0.0) / n


def _verdict(a: float, b: float) -> str:
    if a == b or max(abs(a), abs(b)) == 0:
        return "same"
    if abs(b - a) / max(abs(a), 1e-12) < SAME_WITHIN:
        return "same"
    return "better" if b < a else "worse"


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """B against A: a row per metric (a, b, delta, delta %, verdict) and a verdict per view."""
    rows: list[dict[str, Any]] = []
    for view, label, read in METRICS:
        va, vb = read(a), read(b)
        if va is None or vb is None:
            continue
        va, vb = float(va), float(vb)
        rows.append(
            {
                "view": view,
                "metric": label,
                "a": round(va, 4),
                "b": round(vb, 4),
                "delta": round(vb - va, 4),
                "delta_percent": round(100 * (vb - va) / va, 1)
                if va
                else (0.0 if vb == va else None),
                "verdict": _verdict(va, vb),
            }
        )
    views: dict[str, str] = {}
    for view in dict.fromkeys(v for v, _, _ in METRICS):
        # A view improved when its headline (first) metric did.
        head = next((r for r in rows if r["view"] == view), None)
        if head is not None:
            views[view] = {"better": "improved", "worse": "worse"}.get(head["verdict"], "same")
    types_a = {t["type"]: t for t in a.get("op_types") or []}
    types_b = {t["type"]: t for t in b.get("op_types") or []}
    op_types = []
    for name in list(dict.fromkeys([*types_a, *types_b]))[:15]:
        ta = _per_step(types_a.get(name, {}).get("self_time_us"), a)
        tb = _per_step(types_b.get(name, {}).get("self_time_us"), b)
        op_types.append(
            {
                "type": name,
                "a_us": round(ta, 3),
                "b_us": round(tb, 3),
                "delta_us": round(tb - ta, 3),
            }
        )
    speedup = None
    if a.get("step_time_ms") and b.get("step_time_ms"):
        speedup = round(float(a["step_time_ms"]) / float(b["step_time_ms"]), 3)
    return {"rows": rows, "views": views, "op_types": op_types, "speedup": speedup}

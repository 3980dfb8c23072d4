"""Recommendations from a profile's numbers: plain sentences, each with the knob to change.

Pure Python over `profile_summary.json` (no TensorFlow): the job stores the list, and the page
and the CLI show it. A knob is one of the profile spec's what-if fields (`prefetch`, `cache`,
`parallel_calls`, `batch_size`), so a user can apply it and profile again.
"""

from __future__ import annotations

from typing import Any

INPUT_BOUND_PERCENT = 10.0  # a step waiting this share of its time for data is input-bound
HIGHLY_INPUT_BOUND_PERCENT = 20.0
TINY_BATCH = 16
SHORT_STEP_MS = 2.0
OVERHEAD_SHARE = 0.10  # fixed per-step cost (launch, Python, other) of a short step
COPY_PERCENT = 10.0
DOMINANT_PERCENT = 50.0

# What to try when one kind of op takes most of the time.
OP_ADVICE = {
    "matmul": "the dense (MatMul) layers: try fewer or narrower hidden units, or mixed "
    "precision on a GPU",
    "conv": "the convolutions: try a smaller image size, fewer filters, or mixed precision "
    "on a GPU",
    "softmax": "the softmax: with few classes this is per-step overhead; a larger batch "
    "amortizes it",
    "dataset": "tf.data (the input pipeline): cache the preprocessed data and parallelize its map",
    "lstm": "the recurrent layers: try a shorter window or fewer units",
    "gru": "the recurrent layers: try a shorter window or fewer units",
}


def _advice(op_type: str) -> str:
    low = op_type.lower()
    for key, text in OP_ADVICE.items():
        if key in low:
            return text
    return f"{op_type}: look for the layer that runs it in the top-ops table"


def _rec(rid: str, severity: str, text: str, knob: str = "", value: Any = None) -> dict[str, Any]:
    return {
        "id": rid,
        "severity": severity,
        "text": text,
        "knob": {"name": knob, "value": value} if knob else None,
    }


def _bigger_batch(batch: int, rows: int) -> int:
    bigger = batch * 4 if batch <= TINY_BATCH else batch * 2
    bigger = min(bigger, 1024)
    return min(bigger, rows) if rows > batch else bigger


def recommend(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Recommendations for a summary that holds `knobs` (the what-ifs it was captured with).

    `knobs`: batch_size, prefetch (`auto`, `off` or a number), cache (bool), parallel_calls
    (`auto` or a number; absent when the pipeline has no map), and `train_rows`.
    """
    knobs = summary.get("knobs") or {}
    batch = int(knobs.get("batch_size") or 0)
    rows = int(knobs.get("train_rows") or 0)
    prefetch = str(knobs.get("prefetch", "auto"))
    parallel = knobs.get("parallel_calls")
    cache = bool(knobs.get("cache"))
    step_ms = float(summary.get("step_time_ms") or 0.0)
    input_pct = float(summary.get("input_percent") or 0.0)
    parts = summary.get("breakdown_ms") or {}
    out: list[dict[str, Any]] = []

    if input_pct >= INPUT_BOUND_PERCENT:
        severity = "high" if input_pct >= HIGHLY_INPUT_BOUND_PERCENT else "medium"
        lead = f"{input_pct:.0f}% of each step waits for data"
        if prefetch == "off" or (prefetch.isdigit() and int(prefetch) < 2):
            out.append(
                _rec(
                    "prefetch",
                    severity,
                    f"{lead}, and the pipeline prefetches "
                    f"{'nothing' if prefetch == 'off' else 'one batch'}: set prefetch to auto so "
                    "the next batches are prepared while this one trains.",
                    "prefetch",
                    "auto",
                )
            )
        if parallel is not None and str(parallel) != "auto" and int(parallel) < 4:
            out.append(
                _rec(
                    "parallel_map",
                    severity,
                    f"{lead}, and the preprocessing map runs {parallel} call(s) at a time: set "
                    "parallel map calls to auto so tf.data spreads it over the cores.",
                    "parallel_calls",
                    "auto",
                )
            )
        if not cache:
            out.append(
                _rec(
                    "cache",
                    severity,
                    f"{lead}, and the preprocessed batches are recomputed every epoch: turn "
                    "cache on (the data fits in memory) so preprocessing runs once.",
                    "cache",
                    True,
                )
            )
        if not out:
            out.append(
                _rec(
                    "input_offline",
                    severity,
                    f"{lead} although prefetch, parallel map and cache are on: preprocess the "
                    "data offline, or use larger batches so each step does more work per "
                    f"fetch (batch size {_bigger_batch(batch, rows)}).",
                    "batch_size",
                    _bigger_batch(batch, rows) if batch else None,
                )
            )

    overhead = float(parts.get("other", 0.0)) + float(parts.get("host_device", 0.0))
    short = 0 < step_ms < SHORT_STEP_MS and overhead >= OVERHEAD_SHARE * step_ms
    if batch and (batch <= TINY_BATCH or short) and (not rows or rows > batch):
        bigger = _bigger_batch(batch, rows)
        why = (
            f"a step of {batch} examples takes {step_ms:.2f} ms, "
            f"{100 * overhead / step_ms:.0f}% of it fixed per-step overhead"
            if step_ms
            else f"batches of {batch} examples are small"
        )
        out.append(
            _rec(
                "batch_size",
                "medium",
                f"The batch is tiny: {why}. Try batch size {bigger} so the same work takes "
                "fewer, fuller steps (retune the learning rate when you train with it).",
                "batch_size",
                bigger,
            )
        )

    copy_pct = float(summary.get("host_device_copy_percent") or 0.0)
    host_device_pct = 100 * float(parts.get("host_device", 0.0)) / step_ms if step_ms else 0.0
    if copy_pct >= COPY_PERCENT or host_device_pct >= 2 * COPY_PERCENT:
        share = max(copy_pct, host_device_pct)
        out.append(
            _rec(
                "host_device",
                "medium",
                f"{share:.0f}% of the time goes to copies between host and device (or "
                "launching work on it): keep prefetch on so copies overlap compute, send "
                "compact dtypes (uint8 images, cast on the device) and use larger batches.",
                "prefetch" if prefetch == "off" else "batch_size",
                "auto" if prefetch == "off" else (_bigger_batch(batch, rows) if batch else None),
            )
        )

    types = summary.get("op_types") or []
    input_recs = any(r["id"] in ("prefetch", "parallel_map", "cache") for r in out)
    if types and float(types[0].get("percent", 0.0)) >= DOMINANT_PERCENT:
        top = types[0]
        is_input = "dataset" in str(top["type"]).lower() and not input_recs
        out.append(
            _rec(
                "dominant_op",
                "medium",
                f"One op type dominates: {top['type']} takes {top['percent']:.0f}% of the "
                f"op time; that is {_advice(str(top['type']))}.",
                "cache" if is_input and not cache else "",
                True if is_input and not cache else None,
            )
        )

    if not out:
        top = types[0] if types else None
        out.append(
            _rec(
                "balanced",
                "info",
                f"No bottleneck stands out: {input_pct:.0f}% of each step waits for data"
                + (
                    f", and the largest op type ({top['type']}) takes {top['percent']:.0f}%"
                    if top
                    else ""
                )
                + ". Compare with a profile at a larger batch size to see how the step scales.",
            )
        )
    return out

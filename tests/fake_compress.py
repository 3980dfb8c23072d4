"""A fake compression handler for page tests: a report of the real shape, no TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path


def _row(method, path, size, gzip, metric, latency, **extra):
    return {
        "method": method,
        "scope": "end-to-end",
        "size_bytes": size,
        "gzip_bytes": gzip,
        "metric_name": "accuracy",
        "metric": metric,
        "latency_ms": latency,
        "batch_latency_ms": latency * 3,
        "batch_rows": 30,
        "path": str(path),
        **extra,
    }


def compress(spec, reporter, run_dir: Path):
    methods = spec.method.split(",")
    reporter.progress("compressing", 1, 2, ",".join(methods))
    base_path = run_dir / "model_float.tflite"
    base_path.write_bytes(b"f" * 1200)
    reporter.artifact(base_path.name, base_path)
    baseline = _row("float", base_path, 1200, 600, 0.9, 0.02, keras_latency_ms=5.0)
    variants = []
    for i, method in enumerate(methods):
        if method == "cluster":
            variants.append({"method": method, "error": "clustering broke on purpose"})
            continue
        path = run_dir / f"model_{method}.tflite"
        path.write_bytes(b"q" * (400 + i))
        reporter.artifact(path.name, path)
        variants.append(_row(method, path, 400 + i, 200, 0.9 - 0.01 * i, 0.01, agreement=1.0))
    result = {
        "source_run": spec.source_run,
        "task": "classification",
        "methods": methods,
        "test_rows": 30,
        "notes": [],
        "baseline": baseline,
        "variants": variants,
    }
    (run_dir / "compression_report.json").write_text(json.dumps(result))
    reporter.artifact("compression_report.json", run_dir / "compression_report.json")
    return result

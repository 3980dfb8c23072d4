"""The validate stage: the new rows against the reference version's schema and
distributions; anomalies at or above the stage's severity stop the pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.pipelines.state import StageStop

if TYPE_CHECKING:
    from core.pipelines.job import Runner


def run(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.data.datasets import DatasetStore
    from core.data.validation import validate_frame

    datasets = DatasetStore(r.ws)
    reference = datasets.get(r.ctx.get("production_dataset") or r.ctx["base_dataset"])
    kwargs = {
        k: float(stage.params[k]) for k in ("psi_threshold", "linf_threshold") if k in stage.params
    }
    report = validate_frame(
        r.new_rows(), datasets.read_frame(reference), datasets.schema(reference), **kwargs
    )
    severity = str(stage.params.get("severity", "high"))
    data = {**report.to_dict(), "reference": reference.id, "severity": severity}
    (out / "report.json").write_text(json.dumps(data, indent=2))
    outputs = {"reference": reference.id, "severity": severity, "counts": data["counts"]}
    if report.blocks(severity):
        worst = [a for a in report.anomalies if a.severity == report.worst()]
        first = worst[0]
        raise StageStop(
            f"{len(report.anomalies)} anomalies against {reference.id}, "
            f"{sum(1 for a in report.anomalies if _rank(a.severity) >= _rank(severity))} at or "
            f"above {severity} (e.g. {first.column or 'table'}: {first.kind}, {first.severity}: "
            f"{first.detail})",
            "stopped by validation",
            {**outputs, "report": data},
        )
    r.materialize()
    return {**outputs, "report": data}


def _rank(severity: str) -> int:
    return ("low", "medium", "high").index(severity)

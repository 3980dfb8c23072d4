"""The report's section that sets a training run beside the simple baselines (#30)."""

from __future__ import annotations

from typing import Any

from core.report.model import Section, Table
from core.training.baselines import metric_label


def baselines_section(comparison: dict[str, Any] | None, prefix: str = "") -> Section | None:
    if not comparison:
        return None
    notes = []
    if comparison.get("chance_warning"):
        notes.append(f"At chance: {comparison['chance_warning']}.")
    if comparison.get("sentence"):
        notes.append(comparison["sentence"])
    if comparison.get("note"):
        notes.append(comparison["note"])
    notes += [f"{k} could not be fitted: {v}" for k, v in comparison.get("failed", {}).items()]
    tables = []
    if comparison.get("network") and comparison.get("baselines"):
        label = metric_label(comparison)
        rows = [["this network", *_cells(comparison["network"])]]
        rows += [[name, *_cells(score)] for name, score in comparison["baselines"].items()]
        tables.append(
            Table(
                ["model", f"test {label}", "95% interval"],
                rows,
                caption=f"The same {comparison['test_rows']} test rows; intervals from "
                f"{comparison['resamples']} paired bootstrap resamples. The baselines keep "
                "scikit-learn's defaults and train on the training and validation rows.",
            )
        )
    return Section(f"{prefix}Against the simple baselines", notes=notes, tables=tables)


def _cells(score: dict[str, float]) -> list[str]:
    return [f"{score['value']:.3f}", f"{score['low']:.3f} – {score['high']:.3f}"]

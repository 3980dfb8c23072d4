"""Build a run's report from what the run left in the store and its folder (no TensorFlow).

`build_report(ws, store, run_id)` reads the run, its artifacts (history, evaluation, trials,
compression report) and, for runs made from another run (compress, export, pipeline), that
run's training sections too, so one file tells the whole story: data → model → curves → test →
what was done to the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import BadInput, NotFound
from core.report import svg
from core.report.baselines import baselines_section
from core.report.explain import explain_evaluation, explain_history, explain_parity
from core.report.model import Report, Section, Table, fmt_bytes, fmt_value, relative
from core.runs.store import Run, RunStore
from core.workspace import Workspace

KIND_TITLE = {
    "train": "Training run",
    "tune": "Hyperparameter search",
    "automl": "AutoKeras search",
    "compress": "Compression",
    "export": "Export",
    "pipeline": "Retraining pipeline",
    "profile": "Profile",
    "predict": "Prediction",
    "batch_predict": "Batch prediction",
}
TRAIN_SETTINGS = (
    ("model", "model"),
    ("epochs", "epochs"),
    ("batch_size", "batch size"),
    ("learning_rate", "learning rate"),
    ("optimizer", "optimizer"),
    ("schedule", "learning-rate schedule"),
    ("early_stopping", "early stopping patience"),
    ("class_weights", "class weights"),
    ("dropout", "dropout"),
    ("hidden_units", "hidden units"),
    ("validation_fraction", "validation share"),
    ("test_fraction", "test share"),
    ("split", "split"),
    ("seed", "seed"),
)


def read_json(path: str | Path | None) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text()) if path else {}
    except (OSError, ValueError):
        return {}


class Context:
    """What the section builders share: the workspace, the store and artifact lookups."""

    def __init__(self, ws: Workspace, store: RunStore) -> None:
        self.ws, self.store = ws, store

    def artifact_json(self, run_id: str, name: str) -> dict[str, Any]:
        art = self.store.get_artifacts(run_id).get(name)
        return read_json(art.path if art else self.ws.run_dir(run_id) / name)

    def rel(self, path: str | Path | None) -> str:
        return relative(path, self.ws.root)

    def run_or_none(self, run_id: str | None) -> Run | None:
        if not run_id:
            return None
        try:
            return self.store.get_run(run_id)
        except NotFound:
            return None


def build_report(ws: Workspace, store: RunStore, run_id: str) -> Report:
    """The report of one finished run; BadInput when the run has no result to report."""
    from core.report import kinds

    run = store.get_run(run_id)
    if not run.status.is_finalized:
        raise BadInput(f"run {run_id} is still {run.status.value.lower()}: report it once it ends")
    ctx = Context(ws, store)
    title = KIND_TITLE.get(run.kind, run.kind.capitalize())
    report = Report(
        run_id=run.id,
        kind=run.kind,
        title=f"{title}: {run.name or run.id}",
        subtitle=f"run {run.id} · {run.status.value.lower()} · workspace {ws.root.name}",
    )
    if run.status.value != "SUCCEEDED":
        report.sections.append(
            Section(
                "Outcome",
                notes=[f"the run ended {run.status.value.lower()}: {run.error or 'no detail'}."],
            )
        )
        return report
    builder = kinds.BUILDERS.get(run.kind, kinds.generic_sections)
    report.sections.extend(builder(ctx, run))
    cost = cost_section(run)
    if cost is not None:
        report.sections.append(cost)
    return report


def cost_section(run: Run) -> Section | None:
    """What the run cost this machine: time, CPU and peak memory of its worker (issue #20)."""
    used = (run.result or {}).get("resources") or {}
    if not used:
        return None
    facts = []
    if run.started_at and run.finished_at:
        facts.append(("wall time", f"{run.finished_at - run.started_at:,.1f} s"))
    if used.get("cpu_s") is not None:
        facts.append(("CPU time", f"{used['cpu_s']:,.1f} s (all threads)"))
    if used.get("peak_rss_mib") is not None:
        facts.append(("peak memory", f"{used['peak_rss_mib']:,.0f} MiB"))
    notes = [
        "measured by the kernel for the worker process: CPU time adds up every thread, so it "
        "can exceed the wall time; peak memory is the most the process held at once "
        "(a TensorFlow worker holds several hundred MiB before it reads any data)."
    ]
    return Section("Cost on this machine", facts=facts, notes=notes)


def training_sections(ctx: Context, run: Run, heading: str = "") -> list[Section]:
    """Data, model, curves and test results of a training run."""
    result = run.result or {}
    spec = run.spec or {}
    prefix = f"{heading} · " if heading else ""
    sections = [data_section(ctx, run, prefix), model_section(run, prefix)]
    history = ctx.artifact_json(run.id, "history.json")
    if history:
        sections.append(curves_section(history, spec, prefix))
    evaluation = ctx.artifact_json(run.id, "evaluation.json")
    if evaluation:
        sections.append(test_section(evaluation, prefix))
    parity = result.get("tflite_parity") or {}
    if parity:
        line = explain_parity("the TFLite file", parity)
        if line:
            sections[-1].notes.append(line)
    compared = baselines_section((evaluation or {}).get("baselines"), prefix)
    if compared is not None:
        sections.append(compared)
    return sections


def data_section(ctx: Context, run: Run, prefix: str = "") -> Section:
    result, spec = run.result or {}, run.spec or {}
    lineage = result.get("data") or {}
    rows = result.get("rows") or {}
    facts = [("source", str(lineage.get("dataset") or lineage.get("sample") or spec.get("data")))]
    if lineage.get("sha256"):
        facts.append(("content hash", str(lineage["sha256"])[:16] + "…"))
    for key, value in lineage.items():
        if key not in ("dataset", "sample", "sha256", "path"):
            facts.append((key.replace("_", " "), fmt_value(value)))
    if lineage.get("path"):
        facts.append(("file", ctx.rel(lineage["path"])))
    facts.append(("task", str(result.get("task", spec.get("task", "")))))
    facts.append(("target", str(result.get("target", spec.get("target", "")))))
    if result.get("classes"):
        facts.append(("classes", ", ".join(map(str, result["classes"]))))
    features = ctx.artifact_json(run.id, "features.json").get("features") or []
    if features:
        names = [str(f.get("column", f.get("input", ""))) for f in features]
        facts.append(
            (f"inputs ({len(names)})", ", ".join(names[:12]) + (" …" if len(names) > 12 else ""))
        )
    notes = []
    if rows:
        total = sum(int(v) for v in rows.values())
        parts = ", ".join(f"{int(v)} for {k}" for k, v in rows.items())
        notes.append(
            f"the {total} rows were split {parts}: the model learns from the training rows, "
            "validation rows pick the settings and epochs, and the test rows stay unseen until "
            "the end, so the test score is an honest estimate for new data."
            + (
                f" Once validation had chosen {result['refit_epochs']} epoch(s), the final model "
                "was trained again on the training and validation rows together."
                if result.get("refit_epochs")
                else ""
            )
        )
    notes.extend(str(w) for w in result.get("warnings") or [])
    return Section(f"{prefix}Data", facts=facts, notes=notes)


def model_section(run: Run, prefix: str = "") -> Section:
    result, spec = run.result or {}, run.spec or {}
    facts = []
    for key, label in TRAIN_SETTINGS:
        value = result.get("model") if key == "model" else spec.get(key)
        if key == "early_stopping" and not value:
            value = "off"
        elif key in ("learning_rate", "hidden_units") and not value:
            value = "the model's default"
        elif key == "dropout" and not value:
            value = "off"
        facts.append((label, fmt_value(value)))
    if result.get("parameters"):
        facts.append(("parameters", f"{result['parameters']:,}"))
    if result.get("model_bytes"):
        facts.append(("size as .keras", fmt_bytes(result["model_bytes"])))
    if spec.get("hyperparameters"):
        facts.append(("hyperparameters", json.dumps(spec["hyperparameters"])))
    if spec.get("warm_start"):
        facts.append(("warm start from run", spec["warm_start"]))
    return Section(f"{prefix}Model and settings", facts=facts)


def curves_section(
    history: dict[str, list[Any]], spec: dict[str, Any], prefix: str = ""
) -> Section:
    notes = explain_history(history, spec.get("epochs"), spec.get("early_stopping") or 0)
    charts = []
    families = sorted(
        {k.removeprefix("val_") for k in history if k != "lr"}, key=lambda k: k != "loss"
    )
    marker = None
    val = [v for v in history.get("val_loss") or [] if v is not None]
    if val:
        marker = min(range(len(val)), key=lambda i: val[i]) + 1
    for fam in families:
        series = {k: history[k] for k in (fam, f"val_{fam}") if k in history}
        charts.append(
            svg.line_chart(
                fam,
                series,
                y_label=fam,
                marker_x=marker if fam == "loss" else None,
                marker_label=f"lowest validation loss (epoch {marker})" if marker else "",
            )
        )
    return Section(
        f"{prefix}Training curves",
        intro="Solid lines are the training split, dashed lines the validation split.",
        notes=notes,
        charts=[c for c in charts if c],
    )


def test_section(evaluation: dict[str, Any], prefix: str = "") -> Section:
    metrics = evaluation.get("metrics") or {}
    table = Table(["metric", "value"], [[k, fmt_value(v)] for k, v in metrics.items()])
    section = Section(
        f"{prefix}Test results",
        intro="Measured once, on the held-out test split the model never saw in training.",
        notes=explain_evaluation(evaluation),
        tables=[table],
    )
    task = evaluation.get("task")
    if task == "classification" and evaluation.get("confusion_matrix"):
        section.charts.append(
            svg.heatmap(
                "Confusion matrix (rows: true class)",
                evaluation["confusion_matrix"],
                evaluation.get("classes") or [],
            )
        )
        per_class = evaluation.get("per_class") or {}
        if per_class:
            section.tables.append(
                Table(
                    ["class", "precision", "recall", "f1", "rows"],
                    [
                        [
                            c,
                            f"{v['precision']:.2f}",
                            f"{v['recall']:.2f}",
                            f"{v['f1-score']:.2f}",
                            int(v["support"]),
                        ]
                        for c, v in per_class.items()
                    ],
                    "Precision: of the rows predicted as the class, the share that were. Recall: "
                    "of the rows of the class, the share found.",
                )
            )
    elif evaluation.get("actual") and evaluation.get("predicted"):
        section.charts.append(
            svg.scatter_chart(
                "Predicted vs actual (test split)",
                evaluation["actual"],
                evaluation["predicted"],
                "actual",
                "predicted",
                diagonal=True,
            )
        )
        residuals = [
            p - a for a, p in zip(evaluation["actual"], evaluation["predicted"], strict=False)
        ]
        section.charts.append(
            svg.scatter_chart(
                "Residuals (predicted − actual)",
                evaluation["actual"],
                residuals,
                "actual",
                "residual",
                diagonal=False,
            )
        )
    return section

"""Report sections for each kind of run beyond training: search, compression, export, pipeline,
profile; any other kind gets its result's plain facts."""

from __future__ import annotations

from collections.abc import Callable

from core.report import svg
from core.report.collect import Context, training_sections
from core.report.explain import (
    explain_compression,
    explain_parity,
    explain_profile,
    explain_search,
    lower_is_better,
)
from core.report.model import Section, Table, fmt_bytes, fmt_value
from core.runs.store import Run

FORMAT_TITLE = {
    "keras": "Keras (.keras)",
    "savedmodel": "SavedModel (TF Serving)",
    "tflite": "TFLite (mobile, edge)",
    "tfjs": "TF.js (in the browser)",
    "micro": "C array (microcontrollers)",
    "c-array": "C array (microcontrollers)",
}


def _source_sections(ctx: Context, run_id: str | None, heading: str) -> list[Section]:
    source = ctx.run_or_none(run_id)
    if source is None or source.kind != "train" or source.status.value != "SUCCEEDED":
        return []
    sections = training_sections(ctx, source, heading)
    for section in sections:
        section.primary = False
    return sections


def search_sections(ctx: Context, run: Run) -> list[Section]:
    from core.tuning.trials import read_trials

    result = run.result or {}
    trials = read_trials(ctx.ws.run_dir(run.id)) or list(result.get("trials") or [])
    objective = (result.get("objective") or {}).get("name", "objective")
    direction = (result.get("objective") or {}).get("direction") or (
        "min" if lower_is_better(objective) else "max"
    )
    facts = [
        ("engine", str(result.get("engine", run.kind))),
        ("tuner", str(result.get("tuner", "—"))),
        ("model", str(result.get("model", "—"))),
        ("objective", f"{objective} ({'lower' if direction == 'min' else 'higher'} is better)"),
        ("trials", f"{result.get('completed', 0)} completed, {result.get('failed', 0)} failed"),
    ]
    if result.get("stopped_by"):
        facts.append(("stopped by", str(result["stopped_by"])))
    done = [t for t in trials if t.get("status") == "COMPLETED" and t.get("score") is not None]
    ranked = sorted(done, key=lambda t: t["score"], reverse=direction == "max")
    names = sorted(
        {
            k
            for t in ranked[:5]
            for k in (t.get("hyperparameters") or {})
            if not str(k).startswith("tuner/")
        }
    )
    table = Table(
        ["rank", "trial", objective, "epochs", *names],
        [
            [
                i + 1,
                t.get("number", 0) + 1,
                fmt_value(t["score"]),
                t.get("epochs", ""),
                *[fmt_value((t.get("hyperparameters") or {}).get(n)) for n in names],
            ]
            for i, t in enumerate(ranked[:5])
        ],
        "The best trials, best first.",
    )
    charts = []
    ordered = sorted(done, key=lambda t: t.get("number", 0))
    if ordered:
        scores = [float(t["score"]) for t in ordered]
        pick = max if direction == "max" else min
        best_so_far = [pick(scores[: i + 1]) for i in range(len(scores))]
        charts.append(
            svg.line_chart(
                f"{objective} per trial",
                {"trial": scores, "best so far": best_so_far},
                x_label="trial (in order started)",
                y_label=objective,
            )
        )
    sections = [
        Section(
            "Search",
            intro="Each trial trains the model with one choice of hyperparameters and is scored "
            "on the validation split; the search keeps the best.",
            facts=facts,
            notes=explain_search(result, trials),
            tables=[table] if ranked else [],
            charts=charts,
        )
    ]
    return sections


def compress_sections(ctx: Context, run: Run) -> list[Section]:
    report = run.result or {}
    base = report.get("baseline") or {}
    rows, labels, sizes, gz, metric = [], [], [], [], []
    for v in [base, *report.get("variants", [])]:
        if not v or "error" in v:
            if v:
                rows.append([v["method"], "failed: " + v["error"][:80], "", "", "", ""])
            continue
        rows.append(
            [
                v["method"],
                fmt_bytes(v["size_bytes"]),
                fmt_bytes(v["gzip_bytes"]),
                f"{v['metric']:.4g}",
                f"{v['latency_ms']:.3g}",
                f"{v['agreement']:.0%}" if v.get("agreement") is not None else "—",
            ]
        )
        labels.append(v["method"])
        sizes.append(v["size_bytes"] / 1024)
        gz.append(v["gzip_bytes"] / 1024)
        metric.append(float(v["metric"]))
    name = base.get("metric_name", "metric")
    table = Table(
        ["variant", "file size", "gzipped", f"test {name}", "1-row latency (ms)", "same class"],
        rows,
        f"Measured with the TFLite interpreter on {report.get('test_rows', 0)} held-out test "
        "rows; 'float' is the uncompressed TFLite model.",
    )
    section = Section(
        "Compression trade-offs",
        intro="Quantization stores weights in fewer bits; pruning sets small weights to zero; "
        "clustering shares a few weight values. Each trades a little accuracy for size or speed.",
        notes=explain_compression(report),
        tables=[table],
        charts=[
            c
            for c in (
                svg.bar_chart("File size (KB)", labels, sizes, "KB"),
                svg.bar_chart("Gzipped size (KB)", labels, gz, "KB"),
                svg.bar_chart(f"Test {name}", labels, metric, name),
            )
            if c
        ],
    )
    section.notes.extend(report.get("notes") or [])
    return [*_source_sections(ctx, report.get("source_run"), "Source model"), section]


def export_sections(ctx: Context, run: Run) -> list[Section]:
    result = run.result or {}
    rows, notes = [], []
    for fmt, bundle in (result.get("bundles") or {}).items():
        title = FORMAT_TITLE.get(fmt, fmt)
        if "error" in bundle and "bundle" not in bundle:
            rows.append([title, "failed", "", "", bundle["error"][:100]])
            notes.append(f"{title} could not be written: {bundle['error'][:200]}")
            continue
        parity = bundle.get("parity") or {}
        check = (
            f"max |diff| {parity['max_abs_diff']:.2g}"
            if parity.get("max_abs_diff") is not None
            else (bundle.get("error") or "not checked")
        )
        rows.append(
            [
                title,
                "ok" if bundle.get("ok") else "CHECK FAILED",
                fmt_bytes(bundle.get("model_bytes")),
                fmt_bytes(bundle.get("size_bytes")),
                check,
            ]
        )
        line = explain_parity(title, parity)
        if line:
            notes.append(line)
        elif not bundle.get("ok"):
            notes.append(
                f"{title} was written but not proven: {bundle.get('error') or 'no check'}."
            )
    if result.get("variant"):
        notes.insert(0, f"this export is the {result['variant']} variant of a compression run.")
    facts = [
        ("formats", ", ".join(result.get("formats") or [])),
        ("serving name", str(result.get("serving_name", "—"))),
        ("version", str(result.get("version", "—"))),
    ]
    section = Section(
        "Export",
        intro="Each format is loaded back by its own runtime and run on test rows: a parity "
        "check proves the exported file predicts what the Keras model predicts.",
        facts=facts,
        notes=notes,
        tables=[Table(["format", "check", "model size", "download size", "parity"], rows)],
    )
    source = result.get("train_run") or result.get("source_run")
    return [*_source_sections(ctx, source, "Source model"), section]


def pipeline_sections(ctx: Context, run: Run) -> list[Section]:
    result = run.result or {}
    stages = result.get("stages") or {}
    rows = [
        [
            name,
            s.get("type", ""),
            s.get("status", ""),
            ", ".join(f"{k} {v}" for k, v in (s.get("children") or {}).items()),
            (s.get("error") or "")[:80],
        ]
        for name, s in stages.items()
    ]
    evaluation = result.get("evaluation") or {}
    outcome = result.get("outcome", "finished")
    if result.get("pushed"):
        where = f" and registered as {result['registered']}" if result.get("registered") else ""
        notes = [f"the retrained model was pushed{where}."]
    else:
        notes = [f"the pipeline ended '{outcome}': nothing was pushed, production is unchanged."]
    if evaluation.get("challenger") is not None or evaluation.get("metric"):
        ch, prod = evaluation.get("challenger"), evaluation.get("production")
        metric = evaluation.get("metric", "metric")
        if isinstance(ch, int | float) and isinstance(prod, int | float):
            verdict = (
                "better, so it was pushed"
                if evaluation.get("better")
                else "not better by the margin, so production was kept"
            )
            notes.append(
                f"the retrained model scored {metric} {ch:.4g} against {prod:.4g} for the model "
                f"in production: {verdict}."
            )
        elif isinstance(ch, int | float):
            notes.append(
                f"the retrained model scored {metric} {ch:.4g}; there was no production "
                "model to beat."
            )
    validation = result.get("validation")
    if isinstance(validation, dict) and validation:
        found = [f"{v} {k}" for k, v in validation.items() if v]
        if not found:
            notes.append("data validation found nothing unusual in the new rows.")
        else:
            listed = " and ".join([", ".join(found[:-1]), found[-1]] if len(found) > 1 else found)
            went_on = (
                "none reached the stopping severity, so training went ahead"
                if result.get("stages", {}).get("train", {}).get("status") == "succeeded"
                else "the pipeline stopped before training"
            )
            notes.append(
                f"data validation flagged {listed}-severity anomalies in the new rows; {went_on}."
            )
    facts = [
        ("pipeline", str(result.get("pipeline", ""))),
        ("model name", str(result.get("model", ""))),
        ("dataset", fmt_value(result.get("dataset"))),
        ("pushed", fmt_value(result.get("pushed"))),
        ("registered", fmt_value(result.get("registered"))),
    ]
    section = Section(
        "Pipeline",
        intro="A pipeline checks new data against the data the model was trained on "
        "(TFX-style validation), retrains, compares the new model with production and pushes "
        "it only when it is better.",
        facts=facts,
        notes=notes,
        tables=[Table(["stage", "type", "status", "runs", "error"], rows)],
    )
    train_child = next(
        (
            s["children"][role]
            for s in stages.values()
            for role in (s.get("children") or {})
            if role in ("train", "promote")
        ),
        None,
    )
    return [section, *_source_sections(ctx, train_child, "Retrained model")]


def profile_sections(ctx: Context, run: Run) -> list[Section]:
    result = run.result or {}
    breakdown = result.get("breakdown_ms") or {}
    notes = explain_profile(result)
    ops = result.get("top_ops") or []
    notes.extend(
        str(r.get("text", r)) if isinstance(r, dict) else str(r)
        for r in result.get("recommendations") or []
    )
    section = Section(
        "Profile",
        intro="The TensorFlow Profiler recorded a few training steps and split each step's time "
        "into input, compute and other work.",
        facts=[("mode", str(result.get("mode", ""))), ("steps", fmt_value(result.get("range")))],
        notes=notes,
        tables=[
            Table(
                ["op", "type", "self time (µs)", "share"],
                [
                    [o["name"], o["type"], fmt_value(o["self_time_us"]), fmt_value(o["percent"])]
                    for o in ops
                ],
            )
        ]
        if ops
        else [],
        charts=[
            svg.bar_chart(
                "Step time breakdown (ms)",
                list(breakdown),
                [float(v or 0) for v in breakdown.values()],
                "ms",
            )
        ]
        if breakdown
        else [],
    )
    return [section, *_source_sections(ctx, result.get("source_run"), "Profiled model")]


def generic_sections(ctx: Context, run: Run) -> list[Section]:
    result = run.result or {}
    facts = [
        (k.replace("_", " "), fmt_value(v))
        for k, v in result.items()
        if not isinstance(v, dict | list) or k in ("metrics", "test_metrics") and False
    ]
    section = Section("Result", facts=facts[:30])
    metrics = result.get("test_metrics") or result.get("metrics") or {}
    if metrics:
        section.tables.append(
            Table(["metric", "value"], [[k, fmt_value(v)] for k, v in metrics.items()])
        )
    return [section]


def train_sections(ctx: Context, run: Run) -> list[Section]:
    return training_sections(ctx, run)


BUILDERS: dict[str, Callable[[Context, Run], list[Section]]] = {
    "train": train_sections,
    "tune": search_sections,
    "automl": search_sections,
    "compress": compress_sections,
    "export": export_sections,
    "pipeline": pipeline_sections,
    "profile": profile_sections,
}

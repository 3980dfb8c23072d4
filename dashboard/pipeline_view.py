"""Pipelines on the page: the stage graph with live status, a form that writes the YAML, the
validation report and the challenger/production comparison. No TensorFlow here."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st
import yaml

from core.pipelines.definition import Pipeline
from core.pipelines.state import read_state
from core.runs.status import RunStatus
from dashboard.components import render_run_header
from dashboard.services import store, workspace

# stage status -> (fill colour, border colour, label)
STATUS_STYLE = {
    "pending": ("#f1f3f5", "#adb5bd", "waiting"),
    "running": ("#d0ebff", "#1c7ed6", "running"),
    "succeeded": ("#d3f9d8", "#2b8a3e", "done"),
    "stopped": ("#fff3bf", "#e67700", "stopped"),
    "failed": ("#ffe3e3", "#c92a2a", "failed"),
    "skipped": ("#f8f9fa", "#ced4da", "skipped"),
}
STAGE_TITLE = {
    "ingest": "Ingest",
    "statistics": "Statistics",
    "validate": "Validate",
    "train": "Train",
    "tune": "Tune",
    "evaluate": "Evaluate",
    "push": "Push",
}


def _summary(stage_type: str, params: dict[str, Any], entry: dict[str, Any] | None) -> str:
    """One short line under a stage's name: what it does, or what it found."""
    out = (entry or {}).get("outputs", {})
    if stage_type == "ingest":
        if out.get("new_rows") is not None:
            return f"{out['new_rows']} new rows"
        return str(params.get("file") or f"folder {params.get('folder', '')}")
    if stage_type == "statistics" and out.get("rows") is not None:
        return f"{out['rows']} rows, {len(out.get('columns', {}))} columns"
    if stage_type == "validate":
        counts = out.get("counts")
        if counts:
            return f"{counts['high']} high · {counts['medium']} medium · {counts['low']} low"
        return f"stop at {params.get('severity', 'high')}"
    if stage_type in ("train", "tune"):
        metrics = out.get("test_metrics") or {}
        if metrics:
            name, value = next(iter(metrics.items()))
            return f"{name} {value:.3f}"
        return f"{params.get('epochs', '')} epochs".strip() if params.get("epochs") else ""
    if stage_type == "evaluate":
        if out.get("challenger") is not None:
            prod = out.get("production")
            prod_text = "none" if prod is None else f"{prod:.3f}"
            return f"{out['metric']} {out['challenger']:.3f} vs {prod_text}"
        return f"{params.get('metric', 'default metric')}, margin {params.get('margin', 0)}"
    if stage_type == "push":
        if "pushed" in out:
            return f"pushed {out.get('registered')}" if out["pushed"] else "not pushed"
        return ", ".join(params.get("formats", ["savedmodel"]))
    return ""


def stage_graph(pipeline: Pipeline, state: dict[str, Any] | None = None) -> str:
    """Graphviz DOT of the stages (left to right), coloured by status when a run is given."""
    lines = [
        "digraph pipeline {",
        '  rankdir=LR; bgcolor="transparent";',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, '
        'margin="0.2,0.1"];',
        '  edge [color="#868e96", arrowsize=0.7];',
    ]
    for stage in pipeline.order():
        entry = (state or {}).get("stages", {}).get(stage.name)
        status = entry["status"] if entry else "pending"
        fill, border, label = STATUS_STYLE.get(status, STATUS_STYLE["pending"])
        summary = _summary(stage.type, stage.params, entry).replace('"', "'")
        title = STAGE_TITLE.get(stage.type, stage.type)
        if stage.name != stage.type:
            title = f"{title} ({stage.name})"
        text = f"{title}\\n{label}" if state else title
        if summary:
            text += f"\\n{summary[:40]}"
        width = 2.5 if status == "running" else 1.2
        lines.append(
            f'  "{stage.name}" [label="{text}", fillcolor="{fill}", color="{border}", '
            f"penwidth={width}];"
        )
    for stage in pipeline.order():
        for upstream in stage.after:
            lines.append(f'  "{upstream}" -> "{stage.name}";')
    lines.append("}")
    return "\n".join(lines)


def pipeline_yaml(form: dict[str, Any]) -> str:
    """The YAML a pipeline form describes (stages in their usual order)."""
    doc: dict[str, Any] = {"name": form["name"], "dataset": form["dataset"]}
    if form.get("description"):
        doc["description"] = form["description"]
    if form.get("target"):
        doc["target"] = form["target"]
    if form.get("model"):
        doc["model"] = form["model"]
    ingest: dict[str, Any] = {"stage": "ingest"}
    if form.get("watch_folder"):
        ingest["folder"] = form["source"]
    else:
        ingest["file"] = form["source"]
    ingest["mode"] = form.get("mode", "append")
    learner: dict[str, Any] = {"stage": form.get("learner", "train"), "epochs": form["epochs"]}
    if form.get("learner") == "tune":
        learner.update(tuner=form.get("tuner", "random"), max_trials=form.get("max_trials", 4))
    learner["warm_start"] = bool(form.get("warm_start", True))
    doc["stages"] = [
        ingest,
        {"stage": "statistics"},
        {"stage": "validate", "severity": form.get("severity", "high")},
        learner,
        {
            "stage": "evaluate",
            "metric": form["metric"],
            "direction": form.get("direction", "max"),
            "margin": float(form.get("margin", 0.0)),
        },
        {"stage": "push", "formats": list(form.get("formats") or ["savedmodel"])},
    ]
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)


def anomalies_frame(report: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "severity": a["severity"],
            "column": a["column"] or "(table)",
            "kind": a["kind"],
            "detail": a["detail"],
        }
        for a in report.get("anomalies", [])
    ]
    return pd.DataFrame(rows, columns=["severity", "column", "kind", "detail"])


def stages_frame(state: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for name in state.get("order", []):
        e = state["stages"][name]
        took = ""
        if e.get("started_at"):
            took = f"{(e.get('finished_at') or time.time()) - e['started_at']:.0f} s"
        rows.append(
            {
                "stage": name,
                "type": e["type"],
                "status": e["status"],
                "time": took,
                "runs": ", ".join(f"{k} {v}" for k, v in e.get("children", {}).items()),
                "note": (e.get("error") or "")[:160],
            }
        )
    return pd.DataFrame(rows)


def render_pipeline_run(pipeline: Pipeline | None, run_id: str) -> None:
    """A pipeline run: live (polling) while active, then with its reports."""
    run = store().get_run(run_id)
    if run.status.is_active:
        _live(pipeline, run_id)
    else:
        _static(pipeline, run_id)


@st.fragment(run_every=1.0)
def _live(pipeline: Pipeline | None, run_id: str) -> None:
    from core.runs.recovery import reconcile

    reconcile(store())
    run = store().get_run(run_id)
    if not run.status.is_active:
        st.rerun()  # the whole page: reports, buttons
    _body(pipeline, run_id)


def _static(pipeline: Pipeline | None, run_id: str) -> None:
    _body(pipeline, run_id)


def _body(pipeline: Pipeline | None, run_id: str) -> None:
    run = store().get_run(run_id)
    render_run_header(run)
    state = read_state(workspace().run_dir(run_id))
    if pipeline is not None:
        st.graphviz_chart(stage_graph(pipeline, state), width="stretch")
    if not state:
        st.caption("The worker is starting…")
        return
    outcome = state.get("outcome")
    if outcome == "pushed":
        push = state["stages"][_first(state, "push")]["outputs"]
        server = push.get("server") or {}
        where = (
            f" The REST server at {server.get('url')} switched to version {server['version']}."
            if server.get("switched")
            else ""
        )
        st.success(f"Pushed: {push.get('registered')} is now in production.{where}")
    elif outcome == "not pushed":
        push = state["stages"][_first(state, "push")]["outputs"]
        st.info(f"{push.get('reason', 'not pushed')} (registered as {push.get('registered')}).")
    elif outcome == "no new data":
        st.info("No new data: nothing to do.")
    st.dataframe(stages_frame(state), hide_index=True, width="stretch")
    validate = _first(state, "validate")
    if validate:
        report = state["stages"][validate]["outputs"].get("report")
        if report and state["stages"][validate]["status"] == "stopped":
            st.info(
                "Nothing was trained or pushed. Fix the data (or choose a higher severity to "
                "stop at) and run the pipeline again."
            )
        if report:
            with st.expander(
                f"Validation report against {report.get('reference')} "
                f"({report['rows_new']} new rows)",
                expanded=state["stages"][validate]["status"] == "stopped",
            ):
                frame = anomalies_frame(report)
                if frame.empty:
                    st.write("No anomalies: the new data looks like the reference.")
                else:
                    st.dataframe(frame, hide_index=True, width="stretch")
    evaluate = _first(state, "evaluate")
    if evaluate and state["stages"][evaluate]["status"] == "succeeded":
        out = state["stages"][evaluate]["outputs"]
        cols = st.columns(3)
        cols[0].metric(f"challenger {out['metric']}", f"{out['challenger']:.4f}")
        prod = out.get("production")
        cols[1].metric(f"production {out['metric']}", "—" if prod is None else f"{prod:.4f}")
        improvement = out.get("improvement")
        cols[2].metric(
            "improvement",
            "—" if improvement is None else f"{improvement:+.4f}",
            help=f"{out['direction']} is better; pushed only when more than {out['margin']:g}",
        )
        st.caption(f"On the challenger's held-out test split ({out['rows']} rows): {out['reason']}")


def _first(state: dict[str, Any], kind: str) -> str | None:
    return next((n for n, e in state["stages"].items() if e["type"] == kind), None)


def resumable(status: RunStatus) -> bool:
    return status in (RunStatus.FAILED, RunStatus.CANCELED, RunStatus.LOST)

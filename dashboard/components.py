"""render_* helpers: take domain objects (runs, metric points, evaluations), never query storage
themselves unless named `*_panel`, and draw them with Streamlit and Plotly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.report.model import fmt_bytes
from core.runs.status import RunStatus
from core.runs.store import Artifact, MetricPoint, Run
from dashboard.baselines_view import render_baselines
from dashboard.progress import progress_text

STATUS_BADGE = {
    RunStatus.PENDING: (":material/hourglass_empty:", "gray"),
    RunStatus.RUNNING: (":material/autorenew:", "blue"),
    RunStatus.SUCCEEDED: (":material/check_circle:", "green"),
    RunStatus.FAILED: (":material/error:", "red"),
    RunStatus.CANCELED: (":material/stop_circle:", "orange"),
    RunStatus.LOST: (":material/warning:", "violet"),
}

# What a person should do next, for each way a run can end badly.
STATUS_HELP = {
    RunStatus.FAILED: "The job stopped with an error. Fix the input it names and start a new run.",
    RunStatus.CANCELED: "The run was stopped on request. Start a new run to try again.",
    RunStatus.LOST: "The worker process disappeared (killed or the machine restarted). "
    "Its log is kept below; start a new run to try again.",
}


def status_label(status: RunStatus) -> str:
    icon, color = STATUS_BADGE[status]
    return f":{color}[{icon} {status.value}]"


def fmt_time(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "—"


def render_run_header(run: Run) -> None:
    cols = st.columns([3, 2, 2])
    cols[0].markdown(f"**{run.name or run.kind}**  \n`{run.id}`")
    cols[1].markdown(f"{status_label(run.status)}")
    duration = (run.finished_at or dt.datetime.now().timestamp()) - (
        run.started_at or run.created_at
    )
    cols[2].markdown(f"started {fmt_time(run.started_at or run.created_at)}  \n{duration:.0f} s")
    if run.status.is_active:
        st.progress(run.fraction, text=progress_text(run))
        if run.cancel_requested_at:
            st.info("Cancel requested: the run stops at the next epoch boundary.")
    elif run.status is not RunStatus.SUCCEEDED:
        st.error(f"{run.error or run.status.value}\n\n{STATUS_HELP.get(run.status, '')}")


def metric_frame(points: list[MetricPoint]) -> pd.DataFrame:
    return pd.DataFrame([{"step": p.step, "name": p.name, "value": p.value} for p in points])


def render_curves(points: list[MetricPoint], key: str = "") -> None:
    """One chart per metric family (loss, accuracy, ...), training and validation overlaid."""
    if not points:
        st.caption("Curves appear after the first epoch.")
        return
    df = metric_frame(points)
    df["split"] = df["name"].map(lambda n: "validation" if n.startswith("val_") else "training")
    df["metric"] = df["name"].str.removeprefix("val_")
    families = list(dict.fromkeys(df["metric"]))
    cols = st.columns(min(len(families), 3))
    for i, family in enumerate(families):
        sub = df[df["metric"] == family]
        fig = px.line(
            sub,
            x="step",
            y="value",
            color="split",
            markers=True,
            title=family,
            labels={"step": "epoch", "value": family},
            color_discrete_map={"training": "#E8710A", "validation": "#1967D2"},
        )
        fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), legend_title_text="")
        cols[i % len(cols)].plotly_chart(fig, width="stretch", key=f"{key}-curve-{family}")


def render_evaluation(evaluation: dict[str, Any], key: str = "") -> None:
    metrics = evaluation.get("metrics", {})
    per_row = 4  # more than four numbers side by side are cut off ("30.…") at 1024 px
    items = list(metrics.items())
    cells = [
        col
        for start in range(0, len(items), per_row)
        for col in st.columns(per_row)[: len(items[start : start + per_row])]
    ]
    for col, (name, value) in zip(cells, items, strict=False):
        if value is None:
            col.metric(name.replace("_", " "), "—")
            continue
        col.metric(
            name.replace("_", " ").upper() if len(name) <= 4 else name.replace("_", " "),
            f"{value:.2f}%" if name == "mape" else f"{value:.3f}",  # MAPE is a percentage
        )
    render_baselines(evaluation.get("baselines"), key=key)
    if evaluation.get("task") == "classification":
        classes = evaluation["classes"]
        cm = evaluation["confusion_matrix"]
        fig = go.Figure(
            go.Heatmap(
                z=cm,
                x=classes,
                y=classes,
                colorscale="Oranges",
                text=cm,
                texttemplate="%{text}",
                showscale=False,
            )
        )
        fig.update_layout(
            title="Confusion matrix (test split)",
            xaxis_title="predicted",
            yaxis_title="actual",
            yaxis_autorange="reversed",
            height=380,
            margin=dict(l=10, r=10, t=40, b=10),
        )
        left, right = st.columns([3, 2])
        left.plotly_chart(fig, width="stretch", key=f"{key}-cm")
        per_class = pd.DataFrame(evaluation["per_class"]).T.rename_axis("class")
        per_class["support"] = per_class["support"].astype(int)
        right.dataframe(per_class.style.format(precision=3), width="stretch")
    elif evaluation.get("task") == "forecasting":
        df = pd.DataFrame(
            {
                "time": evaluation.get("times") or list(range(len(evaluation["actual"]))),
                "actual": evaluation["actual"],
                "model": evaluation["predicted"],
                "naive (last value)": evaluation["naive"],
            }
        )
        fig = px.line(
            df,
            x="time",
            y=["actual", "model", "naive (last value)"],
            title=f"Forecast vs actual, one step ahead ({evaluation['targets'][0]}, test windows)",
            color_discrete_map={
                "actual": "#1F2933",
                "model": "#E8710A",
                "naive (last value)": "#9AA0A6",
            },
        )
        fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), legend_title_text="")
        st.plotly_chart(fig, width="stretch", key=f"{key}-forecast")
        skill = metrics.get("skill_vs_naive")
        if skill is not None:
            verdict = "better" if skill > 0 else "worse"
            st.caption(
                f"The model's MAE is {abs(skill):.0%} {verdict} than repeating the last "
                "value seen (the naive forecast)."
            )
    elif evaluation.get("task") == "regression":
        df = pd.DataFrame({"actual": evaluation["actual"], "predicted": evaluation["predicted"]})
        lo, hi = float(df.min().min()), float(df.max().max())
        fig = px.scatter(
            df, x="actual", y="predicted", opacity=0.7, title="Predicted vs actual (test split)"
        )
        fig.add_shape(type="line", x0=lo, y0=lo, x1=hi, y1=hi, line=dict(dash="dash", color="gray"))
        fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10))
        st.plotly_chart(fig, width="stretch", key=f"{key}-scatter")
        residuals = df.assign(residual=df["actual"] - df["predicted"])
        fig = px.scatter(
            residuals,
            x="predicted",
            y="residual",
            opacity=0.7,
            title="Residuals (actual − predicted) vs predicted",
        )
        fig.add_hline(y=0, line_dash="dash", line_color="gray")
        fig.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10))
        st.plotly_chart(fig, width="stretch", key=f"{key}-residuals")


DOWNLOAD_HELP = {
    "model.keras": "End-to-end Keras model: raw columns in, predictions out.",
    "model.tflite": "TFLite model for phones and edge devices (checked with LiteRT).",
    "preprocessing.keras": "The preprocessing model on its own (runs on the CPU).",
    "network.keras": "The network on preprocessed features.",
    "savedmodel.zip": "SavedModel in TF Serving's NAME/VERSION layout, with a README.",
    "keras-bundle.zip": "Keras model, preprocessing model and input contract, with a README.",
    "tflite-bundle.zip": "TFLite model with labels and a metadata JSON, with a README.",
    "tfjs-bundle.zip": "TF.js graph model with a self-contained index.html (works offline).",
    "micro-bundle.zip": "The TFLite model as a C array for TFLite Micro, with the ops it needs.",
    "features.json": "Input names and types the model expects.",
}


def render_downloads(artifacts: dict[str, Artifact], names: list[str], key: str = "") -> None:
    shown = [n for n in names if n in artifacts and Path(artifacts[n].path).is_file()]
    if not shown:
        return
    cols = st.columns(len(shown))
    for col, name in zip(cols, shown, strict=True):
        art = artifacts[name]
        col.download_button(
            f"{name} ({fmt_bytes(art.size_bytes)})",
            icon=":material/download:",
            data=Path(art.path).read_bytes(),
            file_name=name,
            help=DOWNLOAD_HELP.get(name),
            on_click="ignore",
            key=f"{key}-dl-{name}",
            width="stretch",
        )


def read_json_artifact(artifacts: dict[str, Artifact], name: str) -> dict[str, Any] | None:
    art = artifacts.get(name)
    if art is None or not Path(art.path).is_file():
        return None
    return json.loads(Path(art.path).read_text())


def tail_text(path: str | Path, max_lines: int = 60) -> str:
    p = Path(path)
    if not p.is_file():
        return ""
    lines = p.read_text(errors="replace").splitlines()
    return "\n".join(lines[-max_lines:])

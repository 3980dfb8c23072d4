"""The prediction playground: type a row, write a text, upload an image or pick a test window,
and see what a finished training run's model says.

The model never runs in this process: "Predict" submits a `predict` job (a worker loads the model
and predicts once) and waits for it a few seconds. `render_playground(run)` is the entry point,
for any SUCCEEDED training run; `render_prediction(result)` draws a result dict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.errors import BadInput
from core.predict.inputs import (
    NUMERIC_DTYPES,
    load_contract,
    parse_row,
    parse_text,
    pick_window,
    row_json,
    sample_row,
    sample_text,
    save_image,
    saved_windows,
)
from core.runs import launcher
from core.runs.status import RunStatus
from core.runs.store import Run
from core.specs import PredictSpec
from core.training.features import ModelContract
from dashboard.services import store, workspace

WAIT_S = 120
PREDICTED_COLOR, OTHER_COLOR = "#E8710A", "#9AA0A6"


def render_playground(run: Run, key: str = "play") -> None:
    """A "Try the model" section for a SUCCEEDED training run (nothing for other runs)."""
    if run.kind != "train" or run.status is not RunStatus.SUCCEEDED:
        return
    st.subheader("Try the model")
    run_dir = workspace().run_dir(run.id)
    try:
        contract = load_contract(run_dir)
    except BadInput:
        st.caption("This run saved no model contract (features.json), so it cannot be tried here.")
        return
    k = f"{key}-{run.id}"
    kind = contract.input_kind
    window = None
    if kind == "table":
        spec_args = _table_input(run_dir, contract, k)
    elif kind == "text":
        spec_args = _text_input(run_dir, contract, k)
    elif kind == "image":
        spec_args = _image_input(run_dir, k)
    elif kind == "sequence":
        spec_args, window = _sequence_input(run_dir, contract, k)
    else:
        st.caption(f"The playground cannot build {kind!r} inputs.")
        return
    if st.button(
        "Predict",
        icon=":material/online_prediction:",
        type="primary",
        key=f"{k}-predict",
        disabled=spec_args is None,
        help="Runs the model once in a worker process (a few seconds).",
    ):
        st.session_state[f"{k}-last"] = _predict(run, PredictSpec(source_run=run.id, **spec_args))
    last = st.session_state.get(f"{k}-last")
    if last:
        _show_prediction_run(last, window, k)


def _predict(run: Run, spec: PredictSpec) -> str:
    """Submit the predict job and wait for it (predictions take seconds); returns its run id."""
    submitted = launcher.submit(workspace(), store(), spec, name=f"predict · {run.name or run.id}")
    with st.spinner("Predicting in a worker (loading the model takes a few seconds)…"):
        try:
            launcher.wait(store(), submitted.id, timeout_s=WAIT_S)
        except TimeoutError:
            pass  # shown below as still running
    return submitted.id


def _show_prediction_run(run_id: str, window: pd.DataFrame | None, key: str) -> None:
    predict_run = store().get_run(run_id)
    if predict_run.status.is_active:
        st.info(
            f"The prediction (run `{run_id}`) is still {predict_run.status.value.lower()}; "
            "press Predict again or see it on the Runs page."
        )
    elif predict_run.status is not RunStatus.SUCCEEDED:
        st.error(f"The prediction failed: {predict_run.error or predict_run.status.value}")
    else:
        render_prediction(predict_run.result or {}, key=key, window=window)


# -- inputs -----------------------------------------------------------------------------------


def _table_input(run_dir: Path, contract: ModelContract, key: str) -> dict[str, Any] | None:
    row = sample_row(run_dir, contract)
    frame = pd.DataFrame([row], columns=[f.column for f in contract.features])
    config = {}
    for f in contract.features:
        if f.dtype in NUMERIC_DTYPES or f.dtype == "int64":
            frame[f.column] = pd.to_numeric(frame[f.column], errors="coerce").astype("float64")
            config[f.column] = st.column_config.NumberColumn(
                f.column, help="a number; empty means missing"
            )
        else:
            frame[f.column] = frame[f.column].map(lambda v: "" if v is None else str(v))
            config[f.column] = st.column_config.TextColumn(
                f.column, help="a category; empty means missing"
            )
    st.caption(
        "One row to predict, started from the first held-out test row. Edit any cell; an "
        "empty cell is a missing value."
    )
    edited = st.data_editor(
        frame,
        num_rows="fixed",
        hide_index=True,
        column_config=config,
        key=f"{key}-row",
        width="stretch",
    )
    inputs_json = row_json(edited.iloc[0].to_dict())
    try:
        parse_row(inputs_json, contract)
    except BadInput as exc:
        st.error(str(exc))
        return None
    return {"inputs_json": inputs_json}


def _text_input(run_dir: Path, contract: ModelContract, key: str) -> dict[str, Any] | None:
    text = st.text_area(
        "Text to classify",
        value=sample_text(run_dir),
        key=f"{key}-text",
        help="Started from the first held-out test text.",
    )
    inputs_json = json.dumps({"text": text})
    try:
        parse_text(inputs_json, contract)
    except BadInput:
        st.caption("Type a text to classify.")
        return None
    return {"inputs_json": inputs_json}


def _image_input(run_dir: Path, key: str) -> dict[str, Any] | None:
    upload = st.file_uploader(
        "Image to classify (PNG or JPEG)", type=["png", "jpg", "jpeg"], key=f"{key}-image"
    )
    if upload is None:
        st.caption("Upload an image: the model resizes it as in training.")
        return None
    data = upload.getvalue()
    try:
        path = save_image(run_dir, data)
    except BadInput as exc:
        st.error(f"**{upload.name}**: {exc}")
        return None
    st.image(data, width=224, caption=upload.name)
    return {"image_path": str(path)}


def _sequence_input(
    run_dir: Path, contract: ModelContract, key: str
) -> tuple[dict[str, Any] | None, pd.DataFrame | None]:
    try:
        windows = saved_windows(run_dir)
    except BadInput as exc:
        st.caption(str(exc))
        return None, None
    if len(windows) == 0:
        st.caption("The run saved no test windows.")
        return None, None
    index = int(
        st.number_input(
            f"Test window (0 to {len(windows) - 1})",
            min_value=0,
            max_value=len(windows) - 1,
            value=0,
            step=1,
            key=f"{key}-window",
        )
    )
    window = pick_window(windows, index)[0]
    columns = [f.column for f in contract.features]
    if len(columns) != window.shape[-1]:
        columns = [f"input {i}" for i in range(window.shape[-1])]
    frame = pd.DataFrame(window, columns=columns)
    frame.index = np.arange(-len(frame) + 1, 1)
    frame.attrs["window_index"] = index
    times = contract.details.get("test_label_times") or []
    when = f", the steps before {times[index]}" if index < len(times) else ""
    fig = px.line(
        frame,
        labels={"index": "step (0 = last seen)", "value": "value", "variable": ""},
        title=f"Window {index}{when}",
    )
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=40, b=10))
    st.plotly_chart(fig, width="stretch", key=f"{key}-window-chart-{index}")
    return {"window_index": index}, frame


# -- results ----------------------------------------------------------------------------------


def render_prediction(
    result: dict[str, Any],
    key: str = "",
    window: pd.DataFrame | None = None,
) -> None:
    """A predict job's result: class probabilities as bars, or the predicted value(s)."""
    if "probabilities" in result:
        classes = [str(c) for c in result.get("classes") or []]
        probs = list(result["probabilities"])
        if len(classes) != len(probs):
            classes = [f"class {i}" for i in range(len(probs))]
        best = result.get("predicted_class", classes[int(np.argmax(probs))])
        st.markdown(f"Predicted class: **{best}** ({max(probs):.1%})")
        fig = go.Figure(
            go.Bar(
                x=classes,
                y=probs,
                marker_color=[PREDICTED_COLOR if c == best else OTHER_COLOR for c in classes],
                text=[f"{p:.1%}" for p in probs],
                textposition="outside",
            )
        )
        fig.update_layout(
            title="Class probabilities",
            yaxis=dict(range=[0, 1.1], tickformat=".0%", title="probability"),
            xaxis_title="class",
            height=320,
            margin=dict(l=10, r=10, t=40, b=10),
        )
        st.plotly_chart(fig, width="stretch", key=f"{key}-probabilities")
        return
    prediction = np.asarray(result.get("prediction", []), dtype="float64")
    if result.get("task") == "forecasting" or prediction.ndim >= 2:
        if window is not None and window.attrs.get("window_index") != result.get("window_index"):
            window = None  # the window picked now is not the one this forecast started from
        _render_forecast(result, prediction, key, window)
        return
    target = result.get("target") or "prediction"
    values = prediction.reshape(-1)
    if values.size == 1:
        st.metric(f"Predicted {target}", f"{values[0]:.4g}")
    else:
        st.dataframe(pd.DataFrame({target: values}), hide_index=True)


def _render_forecast(
    result: dict[str, Any], prediction: np.ndarray, key: str, window: pd.DataFrame | None
) -> None:
    steps = (
        prediction.reshape(prediction.shape[0], -1) if prediction.ndim >= 2 else prediction[:, None]
    )
    targets = [t for t in str(result.get("target", "")).split(",") if t]
    if len(targets) != steps.shape[1]:
        targets = [f"target {i}" for i in range(steps.shape[1])]
    table = pd.DataFrame(
        steps, columns=targets, index=pd.Index(range(1, len(steps) + 1), name="step ahead")
    )
    fig = go.Figure()
    palette = px.colors.qualitative.Plotly
    for i, target in enumerate(targets):
        color = palette[i % len(palette)]
        if window is not None and target in window.columns:
            fig.add_scatter(
                x=list(window.index),
                y=window[target],
                name=f"{target} (seen)",
                line=dict(color=color),
            )
        fig.add_scatter(
            x=list(table.index),
            y=table[target],
            name=f"{target} (forecast)",
            mode="lines+markers",
            line=dict(color=color, dash="dash"),
        )
    fig.update_layout(
        title="Forecast",
        xaxis_title="step (0 = last seen)",
        height=300,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    st.plotly_chart(fig, width="stretch", key=f"{key}-forecast")
    st.dataframe(table.style.format(precision=4), width="stretch")

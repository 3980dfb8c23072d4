"""Train: choose data and target, train in a worker, watch live curves, evaluate, download."""

import streamlit as st

from core.data.samples import resolve_data_path
from core.data.tabular import load_table, read_csv
from core.errors import BadInput
from core.models.catalog import check_fits, list_entries
from core.runs import launcher
from core.specs import TrainSpec
from dashboard.data_picker import render_data_picker
from dashboard.run_view import render_log, render_run, render_training_result
from dashboard.services import store, workspace

st.title("Train")

run_id = st.query_params.get("run")
if run_id:
    if st.button("New training run", icon=":material/add:"):
        del st.query_params["run"]
        st.rerun()
    render_run(run_id, key="train", finished=render_training_result)
    run = store().get_run(run_id) if run_id else None
    if run:
        render_log(run)
    st.stop()

picked = render_data_picker("train")
if picked is None:
    st.stop()
try:
    columns = list(
        read_csv(resolve_data_path(picked.ref, workspace().samples_dir), picked.label).columns
    )
except BadInput as exc:
    st.error(str(exc))
    st.stop()

left, right = st.columns(2)
default = (
    columns.index(picked.default_target) if picked.default_target in columns else len(columns) - 1
)
target = left.selectbox("Column to predict (target)", columns, index=default, key="train-target")
task = right.selectbox(
    "Task",
    ["auto", "classification", "regression"],
    key="train-task",
    help="auto: text or few whole-number values → classification; else regression",
)
model = left.selectbox(
    "Model",
    [e.name for e in list_entries()],
    key="train-model",
    format_func=lambda n: f"{n} · multilayer perceptron" if n == "mlp" else n,
)
with st.expander("Training options"):
    a, b, c = st.columns(3)
    epochs = a.number_input("Epochs", 1, 1000, 30, key="train-epochs")
    batch_size = b.number_input("Batch size", 1, 4096, 32, key="train-batch")
    learning_rate = c.number_input("Learning rate", 1e-5, 1.0, 0.01, format="%.4f", key="train-lr")
    units = a.selectbox("Hidden layers", ["32,16", "16", "64,32", "128,64,32"], key="train-units")
    dropout = b.slider("Dropout", 0.0, 0.5, 0.0, 0.05, key="train-dropout")
    seed = c.number_input("Seed", 0, 2**31 - 1, 42, key="train-seed")
coerce = st.checkbox(
    "Treat non-numbers in numeric columns as missing",
    key="train-coerce",
    help="Otherwise such a file is refused with the values that are wrong.",
)

if st.button("Train", icon=":material/play_arrow:", type="primary", key="train-start"):
    spec = TrainSpec(
        data=picked.ref,
        target=target,
        model=model,
        task=task,
        epochs=int(epochs),
        batch_size=int(batch_size),
        learning_rate=float(learning_rate),
        hidden_units=tuple(int(u) for u in units.split(",")),
        dropout=float(dropout),
        seed=int(seed),
        coerce_numeric=coerce,
    )
    try:
        info = load_table(
            resolve_data_path(spec.data, workspace().samples_dir),
            spec.target,
            spec.task,
            spec.coerce_numeric,
        )
        check_fits(spec.model, info.task, "table")
    except BadInput as exc:
        st.error(f"Cannot train on this: {exc}")
        st.stop()
    run = launcher.submit(workspace(), store(), spec, name=f"{model} · {target} · {picked.label}")
    st.query_params["run"] = run.id
    st.rerun()

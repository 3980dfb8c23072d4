"""Train: choose data, task and model; train in a worker; watch live curves; evaluate; download."""

import json

import streamlit as st

from core.errors import BadInput, NotFound
from core.help import HELP
from core.models.catalog import DEFAULT_MODEL, default_hp, list_entries
from core.runs import launcher
from core.specs import (
    CLASS_WEIGHTS,
    OPTIMIZERS,
    SCHEDULES,
    SPLITS,
    STRATEGIES,
    TASKS,
    TrainSpec,
    field_default,
)
from core.training.precheck import check_train_spec, resolve_task
from dashboard.batch_view import render_batch_predict
from dashboard.data_picker import pick_table
from dashboard.playground import render_playground
from dashboard.run_summary import render_report_buttons
from dashboard.run_view import render_log, render_run, render_training_result
from dashboard.services import store, workspace
from dashboard.tools_view import render_tensorboard_panel

st.title("Train")

run_id = st.query_params.get("run")
if run_id:
    if st.button("New training run", icon=":material/add:"):
        del st.query_params["run"]
        st.rerun()
    render_run(run_id, key="train", finished=render_training_result)
    try:
        run = store().get_run(run_id)
    except NotFound:
        st.stop()
    render_report_buttons(run, key="train", heading="What this run shows", explain=True)
    render_tensorboard_panel(run, key="train-tb")
    render_playground(run, key="train-play")
    render_batch_predict(run, key="train-batch")
    render_log(run)
    st.stop()

table = pick_table("train")
picked, loaded, kind, columns = table.picked, table.loaded, table.kind, table.columns

left, right = st.columns(2)
task = left.selectbox(
    "Task",
    TASKS,
    key="train-task",
    help="auto: images → image classification, text → text classification, "
    "a time series → forecasting, else from the target column",
)
target = table.target_box(right, "train")
try:
    resolved = resolve_task(TrainSpec(data=picked.ref, target=target, task=task), loaded)
except BadInput:
    resolved = "classification"
entries = list_entries(resolved, handles=True)
titles = {e.name: e.title for e in entries}
models = [e.name for e in entries]
model = left.selectbox(
    "Model",
    models,
    index=models.index(DEFAULT_MODEL[resolved]),
    key=f"train-model-{resolved}",
    format_func=lambda n: f"{n} · {titles[n]}",
    help=HELP["model"],
)
right.markdown(f"&nbsp;  \n**{resolved}** on {picked.label}")

extra: dict = {}
if model in ("hub", "kerashub", "kerashub-text", "hub-text"):
    text_preset = model == "kerashub-text"
    handle = st.text_input(
        "TF Hub URL or SavedModel folder"
        if model.startswith("hub")
        else "KerasHub preset name or folder",
        key=f"train-handle-{model}",
        placeholder=(
            "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5"
            if model == "hub"
            else "https://tfhub.dev/google/nnlm-en-dim50/2"
            if model == "hub-text"
            else "bert_tiny_en_uncased"
            if text_preset
            else "mobilenet_v3_small_050_imagenet"
        ),
        help="Downloaded once into the cache (see the Models page for names and sizes); "
        "without internet access, give a local copy: a SavedModel folder (TF Hub) or a "
        "folder written by save_to_preset (KerasHub).",
    )
    prefix = {"kerashub-text": "kerashub", "hub-text": "hub"}.get(model, model)
    model = f"{prefix}:{handle}" if handle else model
if model.startswith(("keras-app:", "hub:", "kerashub:")):
    a, b, c = st.columns(3)
    if model.startswith("keras-app:"):
        extra["weights"] = a.text_input(
            "Weights file (optional)",
            key="train-weights",
            help="Else ImageNet weights from the Keras cache, downloaded once if missing; "
            "`random` for random initialisation",
        )
    extra["fine_tune_layers"] = int(
        b.number_input(
            "Fine-tune top layers",
            0,
            500,
            0,
            key="train-ft-layers",
            help="After training the new head, unfreeze this many top backbone layers",
        )
    )
    extra["fine_tune_epochs"] = int(
        c.number_input(
            "Fine-tune epochs", 0, 500, 0, key="train-ft-epochs", help=HELP["fine_tune_epochs"]
        )
    )
    extra["offline"] = st.checkbox(
        "Offline (no downloads)",
        key="train-offline",
        help="Use cached or local files only; a missing download stops the run at once",
    )
    if model.startswith("hub:"):
        extra["trust_savedmodel"] = st.checkbox(
            "I trust this SavedModel",
            key="train-trust",
            help="A TF Hub SavedModel runs its own graph, which Keras loads only outside safe "
            "mode; the choice is recorded with the run (and its exports)",
        )
if resolved in ("classification", "regression"):
    numeric_columns = [c for c in columns if c != target and loaded.frame[c].dtype.kind in "if"]
    extra["bucketize"] = tuple(
        st.multiselect(
            "Bucketize (Discretization into quantile bins instead of Normalization)",
            numeric_columns,
            key="train-bucketize",
            help=HELP["bucketize"],
        )
    )
elif resolved == "forecasting":
    a, b, c, d = st.columns(4)
    extra["window"] = int(
        a.number_input(
            "Input steps",
            1,
            10_000,
            min(24, max(2, (loaded.stream.rows if loaded.stream else len(loaded.frame)) // 8)),
            key="train-window",
            help=HELP["window"],
        )
    )
    extra["horizon"] = int(
        b.number_input("Steps ahead", 1, 1_000, 1, key="train-horizon", help=HELP["horizon"])
    )
    extra["stride"] = int(
        c.number_input("Stride", 1, 1_000, 1, key="train-stride", help=HELP["stride"])
    )
    numeric = [
        col
        for col in columns
        if col != target and str(loaded.frame[col].dtype) not in ("object", "str", "string")
    ]
    extra["features"] = tuple(
        d.multiselect("Extra input columns", numeric, key="train-features", help=HELP["features"])
    )
elif resolved == "text-classification":
    a, b = st.columns(2)
    extra["max_tokens"] = int(
        a.number_input(
            "Vocabulary size", 100, 200_000, 10_000, key="train-vocab", help=HELP["max_tokens"]
        )
    )
    extra["sequence_length"] = int(
        b.number_input(
            "Tokens per text", 4, 2_048, 64, key="train-len", help=HELP["sequence_length"]
        )
    )
elif resolved == "image-classification":
    extra["image_size"] = int(
        st.select_slider(
            "Image size (pixels)",
            [32, 48, 64, 96, 128, 160, 224],
            value=64,
            key="train-imgsize",
            help=HELP["image_size"],
        )
    )


def spec_number(col, label: str, field: str, low: int, high: int, key: str):
    """A number box that starts at TrainSpec's own default for `field`, with its help."""
    value = field_default(TrainSpec, field)
    return col.number_input(label, low, high, value, key=f"train-{key}", help=HELP[field])


defaults = default_hp(model)
with st.expander("Training options"):
    a, b, c = st.columns(3)
    epochs = spec_number(a, "Epochs", "epochs", 1, 1000, key="epochs")
    batch_size = spec_number(b, "Batch size", "batch_size", 1, 4096, key="batch")
    learning_rate = c.number_input(
        "Learning rate",
        1e-5,
        1.0,
        float(defaults.get("learning_rate", 0.001)),
        format="%.4f",
        key=f"train-lr-{model}",
        help=HELP["learning_rate"],
    )
    dropout = a.slider(
        "Dropout",
        0.0,
        0.5,
        float(defaults.get("dropout", 0.0)),
        0.05,
        key=f"train-dropout-{model}",
        help=HELP["dropout"],
    )
    seed = spec_number(b, "Seed", "seed", 0, 2**31 - 1, key="seed")
    patience = spec_number(
        a, "Early stopping patience (0 = off)", "early_stopping", 0, 1000, key="patience"
    )
    fractions = {
        name: b.number_input(
            label,
            0.05,
            0.5,
            float(field_default(TrainSpec, name)),
            0.05,
            key=f"train-{name}",
            help=HELP[name],
        )
        for name, label in (
            ("validation_fraction", "Validation share"),
            ("test_fraction", "Test share"),
        )
    }
    extra.update({k: float(v) for k, v in fractions.items()})
    extra["refit"] = a.checkbox(
        "Refit on training + validation rows",
        value=field_default(TrainSpec, "refit"),
        key="train-refit",
        help=HELP["refit"],
    )
    split = c.selectbox(
        "Split",
        list(SPLITS),
        key="train-split",
        help=HELP["split"],
    )
    extra["optimizer"] = b.selectbox(
        "Optimizer", list(OPTIMIZERS), key="train-optimizer", help=HELP["optimizer"]
    )
    extra["schedule"] = c.selectbox(
        "Learning-rate schedule", list(SCHEDULES), key="train-schedule", help=HELP["schedule"]
    )
    if resolved in ("classification", "image-classification", "text-classification"):
        extra["class_weights"] = a.selectbox(
            "Class weights",
            list(CLASS_WEIGHTS),
            key="train-class-weights",
            help=HELP["class_weights"],
        )
    strategy = b.selectbox(
        "Distribution strategy",
        list(STRATEGIES),
        key="train-strategy",
        help="mirrored: several local devices (the CPU split into logical devices here); "
        "multiworker: several worker processes (TF_CONFIG), started on this machine; "
        "parameter_server: variables on a ps process, workers train asynchronously "
        "(large clusters), all started on this machine",
    )
    extra["strategy"] = strategy
    if strategy != "default":
        extra["workers"] = int(
            c.number_input("Devices / workers", 1, 16, 2, key="train-workers", help=HELP["workers"])
        )
    extra["mixed_precision"] = a.checkbox(
        "Mixed precision (GPU only)", key="train-mixed", help=HELP["mixed_precision"]
    )
coerce = st.checkbox(
    "Treat non-numbers in numeric columns as missing",
    key="train-coerce",
    help="Otherwise such a file is refused with the values that are wrong.",
)

spec = table.spec(
    TrainSpec,
    target,
    model=model,
    task=task,
    epochs=int(epochs),
    batch_size=int(batch_size),
    learning_rate=float(learning_rate),
    dropout=float(dropout),
    seed=int(seed),
    coerce_numeric=coerce,
    split=split,
    early_stopping=int(patience),
    **extra,
)


@st.cache_data(ttl=60, show_spinner=False)
def preview(spec_json: str):
    """The plan for a spec (split sizes, warnings) or the reason it cannot run."""
    try:
        return check_train_spec(TrainSpec.from_dict(json.loads(spec_json)), workspace()), None
    except (BadInput, NotFound) as exc:
        return None, str(exc)


planned, problem = preview(json.dumps(spec.to_dict(), sort_keys=True))
if problem:
    st.warning(f"Cannot train on this yet: {problem}")
else:
    unit = "windows" if planned.task == "forecasting" else "examples"
    st.caption(
        f"Split ({split}): "
        + " · ".join(f"{k} **{v:,}**" for k, v in planned.split_sizes.items())
        + f" {unit}"
    )
    for w in planned.warnings:
        st.caption(f":orange[:material/warning:] {w}")

if st.button(
    "Train",
    icon=":material/play_arrow:",
    type="primary",
    key="train-start",
    disabled=problem is not None,
):
    try:
        planned = check_train_spec(spec, workspace())
    except (BadInput, NotFound) as exc:
        st.error(f"Cannot train on this: {exc}")
        st.stop()
    run = launcher.submit(
        workspace(),
        store(),
        spec,
        name=f"{planned.model} · {table.target_name(target)} · {picked.label}",
    )
    st.query_params["run"] = run.id
    st.rerun()

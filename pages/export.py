"""Export: a training run's model as Keras, SavedModel or TFLite, each checked by its runtime."""

import streamlit as st

from core.errors import BadInput
from core.export.job import source_model_dir
from core.runs import launcher
from core.runs.status import RunStatus
from core.specs import ExportSpec
from dashboard.components import render_downloads
from dashboard.navigation import page_icon, page_path
from dashboard.run_view import render_run
from dashboard.services import store, workspace

st.title("Export")
st.caption(
    "Each export runs in a worker: the file is written, loaded again by its own runtime "
    "(Keras, `tf.saved_model.load`, the LiteRT interpreter) and its predictions on held-out "
    "rows are compared with the Keras model before you download it."
)

trained = store().list_runs(kind="train", statuses={RunStatus.SUCCEEDED})
if not trained:
    st.info("No finished training run yet: train a model first.")
    st.page_link(page_path("train"), label="Go to Train →", icon=page_icon("train"))
    st.stop()

FORMATS = {
    "keras": "Keras (.keras)",
    "savedmodel": "SavedModel (TF Serving)",
    "tflite": "TFLite (.tflite)",
}
source = st.selectbox(
    "Model from run",
    [r.id for r in trained],
    key="export-source",
    format_func=lambda i: f"{i} · {next(r.name for r in trained if r.id == i)}",
)
fmt = st.radio(
    "Format", list(FORMATS), format_func=FORMATS.get, horizontal=True, key="export-format"
)
if st.button("Export and check", icon=":material/verified:", type="primary", key="export-start"):
    try:
        source_model_dir(store(), workspace(), source)
    except BadInput as exc:
        st.error(str(exc))
        st.stop()
    run = launcher.submit(
        workspace(),
        store(),
        ExportSpec(source_run=source, format=fmt),
        name=f"export {fmt} of {source}",
    )
    st.query_params["export"] = run.id
    st.rerun()


def show_export(run) -> None:
    result = run.result or {}
    check = result.get("parity", {})
    if check:
        agree = f" · same class on {check['agreement']:.0%}" if "agreement" in check else ""
        st.success(
            f"{result['format']}: {result['size_bytes']:,} bytes · checked on "
            f"{check['rows']} rows · max |difference| {check['max_abs_diff']:.2g}{agree}"
        )
    render_downloads(
        store().get_artifacts(run.id),
        ["model.keras", "model.tflite", "savedmodel.zip"],
        key=f"export-{run.id}",
    )


export_id = st.query_params.get("export")
if export_id:
    st.divider()
    render_run(export_id, key="export", finished=show_export)

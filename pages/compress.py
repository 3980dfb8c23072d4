"""Compress: quantize, prune, cluster or QAT a training run's model, with an honest report."""

import streamlit as st

from core.compression.preflight import METHOD_LABELS, check_spec, preflight
from core.errors import BadInput
from core.export.source import source_model_dir
from core.help import HELP, choice_help
from core.report.explain import explain_compression
from core.runs import launcher
from core.specs import CENTROID_INITS, PRUNE_SCHEDULES, CompressSpec
from dashboard.components import render_downloads
from dashboard.compression_view import methods_frame, pareto_figure, report_frame
from dashboard.navigation import page_path
from dashboard.run_summary import render_report_buttons
from dashboard.run_view import finished_training_runs, render_run
from dashboard.services import store, workspace

st.title("Compress")
st.caption(
    "Each method runs in a worker. Every variant is measured with the TFLite/LiteRT interpreter "
    "on the run's held-out test split, beside the float TFLite baseline: file size raw and "
    "gzipped (pruning only shows after compression), the test metric, and latency on this "
    "machine."
)

trained = finished_training_runs()

source = st.selectbox(
    "Model from run",
    [r.id for r in trained],
    key="compress-source",
    format_func=lambda i: f"{i} · {next(r.name for r in trained if r.id == i)}",
)
try:
    report = preflight(source, source_model_dir(store(), workspace(), source))
except BadInput as exc:
    st.error(str(exc))
    st.stop()

st.subheader("Preflight")
st.dataframe(methods_frame(report), width="stretch")
if report.layers:
    with st.expander("Layers the fine-tuning methods wrap"):
        st.dataframe(report.table(), width="stretch", hide_index=True)

available = [m for m, c in report.methods.items() if c.supported]
if not available:
    st.warning("No compression method can take this model yet (see the reasons above).")
    st.stop()
methods = st.multiselect(
    "Methods",
    available,
    default=[m for m in ("dynamic", "float16", "int8") if m in available],
    format_func=lambda m: f"{m}: {METHOD_LABELS[m]}",
    key="compress-methods",
    help=choice_help("compress", available) + "\n\n" + HELP["representative_data"],
)
PRUNING = {"prune", "prune+int8", "pqat"}
CLUSTERING = {"cluster", "cluster+int8", "cqat"}
TUNED = PRUNING | CLUSTERING | {"qat"}
# Each option: the methods that read it (it is disabled unless one is chosen) and its help.
OPTIONS = {
    "sparsity": (PRUNING, "sparsity"),
    "clusters": (CLUSTERING, "clusters"),
    "epochs": (TUNED, "compress.epochs"),
    "int8-io": ({"int8", "prune+int8", "cluster+int8"}, "int8_io"),
    "schedule": (PRUNING, "prune_schedule"),
    "centroids": (CLUSTERING, "centroids"),
}
# What the choices show, by option.
LABELS = {
    "schedule": {
        "polynomial": "polynomial decay (0 → target over 2/3 of fine-tuning)",
        "constant": "constant (the target from the first step)",
    },
    "centroids": {
        "kmeans++": "k-means++",
        "linear": "linear (evenly spaced between min and max)",
        "density": "density-based (by the weights' distribution)",
        "random": "random (uniform between min and max)",
    },
}


def knob(widget, label: str, *args, key: str, **kwargs):
    """An option's widget, keyed compress-KEY, with its help (and its choices' labels);
    disabled unless a chosen method reads it."""
    needs, help_key = OPTIONS[key]
    if key in LABELS:
        kwargs["format_func"] = LABELS[key].get
    return widget(
        label,
        *args,
        key=f"compress-{key}",
        disabled=not needs & set(methods),
        help=HELP[help_key],
        **kwargs,
    )


cols = st.columns(4)
sparsity = knob(cols[0].slider, "Pruning sparsity", 0.05, 0.95, 0.8, 0.05, key="sparsity")
clusters = knob(cols[1].number_input, "Clusters", 2, 256, 16, key="clusters")
epochs = knob(cols[2].number_input, "Fine-tuning epochs", 0, 200, 5, key="epochs")
int8_io = knob(cols[3].checkbox, "int8 inputs/outputs", key="int8-io")
cols = st.columns(2)
schedule = knob(cols[0].radio, "Pruning schedule", list(PRUNE_SCHEDULES), key="schedule")
centroids = knob(
    cols[1].selectbox, "Centroid initialisation", list(CENTROID_INITS), key="centroids"
)

if st.button(
    "Compress and measure",
    icon=":material/compress:",
    type="primary",
    key="compress-start",
    disabled=not methods,
):
    spec = CompressSpec(
        source_run=source,
        method=",".join(methods),
        sparsity=float(sparsity),
        clusters=int(clusters),
        epochs=int(epochs),
        int8_io=bool(int8_io),
        schedule=str(schedule),
        centroids=str(centroids),
    )
    try:
        check_spec(spec, store(), workspace())
    except BadInput as exc:
        st.error(str(exc))
        st.stop()
    run = launcher.submit(
        workspace(), store(), spec, name=f"compress {','.join(methods)} of {source}"
    )
    st.query_params["compress"] = run.id
    st.rerun()


def show_report(run) -> None:
    result = run.result or {}
    if not result.get("baseline"):
        return
    st.subheader("Report")
    st.caption(
        f"{result.get('test_rows', 0)} held-out test rows, evaluated with the TFLite "
        "interpreter; latency is the median of repeated runs on this machine."
    )
    for line in explain_compression(result):
        st.markdown(f"- {line[0].upper()}{line[1:]}")
    for note in result.get("notes", []):
        st.warning(note)
    frame = report_frame(result)
    st.dataframe(frame, width="stretch")
    for v in result.get("variants", []):
        if "error" in v:
            st.error(f"{v['method']} failed: {v['error']}")
    left, right = st.columns(2)
    size = pareto_figure(result, "gzip_bytes", "gzipped size (bytes)")
    speed = pareto_figure(result, "latency_ms", "latency, 1 row (ms)")
    if size is not None:
        left.plotly_chart(size, width="stretch", key=f"compress-size-{run.id}")
    if speed is not None:
        right.plotly_chart(speed, width="stretch", key=f"compress-latency-{run.id}")
    usable = [v for v in result.get("variants", []) if "error" not in v]
    if usable:
        st.subheader("Use a variant")
        st.caption(
            "The Export page writes the chosen variant's bundles (its own TFLite file; Keras, "
            "SavedModel and TF.js too for pruned and clustered variants) and checks each with "
            "its runtime before you download it."
        )
        cols = st.columns(min(len(usable), 4))
        for i, v in enumerate(usable):
            cols[i % len(cols)].page_link(
                page_path("export"),
                label=f"Use {v['method']} → Export",
                icon=":material/deployed_code:",
                query_params={"compress": run.id, "variant": v["method"]},
            )
    artifacts = store().get_artifacts(run.id)
    names = [n for n in artifacts if n.endswith((".tflite", ".keras"))]
    names = [*names, "compression_report.json"]
    st.subheader("Download")
    for start in range(0, len(names), 4):  # four to a row, so the names stay readable
        render_downloads(artifacts, names[start : start + 4], key=f"compress-{run.id}")
    render_report_buttons(run, key="compress", heading="Share this run")


compress_id = st.query_params.get("compress")
if compress_id:
    st.divider()
    render_run(compress_id, key="compress", finished=show_report)

"""Export: a training run's model as bundles, each checked by its own runtime; and Deploy."""

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import BadInput
from core.export.micro_glue import preflight as micro_preflight
from core.export.names import BUNDLE_NAME, FORMAT_TITLE, RUNTIME
from core.export.source import check as check_export
from core.export.source import resolve as resolve_export
from core.export.source import variant_formats, variant_names
from core.help import HELP, choice_help
from core.runs import launcher
from core.runs.status import RunStatus
from core.serving import process as serving
from core.specs import EXPORT_FORMATS, ExportSpec
from dashboard.components import fmt_bytes
from dashboard.navigation import page_icon, page_path
from dashboard.run_summary import render_report_buttons
from dashboard.run_view import render_run
from dashboard.services import store, workspace

st.title("Export")
st.caption(
    "Each export runs in a worker: every bundle is written, loaded again by its own runtime "
    "(Keras, `tf.saved_model.load`, the LiteRT and TFLite Micro interpreters, "
    "`@tensorflow/tfjs` in headless Chromium) and its predictions on held-out rows are "
    "compared with the Keras model before you download it."
)

# Training runs and AutoKeras searches (their best model is saved like a training run's).
trained = sorted(
    (
        run
        for kind in ("train", "automl")
        for run in store().list_runs(kind=kind, statuses={RunStatus.SUCCEEDED})
    ),
    key=lambda run: run.created_at,
    reverse=True,
)
if not trained:
    st.info("No finished training run yet: train a model first.")
    st.page_link(page_path("train"), label="Go to Train →", icon=page_icon("train"))
    st.stop()

FORMATS = {
    "keras": "Keras (.keras + preprocessing)",
    "savedmodel": "SavedModel (TF Serving)",
    "tflite": "TFLite (+ labels, metadata)",
    "tfjs": "TF.js (browser, index.html)",
    "micro": "Microcontroller (C array)",
}
QUANT = {"": "float32 (none)", "uint8": "uint8", "float16": "float16"}


def _micro_refusal(run_id: str, method: str) -> str:
    """Why TFLite Micro cannot run this source ('' if the worker can try): no TF, no worker."""
    try:
        src = resolve_export(store(), workspace(), run_id, method)
    except BadInput as exc:
        return str(exc)
    return micro_preflight(src.folder, src.variant)


# A compressed variant chosen on the Compress page arrives as ?compress=RUN&variant=METHOD.
compressions = [
    r
    for r in store().list_runs(kind="compress", statuses={RunStatus.SUCCEEDED})
    if variant_names(r.result or {})
]
picked_run = st.query_params.get("compress", "")
picked_variant = st.query_params.get("variant", "")
origin = st.radio(
    "Export",
    ["train", "variant"],
    index=1 if (picked_run and picked_variant and compressions) else 0,
    format_func={
        "train": "the model of a training run",
        "variant": "a compressed variant (from the Compress page)",
    }.get,
    horizontal=True,
    key="export-origin",
    disabled=not compressions,
    help=None if compressions else "No finished compression run yet: see the Compress page.",
)
variant = ""
if origin == "variant":
    ids = [r.id for r in compressions]
    source = st.selectbox(
        "Compression run",
        ids,
        index=ids.index(picked_run) if picked_run in ids else 0,
        key="export-compress",
        format_func=lambda i: f"{i} · {next(r.name for r in compressions if r.id == i)}",
    )
    report = next(r for r in compressions if r.id == source).result or {}
    names = variant_names(report)
    rows = {v["method"]: v for v in report.get("variants", [])}
    variant = st.selectbox(
        "Variant",
        names,
        index=names.index(picked_variant) if picked_variant in names else 0,
        key="export-variant",
        format_func=lambda m: (
            f"{m} · {fmt_bytes(rows[m]['size_bytes'])} · {rows[m]['metric_name']} "
            f"{rows[m]['metric']:.4g}"
        ),
    )
    allowed = list(variant_formats(rows[variant]))
    if len(allowed) < len(EXPORT_FORMATS):
        st.caption(
            f"`{variant}` exists as a TFLite file only: it exports as TFLite and as a C array. "
            "Pruned and clustered variants also give Keras, SavedModel and TF.js bundles."
        )
    if rows[variant].get("scope") == "network":
        st.caption(
            "This variant quantizes the network alone: the TFLite bundle adds the float "
            "`preprocessing.tflite`, and its check chains the two on raw test inputs."
        )
else:
    source = st.selectbox(
        "Model from run",
        [r.id for r in trained],
        key="export-source",
        format_func=lambda i: f"{i} · {next(r.name for r in trained if r.id == i)}",
    )
    allowed = list(EXPORT_FORMATS)
    # A model exported before (the demo story's, say) is one click away, not exported again.
    done = [
        r
        for r in store().list_runs(kind="export", statuses={RunStatus.SUCCEEDED}, limit=50)
        if r.spec.get("source_run") == source and not r.spec.get("variant")
    ]
    if done and not st.query_params.get("export"):
        checked = ", ".join(
            FORMAT_TITLE.get(f, f)
            for f, b in ((done[0].result or {}).get("bundles") or {}).items()
            if b.get("ok")
        )
        st.page_link(
            page_path("export"),
            label=f"This model was exported before ({checked or 'see its run'}): open that export",
            icon=":material/history:",
            query_params={"export": done[0].id},
        )
micro_why = _micro_refusal(source, variant)
if micro_why and "micro" in allowed:
    st.warning(
        f"Microcontroller: TFLite Micro cannot run this model — {micro_why}.",
        icon=":material/memory:",
    )
formats = st.multiselect(
    "Formats",
    allowed,
    default=[f for f in allowed if not (f == "micro" and micro_why)],
    format_func=FORMATS.get,
    key="export-formats" if origin == "train" else f"export-formats-{variant}",
    help=choice_help("export", allowed),
)
cols = st.columns(2)
quantize = ""
if "tfjs" in formats:
    quantize = cols[0].radio(
        "TF.js weights",
        list(QUANT),
        format_func=QUANT.get,
        horizontal=True,
        key="export-quant",
        help=HELP["export.quantize"],
    )
version = 1
if "savedmodel" in formats:
    version = cols[1].number_input(
        "Model version (TF Serving `NAME/VERSION/`)",
        1,
        1_000_000,
        1,
        key="export-version",
        help="Export a retrained or compressed model as the next version; TF Serving serves "
        "the highest version in the model's folder.",
    )
start = st.button(
    "Export and check",
    icon=":material/verified:",
    type="primary",
    key="export-start",
    disabled=not formats,
)
if start:
    spec = ExportSpec(
        source_run=source,
        format=formats[0],
        formats=tuple(formats),
        quantize=quantize,
        variant=variant,
        version=int(version),
    )
    try:
        check_export(store(), workspace(), spec)
    except BadInput as exc:
        st.error(str(exc))
        st.stop()
    what = f"{variant} variant of {source}" if variant else source
    run = launcher.submit(workspace(), store(), spec, name=f"export {', '.join(formats)} of {what}")
    st.query_params["export"] = run.id
    st.rerun()


def _parity_row(fmt: str, bundle: dict) -> dict:
    check = bundle.get("parity") or {}
    status = "passed" if bundle.get("ok") else ("differs" if check else "failed")
    return {
        "format": FORMAT_TITLE.get(fmt, fmt),
        "check": status,
        "runtime": RUNTIME.get(fmt, ""),
        "rows": check.get("rows"),
        "same class": f"{check['agreement']:.0%}" if "agreement" in check else "",
        "max |diff|": f"{check['max_abs_diff']:.2g}" if check else "",
        "bundle": fmt_bytes(bundle["size_bytes"]) if "size_bytes" in bundle else "",
    }


def show_export(run) -> None:
    result = run.result or {}
    bundles = result.get("bundles")
    if bundles is None and result.get("parity"):  # an export from before bundles
        bundles = {result["format"]: {**result, "ok": True}}
    if not bundles:
        return
    if result.get("variant"):
        v = result.get("variant_report", {})
        st.info(
            f"Variant **{result['variant']}** of compression run `{result['source_run']}` "
            f"(training run `{result.get('train_run', '')}`): "
            f"{v.get('metric_name', '')} {v.get('metric', float('nan')):.4g} on the test split, "
            f"{fmt_bytes(v.get('size_bytes', 0))} as TFLite. Quantized files are checked against "
            "the float Keras model with a lossy tolerance (same class on at least 90% of rows).",
            icon=":material/compress:",
        )
    st.subheader("Parity with the Keras model")
    st.caption(
        "Each file was loaded back by the runtime that will run it and fed the same test rows as "
        "the Keras model: matching outputs prove the conversion kept the model's behaviour."
    )
    st.dataframe(
        pd.DataFrame([_parity_row(f, b) for f, b in bundles.items()]),
        hide_index=True,
        width="stretch",
    )
    for fmt, bundle in bundles.items():
        if bundle.get("error"):
            st.error(f"{FORMAT_TITLE.get(fmt, fmt)}: {bundle['error']}")
        for note in bundle.get("notes", []):
            st.warning(f"{FORMAT_TITLE.get(fmt, fmt)}: {note}")
    st.subheader("Downloads")
    artifacts = store().get_artifacts(run.id)
    shown = [f for f in bundles if BUNDLE_NAME.get(f) in artifacts]
    cols = st.columns(max(len(shown), 1))
    for col, fmt in zip(cols, shown, strict=False):
        art = artifacts[BUNDLE_NAME[fmt]]
        path = Path(art.path)
        if not path.is_file():
            continue
        ok = bundles[fmt].get("ok")
        col.download_button(
            f"{FORMAT_TITLE[fmt]} ({fmt_bytes(art.size_bytes)})",
            icon=":material/download:" if ok else ":material/warning:",
            data=path.read_bytes(),
            file_name=f"{result.get('source_run', run.id)}-{BUNDLE_NAME[fmt]}",
            mime="application/zip",
            help=None if ok else "Its parity check did not pass: see above.",
            on_click="ignore",
            key=f"export-{run.id}-dl-{fmt}",
            width="stretch",
        )
    if "tfjs" in shown:
        st.caption(
            "TF.js: unzip and open `index.html` in a browser; it runs the model with the bundled "
            "`@tensorflow/tfjs` on example rows, offline."
        )
    render_report_buttons(run, key="export", heading="Share this run")


export_id = st.query_params.get("export")
if export_id:
    st.divider()
    render_run(export_id, key="export", finished=show_export)

# --- Deploy: a local server speaking TF Serving's REST API -------------------------------------
st.divider()
st.header("Deploy: REST server")
st.caption(
    "`tfstudio serve` answers TF Serving's REST API (`/v1/models/NAME`, `/metadata`, `:predict` "
    "with `instances` or `inputs`) on 127.0.0.1, batching concurrent requests."
)
ws = workspace()
state = serving.current(ws)
if state is None:
    servable = {r.id: r.name for r in trained}
    servable.update(
        {
            r.id: r.name
            for r in store().list_runs(kind="export", statuses={RunStatus.SUCCEEDED})
            if ((r.result or {}).get("bundles", {}).get("savedmodel") or {}).get("ok")
        }
    )
    model_id = st.selectbox(
        "Model to serve",
        list(servable),
        format_func=lambda i: f"{i} · {servable[i]}",
        key="serve-model",
        help="A training run (its SavedModel is written on first use), or an export run with a "
        "checked SavedModel (a compressed variant's, say).",
    )
    c1, c2, c3 = st.columns(3)
    app_port = int(st.get_option("server.port") or 0)
    port = c1.number_input(
        "Port",
        1024,
        65535,
        serving.free_serve_port(taken=app_port),
        key="serve-port",
        help=f"The first free port from {serving.SERVE_PORT}, never the app's own ({app_port}).",
    )
    max_mb = c2.number_input(
        "Request size limit (MB)",
        0.01,
        1024.0,
        10.0,
        key="serve-max-mb",
        help="Larger requests get HTTP 413 with a TF Serving-style error.",
    )
    token = c3.text_input(
        "Bearer token (optional)",
        type="password",
        key="serve-token",
        help="When set, every request needs `Authorization: Bearer TOKEN` (else HTTP 401).",
    )
    if st.button("Start server", icon=":material/play_arrow:", key="serve-start"):
        try:
            serving.start(ws, model_id, int(port), "", token=token, max_body_mb=float(max_mb))
        except RuntimeError as exc:
            st.error(str(exc))
        else:
            st.rerun()
else:
    up = serving.ready(state)
    st.write(
        f"Serving run `{state['model']}` as **{state['name']}** at `{state['url']}` · "
        + ("ready" if up else "loading the model (a few seconds)…")
    )
    st.caption(
        f"Requests up to {state.get('max_body_mb', 10):g} MB · "
        + ("bearer token required" if state.get("token") else "no token required")
    )
    example = serving.example_request(serving.examples_dir(ws, state["model"]))
    if example:
        auth = " \\\n  -H 'Authorization: Bearer $TOKEN'" if state.get("token") else ""
        st.code(
            f"curl -s -X POST {state['url']}:predict{auth} \\\n"
            f"  -H 'Content-Type: application/json' -d '{json.dumps(example)}'",
            language="bash",
        )
    c1, c2, c3 = st.columns(3)
    if c1.button("Send a test request", key="serve-test", disabled=not (up and example)):
        status, body = serving.post(state["url"] + ":predict", example, state.get("token", ""))
        (st.success if status == 200 else st.error)(f"HTTP {status}")
        st.json(body)
    if c2.button("Refresh", key="serve-refresh"):
        st.rerun()
    if c3.button("Stop server", icon=":material/stop:", key="serve-stop"):
        serving.stop(ws)
        st.rerun()

"""Export: a training run's model as bundles, each checked by its own runtime; and Deploy."""

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import BadInput
from core.export.job import BUNDLE_NAME, FORMAT_TITLE, RUNTIME, source_model_dir
from core.runs import launcher
from core.runs.status import RunStatus
from core.serving import process as serving
from core.specs import EXPORT_FORMATS, ExportSpec
from dashboard.components import fmt_bytes
from dashboard.navigation import page_icon, page_path
from dashboard.run_view import render_run
from dashboard.services import store, workspace

st.title("Export")
st.caption(
    "Each export runs in a worker: every bundle is written, loaded again by its own runtime "
    "(Keras, `tf.saved_model.load`, the LiteRT interpreter, `@tensorflow/tfjs` in headless "
    "Chromium) and its predictions on held-out rows are compared with the Keras model before "
    "you download it."
)

trained = store().list_runs(kind="train", statuses={RunStatus.SUCCEEDED})
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
source = st.selectbox(
    "Model from run",
    [r.id for r in trained],
    key="export-source",
    format_func=lambda i: f"{i} · {next(r.name for r in trained if r.id == i)}",
)
formats = st.multiselect(
    "Formats",
    list(EXPORT_FORMATS),
    default=list(EXPORT_FORMATS),
    format_func=FORMATS.get,
    key="export-formats",
)
quantize = ""
if "tfjs" in formats:
    quantize = st.radio(
        "TF.js weights", list(QUANT), format_func=QUANT.get, horizontal=True, key="export-quant"
    )
start = st.button(
    "Export and check",
    icon=":material/verified:",
    type="primary",
    key="export-start",
    disabled=not formats,
)
if start:
    try:
        source_model_dir(store(), workspace(), source)
    except BadInput as exc:
        st.error(str(exc))
        st.stop()
    run = launcher.submit(
        workspace(),
        store(),
        ExportSpec(source_run=source, format=formats[0], formats=tuple(formats), quantize=quantize),
        name=f"export {', '.join(formats)} of {source}",
    )
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
    st.subheader("Parity with the Keras model")
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
    port = st.number_input("Port", 1024, 65535, 8601, key="serve-port")
    if st.button("Start server", icon=":material/play_arrow:", key="serve-start"):
        try:
            serving.start(ws, source, int(port), "")
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
    example = serving.example_request(ws.run_dir(state["model"]))
    if example:
        st.code(
            f"curl -s -X POST {state['url']}:predict \\\n  -H 'Content-Type: application/json' "
            f"-d '{json.dumps(example)}'",
            language="bash",
        )
    c1, c2, c3 = st.columns(3)
    if c1.button("Send a test request", key="serve-test", disabled=not (up and example)):
        status, body = serving.post(state["url"] + ":predict", example)
        (st.success if status == 200 else st.error)(f"HTTP {status}")
        st.json(body)
    if c2.button("Refresh", key="serve-refresh"):
        st.rerun()
    if c3.button("Stop server", icon=":material/stop:", key="serve-stop"):
        serving.stop(ws)
        st.rerun()

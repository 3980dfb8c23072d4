""" "Predict a file": a whole table, text file, image zip or series through a finished model.

The upload is kept in the workspace, checked against the model at once (a missing column or an
empty file is said under the button, before any worker starts), then a `batch_predict` job runs
in a worker; its progress updates here by itself, and the result is a preview, the rows that
could not be read, and the predictions file to download.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import BadInput
from core.predict.batch import prepare_batch
from core.predict.inputs import keep_bytes, load_contract
from core.runs import launcher
from core.runs.status import RunStatus
from core.runs.store import Run
from core.specs import BAD_ROWS, PREDICTION_FORMATS, BatchPredictSpec, field_default
from dashboard.progress import POLL_S, progress_text
from dashboard.services import store, workspace

ACCEPTS = {
    "table": ["csv", "tsv", "txt", "parquet", "jsonl"],
    "text": ["csv", "tsv", "txt", "parquet", "jsonl"],
    "image": ["zip"],
    "sequence": ["csv", "tsv", "txt", "parquet", "jsonl"],
}
WHAT = {
    "table": "a table with the model's columns (extra columns are ignored, order does not matter)",
    "text": "a table with the text column, or a .txt file of one text per line",
    "image": "a zip of PNG or JPEG images (folders inside are fine)",
    "sequence": "the series (with its time column): the forecast follows its last window",
}
BAD_ROW_TEXT = {
    "refuse": "Refuse the file and name them",
    "skip": "Skip them and list them",
}
MIME = {".csv": "text/csv", ".parquet": "application/octet-stream", ".jsonl": "application/json"}


def render_batch_predict(run: Run, key: str = "batch") -> None:
    """The "Predict a file" section of a SUCCEEDED training run (nothing for other runs)."""
    if run.kind != "train" or run.status is not RunStatus.SUCCEEDED:
        return
    try:
        contract = load_contract(workspace().run_dir(run.id))
    except BadInput:
        return
    kind = contract.input_kind
    k = f"{key}-{run.id}"
    st.subheader("Predict a file")
    st.caption(f"Upload {WHAT.get(kind, 'a file')}; the predictions come back as a file.")
    uploaded = st.file_uploader(
        "File to predict on", type=ACCEPTS.get(kind, ["csv"]), key=f"{k}-file"
    )
    left, right = st.columns(2)
    bad_rows = left.radio(
        "Rows that cannot be read",
        list(BAD_ROWS),
        index=list(BAD_ROWS).index(field_default(BatchPredictSpec, "bad_rows")),
        format_func=BAD_ROW_TEXT.get,
        key=f"{k}-bad",
        horizontal=True,
    )
    fmt = right.selectbox("Predictions as", list(PREDICTION_FORMATS), key=f"{k}-fmt")
    if st.button(
        "Predict the file",
        icon=":material/table_view:",
        key=f"{k}-go",
        disabled=uploaded is None,
    ):
        assert uploaded is not None
        folder = workspace().uploads_dir / "predict"
        path = keep_bytes(folder, uploaded.getvalue(), f"-{Path(uploaded.name).name}")
        spec = BatchPredictSpec(source=run.id, data=str(path), out_format=fmt, bad_rows=bad_rows)
        try:
            prepare_batch(spec, workspace())  # a wrong file is said here, before any worker
        except BadInput as exc:
            st.session_state.pop(f"{k}-run", None)
            st.error(str(exc))
        else:
            name = f"predict {uploaded.name} · {run.name or run.id}"
            st.session_state[f"{k}-run"] = launcher.submit(workspace(), store(), spec, name=name).id
    batch_id = st.session_state.get(f"{k}-run")
    if batch_id:
        _batch_status(batch_id, k)


@st.fragment(run_every=POLL_S)
def _live(batch_id: str) -> None:
    batch = store().get_run(batch_id)
    if batch.status.is_finalized:
        st.rerun()
    st.progress(batch.fraction, text=progress_text(batch))


def _batch_status(batch_id: str, key: str) -> None:
    batch = store().get_run(batch_id)
    if batch.status.is_active:
        _live(batch_id)
        return
    if batch.status is not RunStatus.SUCCEEDED:
        st.error(f"The prediction failed: {batch.error or batch.status.value}")
        return
    render_batch_result(batch.result or {}, key)


def render_batch_result(result: dict, key: str) -> None:
    """What a finished batch prediction gives: counts, a preview, bad rows, the download."""
    rows, bad = result.get("rows_predicted", 0), result.get("bad_rows", 0)
    line = f"**{rows:,} predictions** in {result.get('seconds', 0):.1f} s"
    if result.get("rows_per_s"):
        line += f" ({result['rows_per_s']:,.0f} rows/s)"
    st.success(line)
    if result.get("ignored_columns"):
        ignored = ", ".join(result["ignored_columns"])
        st.caption(f"Columns the model does not take, ignored: {ignored}")
    if bad:
        st.warning(f"{bad:,} row(s) could not be read and were skipped:")
        st.dataframe(pd.DataFrame(result.get("bad_examples", [])), hide_index=True)
    if result.get("preview"):
        st.caption(f"The first {len(result['preview'])} predictions:")
        st.dataframe(pd.DataFrame(result["preview"]), hide_index=True, width="stretch")
    out = Path(result.get("out", ""))
    if out.is_file():
        st.download_button(
            f"Download {out.name}",
            data=out.read_bytes(),
            file_name=out.name,
            mime=MIME.get(out.suffix, "application/octet-stream"),
            icon=":material/download:",
            key=f"{key}-download",
        )

"""Data: import tables, series, text and image zips as dataset versions; understand them; fix
their types; preview windows; validate new data against them."""

from pathlib import Path

import streamlit as st

from core.data.datasets import KINDS, DatasetStore
from core.data.limits import UPLOAD_LIMIT_MB
from core.data.parsing import MISSING_MARKERS
from core.data.preview import csv_reading, preview_import
from core.data.profile import COLUMN_TYPES
from core.data.samples import SAMPLES, sample_path
from core.data.sources import ReadOptions, read_table
from core.data.validation import validate_frame
from core.errors import BadInput, NotFound
from core.help import HELP, choice_help
from dashboard.components import fmt_bytes, fmt_time
from dashboard.data_views import (
    columns_frame,
    render_class_balance,
    render_column,
    render_correlations,
    render_images,
    render_issues,
    render_series,
    render_text,
    render_validation,
    render_window_preview,
)
from dashboard.navigation import page_icon, page_path
from dashboard.services import workspace

st.title("Data")
datasets = DatasetStore(workspace())


def read_options(key: str) -> tuple[ReadOptions, str, str]:
    with st.expander("Reading options (detected when left on auto)"):
        a, b, c = st.columns(3)
        delimiter = a.selectbox("Delimiter", ["auto", ",", ";", "tab", "|"], key=f"{key}-delim")
        encoding = b.selectbox(
            "Encoding",
            ["auto", "utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"],
            key=f"{key}-enc",
        )
        decimal = c.selectbox("Decimal mark", ["auto", ".", ","], key=f"{key}-dec")
        thousands = a.selectbox(
            "Thousands separator", ["auto", "none", ",", ".", "space", "'"], key=f"{key}-thou"
        )
        missing = st.text_input(
            "Values that mean missing (comma-separated; empty fields always are)",
            value=", ".join(m for m in MISSING_MARKERS if m),
            key=f"{key}-missing",
        )
        kind = a.selectbox(
            "Kind",
            ["auto", *KINDS],
            key=f"{key}-kind",
            help="auto: a zip is images; a sorted date column makes a time "
            "series; a free-text column makes text",
        )
        name = b.text_input("Dataset name", key=f"{key}-name", help="default: the file name")
        skip = c.checkbox("Skip rows with the wrong number of fields", key=f"{key}-skip")
    auto = lambda v: None if v == "auto" else v  # noqa: E731
    opts = ReadOptions(
        delimiter="\t" if delimiter == "tab" else auto(delimiter),
        encoding=auto(encoding),
        decimal=auto(decimal),
        skip_bad_rows=skip,
        thousands={"auto": None, "none": "", "space": " "}.get(thousands, thousands),
        missing=("", *(m.strip() for m in missing.split(",") if m.strip())),
    )
    return opts, kind, name


@st.cache_data(max_entries=4, show_spinner=False)
def cached_preview(source, filename: str, kind: str, opts: ReadOptions, stamp=None) -> dict:
    return preview_import(source, filename, kind=kind, options=opts).to_dict()


def render_preview(source, filename: str, kind: str, opts: ReadOptions) -> bool:
    """The import preview (nothing written yet); False when the file cannot be imported."""
    try:
        with st.spinner(f"Reading {filename}…"):
            stamp = source.stat().st_mtime_ns if isinstance(source, Path) else None
            p = cached_preview(source, filename, kind, opts, stamp)
    except BadInput as exc:
        st.error(f"**{filename}** cannot be imported: {exc}")
        return False
    o = p["options"]
    rows = f"first {p['rows']:,} rows read" if p["file_bytes"] else f"{p['rows']:,} rows"
    st.markdown(f"**Preview** — {p['kind']}, {rows}; nothing is written until Import")
    for note in p["notes"]:
        st.caption(f":material/info: {note}")
    if o.get("format") == "csv":
        st.caption(f"read as: {csv_reading(o)} — change any of these in Reading options")
    if p["classes"]:
        st.dataframe(
            {"class": list(p["classes"]), "images": list(p["classes"].values())},
            hide_index=True,
        )
    if p["columns"]:
        st.dataframe(
            {
                "column": [c["name"] for c in p["columns"]],
                "becomes": [c["type"] for c in p["columns"]],
                "missing": [c["missing"] for c in p["columns"]],
                "notes": ["; ".join(c["notes"]) for c in p["columns"]],
            },
            hide_index=True,
            width="stretch",
        )
        st.dataframe(p["head"], width="stretch", height=200)
    for issue in p["issues"]:
        st.warning(issue, icon=":material/warning:")
    return True


def import_and_select(source, filename: str, **kwargs) -> None:
    known = {v.id for v in datasets.list_versions()}
    try:
        with st.spinner(f"Importing {filename}…"):
            version = datasets.import_file(source, filename, **kwargs)
    except (BadInput, NotFound) as exc:
        st.error(f"**{filename}** was not imported: {exc}")
        return
    st.query_params["dataset"] = version.id
    st.session_state["data-pick"] = version.id  # the picker follows the import
    st.session_state["data-imported"] = (
        f"{filename} was already imported as **{version.id}**: showing it."
        if version.id in known
        else f"Imported **{filename}** as **{version.id}** ({version.kind}, {version.rows:,} rows)."
    )
    st.rerun()


versions = datasets.list_versions()
selected = st.query_params.get("dataset")
with st.expander("Add data", expanded=not versions, icon=":material/add:"):
    how = st.radio(
        "From", ["Bundled sample", "Upload a file", "Path on disk"], horizontal=True, key="data-how"
    )
    if how == "Bundled sample":
        name = st.selectbox(
            "Sample",
            list(SAMPLES),
            key="data-sample",
            format_func=lambda n: f"{n} · {SAMPLES[n].task} · {SAMPLES[n].description}",
        )
        if st.button("Use this sample", key="data-use-sample", type="primary"):
            import_and_select(
                sample_path(name, workspace().samples_dir),
                f"{name}.csv",
                name=name,
                target=SAMPLES[name].target,
            )
    elif how == "Upload a file":
        upload = st.file_uploader(
            "Table (CSV, TSV, Parquet, JSON Lines) or a zip of image class folders",
            type=["csv", "tsv", "txt", "parquet", "jsonl", "ndjson", "zip"],
            key="data-upload",
            help=f"Up to {UPLOAD_LIMIT_MB} MB; larger data: use 'Path on disk'.",
        )
        opts, kind, name = read_options("data-up")
        readable = upload is not None and render_preview(upload.getvalue(), upload.name, kind, opts)
        if readable and st.button("Import", key="data-import", type="primary"):
            import_and_select(
                upload.getvalue(), upload.name, name=name or None, kind=kind, options=opts
            )
    else:
        path = st.text_input(
            "Path to a file on this machine", key="data-path", placeholder="/data/sales.parquet"
        )
        opts, kind, name = read_options("data-path")
        p = Path(path).expanduser() if path else None
        if p is not None and not p.is_file():
            st.error(f"No file at {path}.")
        elif p is not None and render_preview(p, p.name, kind, opts):
            if st.button("Import", key="data-import-path", type="primary"):
                import_and_select(p, p.name, name=name or None, kind=kind, options=opts)

if not versions:
    st.info("No datasets yet: add a bundled sample or your own file above.")
    st.stop()

ids = [v.id for v in versions]
chosen = st.selectbox(
    "Dataset", ids, index=ids.index(selected) if selected in ids else 0, key="data-pick"
)
if chosen != selected:
    st.query_params["dataset"] = chosen
version = datasets.get(chosen)
if message := st.session_state.pop("data-imported", None):
    st.success(message, icon=":material/check_circle:")
prof = datasets.profile(version)
frame = datasets.sample_frame(version) if prof.sample else datasets.read_frame(version)
schema = datasets.schema(version)

a, b, c, d = st.columns(4)
a.metric("kind", version.kind)
b.metric("rows", f"{version.rows:,}")
c.metric("columns", len(version.columns))
d.metric("version", f"v{version.version}")
st.caption(
    f"from **{version.source}** · imported {fmt_time(version.created_at)} · "
    f"sha256 `{version.sha256[:16]}…` · "
    + " · ".join(f"{k} {v!r}" for k, v in version.read.items() if v not in (None, 0, {}, []))
)
for note in version.notes:
    st.caption(f":material/info: {note}")
if prof.sample:
    st.info(
        f"This table is large, so the page holds an even sample of "
        f"{prof.sample['rows']:,} of its {prof.sample['of']:,} rows: the rows, plots, quantiles, "
        "histograms and correlations below come from the sample; counts, missing values, "
        "minimum, maximum, mean, classes and time steps are exact (counted over every row). "
        "Training reads every row.",
        icon=":material/data_thresholding:",
    )

tabs = ["Overview", "Columns"]
if version.kind == "timeseries" or prof.time_column:
    tabs.append("Time series")
if version.kind == "images":
    tabs.append("Images")
if version.kind == "text":
    tabs.append("Text")
tabs.append("Validate new data")
views = dict(zip(tabs, st.tabs(tabs), strict=True))

with views["Overview"]:
    render_issues(prof)
    st.markdown("**Schema** — correct a type if the guess is wrong; the data itself never changes.")
    table = columns_frame(prof)
    edited = st.data_editor(
        table,
        hide_index=True,
        width="stretch",
        key=f"schema-{version.id}",
        disabled=[col for col in table.columns if col != "type"],
        column_config={
            "type": st.column_config.SelectboxColumn(
                "type", options=list(COLUMN_TYPES), required=True
            )
        },
    )
    names = list(frame.columns)
    left, right = st.columns(2)
    target = left.selectbox(
        "Target (what to predict)",
        ["(none)", *names],
        index=names.index(schema["target"]) + 1 if schema.get("target") in names else 0,
        key=f"target-{version.id}",
        help=HELP["target"],
    )
    time_options = [
        "(none)",
        *[c.name for c in prof.columns if c.type in ("timestamp", "integer", "numeric")],
    ]
    time_col = right.selectbox(
        "Time column (dates, or a numeric index such as years)",
        time_options,
        index=time_options.index(schema["time_column"])
        if schema.get("time_column") in time_options
        else 0,
        key=f"time-{version.id}",
    )
    changed = {
        r["column"]: r["type"]
        for _, r in edited.iterrows()
        if r["type"] != prof.column(r["column"]).type
    }
    if st.button(
        "Save schema",
        key=f"save-{version.id}",
        icon=":material/save:",
        disabled=not changed
        and target == (schema.get("target") or "(none)")
        and time_col == (schema.get("time_column") or "(none)"),
    ):
        try:
            new = datasets.update_schema(
                version,
                types=changed,
                target="" if target == "(none)" else target,
                time_column="" if time_col == "(none)" else time_col,
            )
            failures = [
                f"{c}: {n}" for c in changed for n in new.column(c).notes if "could not be" in n
            ]
            st.session_state["data-imported"] = "Schema saved (undo below); statistics " + (
                "recomputed. " + " · ".join(failures) if failures else "recomputed."
            )
            st.rerun()
        except BadInput as exc:
            st.error(str(exc))
    if datasets.schema_history(version) and st.button(
        "Undo the last schema change", key=f"undo-{version.id}", icon=":material/undo:"
    ):
        datasets.undo_schema(version)
        st.session_state["data-imported"] = "Went back to the schema before the last change."
        st.rerun()
    render_class_balance(prof, version.id)
    st.dataframe(frame.head(100), width="stretch", height=240)
    st.page_link(
        page_path("train"),
        label="Train a model on this dataset →",
        icon=page_icon("train"),
        query_params={"data": version.id},
    )

with views["Columns"]:
    column = st.selectbox("Column", [c.name for c in prof.columns], key=f"col-{version.id}")
    render_column(prof.column(column), key=f"{version.id}-{column}")
    render_correlations(prof, version.id)

if "Time series" in views:
    with views["Time series"]:
        render_series(frame, prof, version.id)
        st.markdown("**Sliding windows** — what a forecaster will see")
        render_window_preview(frame, prof, version.id)

if "Images" in views:
    with views["Images"]:
        render_images(frame, version.folder, version.id)

if "Text" in views:
    with views["Text"]:
        render_text(frame, prof, version.id)

with views["Validate new data"]:
    if version.kind == "images":
        st.info("Validation compares tables; for images, import the new zip as a new version.")
    else:
        st.caption(
            f"Check a new file against **{version.id}**: missing or new columns, type "
            "changes, unseen categories, out-of-range values, missing-rate jumps and "
            "distribution drift (PSI and Kolmogorov–Smirnov for numbers, L∞ for "
            "categories)."
        )
        new_file = st.file_uploader(
            "New data",
            type=["csv", "tsv", "txt", "parquet", "jsonl"],
            key=f"validate-{version.id}",
            help=choice_help("drift", ["psi", "ks", "linf"]),
        )
        if new_file is not None:
            try:
                new = read_table(new_file.getvalue(), new_file.name).frame
                report = validate_frame(new, frame, schema).to_dict()
                st.caption(
                    f"{new_file.name}: {len(new):,} rows · {fmt_bytes(len(new_file.getvalue()))}"
                )
                render_validation(report)
            except BadInput as exc:
                st.error(f"**{new_file.name}** cannot be checked: {exc}")

"""Data: pick a table and see its columns, types, gaps and distributions before training."""

import pandas as pd
import plotly.express as px
import streamlit as st

from core.data.samples import resolve_data_path
from core.data.tabular import class_labels, infer_task, read_csv
from core.errors import BadInput
from dashboard.data_picker import render_data_picker
from dashboard.navigation import page_icon, page_path
from dashboard.services import workspace

st.title("Data")
picked = render_data_picker("data")
if picked is None:
    st.stop()
try:
    frame = read_csv(resolve_data_path(picked.ref, workspace().samples_dir), picked.label)
except BadInput as exc:
    st.error(str(exc))
    st.stop()

st.caption(f"{picked.label}: {len(frame):,} rows × {len(frame.columns)} columns")
st.dataframe(frame.head(200), width="stretch", height=260)


def column_kind(col: pd.Series) -> str:
    if pd.api.types.is_numeric_dtype(col):
        return "integer" if bool((col.dropna() == col.dropna().round()).all()) else "numeric"
    distinct = col.astype(str).nunique()
    return "free text / id" if distinct > 50 and distinct > 0.5 * len(col) else "categorical"


WHAT_IT_BECOMES = {
    "numeric": "missing → training mean, then Normalization",
    "integer": "missing → training mean, then Normalization",
    "categorical": "StringLookup → one-hot (unseen values → an OOV slot)",
    "free text / id": "left out (too many distinct values)",
}
rows = []
for name in frame.columns:
    col = frame[name]
    kind = column_kind(col)
    numeric = pd.api.types.is_numeric_dtype(col)
    rows.append(
        {
            "column": name,
            "type": kind,
            "missing": int(col.isna().sum()),
            "distinct": int(col.nunique()),
            "min": col.min() if numeric else None,
            "mean": col.mean() if numeric else None,
            "max": col.max() if numeric else None,
            "becomes": WHAT_IT_BECOMES[kind],
        }
    )
st.subheader("Columns")
st.dataframe(pd.DataFrame(rows), width="stretch", hide_index=True)

st.subheader("Look at a column")
default = list(frame.columns).index(picked.default_target) if picked.default_target in frame else 0
column = st.selectbox("Column", list(frame.columns), index=default, key="data-column")
col = frame[column]
left, right = st.columns(2)
if pd.api.types.is_numeric_dtype(col) and infer_task(col) == "regression":
    fig = px.histogram(frame, x=column, nbins=40, title=f"Distribution of {column}")
else:
    counts = class_labels(col.dropna()).value_counts().head(30)
    fig = px.bar(
        x=counts.index,
        y=counts.values,
        labels={"x": column, "y": "rows"},
        title=f"Values of {column} (class balance if it is the target)",
    )
fig.update_traces(marker_color="#E8710A")
left.plotly_chart(fig, width="stretch")
numeric_cols = frame.select_dtypes("number")
if numeric_cols.shape[1] >= 2:
    corr = numeric_cols.iloc[:, :30].corr()
    heat = px.imshow(
        corr,
        color_continuous_scale="RdBu_r",
        zmin=-1,
        zmax=1,
        title="Correlation of numeric columns",
    )
    right.plotly_chart(heat, width="stretch")
st.page_link(page_path("train"), label="Train a model on this data →", icon=page_icon("train"))

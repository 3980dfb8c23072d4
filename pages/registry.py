"""Registry: every kept model as versions with lineage; compare them and promote one."""

from pathlib import Path

import streamlit as st

from core.errors import BadInput, NotFound
from core.help import HELP
from core.registry.store import STAGES, Registry, publish
from core.runs.status import RunStatus
from dashboard.navigation import page_icon, page_path
from dashboard.registry_view import (
    STAGE_BADGE,
    lineage_dot,
    metrics_figure,
    spec_differences,
    versions_frame,
)
from dashboard.services import store, workspace

st.title("Registry")
st.caption(
    "A registered model is a name with numbered versions. Each version records where it came "
    "from — the dataset version and its sha256, the training spec, the parent runs — with its "
    "test metrics, files and bundles. One version per name is in production; promoting another "
    "archives it (and a REST server following the registry switches to the new one)."
)

ws = workspace()
registry = Registry(ws)


def render_register_form() -> None:
    trained = store().list_runs(kind="train", statuses={RunStatus.SUCCEEDED}, limit=100)
    if not trained:
        st.info("No finished training run yet: train a model first.")
        st.page_link(page_path("train"), label="Go to Train →", icon=page_icon("train"))
        return
    with st.form("register-form"):
        left, right = st.columns(2)
        run_id = left.selectbox(
            "Training run",
            [r.id for r in trained],
            format_func=lambda i: f"{i} · {next(r.name for r in trained if r.id == i) or 'train'}",
        )
        name = right.text_input(
            "Model name",
            value=registry.names()[0] if registry.names() else "",
            placeholder="iris-classifier",
            help="Versions of the same model share a name; letters, digits, - _ .",
        )
        stage = left.selectbox("Stage", STAGES, index=0, help=HELP["stage"])
        description = right.text_input("Note (optional)")
        if st.form_submit_button("Register", type="primary"):
            if not name.strip():
                st.error("Give the model a name first (for example iris-classifier).")
                return
            try:
                version = registry.register(run_id, name.strip(), stage, description)
            except (BadInput, NotFound) as exc:
                st.error(str(exc))
            else:
                st.success(f"Registered {version.id} as {version.stage}.")
                st.rerun()


names = registry.names()
if not names:
    st.info(
        "Nothing registered yet. Register a finished training run below, or run a pipeline: "
        "its push stage registers the models it trains."
    )
    render_register_form()
    st.page_link(page_path("pipelines"), label="Go to Pipelines →", icon=page_icon("pipelines"))
    st.stop()

name = st.selectbox("Model", names, key="reg-name")
versions = registry.list(name)
production = registry.production(name)
cols = st.columns(3)
cols[0].metric("Versions", len(versions))
cols[1].metric("In production", production.id if production else "none")
cols[2].metric("Candidates", sum(v.stage == "candidate" for v in versions))

st.subheader("Versions")
st.dataframe(versions_frame(versions), hide_index=True, width="stretch")

st.subheader("Compare")
ids = [v.id for v in versions]
others = [i for i in ids if not production or i != production.id]
default = ([production.id] if production else []) + others[-1:]
chosen = st.multiselect("Versions to compare", ids, default=default, key="reg-compare")
picked = [v for v in versions if v.id in chosen]
if picked:
    st.plotly_chart(metrics_figure(picked), width="stretch", key="reg-metrics")
    diff = spec_differences(picked)
    if len(picked) > 1:
        if diff.empty:
            st.caption("Trained with the same settings.")
        else:
            st.caption("Training settings that differ:")
            st.dataframe(diff, hide_index=True, width="stretch")
    st.markdown("**Lineage**")
    st.graphviz_chart(lineage_dot(picked), width="stretch")

st.subheader("Promote")
left, mid, right = st.columns([2, 2, 1])
target = left.selectbox("Version", list(reversed(ids)), key="reg-promote-version")
stage = mid.selectbox(
    "New stage", STAGES, index=STAGES.index("production"), key="reg-promote-stage"
)
right.markdown("&nbsp;")
if right.button("Promote", type="primary", key="reg-promote"):
    before = registry.production(name)
    version = registry.promote(target, stage, note="promoted on the Registry page")
    message = f"{version.id} is now {version.stage}."
    if stage == "production" and before and before.id != version.id:
        message += f" {before.id} was archived."
    if stage == "production":
        if publish(ws, version):
            message += " A server on the registry's serving folder switches to it within seconds."
        else:
            message += " It has no SavedModel bundle yet, so a running server keeps its version."
    st.session_state["reg-message"] = message
    st.rerun()
if "reg-message" in st.session_state:
    st.success(st.session_state.pop("reg-message"))

st.subheader("Details")
detail = st.selectbox("Version", list(reversed(ids)), key="reg-detail")
version = registry.get(detail)
st.markdown(f"{STAGE_BADGE.get(version.stage, version.stage)} **{version.id}** · {version.task}")
if version.description:
    st.caption(version.description)
left, right = st.columns(2)
with left:
    st.markdown("**Lineage**")
    st.json(
        {
            "dataset": version.dataset,
            "parents": version.parents,
            "spec": version.spec,
        },
        expanded=1,
    )
with right:
    st.markdown("**Bundles**")
    if not version.bundles:
        st.caption("None yet: a pipeline's push stage exports them, or use Export.")
    for i, b in enumerate(version.bundles):
        path = Path(b.get("bundle") or "")
        if path.is_file():
            st.download_button(
                f"{b['format']} bundle",
                path.read_bytes(),
                file_name=path.name,
                key=f"reg-dl-{version.id}-{i}",
                icon=":material/download:",
            )
        else:
            st.caption(f"{b['format']}: {path}")
    history = [h for h in registry.history(name) if h["version"] == version.version]
    st.markdown("**Stage history**")
    st.dataframe(
        [{"stage": h["stage"], "note": h["note"]} for h in history],
        hide_index=True,
        width="stretch",
    )
with st.expander("Register another training run"):
    render_register_form()

"""Profile: TensorFlow Profiler traces of a run's training steps or inference batches, read on
the page (offline) with recommendations, what-if knobs and a side-by-side comparison."""

import json
import math

import streamlit as st

from core.errors import BadInput, NotFound
from core.help import HELP
from core.models.io import trained_run_dir
from core.profiling.options import check_spec, precheck
from core.runs import launcher
from core.runs.status import RunStatus
from core.specs import PROFILE_MODES, ProfileSpec
from dashboard.components import render_downloads
from dashboard.profile_view import (
    load_summary,
    render_comparison,
    render_profiler_ui,
    render_recommendations,
    render_summary,
)
from dashboard.run_view import finished_training_runs, render_run
from dashboard.services import store, workspace

PREFETCH = ["auto", "off", "1", "2", "4", "8"]
PARALLEL = ["auto", "1", "2", "4", "8"]
NEEDS = ("network.keras", "preprocessing.keras", "features.json")

st.title("Profile")
st.caption(
    "Captures a TensorFlow Profiler trace of a finished run's model in a worker, on a copy of "
    "its network (the run's files are not changed), and reads it here with XProf's own "
    "converters: where each step's time goes, the slowest operations, how long steps wait for "
    "data, a step's timeline and memory. Change a what-if knob, profile again and compare."
)

trained = finished_training_runs(then=", then profile it here")

# A recommendation's "Apply" button leaves its knob here; set it before the widgets exist.
pending = st.session_state.pop("profile-pending", None)
if pending:
    for k, v in pending.items():
        st.session_state[k] = v

ids = [r.id for r in trained]


def input_kind(run_id: str) -> str:
    try:
        contract = json.loads((workspace().run_dir(run_id) / "features.json").read_text())
    except (OSError, ValueError):
        return "table"
    return str(contract.get("input_kind", "table")) if isinstance(contract, dict) else "table"


shown = st.query_params.get("profile")
if shown and "profile-source" not in st.session_state:
    # Opened on a profile (a link, a refresh): the form starts from that profile's run.
    try:
        st.session_state["profile-source"] = store().get_run(shown).spec.get("source_run")
    except NotFound:
        pass  # render_run below says there is no such run
if st.session_state.get("profile-source") not in ids:
    st.session_state.pop("profile-source", None)
source = st.selectbox(
    "Training run",
    ids,
    key="profile-source",
    format_func=lambda i: f"{i} · {next(r.name for r in trained if r.id == i)}",
)
run = next(r for r in trained if r.id == source)
rows = int(((run.result or {}).get("rows") or {}).get("train") or 0)
run_batch = int(run.spec.get("batch_size") or 32)

left, right = st.columns(2)
mode = left.radio(
    "Profile",
    PROFILE_MODES,
    key="profile-mode",
    horizontal=True,
    format_func=lambda m: {"train": "training steps", "inference": "inference batches"}[m],
    help=HELP["profile.mode"],
)
batch_size = right.number_input(
    "Batch size (0: the run's)",
    0,
    65536,
    0,
    key="profile-batch-size",
    help=f"The run trained at batch size {run_batch}.",
)
batch = int(batch_size) or run_batch
per_epoch = math.ceil(rows / batch) if rows else 0
if mode == "train":
    steps = left.text_input(
        "Steps (A-B within an epoch)",
        key="profile-steps",
        placeholder=f"1-{min(10, per_epoch)}" if per_epoch else "1-10",
        help="1-based steps of one epoch; empty: the first 10 (fewer if an epoch is shorter).",
    )
    if per_epoch:
        left.caption(f"{rows} training rows at batch size {batch}: {per_epoch} step(s) per epoch.")
    batches = 10
else:
    steps = ""
    batches = left.number_input("Batches", 1, 1000, 10, key="profile-batches")

st.markdown("**What-if knobs** (the input pipeline: rows → batch → preprocessing map → …)")
k1, k2, k3 = st.columns(3)
prefetch = k1.selectbox("Prefetch", PREFETCH, key="profile-prefetch", help=HELP["prefetch"])
parallel = k2.selectbox(
    "Parallel map calls",
    PARALLEL,
    key="profile-parallel",
    disabled=input_kind(source) != "table",
    help="Tables run their preprocessing model in a tf.data map; image, text and series runs "
    "keep their family's own pipeline, where this does not apply.",
)
cache = k3.checkbox("Cache preprocessed batches", key="profile-cache", help=HELP["cache"])

if st.button("Profile", type="primary", icon=":material/speed:", key="profile-start"):
    spec = ProfileSpec(
        source_run=source,
        mode=mode,
        steps=steps,
        batches=int(batches),
        batch_size=int(batch_size),
        prefetch=prefetch,
        cache=bool(cache),
        parallel_calls=parallel,
    )
    try:
        spec = check_spec(spec)
        trained_run_dir(store(), workspace(), source, "profiling takes a training run", NEEDS)
        precheck(spec, run.spec, run.result or {})
    except BadInput as exc:
        st.error(f"{exc}")
        st.stop()
    new = launcher.submit(workspace(), store(), spec, name=f"profile {mode} of {source}")
    st.query_params["profile"] = new.id
    st.rerun()


def apply_knob(profile_run, knob) -> None:
    """Set the form to this profile's settings with one knob changed."""
    spec = profile_run.spec
    values = {
        "profile-source": spec.get("source_run"),
        "profile-mode": spec.get("mode", "train"),
        "profile-steps": spec.get("steps", ""),
        "profile-batch-size": int(spec.get("batch_size") or 0),
        "profile-prefetch": spec.get("prefetch", "auto"),
        "profile-parallel": spec.get("parallel_calls", "auto"),
        "profile-cache": bool(spec.get("cache")),
    }
    name, value = knob["name"], knob["value"]
    if name == "batch_size":
        values["profile-batch-size"] = int(value)
        values["profile-steps"] = ""  # the old range may not fit the new epoch
    elif name == "cache":
        values["profile-cache"] = bool(value)
    elif name == "prefetch":
        values["profile-prefetch"] = str(value)
    elif name == "parallel_calls":
        values["profile-parallel"] = str(value)
    st.session_state["profile-pending"] = values
    st.rerun()


def show_profile(profile_run) -> None:
    if profile_run.status is not RunStatus.SUCCEEDED:
        st.info("This profile has no data: the message above says why. Fix it and profile again.")
        return
    summary = load_summary(workspace().run_dir(profile_run.id))
    if summary is None:
        st.error(
            "This profile run has no profile_summary.json (it was deleted or never written): "
            "profile the run again."
        )
        return
    render_recommendations(
        summary, key=f"rec-{profile_run.id}", apply=lambda k: apply_knob(profile_run, k)
    )
    render_summary(summary, key=f"view-{profile_run.id}")
    st.subheader("Full profiler and files")
    render_profiler_ui(profile_run, key=f"ui-{profile_run.id}")
    render_downloads(
        store().get_artifacts(profile_run.id),
        ["profile_summary.json", "trace.xplane.pb"],
        key=f"profile-{profile_run.id}",
    )


profile_id = st.query_params.get("profile")
if profile_id:
    st.divider()
    render_run(profile_id, key="profile", finished=show_profile)

done = [
    r
    for r in store().list_runs(kind="profile", statuses={RunStatus.SUCCEEDED})
    if load_summary(workspace().run_dir(r.id)) is not None
]
st.divider()
st.subheader("Compare two profiles")
if len(done) < 2:
    st.caption(
        "Profile twice (say, before and after applying a recommendation) to compare the two "
        "side by side."
    )
else:
    labels = {
        r.id: f"{r.id} · {r.name} · {r.spec.get('mode')} · prefetch {r.spec.get('prefetch')}, "
        f"cache {'on' if r.spec.get('cache') else 'off'}, batch "
        f"{r.spec.get('batch_size') or 'run'}"
        for r in done
    }
    c1, c2 = st.columns(2)
    a = c1.selectbox(
        "A (before)", list(labels), index=1, key="profile-cmp-a", format_func=labels.get
    )
    b = c2.selectbox(
        "B (after)", list(labels), index=0, key="profile-cmp-b", format_func=labels.get
    )
    if a == b:
        st.info("Pick two different profiles.")
    else:
        render_comparison(
            load_summary(workspace().run_dir(a)), load_summary(workspace().run_dir(b)), key="cmp"
        )

"""Learn mode on screen: the sidebar switch and checklist, and the step card on each page.

Progress is read from the workspace (core.learn.progress) on every rerun, so finishing a run in
any tab, the CLI or a pipeline checks its step off here too.
"""

from __future__ import annotations

import streamlit as st

from core import learn
from core.runs import launcher
from core.runs.status import RunStatus
from dashboard.navigation import PAGES, page_icon, page_path
from dashboard.services import store, workspace

STEP_KIND = {
    "train": "train",
    "tune": "tune",
    "profile": "profile",
    "compress": "compress",
    "export": "export",
}


def learn_enabled() -> bool:
    return learn.is_enabled(workspace(), store())


def render_learn_sidebar() -> None:
    """The switch (saved in the workspace) and, when on, the path's checklist."""
    ws, s = workspace(), store()
    enabled = learn.is_enabled(ws, s)
    chosen = st.toggle(
        "Learn mode",
        value=enabled,
        key="learn-toggle",
        help="A guided path through the toolchain on the iris sample: each step explains the "
        "TensorFlow tool behind it and checks itself off when you complete it.",
    )
    if chosen != enabled:
        learn.set_enabled(ws, chosen, s)
        st.rerun()
    if not chosen:
        return
    done = learn.progress(ws, s)
    count = sum(done.values())
    st.progress(count / len(learn.STEPS), text=f"Learn path: {count} of {len(learn.STEPS)} done")
    for i, step in enumerate(learn.STEPS, start=1):
        icon = ":material/check_circle:" if done[step.key] else ":material/radio_button_unchecked:"
        st.page_link(
            page_path(step.page),
            label=f"{i} · {step.title}",
            icon=icon,
            help="done" if done[step.key] else f"checked off when {step.done_when}",
        )


def _active_run(kind: str):
    runs = store().list_runs(kind=kind, statuses={RunStatus.PENDING, RunStatus.RUNNING}, limit=1)
    return runs[0] if runs else None


@st.fragment(run_every=2)
def _watch(run_id: str) -> None:
    """The step's run while it works; the page redraws (and checks the step off) when it ends."""
    run = store().get_run(run_id)
    if run.status.is_finalized:
        st.rerun()
    st.markdown(f"Running: [{run.name or run.id}](/runs?run={run.id})")
    st.progress(run.fraction, text=f"{run.phase or 'starting'} {run.message}".strip())


def _action(step: learn.LearnStep, done: bool) -> None:
    ws, s = workspace(), store()
    key = f"learn-do-{step.key}"
    if step.key == "data":
        if not done and st.button(
            "Add the iris sample", key=key, type="primary", icon=":material/add:"
        ):
            ref = learn.add_sample(ws)
            st.success(f"Added dataset {ref}.")
            st.rerun()
        return
    if step.key == "serve":
        st.caption("Start the server in **Deploy: REST server** further down the Export page.")
        return
    if step.key == "retrain":
        st.caption(
            "On the Pipelines page, add the example's data with one button, then run the "
            "example pipeline."
        )
        return
    active = _active_run(STEP_KIND[step.key])
    if active:
        _watch(active.id)
        return
    last = s.list_runs(kind=STEP_KIND[step.key], limit=1)
    if last and not done and last[0].status.is_finalized:
        st.warning(
            f"The last {step.title.lower()} run ended {last[0].status.value.lower()}: "
            f"{last[0].error or 'see its page'} ([open it](/runs?run={last[0].id}))"
        )
    spec = learn.default_spec(step.key, ws, s)
    if spec is None:
        st.caption("Finish the Train step first: this step works on a trained model.")
        return
    label = "Run it again with the default" if done else "Run it with the default"
    if st.button(
        label, key=key, type="secondary" if done else "primary", icon=":material/play_arrow:"
    ):
        run = launcher.submit(ws, s, spec, name=f"learn · {step.title.lower()} · {learn.SAMPLE}")
        st.session_state[f"{key}-run"] = run.id
        st.rerun()


def render_learn_card(page: str) -> None:
    """The learn steps done on `page`, above the page's own content (learn mode only)."""
    if not learn_enabled():
        return
    steps = [(i, s) for i, s in enumerate(learn.STEPS, start=1) if s.page == page]
    if not steps:
        return
    done = learn.progress(workspace(), store())
    for i, step in steps:
        with st.container(border=True, key=f"learn-card-{step.key}"):
            status = ":green[:material/check_circle: done]" if done[step.key] else "to do"
            st.markdown(f"**Learn · step {i} of {len(learn.STEPS)}: {step.title}** · {status}")
            st.markdown(step.what)
            st.markdown(f"**Your decision:** {step.decision}")
            _action(step, done[step.key])
            following = learn.next_step(done)
            if done[step.key] and following is not None and following.page != page:
                st.page_link(
                    page_path(following.page),
                    label=f"Next: {following.title} →",
                    icon=page_icon(following.page),
                )


def render_learn_path() -> None:
    """The whole path with its progress (Home, learn mode only)."""
    done = learn.progress(workspace(), store())
    nxt = learn.next_step(done)
    st.subheader("Learn the toolchain, step by step")
    st.caption(
        "Eight steps on the bundled iris sample, each a few minutes. Each step checks itself "
        "off when you complete it; progress is saved in this workspace."
    )
    if nxt is not None:
        i = learn.STEPS.index(nxt) + 1
        with st.container(border=True):
            st.markdown(f"**Next: step {i} of {len(learn.STEPS)} · {nxt.title}**")
            st.markdown(nxt.what)
            st.markdown(f"**Your decision:** {nxt.decision}")
            st.page_link(
                page_path(nxt.page), label=f"Go to {PAGES[nxt.page][0]} →", icon=page_icon(nxt.page)
            )
    cols = st.columns(4)
    for i, step in enumerate(learn.STEPS):
        mark = (
            ":green[:material/check_circle:]"
            if done[step.key]
            else ":material/radio_button_unchecked:"
        )
        cols[i % 4].markdown(f"{mark} {i + 1} · {step.title}")
    if nxt is None:
        st.success("You have walked the whole path. Open any run on the Runs page for its report.")

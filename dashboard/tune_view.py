"""A search on the Tune page: live while it runs (a polling fragment over the trial records),
with resume after a crash and promotion of the best trial once it has finished."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import BadInput, NotFound
from core.runs import launcher
from core.runs.status import RunStatus
from core.runs.store import Run
from core.tuning import analytics as an
from core.tuning.trials import disk_usage, read_search, read_trials
from dashboard.components import (
    fmt_bytes,
    fmt_time,
    read_json_artifact,
    render_downloads,
    render_evaluation,
    status_label,
    tail_text,
)
from dashboard.navigation import page_icon, page_path
from dashboard.run_summary import render_report_buttons
from dashboard.run_view import live_run, render_cancel_button
from dashboard.services import store, workspace
from dashboard.tune_charts import (
    hp_text,
    render_best_so_far,
    render_failures,
    render_importance,
    render_parallel,
    render_trial_curves,
    render_trial_table,
)

POLL_S = 1.5
SEARCH_KINDS = ("tune", "automl")


def promoted_name(run_id: str) -> str:
    return f"best trial of {run_id} (promoted)"


# ----------------------------------------------------------------------------------------------
# Entry point


def render_tune_run(run_id: str, key: str = "tune") -> None:
    try:
        run = store().get_run(run_id)
    except NotFound:
        st.warning(f"There is no run {run_id} in this workspace.")
        return
    if run.kind not in SEARCH_KINDS:
        st.warning(f"Run {run_id} is a {run.kind} run, not a search: open it on its own page.")
        return
    if run.status.is_active:
        # The fragment polls cheaply (header, progress, the epoch of running trials) and redraws
        # the whole page only when a trial ends, so the charts do not flicker.
        st.session_state[f"tune-sig:{run_id}"] = _signature(_trials(run_id))
        _live(run_id, key)
        render_search(run, f"{key}-live", progress=False)
        return
    _header(run)
    if run.status is RunStatus.SUCCEEDED:
        render_best(run, key)
    else:
        render_resume(run, key)
    render_search(run, key)
    if run.status is RunStatus.SUCCEEDED:
        render_report_buttons(run, key, heading="What this search shows", explain=True)
    _log(run)


def _trials(run_id: str) -> list[dict[str, Any]]:
    return read_trials(workspace().run_dir(run_id))


def _signature(trials: list[dict[str, Any]]) -> tuple:
    """What the table and charts show: the trials that have ended (running ones are in the
    fragment's caption until they end)."""
    return tuple(
        (t.get("trial_id"), t.get("status")) for t in trials if t.get("status") != "RUNNING"
    )


@st.fragment(run_every=POLL_S)
def _live(run_id: str, key: str) -> None:
    run = live_run(run_id)
    trials = _trials(run_id)
    if _signature(trials) != st.session_state.get(f"tune-sig:{run_id}"):
        st.rerun()  # a trial ended: redraw the table and the charts
    _header(run)
    render_cancel_button(
        run,
        key,
        "Cancel search",
        "Stops after the current epoch; finished trials are kept and Resume continues.",
    )
    search = read_search(workspace().run_dir(run_id))
    _trial_progress(run, search, trials)
    for t in trials:
        if t.get("status") == "RUNNING":
            history = t.get("history") or {}
            last = " · ".join(
                f"{name} {values[-1]:.4g}"
                for name, values in history.items()
                if name.startswith("val_") and values and values[-1] is not None
            )
            st.caption(
                f":material/model_training: trial #{t.get('number', 0)} ({t.get('trial_id')}, "
                f"{t.get('worker', 'main')}): epoch {t.get('epochs', 0)}"
                + (f" · {last}" if last else "")
            )


def _trial_progress(run: Run, search: dict[str, Any], trials: list[dict[str, Any]]) -> None:
    max_trials = int(search.get("max_trials") or run.spec.get("max_trials") or 0)
    if not max_trials:
        return
    counts = an.summary(trials, "min")["counts"]
    failed = counts["FAILED"] + counts["INVALID"]
    finished = counts["COMPLETED"] + failed
    text = (
        f"{finished} of {max_trials} trials finished · {counts['RUNNING']} running · "
        f"{failed} failed"
    )
    if counts["STOPPED"]:
        text += f" · {counts['STOPPED']} interrupted (run again on resume)"
    fraction = min(1.0, finished / max_trials)
    if run.status is RunStatus.SUCCEEDED and finished < max_trials:
        why = (run.result or {}).get("stopped_by") or "the tuner had no more trials to run"
        text = f"{finished} trials finished, fewer than the {max_trials} allowed: {why}"
        fraction = 1.0
    st.progress(fraction, text=text)


def _header(run: Run) -> None:
    cols = st.columns([3, 2, 2])
    engine = "AutoKeras" if run.kind == "automl" else "KerasTuner"
    cols[0].markdown(f"**{run.name or run.kind}**  \n`{run.id}` · {engine}")
    cols[1].markdown(status_label(run.status))
    end = run.finished_at or dt.datetime.now().timestamp()
    duration = end - (run.started_at or run.created_at)
    cols[2].markdown(f"started {fmt_time(run.started_at or run.created_at)}  \n{duration:.0f} s")
    if run.status.is_active:
        # The trial progress bar below is the search's progress; this says what the job does.
        text = f"{run.phase or 'starting'} · {run.message}" if run.message else run.phase
        st.caption(f":material/autorenew: {text or 'starting the worker'}")
        if run.cancel_requested_at:
            st.info("Cancel requested: the search stops after the current epoch.")
    elif run.status is not RunStatus.SUCCEEDED:
        st.error(run.error or f"The search ended {run.status.value}.")


# ----------------------------------------------------------------------------------------------
# The search itself


def _space(run: Run, search: dict[str, Any]) -> list[dict[str, Any]]:
    return list(search.get("space") or run.spec.get("space") or [])


def render_search(run: Run, key: str, progress: bool = True) -> None:
    run_dir = workspace().run_dir(run.id)
    search = read_search(run_dir)
    trials = read_trials(run_dir)
    if not run.status.is_active:  # a trial left RUNNING by a dead worker was interrupted
        trials = [dict(t, status="STOPPED") if t.get("status") == "RUNNING" else t for t in trials]
    direction = an.search_direction(search, trials)
    space = _space(run, search)
    objective = search.get("objective") or run.spec.get("objective") or "score"
    if isinstance(objective, dict):
        objective = objective.get("name", "score")
    summary = an.summary(trials, direction)
    counts = summary["counts"]
    failed = counts["FAILED"] + counts["INVALID"]
    if progress:
        _trial_progress(run, search, trials)
    if not trials:
        st.caption(
            "No trial has started yet: the first row appears here when the first trial begins."
        )
        return

    best = summary["best"]
    disk = search.get("disk_bytes")
    if disk is None:
        disk = disk_usage(run_dir)
    kept = sum(bool(t.get("checkpoint_kept")) for t in trials)
    keep_best = search.get("keep_best", run.spec.get("keep_best"))
    cols = st.columns(4)
    cols[0].metric(
        f"Best {objective} ({direction})",
        f"{best['score']:.4g}" if best else "—",
        help=f"trial {best.get('trial_id')}" if best else "No completed trial yet",
    )
    cols[1].metric("Completed trials", summary["completed"])
    cols[2].metric("Failed trials", failed)
    cols[3].metric(
        "Disk used by the search",
        fmt_bytes(int(disk)),
        help=f"Checkpoints kept: {kept} trial(s)"
        + (f" (the best {keep_best} are kept)" if keep_best is not None else ""),
    )
    st.caption(
        f"Checkpoints kept for **{kept}** trial(s)"
        + (f" (retention keeps the best {keep_best})" if keep_best is not None else "")
        + f" · tuner **{search.get('tuner') or run.spec.get('tuner', '?')}**"
        + (f" · {search['workers']} worker(s)" if search.get("workers") else "")
    )

    st.subheader("Trials")
    render_trial_table(trials, space, best, key)

    left, right = st.columns(2)
    with left:
        render_best_so_far(trials, direction, objective, key)
    with right:
        render_importance(trials, space, key)
    render_parallel(trials, space, objective, direction, key)
    render_trial_curves(trials, best, key)
    render_failures(trials)


# ----------------------------------------------------------------------------------------------
# After the search: resume, best trial, promote


def render_resume(run: Run, key: str) -> None:
    from core.runs.handlers import resumable_kinds

    if run.status not in (RunStatus.LOST, RunStatus.FAILED, RunStatus.CANCELED):
        return
    if run.kind not in resumable_kinds():
        st.caption("This kind of search cannot be resumed: start a new one.")
        return
    st.info(
        "**Resume** continues this search in the same run: finished trials are kept and at "
        "most the trial that was in flight is repeated."
    )
    if st.button("Resume", icon=":material/play_arrow:", type="primary", key=f"{key}-resume"):
        try:
            launcher.resume(workspace(), store(), run.id)
        except BadInput as exc:
            st.error(str(exc))
            return
        st.rerun()


def render_best(run: Run, key: str) -> None:
    run_dir = workspace().run_dir(run.id)
    trials = read_trials(run_dir)
    search = read_search(run_dir)
    direction = an.search_direction(search, trials)
    best = an.summary(trials, direction)["best"]
    result = run.result or {}
    if best is None and not result.get("best"):
        st.warning("The search finished without a completed trial: there is nothing to promote.")
        return
    best = best or result["best"]
    st.subheader("Best trial")
    st.success(
        f"Trial **{best.get('trial_id')}** scored **{best.get('score'):.4g}** with "
        + hp_text(best.get("hyperparameters") or {})
    )
    if run.kind == "automl":
        render_automl_result(run, key)
        return
    render_promote(run, key)


def render_automl_result(run: Run, key: str) -> None:
    """The exported best model (preprocessing included) measured on the held-out test split."""
    result = run.result or {}
    artifacts = store().get_artifacts(run.id)
    st.subheader("Exported model on the held-out test split")
    evaluation = read_json_artifact(artifacts, "evaluation.json")
    if evaluation:
        render_evaluation(evaluation, key=f"{key}-automl-{run.id}")
    else:
        test = result.get("test_metrics") or {}
        cols = st.columns(max(len(test), 1))
        for col, (name, value) in zip(cols, test.items(), strict=False):
            col.metric(name.replace("_", " "), "—" if value is None else f"{value:.4g}")
    facts = [f"AutoKeras **{result['automodel']}**"] if result.get("automodel") else []
    if result.get("parameters"):
        facts.append(f"{result['parameters']:,} parameters")
    if result.get("model_bytes"):
        facts.append(f"{fmt_bytes(result['model_bytes'])} as .keras")
    parity = result.get("raw_input_parity") or {}
    if parity:
        facts.append(
            f"on {parity.get('rows')} raw test rows the saved model reproduces AutoKeras' own "
            f"predictions (max |difference| {parity.get('max_abs_diff', 0):.2g})"
        )
    if facts:
        st.caption(" · ".join(facts))
    for warning in result.get("warnings", []):
        st.warning(warning)
    names = ["model.keras", "preprocessing.keras", "network.keras", "features.json"]
    render_downloads(artifacts, names, key=f"{key}-automl")


def render_promote(run: Run, key: str) -> None:
    promoted = [r for r in store().list_runs(kind="train") if r.name == promoted_name(run.id)]
    if promoted:
        latest = promoted[0]
        st.page_link(
            page_path("train"),
            label=f"Promoted: training run {latest.id} ({latest.status.value}) →",
            icon=page_icon("train"),
            query_params={"run": latest.id},
        )
    if st.button(
        "Promote the best trial" if not promoted else "Promote again",
        icon=":material/upgrade:",
        type="primary" if not promoted else "secondary",
        key=f"{key}-promote",
        help="Retrains the best trial's hyperparameters on training + validation data as a normal "
        "training run, which the Compress and Export pages can use.",
    ):
        try:
            from core.tuning.promote import promote_spec
        except ImportError:
            st.error("Promotion is not available in this installation (core.tuning.promote).")
            return
        try:
            spec = promote_spec(run)
        except (BadInput, NotFound) as exc:
            st.error(f"Cannot promote: {exc}")
            return
        train = launcher.submit(workspace(), store(), spec, name=promoted_name(run.id))
        st.session_state[f"{key}-promoted"] = train.id
        st.rerun()


def _log(run: Run) -> None:
    artifacts = store().get_artifacts(run.id)
    if "log" in artifacts and Path(artifacts["log"].path).is_file():
        with st.expander("Worker log"):
            st.code(tail_text(artifacts["log"].path) or "(empty)", language="text")


# ----------------------------------------------------------------------------------------------
# Previous searches


def render_previous_searches(key: str = "tune") -> None:
    runs = [r for kind in SEARCH_KINDS for r in store().list_runs(kind=kind, limit=50)]
    if not runs:
        return
    runs.sort(key=lambda r: r.created_at, reverse=True)
    with st.expander(f"Previous searches ({len(runs)})", expanded=False):
        rows = []
        for r in runs:
            run_dir = workspace().run_dir(r.id)
            trials = read_trials(run_dir)
            direction = an.search_direction(read_search(run_dir), trials)
            best = an.summary(trials, direction)["best"]
            rows.append(
                {
                    "run": r.id,
                    "name": r.name,
                    "engine": "AutoKeras" if r.kind == "automl" else "KerasTuner",
                    "status": r.status.value,
                    "trials": len(trials),
                    "best score": best["score"] if best else None,
                    "created": fmt_time(r.created_at),
                }
            )
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        a, b = st.columns([4, 1], vertical_alignment="bottom")
        chosen = a.selectbox(
            "Search",
            [r.id for r in runs],
            format_func=lambda i: f"{i} · {next(r.name for r in runs if r.id == i)}",
            key=f"{key}-reopen-pick",
        )
        if b.button("Open", icon=":material/open_in_new:", key=f"{key}-reopen", width="stretch"):
            st.query_params["run"] = chosen
            st.rerun()

"""Pipelines: retrain when new data arrives — validate, train, compare with production, push."""

from pathlib import Path

import streamlit as st

from core.data.datasets import DatasetStore
from core.errors import BadInput, NotFound
from core.help import HELP, choice_help
from core.pipelines.checks import TASK_METRICS, check_against_workspace
from core.pipelines.definition import load_pipeline
from core.pipelines.submit import submit_pipeline
from core.runs import launcher
from core.specs import EXPORT_FORMATS
from dashboard.components import fmt_time, status_label
from dashboard.navigation import page_icon, page_path
from dashboard.pipeline_view import pipeline_yaml, render_pipeline_run, resumable, stage_graph
from dashboard.run_summary import render_report_buttons
from dashboard.services import store, workspace

REPO = Path(__file__).resolve().parent.parent

st.title("Pipelines")
st.caption(
    "A pipeline is a small YAML file of stages: ingest new data → statistics → validation "
    "against the production model's data → train (warm from production) → evaluate the "
    "challenger against production on the same held-out rows → push only if it is better. "
    "Each stage keeps its files, and an interrupted run resumes from the last finished stage."
)

ws = workspace()
pipelines_dir = ws.root / "pipelines"
pipelines_dir.mkdir(parents=True, exist_ok=True)


def pipeline_files() -> list[Path]:
    mine = sorted(p for p in pipelines_dir.glob("*.yaml"))
    examples = sorted(
        (REPO / "examples").glob("*/*.yaml"), key=lambda p: (p.parent, p.name != "pipeline.yaml", p)
    )
    return mine + examples


def example_data(path: Path) -> Path | None:
    """The data a bundled example starts from (`initial.csv` beside its YAML), if any."""
    try:
        path.resolve().relative_to(REPO / "examples")
    except ValueError:
        return None
    seed = path.resolve().parent / "initial.csv"
    return seed if seed.is_file() else None


def load(path: str):
    try:
        return load_pipeline(path), None
    except BadInput as exc:
        return None, str(exc)


# -- a run ---------------------------------------------------------------------------------------
run_id = st.query_params.get("run")
if run_id:
    try:
        run = store().get_run(run_id)
    except NotFound:
        st.warning(f"There is no run {run_id} in this workspace.")
        del st.query_params["run"]
        st.stop()
    if st.button("Back to pipelines", icon=":material/arrow_back:"):
        del st.query_params["run"]
        st.rerun()
    pipeline = None
    try:
        from core.pipelines.definition import parse_text

        pipeline = parse_text(run.spec.get("text", ""), run.spec.get("file") or "pipeline.yaml")
    except BadInput as exc:
        st.warning(f"The run's pipeline file no longer parses: {exc}")
    st.subheader(f"Run of {run.name}")
    render_pipeline_run(pipeline, run_id)
    run = store().get_run(run_id)
    render_report_buttons(run, key="pipelines", heading="Share this run")
    stopped_by_validation = (run.error or "").startswith("validation stopped")
    cols = st.columns(4)
    if run.status.is_active and not run.cancel_requested_at:
        if cols[0].button("Cancel", icon=":material/stop:"):
            store().request_cancel(run.id)
            st.rerun()
    if resumable(run.status) and not stopped_by_validation:
        if cols[0].button(
            "Resume",
            icon=":material/play_arrow:",
            type="primary",
            help="Continue from the last finished stage (same run, same folder).",
        ):
            launcher.resume(ws, store(), run.id)
            st.rerun()
    cols[1].page_link(page_path("registry"), label="Registry", icon=page_icon("registry"))
    st.stop()

tab_run, tab_new = st.tabs(["Run a pipeline", "New pipeline"])

# -- run an existing file ------------------------------------------------------------------------
with tab_run:
    files = pipeline_files()
    labels = {
        str(p): (p.name if p.parent == pipelines_dir else str(p.relative_to(REPO))) for p in files
    }
    choice = st.selectbox(
        "Pipeline file",
        [*labels, "another file…"],
        format_func=lambda p: labels.get(p, p),
        key="pipe-file",
    )
    path = choice
    if choice == "another file…":
        path = st.text_input("Path to a pipeline YAML", key="pipe-path")
    if path:
        pipeline, error = load(path)
        if error:
            st.error(error)
        else:
            st.graphviz_chart(stage_graph(pipeline), width="stretch")
            with st.expander("The YAML"):
                st.code(pipeline.text, language="yaml")
            problem = None
            try:
                found = check_against_workspace(pipeline, ws)
                production = found["production"] or "none yet (the challenger becomes the first)"
                st.caption(
                    f"Dataset {found['dataset']} · target {found['target']} · task "
                    f"{found['task']} · production model {production}"
                )
            except (BadInput, NotFound) as exc:
                problem = str(exc)
                seed = example_data(Path(path))
                if "no dataset" in problem and seed is not None:
                    st.info(
                        f"This pipeline retrains on the dataset **{pipeline.dataset}**, which is "
                        f"not in this workspace yet. The example ships it as `{seed.name}`."
                    )
                    if st.button(
                        f"Add the example's data ({seed.name} as {pipeline.dataset})",
                        type="primary",
                        icon=":material/add:",
                        key="pipe-seed",
                    ):
                        DatasetStore(ws).import_file(
                            seed, seed.name, name=pipeline.dataset, target=pipeline.target or None
                        )
                        st.rerun()
                elif "no dataset" in problem:
                    st.error(problem.split("; give a dataset id")[0] + ".")
                    st.page_link(
                        page_path("data"), label="Import it on Data →", icon=page_icon("data")
                    )
                else:
                    st.error(problem)
            if st.button(
                "Run pipeline", type="primary", icon=":material/play_arrow:", disabled=bool(problem)
            ):
                try:
                    run = submit_pipeline(ws, store(), path)
                except BadInput as exc:
                    st.error(str(exc))
                else:
                    st.query_params["run"] = run.id
                    st.rerun()
            with st.expander("The same from a terminal (optional)"):
                st.code(
                    f"tfstudio pipeline run {path} --json\n"
                    f"tfstudio pipeline watch {path} --folder DIR\n"
                    f"tfstudio pipeline compile {path} --target kubeflow --out pipeline.yaml",
                    language="bash",
                )

    runs = store().list_runs(kind="pipeline", limit=50)
    st.subheader("Pipeline runs")
    if not runs:
        st.info(
            "No pipeline run yet. Pick the example above and press **Run pipeline**: it "
            "validates new rows, retrains and pushes the model if it is better."
        )
    for r in runs:
        cols = st.columns([3, 2, 3, 1])
        outcome = (r.result or {}).get("outcome", "") if r.result else ""
        cols[0].markdown(f"**{r.name}**  \n`{r.id}`")
        cols[1].markdown(status_label(r.status))
        cols[2].markdown(f"{outcome or (r.error or '')[:80]}  \n{fmt_time(r.created_at)}")
        if cols[3].button("Open", key=f"open-{r.id}"):
            st.query_params["run"] = r.id
            st.rerun()

# -- write a new file ----------------------------------------------------------------------------
with tab_new:
    datasets = sorted({v.name for v in DatasetStore(ws).list_versions()})
    if not datasets:
        st.info("A pipeline retrains on a dataset of this workspace: import one first.")
        st.page_link(page_path("data"), label="Go to Data →", icon=page_icon("data"))
    else:
        with st.form("pipe-form"):
            left, right = st.columns(2)
            name = left.text_input("Pipeline name", value="retrain", help="letters, digits, -_.")
            dataset = right.selectbox("Dataset", datasets)
            version = DatasetStore(ws).get(dataset)
            schema = DatasetStore(ws).schema(version)
            columns = [c["name"] for c in schema.get("columns", [])]
            target_default = schema.get("target") or (columns[-1] if columns else "")
            target = left.selectbox(
                "Target",
                columns,
                index=columns.index(target_default) if target_default in columns else 0,
                help=HELP["target"],
            )
            model = right.text_input("Registered model name", value=name)
            source = left.text_input(
                "New data: a file or folder path", placeholder="/data/incoming/new.csv"
            )
            watch_folder = right.toggle("It is a folder to watch", value=False)
            mode = left.radio(
                "Train on",
                ["append", "replace"],
                horizontal=True,
                format_func=lambda m: {
                    "append": "production data + new rows",
                    "replace": "new rows only",
                }[m],
                help=HELP["pipeline.mode"],
            )
            severity = right.select_slider(
                "Stop when an anomaly is at least",
                ["low", "medium", "high"],
                value="high",
                help=HELP["severity"] + "\n\n" + choice_help("drift", ["psi", "ks", "linf"]),
            )
            learner = left.radio(
                "Learner", ["train", "tune"], horizontal=True, help=HELP["pipeline.learner"]
            )
            epochs = right.number_input("Epochs", 1, 1000, 10, help=HELP["epochs"])
            metric = left.selectbox(
                "Metric",
                sorted({m for ms in TASK_METRICS.values() for m in ms}),
                index=0,
                help=HELP["pipeline.metric"],
            )
            direction = right.radio("Better is", ["max", "min"], horizontal=True)
            margin = left.number_input(
                "Push only when better by more than",
                value=0.0,
                step=0.01,
                format="%.3f",
                help=HELP["pipeline.margin"],
            )
            formats = right.multiselect(
                "Bundles", EXPORT_FORMATS, default=["savedmodel"], help=HELP["export.formats"]
            )
            submitted = st.form_submit_button("Write pipeline file", type="primary")
        if submitted:
            text = pipeline_yaml(
                {
                    "name": name,
                    "dataset": dataset,
                    "target": target,
                    "model": model,
                    "source": source,
                    "watch_folder": watch_folder,
                    "mode": mode,
                    "severity": severity,
                    "learner": learner,
                    "epochs": int(epochs),
                    "metric": metric,
                    "direction": direction,
                    "margin": margin,
                    "formats": formats,
                }
            )
            target_path = pipelines_dir / f"{name}.yaml"
            from core.pipelines.definition import parse_text

            try:
                parse_text(text, str(target_path))
                if not source:
                    raise BadInput("give the new data's file or folder")
            except BadInput as exc:
                st.error(str(exc))
            else:
                target_path.write_text(text)
                st.success(
                    f"Wrote {target_path}. Pick it under “Run a pipeline” to check and run it."
                )
                st.code(text, language="yaml")

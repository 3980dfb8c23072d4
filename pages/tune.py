"""Tune: KerasTuner searches over a catalog model's hyperparameters, or AutoKeras; live trial
analytics, resume after a crash, and promotion of the best trial to a normal training run."""

from collections.abc import Callable

import streamlit as st

from core.errors import BadInput, NotFound
from core.help import HELP, choice_help
from core.models.catalog import DEFAULT_MODEL, get_entry, list_entries
from core.runs import launcher
from core.specs import AUTOML_TUNERS, TASKS, TUNERS, AutoMLSpec, TrainSpec, TuneSpec
from core.training.precheck import resolve_task
from dashboard.data_picker import pick_table
from dashboard.search_space import render_search_space_editor, space_problems
from dashboard.services import store, workspace
from dashboard.tune_view import render_previous_searches, render_tune_run

KERAS_TUNER, AUTOKERAS = "KerasTuner search", "AutoKeras"
TUNER_HELP = {
    "random": "random: samples the space at random",
    "grid": "grid: every combination (continuous ranges at their step)",
    "hyperband": "Hyperband: many short trials, the promising ones trained longer",
    "bayesian": "Bayesian optimisation: a Gaussian process proposes the next trial",
}
CLASSIFICATION = ("classification", "image-classification", "text-classification")

st.title("Tune")

run_id = st.query_params.get("run")
if run_id:
    if st.button("New search", icon=":material/add:", key="tune-new"):
        del st.query_params["run"]
        st.rerun()
    render_tune_run(run_id, key="tune")
    st.stop()

st.caption(
    "State a search space and an objective; KerasTuner or AutoKeras trains many trials in a "
    "worker and keeps the best. Trials appear live, a crashed search resumes where it stopped, "
    "and the best trial can be promoted to a normal training run."
)
render_previous_searches("tune")

mode = st.radio(
    "Engine", (KERAS_TUNER, AUTOKERAS), horizontal=True, key="tune-mode", help=HELP["engine"]
)
table = pick_table("tune")
picked, loaded, kind, columns = table.picked, table.loaded, table.kind, table.columns

left, right = st.columns(2)
target = table.target_box(right, "tune")


def launch(spec, name: str, check: Callable[[], object], refusal: str) -> None:
    """Submit `spec` once `check()` passes. A check imports its engine's planning module; where
    that engine is not installed here, the worker is the one to say so."""
    try:
        check()
    except ImportError:
        pass
    except (BadInput, NotFound) as exc:
        st.error(f"{refusal}: {exc}")
        st.stop()
    run = launcher.submit(workspace(), store(), spec, name=name)
    st.query_params["run"] = run.id
    st.rerun()


# ----------------------------------------------------------------------------------------------
# AutoKeras

if mode == AUTOKERAS:
    task = left.selectbox(
        "Task",
        ("auto", "classification", "regression"),
        key="tune-ak-task",
        help="The input kind (table, images, text) comes from the data; auto picks "
        "classification or regression from the target column.",
    )
    a, b, c, d = st.columns(4)
    max_trials = a.number_input(
        "Max trials", 1, 500, 3, key="tune-ak-trials", help=HELP["max_trials"]
    )
    epochs = b.number_input(
        "Epochs per trial", 1, 1000, 10, key="tune-ak-epochs", help=HELP["epochs"]
    )
    tuner = c.selectbox(
        "AutoKeras tuner",
        AUTOML_TUNERS,
        key="tune-ak-tuner",
        help=choice_help("tuner", AUTOML_TUNERS),
    )
    batch_size = d.number_input(
        "Batch size", 1, 4096, 32, key="tune-ak-batch", help=HELP["batch_size"]
    )
    seed = a.number_input("Seed", 0, 2**31 - 1, 42, key="tune-ak-seed", help=HELP["seed"])
    text_column = ""
    if kind == "text":
        text_columns = [col for col in columns if col != target]
        text_column = b.selectbox("Text column", text_columns, key="tune-ak-text")
    image_size = 64
    if kind == "images":
        image_size = int(
            c.select_slider(
                "Image size (pixels)",
                [32, 48, 64, 96, 128],
                value=64,
                key="tune-ak-imgsize",
                help=HELP["image_size"],
            )
        )
    st.caption(
        "AutoKeras chooses the architecture and its preprocessing itself; the best model is "
        "exported with its preprocessing and measured on a held-out test split."
    )
    if st.button("Start AutoKeras", icon=":material/play_arrow:", type="primary", key="tune-go"):
        spec = table.spec(
            AutoMLSpec,
            target,
            task=task,
            max_trials=int(max_trials),
            epochs=int(epochs),
            tuner=tuner,
            batch_size=int(batch_size),
            seed=int(seed),
            text_column=text_column,
            image_size=image_size,
        )

        def check_automl() -> None:
            from core.tuning.automl_plan import prepare_split

            if loaded.stream is None:  # a large table is checked by the worker, on its sample
                prepare_split(spec, loaded)  # pandas only: the data and options, first

        name = f"AutoKeras · {table.target_name(target)} · {picked.label}"
        launch(spec, name, check_automl, "Cannot start AutoKeras on this")
    st.stop()

# ----------------------------------------------------------------------------------------------
# KerasTuner

task = left.selectbox("Task", TASKS, key="tune-task", help=HELP["task"])
try:
    resolved = resolve_task(TrainSpec(data=picked.ref, target=target, task=task), loaded)
except BadInput:
    resolved = "classification"
entries = [e for e in list_entries(resolved) if e.hyperparameters]
if not entries:
    st.warning(f"No catalog model for {resolved} declares hyperparameters to search.")
    st.stop()
names = [e.name for e in entries]
model = left.selectbox(
    "Model",
    names,
    index=names.index(DEFAULT_MODEL[resolved]) if DEFAULT_MODEL.get(resolved) in names else 0,
    key=f"tune-model-{resolved}",
    format_func=lambda n: f"{n} · {get_entry(n).title}",
    help=HELP["model"],
)
right.markdown(f"&nbsp;  \n**{resolved}** on {picked.label}")

st.subheader("Search space")
st.caption(
    "Each hyperparameter the model declares: search it (a range or a set of choices) or fix it. "
    "A hyperparameter can be conditional: only active when a choice takes given values."
)
space = render_search_space_editor(get_entry(model), key="tune-space")
problems = space_problems(space)
if not problems:
    try:
        from core.tuning.space import validate_space

        validate_space(space, model)
    except ImportError:
        pass
    except BadInput as exc:
        problems.append(str(exc))
for problem in problems:
    st.error(problem, icon=":material/error:")

st.subheader("Search")
metrics = ["loss", "accuracy"] if resolved in CLASSIFICATION else ["loss", "mae"]
objectives = [f"val_{m}" for m in metrics] + metrics
a, b, c, d = st.columns(4)
tuner = a.selectbox(
    "Tuner",
    TUNERS,
    index=TUNERS.index("hyperband"),
    key="tune-tuner",
    format_func=lambda t: TUNER_HELP[t].split(":")[0],
    help=choice_help("tuner", TUNERS),
)
objective = b.selectbox(
    "Objective",
    objectives,
    key=f"tune-objective-{resolved in CLASSIFICATION}",
    help="A metric every trial logs; val_ metrics are measured on the validation split.",
)
direction = c.selectbox(
    "Direction",
    ("auto", "min", "max"),
    key="tune-direction",
    help="auto: max for accuracy, min for loss and errors",
)
# The search's number boxes, four to a row after the three choices above:
# key (tune-KEY) -> (label, min, max, default, step), and each box's help.
SEARCH_NUMBERS = {
    "max-trials": ("Max trials", 1, 1000, 10, 1),
    "executions": ("Executions per trial", 1, 10, 1, 1),
    "epochs": ("Epochs per trial (max)", 1, 1000, 10, 1),
    "patience": ("Trial early stopping (patience)", 0, 1000, 3, 1),
    "budget": ("Time budget (minutes, 0 = none)", 0.0, 10_000.0, 0.0, 5.0),
    "keep-best": ("Keep best k checkpoints", 0, 1000, 3, 1),
    "workers": ("Workers (0 = one process)", 0, 16, 0, 1),
    "max-failed": ("Failed trials allowed", 0, 1000, 3, 1),
    "batch": ("Batch size", 1, 4096, 32, 1),
}
SEARCH_HELP = {
    "max-trials": HELP["max_trials"] + " Hyperband counts its brackets' trials towards this too.",
    "executions": "Fits averaged per trial (smooths out noisy scores)",
    "epochs": "Hyperband's largest budget; the other tuners train each trial this long.",
    "patience": "A trial stops when its objective has not improved for this many epochs (0: off).",
    "budget": "No new trial starts after this; the trial in flight finishes.",
    "keep-best": "Checkpoints of other trials are deleted as the search goes (saves disk).",
    "workers": "N > 0 starts a KerasTuner chief (the oracle) and N worker processes on this "
    "machine.",
    "max-failed": "The search continues past failing trials up to this many, keeping what it "
    "found.",
    "batch": HELP["batch_size"],
}
grid = (a, b, c, d)
number = {
    key: grid[(3 + i) % 4].number_input(*box, key=f"tune-{key}", help=SEARCH_HELP[key])
    for i, (key, box) in enumerate(SEARCH_NUMBERS.items())
}
factor = 3
if tuner == "hyperband":
    factor = a.number_input(
        "Hyperband factor", 2, 10, 3, key="tune-factor", help=HELP["hyperband_factor"]
    )
seed = b.number_input("Seed", 0, 2**31 - 1, 42, key="tune-seed", help=HELP["seed"])

if st.button("Start search", icon=":material/play_arrow:", type="primary", key="tune-go"):
    if problems:
        st.error("Fix the search space first: " + " ".join(problems))
        st.stop()
    base = table.spec(
        TrainSpec,
        target,
        model=model,
        task=task,
        epochs=int(number["epochs"]),
        batch_size=int(number["batch"]),
        seed=int(seed),
    )
    spec = TuneSpec(
        base=base.to_dict(),
        tuner=tuner,
        space=tuple(space),
        objective=objective,
        direction="" if direction == "auto" else direction,
        max_trials=int(number["max-trials"]),
        executions_per_trial=int(number["executions"]),
        time_budget_s=float(number["budget"]) * 60.0,
        trial_early_stopping=int(number["patience"]),
        keep_best=int(number["keep-best"]),
        max_failed_trials=int(number["max-failed"]),
        workers=int(number["workers"]),
        hyperband_factor=int(factor),
    )

    def check_search() -> None:
        from core.tuning.space import check_tune_spec

        check_tune_spec(spec, workspace())

    name = f"{tuner} · {model} · {table.target_name(target)} · {picked.label}"
    launch(spec, name, check_search, "Cannot start this search")

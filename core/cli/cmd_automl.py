"""`tfstudio automl`: an AutoKeras search on a table, an image dataset or a text table.

    tfstudio automl --data sample:iris --target species --task auto --max-trials 3 \\
        [--epochs 10] [--tuner greedy|bayesian|hyperband|random] --json

The JSON holds `run_id`, `status`, `best` {`trial_id`, `score`, `hyperparameters`} and `trials`
(as `tfstudio tune` prints them), with `test_metrics` and the saved model's files under
`artifacts`. A killed or canceled search continues with `tfstudio runs resume RUN_ID`.
"""

from __future__ import annotations

from core.cli.common import data_arg, open_workspace, search_payload, submit_and_watch, warn
from core.cli.flags import Flags, add_command, add_spec_flags, spec_values
from core.specs import AUTOML_TUNERS, AutoMLSpec

DATA_HELP = "a file, a dataset id (name@vN) or sample:NAME"
# Every AutoMLSpec field `tfstudio automl` takes, in --help order.
FLAGS: Flags = {
    "data": {"required": True, "type": data_arg, "help": DATA_HELP},
    "target": {"help": "the column to predict (images: their folders)"},
    "task": {"help": "auto (from the target column), classification, regression"},
    "max_trials": {"help": "models AutoKeras tries"},
    "epochs": {"help": "the most epochs a trial trains"},
    "tuner": {"choices": list(AUTOML_TUNERS)},
    "batch_size": {},
    "validation_fraction": {},
    "test_fraction": {},
    "seed": {},
    "text_column": {"help": "text: the column of text"},
    "image_size": {"help": "images: resized to N x N"},
}


def automl_payload(ws, store, run) -> dict:
    return search_payload(ws, store, run, summaries=True)


def cmd_automl(args) -> int:
    from core.tuning.automl_plan import check_automl_spec

    ws, store = open_workspace(args)
    spec = AutoMLSpec(**spec_values(args, FLAGS))
    plan = check_automl_spec(spec, ws)  # bad input exits 2 before any worker starts
    warn(plan.warnings)
    name = args.name or f"automl {plan.automodel} · {args.target or plan.task} · {plan.data_label}"

    def text(run, payload) -> str:
        best = payload.get("best") or {}
        line = f"{run.id} {run.status.value}"
        if best:
            objective = (run.result or {}).get("objective", {}).get("name", "score")
            line += f" best trial {best['trial_id']}: {objective} {best['score']:.4g}"
        shown = payload["test_metrics"].items()
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in shown if v is not None)
        return line + (f" · test {metrics}" if metrics else "")

    return submit_and_watch(
        args, ws, store, spec, name, lambda run: automl_payload(ws, store, run), text
    )


def register(sub, common) -> None:
    p = add_command(
        sub,
        common,
        "automl",
        cmd_automl,
        "search models with AutoKeras (tables, image datasets, text tables)",
    )
    add_spec_flags(p, AutoMLSpec, FLAGS)
    p.add_argument("--name", default="")
    p.add_argument("--detach", action="store_true", help="start the search and return at once")

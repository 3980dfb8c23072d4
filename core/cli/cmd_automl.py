"""`tfstudio automl`: an AutoKeras search on a table, an image dataset or a text table.

    tfstudio automl --data sample:iris --target species --task auto --max-trials 3 \\
        [--epochs 10] [--tuner greedy|bayesian|hyperband|random] --json

The JSON holds `run_id`, `status`, `best` {`trial_id`, `score`, `hyperparameters`} and `trials`
(as `tfstudio tune` prints them), with `test_metrics` and the saved model's files under
`artifacts`. A killed or canceled search continues with `tfstudio runs resume RUN_ID`.
"""

from __future__ import annotations

import sys

from core.cli.common import data_arg, open_workspace, search_payload, submit_and_watch
from core.specs import AUTOML_TUNERS, AutoMLSpec, field_default


def automl_payload(ws, store, run) -> dict:
    return search_payload(ws, store, run, summaries=True)


def cmd_automl(args) -> int:
    from core.tuning.automl_plan import check_automl_spec

    ws, store = open_workspace(args)
    data = data_arg(args.data)
    spec = AutoMLSpec(
        data=data,
        target=args.target,
        task=args.task,
        max_trials=args.max_trials,
        epochs=args.epochs,
        tuner=args.tuner,
        batch_size=args.batch_size,
        validation_fraction=args.validation_fraction,
        test_fraction=args.test_fraction,
        seed=args.seed,
        text_column=args.text_column,
        image_size=args.image_size,
    )
    plan = check_automl_spec(spec, ws)  # bad input exits 2 before any worker starts
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
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
    def default(name: str):
        return field_default(AutoMLSpec, name)

    p = sub.add_parser(
        "automl",
        parents=[common],
        help="search models with AutoKeras (tables, image datasets, text tables)",
    )
    p.add_argument("--data", required=True, help="a file, a dataset id (name@vN) or sample:NAME")
    p.add_argument("--target", default="", help="the column to predict (images: their folders)")
    p.add_argument(
        "--task",
        default=default("task"),
        help="auto (from the target column), classification, regression",
    )
    p.add_argument(
        "--max-trials", type=int, default=default("max_trials"), help="models AutoKeras tries"
    )
    p.add_argument(
        "--epochs", type=int, default=default("epochs"), help="the most epochs a trial trains"
    )
    p.add_argument("--tuner", default=default("tuner"), choices=list(AUTOML_TUNERS))
    p.add_argument("--batch-size", type=int, default=default("batch_size"))
    p.add_argument("--validation-fraction", type=float, default=default("validation_fraction"))
    p.add_argument("--test-fraction", type=float, default=default("test_fraction"))
    p.add_argument("--seed", type=int, default=default("seed"))
    p.add_argument("--text-column", default="", help="text: the column of text")
    p.add_argument(
        "--image-size", type=int, default=default("image_size"), help="images: resized to N x N"
    )
    p.add_argument("--name", default="")
    p.add_argument("--detach", action="store_true", help="start the search and return at once")
    p.set_defaults(func=cmd_automl)

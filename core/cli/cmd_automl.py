"""`tfstudio automl`: an AutoKeras search on a table, an image dataset or a text table.

    tfstudio automl --data sample:iris --target species --task auto --max-trials 3 \\
        [--epochs 10] [--tuner greedy|bayesian|hyperband|random] --json

The JSON holds `run_id`, `status`, `best` {`trial_id`, `score`, `hyperparameters`} and `trials`
(as `tfstudio tune` prints them), with `test_metrics` and the saved model's files under
`artifacts`. A killed or canceled search continues with `tfstudio runs resume RUN_ID`.
"""

from __future__ import annotations

import sys

from core.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    data_arg,
    emit,
    open_workspace,
    run_payload,
    watch,
)
from core.runs import launcher
from core.runs.status import RunStatus
from core.specs import AUTOML_TUNERS, AutoMLSpec


def automl_payload(ws, store, run) -> dict:
    payload = run_payload(store, run)
    result = run.result or {}
    payload["best"] = result.get("best")
    payload["trials"] = result.get("trials", [])
    if not payload["trials"] and ws.run_dir(run.id).exists():
        # A failed or canceled search: its trial records are still on disk.
        from core.tuning.trials import read_trials, summary

        payload["trials"] = [summary(t) for t in read_trials(ws.run_dir(run.id))]
    return payload


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
    run = launcher.submit(ws, store, spec, name=name)
    if args.detach:
        emit(args, automl_payload(ws, store, run), run.id)
        return EXIT_OK
    run = watch(store, run)
    payload = automl_payload(ws, store, run)
    best = payload.get("best") or {}
    text = f"{run.id} {run.status.value}"
    if best:
        objective = (run.result or {}).get("objective", {}).get("name", "score")
        text += f" best trial {best['trial_id']}: {objective} {best['score']:.4g}"
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in payload["test_metrics"].items() if v is not None)
    text += f" · test {metrics}" if metrics else ""
    emit(args, payload, (text + (f" {run.error}" if run.error else "")).strip())
    return EXIT_OK if run.status is RunStatus.SUCCEEDED else EXIT_FAILED


def register(sub, common) -> None:
    p = sub.add_parser(
        "automl",
        parents=[common],
        help="search models with AutoKeras (tables, image datasets, text tables)",
    )
    p.add_argument("--data", required=True, help="a file, a dataset id (name@vN) or sample:NAME")
    p.add_argument("--target", default="", help="the column to predict (images: their folders)")
    p.add_argument(
        "--task", default="auto", help="auto (from the target column), classification, regression"
    )
    p.add_argument("--max-trials", type=int, default=3, help="models AutoKeras tries")
    p.add_argument("--epochs", type=int, default=10, help="the most epochs a trial trains")
    p.add_argument("--tuner", default="greedy", choices=list(AUTOML_TUNERS))
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--validation-fraction", type=float, default=0.2)
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--text-column", default="", help="text: the column of text")
    p.add_argument("--image-size", type=int, default=64, help="images: resized to N x N")
    p.add_argument("--name", default="")
    p.add_argument("--detach", action="store_true", help="start the search and return at once")
    p.set_defaults(func=cmd_automl)

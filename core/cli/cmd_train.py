"""`tfstudio train`: validate a TrainSpec against its data, start the run and (by default) wait.

Every default and choice list comes from `TrainSpec`'s fields and `core.specs`, so the CLI, the
Train page and the engine cannot drift apart (a learning rate of 0 means the catalog's default).
"""

from __future__ import annotations

import sys

from core import specs
from core.cli.common import EXIT_OK, data_arg, emit, open_workspace, run_payload, wait_and_report
from core.runs import launcher
from core.specs import TrainSpec, field_default


def _csv(text: str) -> tuple[str, ...]:
    return tuple(item for item in text.split(",") if item)


def spec_from_args(args) -> TrainSpec:
    return TrainSpec(
        data=data_arg(args.data),
        target=args.target,
        model=args.model,
        task=args.task,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        coerce_numeric=args.coerce_numeric,
        split=args.split,
        time_column=args.time_column,
        window=args.window,
        horizon=args.horizon,
        stride=args.stride,
        features=_csv(args.features),
        text_column=args.text_column,
        image_size=args.image_size,
        early_stopping=args.early_stopping,
        bucketize=_csv(args.bucketize),
        optimizer=args.optimizer,
        schedule=args.schedule,
        class_weights=args.class_weights,
        mixed_precision=args.mixed_precision,
        strategy=args.strategy,
        workers=args.workers,
        weights=args.weights,
        offline=args.offline,
        fine_tune_layers=args.fine_tune_layers,
        fine_tune_epochs=args.fine_tune_epochs,
        trust_savedmodel=args.trust_savedmodel,
    )


def cmd_train(args) -> int:
    from core.training.precheck import check_train_spec

    ws, store = open_workspace(args)
    spec = spec_from_args(args)
    # Check the spec against its data here, so bad input exits 2 before any worker starts.
    planned = check_train_spec(spec, ws)
    for w in planned.warnings:
        print(f"warning: {w}", file=sys.stderr)
    name = args.name or f"{planned.model} · {args.target or planned.task} · {planned.data_label}"
    run = launcher.submit(ws, store, spec, name=name)
    if args.detach:
        emit(args, run_payload(store, run), run.id)
        return EXIT_OK
    return wait_and_report(args, store, run)


def register(sub, common) -> None:
    def default(name: str):
        return field_default(TrainSpec, name)

    p = sub.add_parser("train", parents=[common], help="train a model on a table and wait")
    p.add_argument("--data", required=True, help="a file, a dataset id (name@vN) or sample:NAME")
    p.add_argument("--target", default="", help="column(s) to predict (comma-separated series)")
    p.add_argument("--model", default="", help="catalog name (default: the task's default)")
    p.add_argument("--task", default=default("task"), choices=list(specs.TASKS))
    p.add_argument("--epochs", type=int, default=default("epochs"))
    p.add_argument("--batch-size", type=int, default=default("batch_size"))
    p.add_argument(
        "--learning-rate",
        type=float,
        default=default("learning_rate"),
        help="default: the model's catalog default (0 means that too)",
    )
    p.add_argument("--seed", type=int, default=default("seed"))
    p.add_argument(
        "--coerce-numeric",
        action="store_true",
        help="treat non-numbers in numeric columns as missing",
    )
    p.add_argument("--split", default=default("split"), choices=list(specs.SPLITS))
    p.add_argument(
        "--early-stopping",
        type=int,
        default=default("early_stopping"),
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation loss (0: off)",
    )
    p.add_argument("--time-column", default="", help="forecasting: the time column")
    p.add_argument("--window", type=int, default=default("window"), help="forecasting: input steps")
    p.add_argument(
        "--horizon", type=int, default=default("horizon"), help="forecasting: steps ahead"
    )
    p.add_argument(
        "--stride", type=int, default=default("stride"), help="forecasting: steps between windows"
    )
    p.add_argument("--features", default="", help="forecasting: extra input columns, comma-sep.")
    p.add_argument("--bucketize", default="", help="tables: numeric columns to bin, comma-sep.")
    p.add_argument("--optimizer", default=default("optimizer"), choices=list(specs.OPTIMIZERS))
    p.add_argument("--schedule", default=default("schedule"), choices=list(specs.SCHEDULES))
    p.add_argument(
        "--class-weights", default=default("class_weights"), choices=list(specs.CLASS_WEIGHTS)
    )
    p.add_argument("--mixed-precision", action="store_true", help="float16 compute on a GPU")
    p.add_argument(
        "--strategy",
        default=default("strategy"),
        choices=list(specs.STRATEGIES),
        help="tf.distribute strategy",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=default("workers"),
        help="devices (mirrored) or local worker processes (multiworker)",
    )
    p.add_argument(
        "--weights",
        default="",
        help="keras-app: a local weights file or `random` (default: ImageNet, cache or download)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="never download pretrained files (as TFSTUDIO_OFFLINE=1): caches and folders only",
    )
    p.add_argument(
        "--fine-tune-layers",
        type=int,
        default=default("fine_tune_layers"),
        help="backbones: unfreeze this many top layers after training the head",
    )
    p.add_argument("--fine-tune-epochs", type=int, default=default("fine_tune_epochs"))
    p.add_argument("--text-column", default="", help="text: the column of text")
    p.add_argument(
        "--image-size", type=int, default=default("image_size"), help="images: resized to N x N"
    )
    p.add_argument(
        "--trust-savedmodel",
        action="store_true",
        help="hub: models: trust the SavedModel to run its graph (recorded with the run; "
        "without it such a model is refused and loads stay in Keras safe mode)",
    )
    p.add_argument("--name", default="")
    p.add_argument("--detach", action="store_true", help="start the run and return at once")
    p.set_defaults(func=cmd_train)

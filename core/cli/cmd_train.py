"""`tfstudio train`: validate a TrainSpec against its data, start the run and (by default) wait.

Every default and choice list comes from `TrainSpec`'s fields and `core.specs`, so the CLI, the
Train page and the engine cannot drift apart (a learning rate of 0 means the catalog's default).
"""

from __future__ import annotations

from core import specs
from core.cli.common import EXIT_OK, data_arg, launch, open_workspace, wait_and_report, warn
from core.cli.flags import Flags, add_command, add_spec_flags, spec_values
from core.specs import TrainSpec

# Every flag of `tfstudio train`, in --help order: one TrainSpec field each.
FLAGS: Flags = {
    "data": {
        "required": True,
        "type": data_arg,
        "help": "a file, a dataset id (name@vN) or sample:NAME",
    },
    "target": {"help": "column(s) to predict (comma-separated series)"},
    "model": {"help": "catalog name (default: the task's default)"},
    "task": {"choices": list(specs.TASKS)},
    "epochs": {},
    "batch_size": {},
    "learning_rate": {"help": "default: the model's catalog default (0 means that too)"},
    "seed": {},
    "coerce_numeric": {"help": "treat non-numbers in numeric columns as missing"},
    "split": {"choices": list(specs.SPLITS)},
    "early_stopping": {
        "metavar": "PATIENCE",
        "help": "stop after PATIENCE epochs without a better validation loss (0: off)",
    },
    "refit": {
        "flag": "--no-refit",
        "action": "store_false",
        "help": "keep the model chosen on validation instead of refitting it on the training "
        "and validation rows together",
    },
    "validation_fraction": {"help": "share of rows held out to choose the epochs (0 < F <= 0.5)"},
    "test_fraction": {"help": "share of rows held out to judge the model (0 < F <= 0.5)"},
    "time_column": {"help": "forecasting: the time column"},
    "window": {"help": "forecasting: input steps"},
    "horizon": {"help": "forecasting: steps ahead"},
    "stride": {"help": "forecasting: steps between windows"},
    "features": {"help": "forecasting: extra input columns, comma-sep."},
    "bucketize": {"help": "tables: numeric columns to bin, comma-sep."},
    "optimizer": {"choices": list(specs.OPTIMIZERS)},
    "schedule": {"choices": list(specs.SCHEDULES)},
    "class_weights": {"choices": list(specs.CLASS_WEIGHTS)},
    "mixed_precision": {"help": "float16 compute on a GPU"},
    "strategy": {"choices": list(specs.STRATEGIES), "help": "tf.distribute strategy"},
    "workers": {"help": "devices (mirrored) or local worker processes (multiworker)"},
    "weights": {
        "help": "keras-app: a local weights file or `random` (default: ImageNet, cache or download)"
    },
    "offline": {
        "help": "never download pretrained files (as TFSTUDIO_OFFLINE=1): caches and folders only"
    },
    "fine_tune_layers": {
        "help": "backbones: unfreeze this many top layers after training the head"
    },
    "fine_tune_epochs": {},
    "text_column": {"help": "text: the column of text"},
    "image_size": {"help": "images: resized to N x N"},
    "trust_savedmodel": {
        "help": "hub: models: trust the SavedModel to run its graph (recorded with the run; "
        "without it such a model is refused and loads stay in Keras safe mode)"
    },
}


def spec_from_args(args) -> TrainSpec:
    return TrainSpec(**spec_values(args, FLAGS))


def cmd_train(args) -> int:
    from core.training.precheck import check_train_spec

    ws, store = open_workspace(args)
    spec = spec_from_args(args)
    # Check the spec against its data here, so bad input exits 2 before any worker starts.
    planned = check_train_spec(spec, ws)
    warn(planned.warnings)
    name = args.name or f"{planned.model} · {args.target or planned.task} · {planned.data_label}"
    run = launch(args, ws, store, spec, name)
    return EXIT_OK if run is None else wait_and_report(args, store, run)


def register(sub, common) -> None:
    p = add_command(sub, common, "train", cmd_train, "train a model on a table and wait")
    add_spec_flags(p, TrainSpec, FLAGS)
    p.add_argument("--name", default="")
    p.add_argument("--detach", action="store_true", help="start the run and return at once")

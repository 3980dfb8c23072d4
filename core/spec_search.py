"""The search specs: a KerasTuner search over one catalog model (`TuneSpec`) and an AutoKeras
search over model families (`AutoMLSpec`); re-exported by core.specs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from core.spec_base import DATA_DEFAULTS, Spec

TUNERS = ("random", "grid", "hyperband", "bayesian")
# The most epochs a trial trains unless told (base["epochs"]): a search's budget, below a
# training run's default, as trials are many.
TRIAL_EPOCHS = 10


@dataclass(frozen=True)
class TuneSpec(Spec):
    """A KerasTuner search over one catalog model's hyperparameters.

    Args:
        base: the TrainSpec fields every trial starts from (data, target, model, task, epochs as
            the most epochs a trial trains, batch_size, splits, seed, ...).
        tuner: one of TUNERS.
        space: the search space, one dict per hyperparameter: `name`, `kind` (int, float,
            choice, bool or fixed), `low`/`high`/`step`/`log` (numbers), `choices` (choice),
            `value` (fixed), `default`, and optionally `parent` {`name`, `values`} for a
            conditional hyperparameter. Empty: the model's declared hyperparameters.
        objective / direction: a metric the trials log (`val_loss`, `val_accuracy`, ...) and
            `min` or `max`; empty direction: max for accuracy/AUC-like names, else min.
        max_trials / executions_per_trial: trials in the search, fits averaged per trial.
        time_budget_s: stop starting new trials after this many seconds (0: no limit).
        trial_early_stopping: patience (epochs) of early stopping inside each trial (0: off).
        keep_best: keep the checkpoints of only the best k trials.
        max_failed_trials: the search stops after more trials than this have failed.
        workers: 0 runs the search in one process; N runs a KerasTuner chief and N workers.
        hyperband_factor: Hyperband's reduction factor.
    """

    kind: ClassVar[str] = "tune"
    base: dict[str, Any] = dataclasses.field(default_factory=dict)
    tuner: str = "hyperband"
    space: tuple[dict[str, Any], ...] = ()
    objective: str = "val_loss"
    direction: str = ""
    max_trials: int = 10
    executions_per_trial: int = 1
    time_budget_s: float = 0.0
    trial_early_stopping: int = 3
    keep_best: int = 3
    max_failed_trials: int = 3
    workers: int = 0
    hyperband_factor: int = 3


AUTOML_TUNERS = ("greedy", "bayesian", "hyperband", "random")


@dataclass(frozen=True)
class AutoMLSpec(Spec):
    """An AutoKeras search: StructuredData, Image or Text Classifier/Regressor.

    Args:
        data / target: as for training (tables, image datasets, text tables).
        task: `classification`, `regression`, or `auto` (from the target column); the input
            kind (table, image, text) comes from the data.
        max_trials / epochs: AutoKeras' trials and the most epochs each trains.
        tuner: one of AUTOML_TUNERS.
        text_column / image_size: as for training.
    """

    kind: ClassVar[str] = "automl"
    data: str = DATA_DEFAULTS["data"]
    target: str = ""
    task: str = DATA_DEFAULTS["task"]
    max_trials: int = 3
    epochs: int = 10
    tuner: str = "greedy"
    batch_size: int = DATA_DEFAULTS["batch_size"]
    validation_fraction: float = DATA_DEFAULTS["validation_fraction"]
    test_fraction: float = DATA_DEFAULTS["test_fraction"]
    seed: int = DATA_DEFAULTS["seed"]
    text_column: str = ""
    image_size: int = DATA_DEFAULTS["image_size"]

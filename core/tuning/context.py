"""What every process of a search shares: the prepared data and the search's terms (Context),
built once per process by `prepare_context`, and the trial model built from a trial's values.

TF-free at import time; Keras is imported inside the functions.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.data.resolve import load_data
from core.errors import BadInput
from core.specs import TrainSpec, TuneSpec
from core.tuning import trials as tr
from core.tuning.promote import trial_train_spec
from core.tuning.space import check_objective, decode_values, validate_space

PROJECT = "kt"


SPEC_FILE = "tune_spec.json"


@dataclass
class Context:
    """What every process of a search shares: the data, prepared once, and the search's terms."""

    spec: TuneSpec
    base: TrainSpec
    task: str
    model: str
    prepared: Any
    space: list[dict[str, Any]]
    objective: str
    direction: str
    run_dir: Path
    reporter: Any = None
    role: str = "main"  # main | chief | tunerN
    started: float = field(default_factory=time.time)
    spent_before: float = 0.0
    canceled: bool = False
    stop_reason: str = ""

    @property
    def search_dir(self) -> Path:
        return self.run_dir / "search"

    @property
    def project_dir(self) -> Path:
        return self.search_dir / PROJECT

    def checkpoint(self, trial_id: str) -> Path:
        return self.project_dir / f"trial_{trial_id}" / "checkpoint.weights.h5"

    def should_stop(self) -> bool:
        if not self.canceled and self.reporter is not None and self.reporter.should_stop():
            self.canceled = True
        return self.canceled

    def budget_left(self) -> bool:
        budget = self.spec.time_budget_s
        return not budget or self.spent_before + (time.time() - self.started) < budget


def first_error_line(message: str | None) -> str | None:
    """The exception line of a traceback (KerasTuner stores the whole traceback)."""
    if not message:
        return None
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if ":" in line and not line.startswith(("File ", "During handling", "The above")):
            return line[:1000]
    return lines[-1][:1000] if lines else None


def build_model(ctx: Context, values: dict[str, Any]):
    from core.training.build import build_network, learning_rate_for, loss_for, make_optimizer

    spec = trial_train_spec(ctx.base, ctx.model, decode_values(values, ctx.model))
    network = build_network(spec, ctx.prepared, ctx.model, ctx.task)
    learning_rate = learning_rate_for(spec, ctx.model)
    loss, metrics = loss_for(ctx.prepared)
    network.compile(
        make_optimizer(spec, learning_rate, ctx.prepared.train, spec.epochs),
        loss=loss,
        metrics=metrics,
    )
    return network


def prepare_context(spec: TuneSpec, reporter, run_dir: Path, role: str, scratch: Path) -> Context:
    import keras

    from core.training.build import loss_for, prepare
    from core.training.precheck import plan

    base = TrainSpec.from_dict(dict(spec.base))
    reporter.progress("loading data", 0, 1, f"reading {base.data}")
    loaded = load_data(base.data, bounded=True)
    for note in loaded.notes:
        reporter.event(note, "warning")
    task, model = plan(base, loaded)
    space = validate_space(list(spec.space), model)
    check_objective(spec.objective, spec.direction, task)  # before any data work
    keras.utils.set_random_seed(base.seed)
    scratch.mkdir(parents=True, exist_ok=True)
    prepared = prepare(base, task, loaded, scratch, reporter)
    loss, metrics = loss_for(prepared)
    logged = ["loss", *metrics]
    logged += [f"val_{m}" for m in logged]
    if spec.objective not in logged:
        raise BadInput(
            f"objective {spec.objective!r} is never logged by this model; it logs: "
            f"{', '.join(logged)}"
        )
    _, direction = check_objective(spec.objective, spec.direction, task)
    return Context(
        spec=spec,
        base=dataclasses.replace(base, task=task, model=model),
        task=task,
        model=model,
        prepared=prepared,
        space=space,
        objective=spec.objective,
        direction=direction,
        run_dir=run_dir,
        reporter=reporter,
        role=role,
        spent_before=(
            float(tr.read_search(run_dir).get("spent_s") or 0.0)
            if role in ("main", "chief")
            else 0.0
        ),
    )

"""`tfstudio tune`, `tfstudio promote` and `tfstudio tune-worker`: KerasTuner searches.

    tfstudio tune --data sample:iris --target species --model mlp --tuner hyperband \\
        --max-trials 10 [--workers 2] --json
    tfstudio promote RUN_ID --json          # retrain the best trial as a normal training run
    tfstudio tune-worker --chief HOST:PORT --run RUN_ID --home DIR   # join a distributed search
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from core.cli.cmd_automl import DATA_HELP
from core.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    data_arg,
    emit,
    launch,
    open_workspace,
    search_payload,
    submit_and_watch,
    wait_and_report,
    warn,
)
from core.cli.flags import Flags, add_command, add_spec_flags, spec_values
from core.errors import BadInput, NotFound
from core.specs import TRIAL_EPOCHS, TUNERS, TrainSpec, TuneSpec


def _read_space(path: str) -> list:
    if not path:
        return []
    try:
        space = json.loads(Path(path).expanduser().read_text())
    except OSError as exc:
        raise BadInput(f"cannot read the search space file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BadInput(f"the search space file {path} is not valid JSON: {exc}") from None
    if isinstance(space, dict) and "space" in space:
        space = space["space"]
    if not isinstance(space, list):
        raise BadInput("the search space file must hold a list of hyperparameters")
    return space


# The TrainSpec fields every trial starts from, then the search's own TuneSpec fields.
BASE_FLAGS: Flags = {
    "data": {"required": True, "type": data_arg, "help": DATA_HELP},
    "target": {"help": "the column to predict"},
    "model": {"help": "catalog name (default: the task's default)"},
    "task": {},
    "epochs": {"default": TRIAL_EPOCHS, "help": "the most epochs a trial trains"},
    "batch_size": {},
    "seed": {},
}
SEARCH_FLAGS: Flags = {
    "tuner": {"choices": list(TUNERS)},
    "max_trials": {},
    "workers": {"help": "KerasTuner worker processes (0: one)"},
    "objective": {"help": "a logged metric, e.g. val_accuracy"},
    "direction": {"choices": ["", "min", "max"]},
    "executions_per_trial": {},
    "time_budget_s": {"flag": "--time-budget", "help": "seconds; no trial starts after"},
    "trial_early_stopping": {"flag": "--early-stopping", "help": "patience inside a trial (0 off)"},
    "keep_best": {"help": "keep checkpoints of the best K"},
    "max_failed_trials": {},
    "hyperband_factor": {},
}


def tune_payload(ws, store, run) -> dict:
    return search_payload(ws, store, run, summaries=False)


def cmd_tune(args) -> int:
    from core.tuning.space import check_tune_spec

    ws, store = open_workspace(args)
    base = TrainSpec(**spec_values(args, BASE_FLAGS))
    spec = TuneSpec(
        base=base.to_dict(),
        space=tuple(_read_space(args.space)),
        **spec_values(args, SEARCH_FLAGS),
    )
    planned, space, objective, direction = check_tune_spec(spec, ws)  # exit 2 before a run
    warn(planned.warnings)
    name = args.name or (
        f"tune {args.tuner} · {planned.model} · {args.target or planned.task} · "
        f"{planned.data_label}"
    )

    def text(run, payload) -> str:
        best = payload.get("best") or {}
        if not best:
            return f"{run.id} {run.status.value}"
        return (
            f"{run.id} {run.status.value} best trial {best['trial_id']}: {objective} "
            f"{best['score']:.4g} {best['hyperparameters']}"
        )

    return submit_and_watch(
        args, ws, store, spec, name, lambda run: tune_payload(ws, store, run), text
    )


def cmd_promote(args) -> int:
    from core.training.precheck import check_train_spec
    from core.tuning.promote import promote_spec

    ws, store = open_workspace(args)
    source = store.get_run(args.run_id)
    spec = promote_spec(source)
    check_train_spec(spec, ws)
    best = (source.result or {}).get("best", {})
    name = args.name or f"promoted {source.id} trial {best.get('trial_id')}"
    run = launch(args, ws, store, spec, name)
    if run is None:
        return EXIT_OK
    return wait_and_report(args, store, run, extra={"promoted_from": {"run_id": source.id, **best}})


def cmd_tune_worker(args) -> int:
    """Join a distributed search from this machine: same search, trials from the chief."""
    ws, store = open_workspace(args)
    run_dir = ws.run_dir(args.run)
    spec_file = args.spec
    if not spec_file:
        local = run_dir / "search" / "tune_spec.json"
        if local.exists():
            spec_file = str(local)
        else:
            try:
                run = store.get_run(args.run)
            except NotFound:
                raise BadInput(
                    f"run {args.run} is not in {ws.root}: copy its search/tune_spec.json from "
                    "the chief's machine and pass it with --spec"
                ) from None
            if run.kind != "tune":
                raise BadInput(f"run {args.run} is a {run.kind} run, not a tuning search")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_text(json.dumps(run.spec))
            spec_file = str(local)
    host, _, port = args.chief.rpartition(":")
    if not host or not port.isdigit():
        raise BadInput(f"--chief must be HOST:PORT, not {args.chief!r}")
    if "chief" in args.tuner_id:
        raise BadInput("a worker's id must not contain 'chief'")
    (run_dir / "search").mkdir(parents=True, exist_ok=True)
    from core.tuning.distributed import worker_command, worker_env

    code = subprocess.call(
        worker_command(run_dir, args.chief, args.tuner_id, "--spec", spec_file),
        env=worker_env(dict(os.environ)),
    )
    emit(
        args,
        {"run_id": args.run, "tuner_id": args.tuner_id, "exit_code": code},
        f"worker {args.tuner_id} finished with exit code {code}",
    )
    return EXIT_OK if code == 0 else (EXIT_BAD_INPUT if code == 2 else EXIT_FAILED)


def register(sub, common) -> None:
    p = add_command(
        sub, common, "tune", cmd_tune, "search a model's hyperparameters with KerasTuner"
    )
    add_spec_flags(p, TrainSpec, BASE_FLAGS)
    add_spec_flags(p, TuneSpec, SEARCH_FLAGS)
    p.add_argument("--space", default="", help="a JSON file: a list of hyperparameters")
    p.add_argument("--name", default="")
    p.add_argument("--detach", action="store_true", help="start the search and return at once")

    p = sub.add_parser(
        "promote", parents=[common], help="retrain a search's best trial as a training run"
    )
    p.add_argument("run_id")
    p.add_argument("--name", default="")
    p.add_argument("--detach", action="store_true")
    p.set_defaults(func=cmd_promote)

    p = sub.add_parser(
        "tune-worker", parents=[common], help="join a distributed search as a KerasTuner worker"
    )
    p.add_argument("--chief", required=True, help="HOST:PORT of the search's chief")
    p.add_argument("--run", required=True, help="the search's run id")
    p.add_argument("--tuner-id", default=f"tuner-{os.uname().nodename}-{os.getpid()}")
    p.add_argument("--spec", default="", help="the search's tune_spec.json (from the chief)")
    p.set_defaults(func=cmd_tune_worker)

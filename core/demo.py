"""The stakeholder demo: a workspace that tells the whole story without waiting on anyone.

`seed_demo(ws)` (run by `tfstudio app --demo`, i.e. `make demo`) writes the story's four runs
into an empty workspace at once (a training run on the iris sample, its int8 compression, its
export to TFLite, SavedModel and a TF.js bundle that runs in the browser, and a small
hyperparameter search), then starts ONE story process (`python -m core.demo WORKSPACE`) that
imports TensorFlow once and runs the four jobs one after another, each exactly as a worker
would (`core.runs.worker.run_job`: its own log, heartbeat, cancel watchdog, result). The app
opens meanwhile; its Home page shows "demo story: N of 4 ready" and each run appears as it ends.

Why one process: four cold workers import TensorFlow four times; on 2 cores two imports run
side by side, so the wall time is about the same, but the story costs 36 s of CPU instead of
21 s, which a loaded machine (or a laptop during a meeting) feels. A warm worker
(core.runs.warm) serves one job per life; the story is four small jobs of a known, trusted
shape (int8 needs no tfmot, so no job changes Keras for the next), so it keeps one process and
restores the environment and folder between jobs. If the process dies, its unfinished runs
become LOST like any worker's. Timings: benchmarks/README.md ("demo story").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core.runs.liveness import process_started_at
from core.runs.status import InvalidTransition, RunStatus
from core.runs.store import Run, RunStore
from core.specs import CompressSpec, ExportSpec, Spec, TrainSpec, TuneSpec
from core.workspace import Workspace

DATA, TARGET = "sample:iris", "species"
# Wide enough that its weights dominate the file, so int8 shows the ~4x a real model gets
# (iris' default 739-parameter network is smaller than int8's own overhead). Iris trains to
# its plateau in a few seconds; early stopping ends it there.
DEMO_SPEC = TrainSpec(
    data=DATA, target=TARGET, epochs=40, early_stopping=8, hidden_units=(256, 128)
)
DEMO_SEARCH = TuneSpec(
    base={"data": DATA, "target": TARGET, "epochs": 4},
    tuner="random",
    max_trials=3,
    objective="val_accuracy",
    trial_early_stopping=0,
)
EXPORT_FORMATS = ("tflite", "savedmodel", "tfjs")
REPO = Path(__file__).resolve().parents[1]
STORY_FILE = "demo.json"
QUEUED = "waiting its turn: one demo process runs the story's jobs in order"


def story_runs(train_id: str) -> list[tuple[str, Spec, str]]:
    """(kind, spec, name) of the story after its training run, in the order they run:
    what depends on the model first, the search last."""
    return [
        ("compress", CompressSpec(source_run=train_id, method="int8"), "demo · int8"),
        (
            "export",
            ExportSpec(
                source_run=train_id,
                format=EXPORT_FORMATS[0],
                formats=EXPORT_FORMATS,
                serving_name="iris",
            ),
            "demo · export tflite, savedmodel, tfjs",
        ),
        ("tune", DEMO_SEARCH, "demo · random search · species · sample iris"),
    ]


def seed_demo(ws: Workspace, env: dict[str, str] | None = None) -> list[Run] | None:
    """Write the story's runs and start the process that runs them; returns the runs, or None
    if the workspace already has runs (the story is there, or the user's own work is).

    `env`: extra variables for the story process (the app passes its warm-worker setting, so
    a warm worker is ready for the user's first click once the story has ended)."""
    from core.runs import launcher

    store = RunStore(ws.db_path)
    if store.list_runs(limit=1):
        return None
    train = store.create_run(
        "train", DEMO_SPEC.to_dict(), name="demo · mlp · species · sample iris"
    )
    runs = [train] + [
        store.create_run(kind, spec.to_dict(), name=name)
        for kind, spec, name in story_runs(train.id)
    ]
    ids = [r.id for r in runs]
    (ws.root / STORY_FILE).write_text(json.dumps({"runs": ids, "started_at": time.time()}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.demo", str(ws.root)],
        cwd=REPO,
        env={**launcher.worker_env(ws), **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(ws.root / "demo.log", "ab"),  # noqa: SIM115 (the child owns it)
        start_new_session=True,  # outlives the app: closing the tab does not stop the story
    )
    started_at = process_started_at(proc.pid)
    for run in runs:
        # The story process is every run's worker from now on: if it dies they become LOST.
        store.set_pid(run.id, proc.pid, started_at)
        store.set_progress(run.id, "queued", 0, 0, QUEUED)
    return [store.get_run(i) for i in ids]


@dataclass(frozen=True)
class StoryProgress:
    """Where the demo story stands: its runs in story order, and how many have ended."""

    runs: list[Run]

    @property
    def total(self) -> int:
        return len(self.runs)

    @property
    def ready(self) -> int:
        return sum(r.status is RunStatus.SUCCEEDED for r in self.runs)

    @property
    def ended(self) -> bool:
        return all(r.status.is_finalized for r in self.runs)

    @property
    def failed(self) -> list[Run]:
        return [
            r for r in self.runs if r.status.is_finalized and r.status is not RunStatus.SUCCEEDED
        ]


def story_progress(ws: Workspace, store: RunStore) -> StoryProgress | None:
    """The demo story of this workspace, or None when it is not a demo workspace."""
    try:
        ids = json.loads((ws.root / STORY_FILE).read_text())["runs"]
    except (OSError, ValueError, KeyError):
        return None
    runs = []
    for run_id in ids:
        try:
            runs.append(store.get_run(run_id))
        except KeyError:  # deleted by the user: the story no longer counts it
            continue
    return StoryProgress(runs) if runs else None


# -- the story process -------------------------------------------------------------------------
def tell_story(ws: Workspace) -> list[Run]:
    """Run the story's queued jobs in this process, in order; returns the runs at the end."""
    from core.runs import worker
    from core.runs.handlers import uses_tensorflow

    store = RunStore(ws.db_path)
    ids = json.loads((ws.root / STORY_FILE).read_text())["runs"]
    runs = [store.get_run(i) for i in ids]
    t0 = time.time()
    if any(uses_tensorflow(r.kind) for r in runs):
        store.set_progress(
            ids[0], "starting TensorFlow", 0, 0, "importing TensorFlow (once for the story)"
        )
        import keras  # noqa: F401
        import tensorflow  # noqa: F401

        print(f"demo: TensorFlow imported in {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    env, cwd = dict(os.environ), os.getcwd()
    train_id = ids[0]
    for run_id in ids:
        run = store.get_run(run_id)
        if run.status.is_finalized:
            continue
        if run.cancel_requested_at is not None:
            _end(store, run_id, "canceled before it started", RunStatus.CANCELED)
            continue
        if run_id != train_id and run.kind in ("compress", "export"):
            trained = store.get_run(train_id)
            if trained.status is not RunStatus.SUCCEEDED:
                _end(
                    store,
                    run_id,
                    f"the demo model (training run {train_id}) is "
                    f"{trained.status.value}, so there is nothing to {run.kind}: its page says why",
                )
                continue
        started = time.time()
        _run_here(ws, store, run_id, worker)
        os.environ.clear()
        os.environ.update(env)  # a job may set variables; the next one starts clean
        os.chdir(cwd)
        print(
            f"demo: {run.kind} took {time.time() - started:.1f} s "
            f"({time.time() - t0:.1f} s into the story)",
            file=sys.stderr,
            flush=True,
        )
    _top_up_warm_pool(ws, store, env)
    return [store.get_run(i) for i in ids]


def _end(store: RunStore, run_id: str, why: str, status: RunStatus = RunStatus.FAILED) -> None:
    try:
        store.fail_run(run_id, why, status=status)
    except InvalidTransition:
        pass


def _run_here(ws: Workspace, store: RunStore, run_id: str, worker) -> None:
    """One job in this process, as its own worker would run it: its log gets the job's output."""
    run_dir = ws.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "worker.log"
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        store.add_artifact(run_id, "log", log_path)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        os.chdir(run_dir)
        print(
            f"demo story process {os.getpid()}: TensorFlow was imported before this job", flush=True
        )
        worker.PRELOAD_CPU_S = worker.cpu_seconds()  # the job's CPU figure is its own
        worker.run_job(ws, run_id)
    except InvalidTransition as exc:  # canceled in the meantime
        print(f"demo: {exc}", flush=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _top_up_warm_pool(ws: Workspace, store: RunStore, env: dict[str, str]) -> None:
    """With the story done, have a warm worker ready for the user's first click (the app asks
    for one; nothing starts while the story runs, so it never slows the story)."""
    from core.runs import warm

    if warm.wanted(env, ws.root):
        try:
            warm.ensure(ws.root, env, store)
        except Exception as exc:  # the story's results stand; a missing warm worker is not fatal
            print(f"demo: could not start a warm worker: {exc}", file=sys.stderr)


def prepare(ws: Workspace, timeout_s: float = 900) -> list[Run]:
    """Seed the story (when the workspace is empty) and wait until every run has ended, so a
    later `make demo` opens with everything finished (`make demo-ready`)."""
    from core.runs.recovery import reconcile

    store = RunStore(ws.db_path)
    seed_demo(ws)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        progress = story_progress(ws, store)
        if progress is None:  # a workspace of the user's own, not a demo: nothing to wait for
            return store.list_runs(limit=50)
        if progress.ended:
            return progress.runs
        reconcile(store)
        time.sleep(0.5)
    raise TimeoutError(f"the demo story did not finish within {timeout_s:.0f} s")


if __name__ == "__main__":
    if sys.argv[1] == "--prepare":
        began = time.time()
        for r in prepare(Workspace.resolve(sys.argv[2])):
            took = (r.finished_at or 0) - began
            print(f"{r.kind:<9} {r.status.value:<10} {r.name}  (done {took:.0f} s after start)")
    else:
        tell_story(Workspace.resolve(sys.argv[1]))

"""A pipeline's child runs: train, tune and export stages submit one (or find it again after a
resume: by the id in state.json, else by its name) and wait for it to succeed."""

from __future__ import annotations

from typing import Any

from core.errors import JobCanceled
from core.pipelines.definition import Pipeline
from core.pipelines.state import PipelineState
from core.runs.reporter import Reporter
from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.workspace import Workspace


class ChildRuns:
    """Mixed into the pipeline's Runner, whose state, store and reporter it uses."""

    ws: Workspace
    store: RunStore
    reporter: Reporter
    p: Pipeline
    run_id: str
    state: PipelineState

    def save(self) -> None:
        raise NotImplementedError

    def child(self, stage, role: str, spec) -> Any:
        """Submit (or find again) the stage's child run for `role` and wait for it to succeed."""
        from core.runs import launcher
        from core.runs.handlers import resumable_kinds
        from core.runs.recovery import reconcile

        entry = self.state["stages"][stage.name]
        label = f"{self.p.name} · {stage.name} ({role} of pipeline run {self.run_id})"
        run_id = entry["children"].get(role) or self._find_child(label)
        run = None
        if run_id:
            reconcile(self.store)
            run = self.store.get_run(run_id)
            if run.status in (RunStatus.FAILED, RunStatus.CANCELED, RunStatus.LOST):
                if run.kind in resumable_kinds():
                    self.reporter.event(f"resuming child run {run.id} ({role})")
                    run = launcher.resume(self.ws, self.store, run.id)
                else:
                    self.reporter.event(f"child run {run.id} ({role}) was {run.status}; again")
                    run = None
        if run is None:
            run = launcher.submit(self.ws, self.store, spec, name=label)
            self.reporter.event(f"stage {stage.name}: started {role} run {run.id}")
        entry["children"][role] = run.id
        self.save()
        return self._await(stage, run.id)

    def _find_child(self, label: str) -> str | None:
        """A child submitted just before a kill, whose id the state never got: it is newer than
        this pipeline run, so the pages stop there (however many runs the store holds)."""
        offset = 0
        while page := self.store.list_runs(limit=500, offset=offset):
            for run in page:
                if run.name == label:
                    return run.id
                if run.id == self.run_id:
                    return None
            offset += len(page)
        return None

    def _await(self, stage, run_id: str):
        from core.runs import launcher

        def progress(run) -> None:
            if not run.status.is_finalized:
                self.reporter.progress(
                    stage.name, run.done, run.total or 1, f"{run.kind} {run.id}: {run.message}"
                )

        run = launcher.wait(
            self.store, run_id, on_update=progress, should_stop=self.reporter.should_stop
        )
        if not run.status.is_finalized:  # this pipeline was asked to stop: so is its child
            self.store.request_cancel(run_id)
            raise JobCanceled(f"canceled by the user (child run {run_id} asked to stop)")
        if run.status is not RunStatus.SUCCEEDED:
            raise RuntimeError(
                f"stage {stage.name}: {run.kind} run {run.id} {run.status.value}: {run.error}"
            )
        return run

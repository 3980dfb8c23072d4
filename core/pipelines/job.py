"""The pipeline job: run a pipeline's stages in order, each with its own folder and state.

One run of kind `pipeline` is the parent. Train, tune and export stages submit child runs (named
after the pipeline run, stage and role, so a resumed parent finds them again) and wait for them;
ingest, statistics, validation, evaluation and push run in the parent's worker. The run folder
holds:

    state.json              every stage's status, child runs and outputs (replaced atomically)
    stages/<stage>/         a finished stage's artifacts (written under stages/.<stage>.partial,
                            then renamed: a stage folder is never half-written)

Resume (`launcher.resume`, kind `pipeline` is resumable) reads state.json, skips the stages that
finished, drops a partial folder, re-attaches to a child run that is still running or finished,
and resumes or restarts one that was lost. The production model and the base dataset version are
fixed in state.json when the run starts, so a resumed run compares against the same production
model even after its own push promoted the challenger.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import BadInput
from core.pipelines.checks import check_against_workspace
from core.pipelines.children import ChildRuns
from core.pipelines.definition import Pipeline, parse_text
from core.pipelines.stages import STAGES
from core.pipelines.state import (
    STATE,
    PipelineState,
    StageStatus,
    StageStop,
    read_state,
    write_json,
)
from core.runs.context import JobContext, workspace_of
from core.runs.reporter import NullReporter, Reporter
from core.runs.store import RunStore
from core.specs import PipelineSpec
from core.workspace import Workspace


def _pause(stage: str) -> None:
    """`TFSTUDIO_PIPELINE_PAUSE="stage=seconds"` holds a stage before it commits its folder, so a
    test (or a curious user) can kill the worker mid-stage and watch the resume clean up."""
    for item in filter(None, os.environ.get("TFSTUDIO_PIPELINE_PAUSE", "").split(",")):
        name, _, seconds = item.partition("=")
        if name.strip() == stage:
            time.sleep(float(seconds or 0))


class Runner(ChildRuns):
    def __init__(
        self,
        pipeline: Pipeline,
        ws: Workspace,
        run_dir: Path,
        reporter: Reporter | None = None,
        run_id: str = "",
        ingest_file: str = "",
    ) -> None:
        self.p, self.ws, self.run_dir = pipeline, ws, Path(run_dir)
        self.reporter = reporter or NullReporter()
        self.run_id = run_id or self.run_dir.name
        self.ingest_file = ingest_file
        self.store = RunStore(ws.db_path)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "stages").mkdir(exist_ok=True)
        self.order = pipeline.order()
        self.state = read_state(self.run_dir) or self._fresh_state()

    # -- state -----------------------------------------------------------------------------------
    def _fresh_state(self) -> PipelineState:
        found = check_against_workspace(self.p, self.ws)
        from core.registry.store import Registry

        production = Registry(self.ws).production(self.p.model_name)
        state: PipelineState = {
            "pipeline": self.p.name,
            "model": self.p.model_name,
            "run_id": self.run_id,
            "started_at": time.time(),
            "order": [s.name for s in self.order],
            "context": {
                **found,
                "production_run": production.run_id if production else None,
                "production_dataset": (production.dataset.get("dataset") if production else None),
                "ingest_file": self.ingest_file,
            },
            "stages": {
                s.name: {
                    "type": s.type,
                    "status": StageStatus.PENDING,
                    "children": {},
                    "outputs": {},
                }
                for s in self.order
            },
            "outcome": "",
        }
        write_json(self.run_dir / STATE, state)
        return state

    def save(self) -> None:
        write_json(self.run_dir / STATE, self.state)

    @property
    def ctx(self) -> dict[str, Any]:
        return self.state["context"]

    def outputs(self, kind: str) -> dict[str, Any]:
        stage = self.p.by_type(kind)
        return self.state["stages"][stage.name]["outputs"] if stage else {}

    # -- running ---------------------------------------------------------------------------------
    def run_all(self) -> dict[str, Any]:
        total = len(self.order)
        for i, stage in enumerate(self.order):
            entry = self.state["stages"][stage.name]
            if StageStatus(entry["status"]).is_done:
                continue
            if entry["status"] == StageStatus.STOPPED:
                break
            self.reporter.progress(stage.name, i, total, f"stage {i + 1}/{total}: {stage.name}")
            if not self.run_stage(stage.name):
                break
        self.reporter.progress("done", total, total, self.state["outcome"] or "finished")
        return self.result()

    def run_stage(self, name: str) -> bool:
        """Run one stage (its upstream stages must have succeeded); False when it stopped the
        pipeline. Raises on failure, with the stage marked failed."""
        stage = self.p.stage(name)
        entry = self.state["stages"][name]
        if entry["status"] == StageStatus.SUCCEEDED:
            return True
        for upstream in stage.after:
            status = self.state["stages"][upstream]["status"]
            if status != StageStatus.SUCCEEDED:
                raise BadInput(f"stage {name!r} needs stage {upstream!r} first (it is {status})")
        partial = self.run_dir / "stages" / f".{name}.partial"
        final = self.run_dir / "stages" / name
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        entry.update({"status": StageStatus.RUNNING, "started_at": time.time(), "error": None})
        self.save()
        self.reporter.event(f"stage {name} ({stage.type}) started")
        try:
            outputs = STAGES[stage.type](self, stage, partial) or {}
            _pause(name)
        except StageStop as stop:
            self._commit(partial, final)
            entry.update(
                {
                    "status": StageStatus.STOPPED,
                    "finished_at": time.time(),
                    "outputs": {**entry["outputs"], **stop.outputs},
                    "error": str(stop),
                }
            )
            self.state["outcome"] = stop.outcome
            for other in self.order:
                if self.state["stages"][other.name]["status"] == StageStatus.PENDING:
                    self.state["stages"][other.name]["status"] = StageStatus.SKIPPED
            self.save()
            self.reporter.event(f"stage {name} stopped the pipeline: {stop}", "warning")
            return False
        except BaseException as exc:
            entry.update(
                {"status": StageStatus.FAILED, "finished_at": time.time(), "error": str(exc)[:2000]}
            )
            self.save()
            raise
        self._commit(partial, final)
        entry.update(
            {
                "status": StageStatus.SUCCEEDED,
                "finished_at": time.time(),
                "outputs": {**entry["outputs"], **outputs},
            }
        )
        self.save()
        self.reporter.event(f"stage {name} succeeded")
        return True

    @staticmethod
    def _commit(partial: Path, final: Path) -> None:
        if final.exists():
            shutil.rmtree(final)
        os.rename(partial, final)

    def result(self) -> dict[str, Any]:
        stages = {
            n: {k: v for k, v in e.items() if k in ("type", "status", "children", "error")}
            for n, e in self.state["stages"].items()
        }
        push = self.outputs("push")
        evaluation = self.outputs("evaluate")
        return {
            "pipeline": self.p.name,
            "model": self.p.model_name,
            "outcome": self.state["outcome"] or "finished",
            "stages": stages,
            "pushed": bool(push.get("pushed")),
            "registered": push.get("registered"),
            "evaluation": {
                k: evaluation.get(k)
                for k in ("metric", "direction", "margin", "challenger", "production", "better")
                if k in evaluation
            },
            "validation": self.outputs("validate").get("counts"),
            "dataset": self.ctx.get("dataset_version") or self.ctx.get("dataset"),
        }

    # -- data ------------------------------------------------------------------------------------
    def new_rows(self) -> pd.DataFrame:
        ingest = self.p.by_type("ingest")
        assert ingest is not None  # the stages that read new rows need an ingest stage
        path = self.run_dir / "stages" / ingest.name / "new.parquet"
        return pd.read_parquet(path)

    def materialize(self) -> str:
        """The dataset version the learner trains on: validated new rows (appended to the base
        version, or alone), imported once. Without an ingest stage: the dataset as it is."""
        if self.ctx.get("dataset_version"):
            return self.ctx["dataset_version"]
        from core.data.datasets import DatasetStore

        if self.p.by_type("ingest") is None:
            self.ctx["dataset_version"] = self.ctx["dataset"]
            self.save()
            return self.ctx["dataset"]
        store = DatasetStore(self.ws)
        base = store.get(self.ctx["base_dataset"])
        new = self.new_rows()
        frame = new
        if self.outputs("ingest").get("mode", "append") == "append":
            old = store.read_frame(base)
            frame = pd.concat([old, new[[c for c in new.columns if c in old.columns]]])
            frame = frame.reset_index(drop=True)
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        schema = store.schema(base)
        version = store.import_file(
            buffer.getvalue(),
            f"{base.name}.parquet",
            name=base.name,
            target=self.ctx.get("target") or schema.get("target") or None,
        )
        types = {c["name"]: c["type"] for c in schema.get("columns", [])}
        current = {c["name"]: c["type"] for c in store.schema(version).get("columns", [])}
        fix = {k: v for k, v in types.items() if k in current and current[k] != v}
        if fix:
            store.update_schema(version, types=fix)
        self.ctx["dataset_version"] = version.id
        self.ctx["dataset_sha256"] = version.sha256
        self.save()
        self.reporter.event(f"validated data is dataset version {version.id} ({len(frame)} rows)")
        return version.id


def run_pipeline_job(
    spec: PipelineSpec, reporter: Reporter, run_dir: Path, context: JobContext | None = None
) -> dict[str, Any]:
    ws = workspace_of(context)
    pipeline = parse_text(spec.text, spec.file or "pipeline.yaml")
    existing = read_state(run_dir)
    if existing:
        done = [n for n, e in existing["stages"].items() if e["status"] == StageStatus.SUCCEEDED]
        reporter.event(
            "resuming: " + (f"stages {', '.join(done)} already finished" if done else "no stage")
        )
    runner = Runner(pipeline, ws, run_dir, reporter, run_dir.name, spec.ingest_file)
    result = runner.run_all()
    reporter.artifact("state.json", run_dir / STATE)
    for name in runner.state["stages"]:
        folder = run_dir / "stages" / name
        if folder.is_dir():
            reporter.artifact(f"stages/{name}", folder)
    if result["outcome"] == "stopped by validation":
        stage = pipeline.by_type("validate")
        assert stage is not None  # only a validate stage stops the pipeline this way
        raise BadInput(
            f"validation stopped the pipeline before training; production is untouched: "
            f"{runner.state['stages'][stage.name]['error']}"
        )
    return result

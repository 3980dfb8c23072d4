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
import json
import os
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import BadInput, JobCanceled
from core.pipelines.definition import (
    Pipeline,
    check_against_workspace,
    default_metric,
    direction_for,
    parse_text,
)
from core.pipelines.state import (
    STATE,
    StageStatus,
    ledger_path,
    read_ledger,
    read_state,
    write_json,
)
from core.runs.reporter import NullReporter, Reporter
from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.specs import PipelineSpec
from core.workspace import Workspace


class StageStop(Exception):
    """A stage decided the pipeline ends here (validation blocked it, no new data)."""

    def __init__(self, message: str, outcome: str, outputs: dict[str, Any] | None = None):
        super().__init__(message)
        self.outcome = outcome
        self.outputs = outputs or {}


def _pause(stage: str) -> None:
    """`TFSTUDIO_PIPELINE_PAUSE="stage=seconds"` holds a stage before it commits its folder, so a
    test (or a curious user) can kill the worker mid-stage and watch the resume clean up."""
    for item in filter(None, os.environ.get("TFSTUDIO_PIPELINE_PAUSE", "").split(",")):
        name, _, seconds = item.partition("=")
        if name.strip() == stage:
            time.sleep(float(seconds or 0))


class Runner:
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
    def _fresh_state(self) -> dict[str, Any]:
        found = check_against_workspace(self.p, self.ws)
        from core.registry.store import Registry

        production = Registry(self.ws).production(self.p.model_name)
        state = {
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
        entry.update(status=StageStatus.RUNNING, started_at=time.time(), error=None)
        self.save()
        self.reporter.event(f"stage {name} ({stage.type}) started")
        try:
            outputs = STAGES[stage.type](self, stage, partial) or {}
            _pause(name)
        except StageStop as stop:
            self._commit(partial, final)
            entry.update(
                status=StageStatus.STOPPED,
                finished_at=time.time(),
                outputs={**entry["outputs"], **stop.outputs},
                error=str(stop),
            )
            self.state["outcome"] = stop.outcome
            for other in self.order:
                if self.state["stages"][other.name]["status"] == StageStatus.PENDING:
                    self.state["stages"][other.name]["status"] = StageStatus.SKIPPED
            self.save()
            self.reporter.event(f"stage {name} stopped the pipeline: {stop}", "warning")
            return False
        except BaseException as exc:
            entry.update(status=StageStatus.FAILED, finished_at=time.time(), error=str(exc)[:2000])
            self.save()
            raise
        self._commit(partial, final)
        entry.update(
            status=StageStatus.SUCCEEDED,
            finished_at=time.time(),
            outputs={**entry["outputs"], **outputs},
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

    # -- children --------------------------------------------------------------------------------
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
        for run in self.store.list_runs(limit=2000):
            if run.name == label:
                return run.id
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

    # -- data ------------------------------------------------------------------------------------
    def new_rows(self) -> pd.DataFrame:
        path = self.run_dir / "stages" / self.p.by_type("ingest").name / "new.parquet"
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
            f"{self.p.dataset}.parquet",
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


# -- stages ---------------------------------------------------------------------------------------
def _ingest(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.data.datasets import DatasetStore, file_sha256
    from core.data.sources import read_table

    source = Path(r.p.source).parent
    ledger = read_ledger(r.ws, r.p.name)
    chosen = r.state["stages"][stage.name]["outputs"].get("chosen")
    if chosen:  # a resumed ingest takes the files it chose before (the ledger has them now)
        files = [Path(f) for f in chosen]
    elif r.ctx.get("ingest_file"):
        files = [Path(r.ctx["ingest_file"])]
    elif "file" in stage.params:
        files = [_resolve(source, stage.params["file"])]
    else:
        folder = _resolve(source, stage.params["folder"])
        pattern = str(stage.params.get("pattern", "*"))
        files = [
            f
            for f in sorted(folder.glob(pattern))
            if f.is_file() and not f.name.startswith(".") and file_sha256(f) not in ledger
        ]
        if not files:
            raise StageStop(f"no new files in {folder}", "no new data", {"files": []})
    r.state["stages"][stage.name]["outputs"]["chosen"] = [str(f) for f in files]
    r.save()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise BadInput(f"stage {stage.name}: no such file {missing[0]}")
    frames = [read_table(f).frame for f in files]
    new = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    new.to_parquet(out / "new.parquet", index=False)
    datasets = DatasetStore(r.ws)
    base = r.ctx.get("production_dataset") or r.ctx["dataset"]
    try:
        base_version = datasets.get(base)
    except Exception:  # noqa: BLE001  (production trained on a file or sample: use the dataset)
        base_version = datasets.get(r.ctx["dataset"])
    r.ctx["base_dataset"] = base_version.id
    digests = {file_sha256(f): str(f) for f in files}
    ledger.update(digests)
    path = ledger_path(r.ws, r.p.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, ledger)
    return {
        "files": [str(f) for f in files],
        "sha256": list(digests),
        "new_rows": int(len(new)),
        "columns": [str(c) for c in new.columns],
        "base": base_version.id,
        "mode": stage.params.get("mode", "append"),
    }


def _resolve(folder: Path, given: str) -> Path:
    path = Path(str(given)).expanduser()
    return path if path.is_absolute() else (folder / path).resolve()


def _statistics(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.data.profile import find_issues, profile_table

    new = r.new_rows()
    prof = profile_table(new, target=r.ctx.get("target") or None)
    (out / "statistics.json").write_text(json.dumps(prof.to_dict()))
    issues = find_issues(prof)
    return {
        "rows": int(len(new)),
        "columns": {
            c.name: {"type": c.type, "missing": round(c.missing_fraction, 4)} for c in prof.columns
        },
        "issues": issues,
    }


def _validate(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.data.datasets import DatasetStore
    from core.data.validation import validate_frame

    datasets = DatasetStore(r.ws)
    reference = datasets.get(r.ctx.get("production_dataset") or r.ctx["base_dataset"])
    kwargs = {
        k: float(stage.params[k]) for k in ("psi_threshold", "linf_threshold") if k in stage.params
    }
    report = validate_frame(
        r.new_rows(), datasets.read_frame(reference), datasets.schema(reference), **kwargs
    )
    severity = str(stage.params.get("severity", "high"))
    data = {**report.to_dict(), "reference": reference.id, "severity": severity}
    (out / "report.json").write_text(json.dumps(data, indent=2))
    outputs = {"reference": reference.id, "severity": severity, "counts": data["counts"]}
    if report.blocks(severity):
        worst = [a for a in report.anomalies if a.severity == report.worst()]
        first = worst[0]
        raise StageStop(
            f"{len(report.anomalies)} anomalies against {reference.id}, "
            f"{sum(1 for a in report.anomalies if _rank(a.severity) >= _rank(severity))} at or "
            f"above {severity} (e.g. {first.column or 'table'}: {first.kind}, {first.severity}: "
            f"{first.detail})",
            "stopped by validation",
            {**outputs, "report": data},
        )
    r.materialize()
    return {**outputs, "report": data}


def _rank(severity: str) -> int:
    return ("low", "medium", "high").index(severity)


def _train_spec_dict(r: Runner, stage) -> dict[str, Any]:
    import dataclasses

    from core.specs import TrainSpec

    fields = {f.name for f in dataclasses.fields(TrainSpec)}
    base: dict[str, Any] = {}
    if r.ctx.get("production_run"):
        base = dict(r.store.get_run(r.ctx["production_run"]).spec)
    base = {k: v for k, v in base.items() if k in fields}
    params = {k: v for k, v in stage.params.items() if k in fields}
    spec = {**base, **params, "data": r.materialize()}
    spec["target"] = params.get("target") or r.ctx.get("target") or base.get("target", "")
    warm = stage.params.get("warm_start", True)
    spec["warm_start"] = r.ctx["production_run"] if (warm and r.ctx.get("production_run")) else ""
    return spec


def _train(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.specs import TrainSpec
    from core.training.precheck import check_train_spec

    spec = TrainSpec.from_dict(_train_spec_dict(r, stage))
    check_train_spec(spec, r.ws)
    (out / "spec.json").write_text(json.dumps(spec.to_dict(), indent=2))
    run = r.child(stage, "train", spec)
    return _learner_outputs(run, spec)


def _learner_outputs(run, spec, **extra) -> dict[str, Any]:
    result = run.result or {}
    return {
        "run_id": run.id,
        "warm_start": spec.warm_start,
        "data": spec.data,
        "test_metrics": result.get("test_metrics", {}),
        **extra,
    }


def _tune(r: Runner, stage, out: Path) -> dict[str, Any]:
    import dataclasses

    from core.specs import TrainSpec, TuneSpec

    train = _train_spec_dict(r, stage)
    warm = train.pop("warm_start", "")
    tune_fields = {f.name for f in dataclasses.fields(TuneSpec)} - {"base"}
    params = {k: v for k, v in stage.params.items() if k in tune_fields}
    tune_spec = TuneSpec.from_dict({**params, "base": train})
    (out / "tune_spec.json").write_text(json.dumps(tune_spec.to_dict(), indent=2))
    tuned = r.child(stage, "tune", tune_spec)
    from core.tuning.promote import promote_spec

    promoted = promote_spec(tuned)
    if not isinstance(promoted, TrainSpec):
        promoted = TrainSpec.from_dict(dict(promoted))
    promoted = dataclasses.replace(promoted, warm_start=warm)
    (out / "spec.json").write_text(json.dumps(promoted.to_dict(), indent=2))
    run = r.child(stage, "train", promoted)
    return _learner_outputs(run, promoted, tune_run=tuned.id)


def _evaluate(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.pipelines.compare import compare_on_test_split

    learner = r.outputs("train") or r.outputs("tune")
    metric = str(stage.params.get("metric") or default_metric(r.ctx.get("task", "")))
    direction = direction_for(metric, stage.params.get("direction"))
    margin = float(stage.params.get("margin", 0.0))
    scores = compare_on_test_split(r.ws, learner["run_id"], r.ctx.get("production_run"))
    challenger = scores["challenger"]["metrics"].get(metric)
    if challenger is None:
        raise BadInput(
            f"stage {stage.name}: the challenger does not log {metric!r}; it logs "
            f"{', '.join(scores['challenger']['metrics'])}"
        )
    production = scores.get("production", {}).get("metrics", {}).get(metric)
    if production is None:
        improvement = None
        better = True
        reason = (
            "no production model yet: the challenger becomes the first"
            if not r.ctx.get("production_run")
            else f"the production model cannot score the new test rows "
            f"({scores['production'].get('error')}): the challenger wins"
        )
    else:
        improvement = challenger - production if direction == "max" else production - challenger
        better = improvement > margin
        reason = (
            f"{metric} {challenger:.4g} vs production {production:.4g} "
            f"({'+' if improvement >= 0 else ''}{improvement:.4g}, "
            f"{'better' if better else 'not better'} than the margin {margin:g})"
        )
    data = {
        **scores,
        "metric": metric,
        "direction": direction,
        "margin": margin,
        "challenger_value": challenger,
        "production_value": production,
        "improvement": improvement,
        "better": better,
        "reason": reason,
    }
    (out / "evaluation.json").write_text(json.dumps(data, indent=2))
    r.reporter.event(f"evaluate: {reason}")
    return {
        "metric": metric,
        "direction": direction,
        "margin": margin,
        "challenger": challenger,
        "production": production,
        "improvement": improvement,
        "better": better,
        "reason": reason,
        "rows": scores["rows"],
    }


def _push(r: Runner, stage, out: Path) -> dict[str, Any]:
    import dataclasses

    from core.registry.store import Registry, publish, serving_base
    from core.specs import ExportSpec

    entry = r.state["stages"][stage.name]["outputs"]
    registry = Registry(r.ws)
    decision = r.outputs("evaluate")
    learner_stage = r.p.by_type("train") or r.p.by_type("tune")
    learner = r.outputs(learner_stage.type)
    name = r.p.model_name
    if not entry.get("registered"):
        parents = [{"run_id": r.run_id, "kind": "pipeline", "role": "made by pipeline"}]
        if learner.get("tune_run"):
            parents.append({"run_id": learner["tune_run"], "kind": "tune", "role": "tuned by"})
        version = registry.register(
            learner["run_id"],
            name,
            "candidate",
            description=f"pipeline {r.p.name}: {decision.get('reason', '')}",
            parents=parents,
            extra={"pipeline_run": r.run_id, "evaluation": decision},
        )
        entry["registered"] = version.id
        r.save()
    registered = entry["registered"]
    if not decision.get("better"):
        reason = f"not pushed: {decision.get('reason', '')}; production unchanged"
        r.reporter.event(reason)
        r.state["outcome"] = "not pushed"
        (out / "push.json").write_text(json.dumps({"pushed": False, "reason": reason}))
        return {"pushed": False, "registered": registered, "reason": reason}
    version = registry.get(registered)
    formats = stage.params.get("formats", ["savedmodel"])
    formats = [formats] if isinstance(formats, str) else list(formats)
    if "savedmodel" not in formats and "all" not in formats:
        formats.append("savedmodel")  # the server needs it
    fields = {f.name for f in dataclasses.fields(ExportSpec)}
    export_args: dict[str, Any] = {
        "source_run": learner["run_id"],
        "formats": tuple(formats),
        "serving_name": name.replace("-", "_").replace(".", "_"),
    }
    if "version" in fields:
        export_args["version"] = version.version
    export = r.child(stage, "export", ExportSpec(**export_args))
    bundles = (export.result or {}).get("bundles", {})
    if not entry.get("bundles_added"):
        registry.add_bundles(
            registered,
            [
                {
                    "format": fmt,
                    "export_run": export.id,
                    "bundle": b.get("bundle"),
                    "path": b.get("path"),
                    "ok": b.get("ok"),
                }
                for fmt, b in bundles.items()
            ],
        )
        entry["bundles_added"] = True
        r.save()
    target = publish(r.ws, registry.get(registered))
    if target is None:
        raise RuntimeError(f"export run {export.id} left no SavedModel to serve")
    registry.promote(registered, "production", note=f"pushed by pipeline run {r.run_id}")
    base = serving_base(r.ws, name)
    server = _switch_server(r, stage, base, name, version.version)
    registry.set_extra(registered, serving={"base": str(base), "version": version.version})
    r.state["outcome"] = "pushed"
    data = {"pushed": True, "registered": registered, "serving": str(target), "server": server}
    (out / "push.json").write_text(json.dumps(data, indent=2))
    return {**data, "export_run": export.id}


def _switch_server(r: Runner, stage, base: Path, name: str, version: int) -> dict[str, Any]:
    """Have the running REST server serve `version` (it watches `base`), or start one."""
    from core.serving import process

    state = process.current(r.ws)
    if state and Path(str(state["model"])).expanduser().resolve() != base.resolve():
        message = (
            f"the running server serves {state['model']}, not {base}: it keeps its model; "
            f"serve the registry's base path to follow pushes (tfstudio serve {base})"
        )
        r.reporter.event(message, "warning")
        return {"switched": False, "reason": message}
    if not state:
        port = stage.params.get("serve_port")
        if not port:
            return {"switched": False, "reason": "no server running"}
        state = process.start(r.ws, str(base), int(port), state_name(name))
    url = f"http://127.0.0.1:{state['port']}/v1/models/{state['name']}"
    headers = {"Authorization": f"Bearer {state['token']}"} if state.get("token") else {}
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=2) as response:
                served = json.loads(response.read())["model_version_status"][0]["version"]
            if str(served) == str(version):
                r.reporter.event(f"the REST server at {url} now serves version {version}")
                return {"switched": True, "url": url, "version": version, "port": state["port"]}
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the REST server at {url} did not switch to version {version} in 120 s")


def state_name(name: str) -> str:
    return name.replace("-", "_").replace(".", "_").lower()


STAGES = {
    "ingest": _ingest,
    "statistics": _statistics,
    "validate": _validate,
    "train": _train,
    "tune": _tune,
    "evaluate": _evaluate,
    "push": _push,
}


def run_pipeline_job(spec: PipelineSpec, reporter: Reporter, run_dir: Path) -> dict[str, Any]:
    ws = Workspace.resolve()
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
        raise BadInput(
            f"validation stopped the pipeline before training; production is untouched: "
            f"{runner.state['stages'][stage.name]['error']}"
        )
    return result


def submit_pipeline(ws: Workspace, store: RunStore, path: str | Path, ingest_file: str = ""):
    """Check a pipeline file against the workspace and start it as a run (BadInput if wrong)."""
    from core.pipelines.definition import load_pipeline
    from core.runs import launcher

    pipeline = load_pipeline(path)
    check_against_workspace(pipeline, ws)
    spec = PipelineSpec(
        file=str(Path(path).expanduser().resolve()), text=pipeline.text, ingest_file=ingest_file
    )
    return launcher.submit(ws, store, spec, name=pipeline.name)

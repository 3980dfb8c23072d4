"""The pipeline's stages: one function each, `stage(runner, stage, out_folder) -> outputs`.

Ingest, statistics, validation, evaluation and push run in the pipeline's worker; train and tune
submit child runs through `runner.child` and wait for them. A stage ends the pipeline on purpose
by raising `StageStop` (validation blocked it, no new data); any other exception fails it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.errors import BadInput, NotFound
from core.pipelines.checks import default_metric, direction_for
from core.pipelines.state import (
    StageStop,
    ledger_path,
    read_ledger,
    write_json,
)

if TYPE_CHECKING:
    from core.pipelines.job import Runner


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
    base_version = base_dataset_version(
        datasets, r.ctx.get("production_dataset"), r.ctx["dataset"], r.reporter
    )
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


def base_dataset_version(datasets, production: str | None, dataset: str, reporter):
    """The version new rows are added to: production's training data when that is a dataset
    version, else the pipeline's own dataset (production trained on a file or a sample). Only
    "not a dataset version" falls back; any other error (an unreadable manifest) stops the stage,
    so the baseline never changes silently."""
    if production:
        try:
            return datasets.get(production)
        except NotFound:
            reporter.event(
                f"production was trained on {production!r}, not a dataset version: new rows are "
                f"added to the pipeline's dataset {dataset!r}",
                "warning",
            )
    return datasets.get(dataset)


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

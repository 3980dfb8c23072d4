"""The push stage: register the challenger, and if it won export it, promote it to
production and have the REST server switch to it (or start one)."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import BadInput

if TYPE_CHECKING:
    from core.pipelines.job import Runner


def run(r: Runner, stage, out: Path) -> dict[str, Any]:
    import dataclasses

    from core.registry.store import Registry, publish, serving_base
    from core.specs import ExportSpec

    entry = r.state["stages"][stage.name]["outputs"]
    registry = Registry(r.ws)
    decision = r.outputs("evaluate")
    learner_stage = r.p.by_type("train") or r.p.by_type("tune")
    if learner_stage is None:  # the definition's checks require one before push
        raise BadInput(f"stage {stage.name}: push needs a train or tune stage before it")
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

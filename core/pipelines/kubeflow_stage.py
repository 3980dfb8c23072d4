"""The first Kubeflow step: put the pipeline's inputs on the workspace volume.

On a cluster every step's pod starts empty except for the mounted volume, and the stages read
the dataset from the workspace's dataset store and `file:`/`folder:` paths relative to the
pipeline file, which `run-stage --text` places at the workspace root. `staging_plan` (at compile
time) lists those files with their sha256; small ones travel inside the compiled YAML (base64).
The step (`python -m core.pipelines.kubeflow_stage --home H --plan JSON`) writes what is missing,
checks every digest, and for files too large to embed fails with the exact `kubectl cp` lines.
Stdlib only at run time, so the step starts fast.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path, PurePosixPath
from typing import Any

# Files travel inside the YAML up to this total (Kubernetes objects stay well under 1.5 MB).
INLINE_LIMIT = 512 * 1024


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _relative(path: str, what: str) -> str:
    from core.errors import BadInput

    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts:
        raise BadInput(
            f"{what} {path!r}: for Kubeflow give a path relative to the pipeline file (inside "
            "its folder), so it has a place on the workspace volume"
        )
    return rel.as_posix()


def staging_plan(pipeline, ws) -> dict[str, Any]:
    """The files the steps need on the volume: the dataset version and the ingest inputs."""
    from core.data.datasets import DatasetStore
    from core.errors import BadInput, NotFound

    files: list[tuple[str, Path]] = []
    try:
        version = DatasetStore(ws).get(pipeline.dataset)
    except NotFound as exc:
        raise BadInput(f"{exc}: import it before compiling (its files are staged)") from None
    folder = Path(version.folder)
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            files.append((f.relative_to(ws.root).as_posix(), f))
    base = Path(pipeline.source).parent if pipeline.source else Path.cwd()
    for stage in pipeline.stages:
        if stage.type != "ingest":
            continue
        if "file" in stage.params:
            rel = _relative(str(stage.params["file"]), "ingest file")
            files.append((rel, base / rel))
        else:
            rel = _relative(str(stage.params["folder"]), "ingest folder")
            pattern = str(stage.params.get("pattern", "*"))
            for f in sorted((base / rel).glob(pattern)):
                if f.is_file() and not f.name.startswith("."):
                    files.append((f"{rel}/{f.name}", f))
    missing = [str(src) for _, src in files if not src.is_file()]
    if missing:
        raise BadInput(f"cannot stage {', '.join(missing)}: no such file")
    total = sum(src.stat().st_size for _, src in files)
    inline = total <= INLINE_LIMIT
    entries = []
    for rel, src in files:
        data = src.read_bytes()
        entry = {"path": rel, "sha256": _sha256(data), "bytes": len(data), "source": str(src)}
        if inline:
            entry["b64"] = base64.b64encode(data).decode()
        entries.append(entry)
    return {"inline": inline, "bytes": total, "files": entries}


def instructions(plan: dict[str, Any], home: str, claim: str) -> str:
    """How to put the files on the claim by hand (when they are too large to embed)."""
    lines = [
        f"Put these files on the PersistentVolumeClaim {claim!r} (mounted at {home}) before the "
        "run, e.g. from a pod that mounts it (kubectl run/cp), keeping the paths:"
    ]
    for f in plan["files"]:
        lines.append(f"  kubectl cp {f['source']} POD:{home}/{f['path']}   # sha256 {f['sha256']}")
    return "\n".join(lines)


def stage(plan: dict[str, Any], home: Path) -> dict[str, Any]:
    """Write the embedded files that are missing or differ; report what is where."""
    written, present, missing = [], [], []
    for f in plan["files"]:
        target = home / f["path"]
        if target.is_file() and _sha256(target.read_bytes()) == f["sha256"]:
            present.append(f["path"])
            continue
        if "b64" not in f:
            missing.append(f)
            continue
        data = base64.b64decode(f["b64"])
        if _sha256(data) != f["sha256"]:
            raise ValueError(f"{f['path']}: the embedded copy does not match its sha256")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.staging")
        tmp.write_bytes(data)
        tmp.replace(target)
        written.append(f["path"])
    return {"written": written, "present": present, "missing": missing}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="where the workspace volume is mounted")
    parser.add_argument("--plan", required=True, help="the staging plan (JSON)")
    parser.add_argument("--claim", default="", help="the claim's name, for the instructions")
    args = parser.parse_args(argv)
    home = Path(args.home)
    if not home.is_dir():
        print(f"error: {home} is not a folder: is the workspace volume mounted?", file=sys.stderr)
        return 2
    plan = json.loads(args.plan)
    report = stage(plan, home)
    if report["missing"]:
        left = {**plan, "files": report["missing"]}
        print(
            "error: files too large to embed are not on the volume.\n"
            + instructions(left, str(home), args.claim),
            file=sys.stderr,
        )
        return 2
    print(json.dumps({"home": str(home), **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

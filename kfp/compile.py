# /// script
# requires-python = ">=3.10"
# dependencies = ["kfp>=2.14,<3", "kfp-kubernetes>=2.14,<3"]
# ///
"""Turn a TF Studio pipeline description (JSON) into Kubeflow Pipelines YAML, or check one.

Runs in its own environment (`uv run --script kfp/compile.py ...`): the Kubeflow Pipelines SDK
needs protobuf >= 6.31 and TensorFlow 2.19 protobuf 5, so they cannot share one (STACK.md).

    uv run --script kfp/compile.py DESCRIPTION.json --out pipeline.yaml
    uv run --script kfp/compile.py --check pipeline.yaml

Every stage becomes a container step that runs the project's CLI (`tfstudio pipeline run-stage`)
in the image built from the project's Dockerfile (the description's `image`). Every step mounts
one PersistentVolumeClaim at the workspace folder (`home`, fixed at compile time) with
kfp-kubernetes, so each step picks up what the one before it left (stage state, child runs,
datasets, the model registry). A first step, `stage-data`, writes the pipeline's inputs (the
dataset version and the ingest files, embedded when small) onto that volume. Pipeline
parameters: `pvc_name` (the claim; with `volume.create` the pipeline creates it, of `pvc_size`),
and for the learner `train_strategy` / `train_workers` (MultiWorkerMirroredStrategy: the step
starts that many workers with TF_CONFIG) and `tune_workers` (KerasTuner: a chief oracle and that
many tuner workers).
"""

import argparse  # no `from __future__ import annotations`: KFP reads the real types
import json
import sys

from kfp import compiler, dsl, kubernetes


def _component(stage: dict, image: str):
    """A container component for one stage; its inputs become the CLI's arguments."""
    command = list(stage["command"])
    program, args = command[0], command[1:]
    kind = stage["type"]

    if kind == "train":

        def step(run_id: str, home: str, strategy: str, workers: int):
            return dsl.ContainerSpec(
                image=image,
                command=[program],
                args=[*args, "--run", run_id, "--home", home]
                + ["--strategy", strategy, "--workers", workers],
            )

    elif kind == "tune":

        def step(run_id: str, home: str, workers: int):
            return dsl.ContainerSpec(
                image=image,
                command=[program],
                args=[*args, "--run", run_id, "--home", home, "--workers", workers],
            )

    else:

        def step(run_id: str, home: str):
            return dsl.ContainerSpec(
                image=image, command=[program], args=[*args, "--run", run_id, "--home", home]
            )

    step.__name__ = "stage_" + stage["name"].replace("-", "_")
    step.__doc__ = f"TF Studio stage {stage['name']} ({kind})"
    return dsl.container_component(step)


def _staging(image: str, home: str, plan: str):
    def stage_data(claim: str):
        return dsl.ContainerSpec(
            image=image,
            command=["python"],
            args=["-m", "core.pipelines.kubeflow_stage", "--home", home, "--plan", plan]
            + ["--claim", claim],
        )

    stage_data.__doc__ = "Put the pipeline's dataset and input files on the workspace volume"
    return dsl.container_component(stage_data)


def build(description: dict):
    image, home = description["image"], description["home"]
    volume = description["volume"]
    components = {s["name"]: _component(s, image) for s in description["stages"]}
    staging = _staging(image, home, json.dumps(description["staging"], separators=(",", ":")))

    @dsl.pipeline(name=description["name"], description=description["description"])
    def pipeline(
        pvc_name: str = volume["claim"],
        pvc_size: str = volume["size"],
        train_strategy: str = "default",
        train_workers: int = 2,
        tune_workers: int = 0,
    ):
        claim = pvc_name
        created = None
        if volume["create"]:
            created = kubernetes.CreatePVC(
                pvc_name=pvc_name, access_modes=["ReadWriteOnce"], size=pvc_size
            )
            created.set_display_name("create-volume")
            claim = created.outputs["name"]

        def on_volume(task):
            kubernetes.mount_pvc(task, pvc_name=claim, mount_path=home)
            task.set_caching_options(False)
            if created is not None:
                task.after(created)
            return task

        first = on_volume(staging(claim=claim))
        first.set_display_name("stage-data")
        tasks = {}
        for stage in description["stages"]:  # already in dependency order
            make = components[stage["name"]]
            run_id = dsl.PIPELINE_JOB_ID_PLACEHOLDER
            if stage["type"] == "train":
                dist = stage.get("distribution", {})
                strategy = dist.get("strategy") if dist.get("strategy") != "default" else None
                task = make(
                    run_id=run_id,
                    home=home,
                    strategy=strategy or train_strategy,
                    workers=train_workers,
                )
            elif stage["type"] == "tune":
                task = make(run_id=run_id, home=home, workers=tune_workers)
            else:
                task = make(run_id=run_id, home=home)
            task.set_display_name(stage["name"])
            on_volume(task)
            task.after(first)
            for upstream in stage["after"]:
                task.after(tasks[upstream])
            tasks[stage["name"]] = task

    return pipeline


def _binding(spec) -> dict:
    """Where a task's input parameter comes from: a constant, a pipeline parameter, a task."""
    from google.protobuf import json_format

    d = json_format.MessageToDict(spec)
    if "runtimeValue" in d:
        return {"constant": d["runtimeValue"].get("constant")}
    if "componentInputParameter" in d:
        return {"pipeline_parameter": d["componentInputParameter"]}
    if "taskOutputParameter" in d:
        return {"task_output": d["taskOutputParameter"]}
    return d


def check(path: str) -> dict:
    """Load compiled YAML back with the SDK; report its tasks, what they run and mount."""
    import yaml
    from google.protobuf import json_format

    from kfp import components

    loaded = components.load_component_from_file(path)
    spec = loaded.pipeline_spec
    deployment = json_format.MessageToDict(spec.deployment_spec)
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    platform = docs[1] if len(docs) > 1 else {}
    k8s = platform.get("platforms", {}).get("kubernetes", {}).get("deploymentSpec", {})
    tasks = {}
    for key, task in spec.root.dag.tasks.items():
        executor = spec.components[task.component_ref.name].executor_label
        found = deployment["executors"][executor]
        container = found.get("container", {})
        tasks[key] = {
            "display_name": task.task_info.name,
            "after": list(task.dependent_tasks),
            "image": container.get("image", ""),
            "command": list(container.get("command", [])),
            "args": list(container.get("args", [])),
            "inputs": {k: _binding(v) for k, v in task.inputs.parameters.items()},
            "pvc_mounts": k8s.get("executors", {}).get(executor, {}).get("pvcMount", []),
            "importer_or_platform": "container" if container else sorted(found),
        }
    defaults = {
        k: json_format.MessageToDict(v).get("defaultValue")
        for k, v in spec.root.input_definitions.parameters.items()
    }
    # recompile what was loaded: the SDK must accept its own output as a pipeline again
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        again = f"{tmp}/again.yaml"
        compiler.Compiler().compile(loaded, again)
        respec = components.load_component_from_file(again).pipeline_spec
    same = json_format.MessageToDict(respec.root) == json_format.MessageToDict(spec.root)
    return {
        "name": spec.pipeline_info.name,
        "recompiled_same_dag": same,
        "tasks": tasks,
        "parameters": sorted(defaults),
        "defaults": defaults,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("description", nargs="?", help="the JSON description (tfstudio wrote)")
    parser.add_argument("--out", help="KFP YAML to write")
    parser.add_argument("--check", help="load this KFP YAML back and report its tasks")
    args = parser.parse_args(argv)
    if args.check:
        print(json.dumps(check(args.check)))
        return 0
    if not args.description or not args.out:
        parser.error("give DESCRIPTION.json and --out, or --check YAML")
    with open(args.description) as f:
        description = json.load(f)
    if description.get("format") != "tfstudio-pipeline/1":
        print(f"error: {args.description} is not a TF Studio pipeline description", file=sys.stderr)
        return 2
    compiler.Compiler().compile(build(description), args.out)
    import kfp

    report = check(args.out)
    print(json.dumps({"kfp": kfp.__version__, **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

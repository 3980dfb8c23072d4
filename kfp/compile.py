# /// script
# requires-python = ">=3.10"
# dependencies = ["kfp>=2.14,<3"]
# ///
"""Turn a TF Studio pipeline description (JSON) into Kubeflow Pipelines YAML, or check one.

Runs in its own environment (`uv run --script kfp/compile.py ...`): the Kubeflow Pipelines SDK
needs protobuf >= 6.31 and TensorFlow 2.19 protobuf 5, so they cannot share one (STACK.md).

    uv run --script kfp/compile.py DESCRIPTION.json --out pipeline.yaml
    uv run --script kfp/compile.py --check pipeline.yaml

Every stage becomes a container step that runs the project's CLI (`tfstudio pipeline run-stage`)
in the image built from the project's Dockerfile. The steps share one TF Studio workspace (the
`home` parameter: mount a persistent volume there), where the stages keep their state, child
runs, datasets and the model registry, so each step picks up what the one before it left.
Pipeline parameters: `home`, and for the learner `train_strategy` / `train_workers`
(MultiWorkerMirroredStrategy: the step starts that many workers with TF_CONFIG) and
`tune_workers` (KerasTuner: a chief oracle and that many tuner workers).
"""

import argparse  # no `from __future__ import annotations`: KFP reads the real types
import json
import sys

from kfp import compiler, dsl


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


def build(description: dict):
    image = description["image"]
    components = {s["name"]: _component(s, image) for s in description["stages"]}

    @dsl.pipeline(name=description["name"], description=description["description"])
    def pipeline(
        home: str = description["home"],
        train_strategy: str = "default",
        train_workers: int = 2,
        tune_workers: int = 0,
    ):
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
            task.set_caching_options(False)
            for upstream in stage["after"]:
                task.after(tasks[upstream])
            tasks[stage["name"]] = task

    return pipeline


def check(path: str) -> dict:
    """Load compiled YAML back with the SDK; report its name, tasks and what they run."""
    from google.protobuf import json_format

    from kfp import components

    loaded = components.load_component_from_file(path)
    spec = loaded.pipeline_spec
    deployment = json_format.MessageToDict(spec.deployment_spec)
    tasks = {}
    for key, task in spec.root.dag.tasks.items():
        executor = spec.components[task.component_ref.name].executor_label
        container = deployment["executors"][executor]["container"]
        tasks[key] = {
            "display_name": task.task_info.name,
            "after": list(task.dependent_tasks),
            "image": container["image"],
            "command": list(container.get("command", [])),
            "args": list(container.get("args", [])),
        }
    return {
        "name": spec.pipeline_info.name,
        "tasks": tasks,
        "parameters": sorted(spec.root.input_definitions.parameters.keys()),
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

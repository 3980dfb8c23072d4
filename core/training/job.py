"""The training job: data -> preprocessing model + network -> end-to-end model, evaluated.

`run_train_job(spec, reporter, run_dir)` is the only entry point; the worker, the CLI (through the
worker) and notebooks call it alike. TensorFlow is imported here, never in the UI process. A task
family (tabular, images, text, forecasting) turns the data into pipelines and a preprocessing
model; everything after that is the same for every task.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from core.data.resolve import load_data
from core.runs.context import JobContext, workspace_of
from core.runs.reporter import Reporter, raise_if_canceled
from core.specs import TrainSpec
from core.training.build import (
    build_network,
    head_rows,
    learning_rate_for,
    loss_for,
    make_optimizer,
    prepare,
    to_tensors,
)
from core.training.fit import class_weight_for, fine_tune, fit
from core.training.precheck import plan, streaming
from core.workspace import Workspace


def run_train_job(
    spec: TrainSpec, reporter: Reporter, run_dir: Path, context: JobContext | None = None
) -> dict[str, Any]:
    from core.training.distribute import make_strategy, start_local_workers, task_index

    run_dir.mkdir(parents=True, exist_ok=True)
    workers: list = []
    if spec.strategy == "multiworker" and "TF_CONFIG" not in os.environ:
        # This process is the chief: it starts the other workers on this machine.
        from core.training.distribute import free_ports, tf_config

        ports = free_ports(spec.workers)
        os.environ["TF_CONFIG"] = tf_config(ports, 0)
        workers = start_local_workers(json.dumps(spec.to_dict()), run_dir, ports)
        reporter.event(f"started {len(workers)} local worker process(es) for MultiWorkerMirrored")
    if spec.strategy == "parameter_server" and "TF_CONFIG" not in os.environ:
        # This process is the chief (coordinator); ps and worker servers run beside it.
        from core.training.distribute import free_ports, ps_cluster, ps_tf_config, start_ps_cluster

        cluster = ps_cluster(free_ports(spec.workers + 2), spec.workers)
        os.environ["TF_CONFIG"] = ps_tf_config(cluster, "chief", 0)
        workers = start_ps_cluster(cluster, run_dir)
        reporter.event(
            f"started 1 ps and {spec.workers} worker process(es) for ParameterServerStrategy"
        )
    try:
        strategy = make_strategy(spec.strategy, spec.workers)
        ws = workspace_of(context)
        return _train(spec, reporter, run_dir, strategy, ws, chief=task_index() == 0)
    except BaseException:
        for proc in workers:  # a failed or canceled chief leaves no worker waiting on it
            proc.kill()
        raise
    finally:
        for proc in workers:
            if spec.strategy == "parameter_server":
                proc.kill()  # servers serve until stopped
            try:
                proc.wait(timeout=60)
            except Exception:
                proc.kill()


def _train(
    spec: TrainSpec, reporter: Reporter, run_dir: Path, strategy, ws: Workspace, chief: bool
):
    import keras

    from core.export.convert import (
        NeedsFlex,
        network_parity,
        parity,
        tflite_predict,
        to_tflite,
    )
    from core.models.backbones import describe
    from core.models.catalog import is_transfer
    from core.training.baselines import judge
    from core.training.evaluation import evaluate
    from core.training.families.common import save_test_inputs

    reporter.progress("reading data", 0, 1, f"reading {spec.data}")
    loaded = load_data(spec.data, ws, stream_large=True)
    task, model_name = plan(spec, loaded)
    before = len(loaded.notes)
    loaded = streaming(spec, task, loaded, ws)  # rows in memory unless a large table streams
    for note in loaded.notes[before:]:  # why a large table is read whole after all
        reporter.event(note, "warning")
    reporter.event(
        f"task {task}, model {model_name}, data {loaded.label} "
        f"(sha256 {loaded.lineage.get('sha256', '')[:12]}), strategy {spec.strategy} "
        f"({strategy.num_replicas_in_sync} replica(s))"
    )
    keras.utils.set_random_seed(spec.seed)
    prepared = prepare(spec, task, loaded, run_dir, reporter)
    for w in prepared.warnings:
        reporter.event(w, "warning")
    reporter.event(", ".join(f"{k} {v}" for k, v in prepared.rows.items()) + " examples")
    prepared.contract.save(run_dir / "features.json")
    reporter.artifact("features.json", run_dir / "features.json")
    raise_if_canceled(reporter)

    learning_rate = learning_rate_for(spec, model_name)
    if spec.fit_on_validation:
        prepared = _with_validation_in_training(prepared, reporter)
    if spec.mixed_precision:
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            keras.mixed_precision.set_global_policy("mixed_float16")
            reporter.event("mixed precision: float16 compute, float32 weights")
        else:
            reporter.event("mixed precision needs a GPU; training in float32 on the CPU", "warning")
    loss, metrics = loss_for(prepared)
    reporter.progress("building model", 0, 1, f"building {model_name}")
    with strategy.scope():  # the one line that changes between strategies
        network = build_network(spec, prepared, model_name, task)
        if spec.warm_start:
            _warm_start(network, spec.warm_start, run_dir, reporter)
        optimizer = make_optimizer(spec, learning_rate, prepared.train, spec.epochs)
        network.compile(optimizer, loss=loss, metrics=metrics)
        reporter.progress("training", 0, spec.epochs, f"epoch 1/{spec.epochs}")
        if spec.strategy == "multiworker":
            from core.training.custom_loop import fit_distributed

            hist = fit_distributed(network, prepared, strategy, optimizer, spec.epochs, reporter)
        elif spec.strategy == "parameter_server":
            from core.training.custom_loop import fit_parameter_server

            hist = fit_parameter_server(
                network, prepared, strategy, optimizer, spec.epochs, reporter
            )
        else:
            hist = fit(network, prepared, spec, reporter, run_dir, spec.epochs)
        if spec.fine_tune_layers > 0 and spec.fine_tune_epochs > 0:
            if fine_tune(network, spec, learning_rate, reporter, loss, metrics):
                more = fit(
                    network,
                    prepared,
                    spec,
                    reporter,
                    run_dir,
                    spec.fine_tune_epochs,
                    initial_epoch=len(hist["loss"]),
                )
                hist = {k: hist.get(k, []) + more.get(k, []) for k in hist}
    if not chief:
        return {}  # only the chief evaluates and saves
    refit_epochs = best_epochs(hist) if refits(spec, prepared) else 0
    if refit_epochs:
        network = _refit(
            spec, prepared, refit_epochs, model_name, task, learning_rate, reporter, network
        )
    if strategy.num_replicas_in_sync > 1 or spec.strategy != "default":
        # Copy the trained weights into a plain (undistributed) model for evaluation and saving.
        trained = network.get_weights()
        network = build_network(spec, prepared, model_name, task)
        network.set_weights(trained)
    (run_dir / "history.json").write_text(json.dumps(hist))

    reporter.progress("evaluating", 0, 1, "evaluating on the held-out test split")
    preprocess = prepared.preprocess
    inputs = preprocess.input
    end_to_end = keras.Model(inputs, network(preprocess(inputs)), name="end_to_end")
    if prepared.test_stream is not None:  # a streamed table: its test split is not in memory
        predictions = np.asarray(end_to_end.predict(prepared.test_stream, verbose=0))
    else:
        predictions = np.asarray(end_to_end.predict(to_tensors(prepared.test_inputs), verbose=0))
    evaluation = evaluate(prepared, predictions)
    comparison = judge(prepared, predictions, spec.seed, reporter)
    if comparison:
        evaluation["baselines"] = comparison
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2))
    sample = head_rows(prepared.test_inputs, 64)
    save_test_inputs(run_dir / "test_inputs.npz", sample)
    reporter.artifact("test_inputs.npz", run_dir / "test_inputs.npz")

    lines: list[str] = []
    network.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    (run_dir / "model_summary.txt").write_text("\n".join(lines))
    reporter.artifact("model_summary.txt", run_dir / "model_summary.txt")
    reporter.progress("saving", 0, 3, "saving Keras models")
    for name, model in (
        ("model.keras", end_to_end),
        ("preprocessing.keras", preprocess),
        ("network.keras", network),
    ):
        model.save(run_dir / name)
        reporter.artifact(name, run_dir / name)
    refused = prepared.contract.details.get("export_refusals", {}).get("tflite")
    if refused:  # e.g. a KerasHub tokenizer's TF Text ops: said, not attempted
        reporter.event(f"no TFLite file: {refused}", "warning")
        tflite_check: dict[str, Any] = {"refused": refused}
    else:
        reporter.progress("saving", 1, 3, "converting to TFLite")
        tflite_path, ops = to_tflite(end_to_end, run_dir / "model.tflite")
        expected = predictions[
            : len(next(iter(sample.values())) if isinstance(sample, dict) else sample)
        ]
        try:
            tflite_check = {
                **parity(expected, tflite_predict(tflite_path, sample), prepared.task),
                "ops": ops,
            }
        except NeedsFlex:
            tflite_check = {
                **network_parity(network, preprocess, sample, expected, prepared.task),
                "ops": ops,
            }
            reporter.event(f"TFLite check: {tflite_check['note']}", "warning")
        reporter.artifact("model.tflite", tflite_path)
    for name in ("history.json", "evaluation.json"):
        reporter.artifact(name, run_dir / name)
    reporter.progress("done", 3, 3, "finished")

    return {
        "task": task,
        "model": model_name,
        "target": prepared.contract.target,
        "data": loaded.lineage,
        "rows": prepared.rows,
        "classes": prepared.contract.classes,
        "metrics": {k: v[-1] for k, v in hist.items() if k.startswith("val_")},
        "test_metrics": evaluation["metrics"],
        "baselines": comparison,
        "refit_epochs": refit_epochs or None,
        "tflite_parity": tflite_check,
        "warnings": prepared.warnings,
        "parameters": int(network.count_params()),
        "model_bytes": int((run_dir / "model.keras").stat().st_size),
        "strategy": {"name": spec.strategy, "replicas": int(strategy.num_replicas_in_sync)},
        **(
            {
                "backbone_weights": describe(
                    model_name, spec.weights, spec.image_size, task=task
                ).weights
            }
            if is_transfer(model_name)
            else {}
        ),
    }


def refits(spec: TrainSpec, prepared) -> bool:
    """Whether the final model is trained again on train + validation (spec.refit): not for
    distributed or fine-tuned runs, streamed tables or a fit that already used validation."""
    return bool(
        spec.refit
        and spec.strategy == "default"
        and not spec.fit_on_validation
        and not spec.warm_start
        and not (spec.fine_tune_layers > 0 and spec.fine_tune_epochs > 0)
        and prepared.test_stream is None
    )


def best_epochs(hist: dict[str, list[float]]) -> int:
    """How many epochs validation chose: the epoch of the lowest validation loss (the weights
    early stopping kept), else every epoch that ran."""
    losses = hist.get("val_loss") or []
    if not losses:
        return len(hist.get("loss", [])) or 1
    return int(np.argmin(losses)) + 1


def _refit(spec, prepared, epochs: int, model_name, task, learning_rate, reporter, chosen):
    """A fresh network trained on the training and validation rows together for the number of
    epochs validation chose: the test split stays the only data the final model never saw."""
    import keras

    from core.training.fit import refit_callbacks

    reporter.event(
        f"refit: the final model trains afresh on the training and validation rows together "
        f"({prepared.rows.get('train', 0) + prepared.rows.get('validation', 0):,} rows) for "
        f"{epochs} epoch(s), the number validation chose; its curves above are those of the "
        "choice, and the test split is the only data it never saw"
    )
    keras.utils.set_random_seed(spec.seed)
    combined = prepared.train.concatenate(prepared.validation)
    network = build_network(spec, prepared, model_name, task)
    loss, metrics = loss_for(prepared)
    network.compile(
        make_optimizer(spec, learning_rate, combined, epochs), loss=loss, metrics=metrics
    )
    history = network.fit(
        combined,
        epochs=epochs,
        verbose=0,
        callbacks=refit_callbacks(reporter, epochs),
        class_weight=class_weight_for(spec, prepared, reporter),
    )
    if reporter.should_stop():
        from core.errors import JobCanceled

        raise JobCanceled("canceled by the user")
    losses = history.history.get("loss", [])
    if not losses or not all(np.isfinite(losses)):
        reporter.event(
            "the refit's loss became NaN or infinite: the model chosen on validation is kept",
            "warning",
        )
        return chosen
    return network


def _with_validation_in_training(prepared, reporter):
    """Train on train + validation (a promoted trial's final fit); validation stays reported."""
    import dataclasses

    reporter.event(
        "training on the training and validation splits together: validation curves are "
        "optimistic, judge the model on the test split"
    )
    # Class weights (when asked for) stay those of the training split: nearly the same shares.
    return dataclasses.replace(prepared, train=prepared.train.concatenate(prepared.validation))


def _warm_start(network, run_id: str, run_dir: Path, reporter) -> None:
    """Start from another run's network weights when the architecture matches."""
    from core.models.io import load_run_model

    source = run_dir.parent / run_id
    try:
        previous = load_run_model(source, "network.keras")
        network.set_weights(previous.get_weights())
    except Exception as exc:  # a changed architecture or vocabulary: train from scratch
        reporter.event(
            f"warm start from run {run_id} not possible ({type(exc).__name__}: "
            f"{str(exc)[:200]}); training from fresh weights",
            "warning",
        )
        return
    reporter.event(f"warm start: network weights from run {run_id}")

"""Fitting a compiled network: progress and cancel, TensorBoard, a last-good checkpoint, early
stopping and fine-tuning a backbone's top layers. Used by the training job (inside a worker)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BadInput, JobCanceled
from core.runs.reporter import Reporter
from core.training.build import class_weight_for


def epoch_values(logs: dict[str, Any] | None) -> dict[str, float]:
    """An epoch's logged numbers as floats (Keras also logs non-numbers, e.g. a schedule)."""
    return {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float, np.number))}


def progress_callback(reporter: Reporter, epochs: int):
    import keras

    class ReportProgress(keras.callbacks.Callback):
        """Per-epoch metrics and progress to the reporter; cooperative cancel between epochs."""

        canceled = False

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            # The page says which epoch runs now: the first one also traces the graph, which
            # on a small table takes longer than all the others together.
            reporter.progress("training", epoch, epochs, f"epoch {epoch + 1}/{epochs}")

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            # Written to the store at once (one short transaction), so the page's next poll
            # draws this epoch's point while the next epoch trains.
            values = epoch_values(logs)
            reporter.metrics(epoch + 1, values)
            summary = " · ".join(f"{k} {v:.4g}" for k, v in values.items() if k.startswith("val_"))
            reporter.progress(
                "training", epoch + 1, epochs, f"epoch {epoch + 1}/{epochs} · {summary}"
            )
            if reporter.should_stop():
                self.canceled = True
                self.model.stop_training = True

    return ReportProgress()


def refit_callbacks(reporter: Reporter, epochs: int) -> list:
    """Progress and cancel for the final refit; no curve points (the curves are the choice's)
    and a stop at a non-finite loss."""
    import keras

    class RefitProgress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            reporter.progress("refitting", epoch, epochs, f"refit epoch {epoch + 1}/{epochs}")

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if reporter.should_stop():
                self.model.stop_training = True

    return [RefitProgress(), stop_on_non_finite()]


def last_good_checkpoint(path: Path):
    """Save the weights after every epoch whose losses are finite, so a NaN later in the run
    leaves the last good weights behind (Keras' ModelCheckpoint would save the NaN ones too)."""
    import keras

    class LastGoodCheckpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            values = list(epoch_values(logs).values())
            if values and all(math.isfinite(v) for v in values):
                self.model.save_weights(path)

    return LastGoodCheckpoint()


def stop_on_non_finite():
    """Stop training after an epoch whose logged values are NaN or infinite. Keras'
    TerminateOnNaN checks every batch, and any batch hook turns off Keras' asynchronous batch
    dispatch, so every step would wait for its loss as a Python float (benchmarks/README.md,
    train_overhead); a run that diverges is caught one epoch later instead."""
    import keras

    class StopOnNonFinite(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            values = list(epoch_values(logs).values())
            if not all(math.isfinite(v) for v in values):
                self.model.stop_training = True

    return StopOnNonFinite()


def epoch_tensorboard(log_dir: Path):
    """Keras' TensorBoard callback writing once per epoch (its default update_freq), without its
    batch hooks: at update_freq="epoch" they record nothing, but their presence alone makes every
    step hand its logs to Python synchronously. The graph it wrote after the first batch is
    written after the first epoch instead."""
    import keras

    base = keras.callbacks.Callback

    class EpochTensorBoard(keras.callbacks.TensorBoard):
        # Keras' own no-op hooks: CallbackList tells them apart by their `_is_default` mark.
        on_train_batch_begin = base.on_train_batch_begin
        on_train_batch_end = base.on_train_batch_end

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if getattr(self, "_should_write_train_graph", False):
                self._write_keras_model_train_graph()
                self._should_write_train_graph = False
            super().on_epoch_end(epoch, logs)

    return EpochTensorBoard(log_dir=str(log_dir))


def fit(network, prepared, spec, reporter, run_dir: Path, epochs: int, initial_epoch: int = 0):
    """One `fit` with progress, cancel, TensorBoard, a last-good checkpoint and early stopping."""
    import keras

    total = spec.epochs + (spec.fine_tune_epochs if spec.fine_tune_layers else 0)
    progress = progress_callback(reporter, total)
    callbacks = [
        progress,
        epoch_tensorboard(run_dir / "tensorboard"),
        last_good_checkpoint(run_dir / "checkpoint.weights.h5"),
        stop_on_non_finite(),
    ]
    if spec.early_stopping > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=spec.early_stopping, restore_best_weights=True
            )
        )
    history = network.fit(
        prepared.train,
        validation_data=prepared.validation,
        epochs=initial_epoch + epochs,
        initial_epoch=initial_epoch,
        # Not verbose: the reporter stamps each epoch in the worker log, and Keras' progress
        # logger has batch hooks (see epoch_tensorboard).
        verbose=0,
        callbacks=callbacks,
        class_weight=class_weight_for(spec, prepared, reporter) if initial_epoch == 0 else None,
    )
    if progress.canceled:
        raise JobCanceled("canceled by the user")
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    if not all(math.isfinite(v) for vals in hist.values() for v in vals):
        kept = (run_dir / "checkpoint.weights.h5").exists()
        if kept:
            reporter.artifact("checkpoint.weights.h5", run_dir / "checkpoint.weights.h5")
        raise BadInput(
            "the loss became NaN or infinite, so training stopped: lower the learning rate, or "
            "check the data for extreme values"
            + ("; the last good weights are kept as checkpoint.weights.h5" if kept else "")
        )
    if len(history.epoch) < epochs:
        reporter.event(
            f"early stopping after epoch {initial_epoch + len(history.epoch)}: kept "
            "the weights with the best validation loss"
        )
    return hist


def fine_tune(network, spec, learning_rate: float, reporter, loss, metrics) -> bool:
    """Unfreeze the backbone's top layers (BatchNormalization stays frozen) and recompile."""
    import keras

    name = getattr(network, "backbone_name", None)
    backbone = next((layer for layer in network.layers if layer.name == name), None)
    if backbone is None or not getattr(backbone, "layers", None):
        reporter.event("this backbone cannot be fine-tuned layer by layer; kept frozen", "warning")
        return False
    backbone.trainable = True
    for layer in backbone.layers[: -spec.fine_tune_layers]:
        layer.trainable = False
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    network.compile(keras.optimizers.Adam(learning_rate / 10), loss=loss, metrics=metrics)
    reporter.event(
        f"fine-tuning the top {spec.fine_tune_layers} backbone layers at learning "
        f"rate {learning_rate / 10:g}"
    )
    return True

"""The compression job: every chosen method on one training run, measured beside the float
baseline with the TFLite interpreter on the run's held-out test split."""

from __future__ import annotations

import json
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from core.compression.preflight import PTQ_METHODS, check_spec
from core.errors import BadInput, JobCanceled
from core.runs.context import JobContext, workspace_of
from core.runs.reporter import Reporter, raise_if_canceled
from core.runs.store import RunStore
from core.specs import CompressSpec

REPORT_NAME = "compression_report.json"
# Fine-tuning starts from trained weights: at most this step size (or the run's, if smaller).
FINE_TUNE_MAX_LR = 1e-3


class _Context:
    """What every method needs: the source models, the rebuilt split, preprocessed features."""

    def __init__(
        self, spec: CompressSpec, folder: Path, run_spec: dict, run_result: dict, run_dir: Path
    ):
        from core.compression.data import rebuild
        from core.models.io import load_run_model
        from core.training.families.common import CLASSIFICATION_TASKS
        from core.training.features import ModelContract

        self.spec = spec
        self.folder = folder
        self.contract = ModelContract.load(folder / "features.json")
        self.task = self.contract.task
        self.classification = self.task in CLASSIFICATION_TASKS
        self.data = rebuild(run_spec, run_result, folder)
        self.model = load_run_model(folder)
        self.preprocess = load_run_model(folder, "preprocessing.keras")
        self.network = load_run_model(folder, "network.keras")
        self.batch_size = int(run_spec.get("batch_size") or 32)
        self.learning_rate = float(run_spec.get("learning_rate") or 0.001)
        self._features: dict[str, np.ndarray] = {}
        self.int8_scope, self.int8_note = "end-to-end", ""
        # Shared by every variant: each source model's SavedModel, written once per job.
        self.work = Path(tempfile.mkdtemp(prefix="shared-", dir=run_dir))
        self._saved: dict[str, Path] = {}
        self.made: dict[str, Any] = {"savedmodel_exports": {}, "baseline_evaluations": 0}

    def saved_model(self, which: str) -> Path:
        """The SavedModel of `model` (end-to-end float) or `network`, exported once per job."""
        from core.export.convert import to_savedmodel

        if which not in self._saved:
            model = self.model if which == "model" else self.network
            self._saved[which] = to_savedmodel(model, self.work / which)
            exports = self.made["savedmodel_exports"]
            exports[which] = exports.get(which, 0) + 1
        return self._saved[which]

    def quantize(self, which: str, method: str, out: Path, rep=None) -> Path:
        """A PTQ variant of the source `model` or `network`, from its shared SavedModel."""
        from core.compression.ptq import quantize

        model = self.model if which == "model" else self.network
        saved = self.saved_model(which)
        return quantize(model, method, out, rep, self.spec.int8_io, saved=saved)

    def features(self, part: str) -> np.ndarray:
        """Preprocessed feature vectors (what network.keras takes) of the train or test rows."""
        if part not in self._features:
            from core.training.build import to_tensors

            if part == "train" and self.data.train_features is not None:
                self._features[part] = self.data.train_features
            else:
                raw = self.data.train_x if part == "train" else self.data.test_x
                out = np.asarray(self.preprocess.predict(to_tensors(raw), verbose=0))
                self._features[part] = out if out.dtype.kind in "iu" else out.astype("float32")
        return self._features[part]

    def fine_tune(self):
        from core.compression.tfmot_bridge import FineTune

        return FineTune(
            self.features("train"),
            self.data.train_y,
            self.classification,
            self.spec.epochs,
            self.batch_size,
            min(self.learning_rate, FINE_TUNE_MAX_LR),
        )


def _ptq(ctx: _Context, method: str, run_dir: Path) -> tuple[Path, dict[str, Any]]:
    from core.compression.ptq import representative

    out = run_dir / f"model_{method}.tflite"
    if method != "int8":
        return ctx.quantize("model", method, out), {"scope": "end-to-end"}
    if ctx.int8_scope == "network":
        ctx.quantize("network", "int8", out, representative(ctx.features("train")))
        return out, {"scope": "network", "note": ctx.int8_note}
    try:
        ctx.quantize("model", "int8", out, representative(ctx.data.train_x))
        return out, {"scope": "end-to-end"}
    except BadInput:
        raise
    except Exception as exc:  # converter errors: fall back to the float-input network
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        ctx.quantize("network", "int8", out, representative(ctx.features("train")))
        return out, {
            "scope": "network",
            "note": "the end-to-end model did not convert to full int8 "
            f"({first}); the network alone was quantized: it takes the preprocessed feature "
            "vector, so run preprocessing.keras first",
        }


def _bridge(ctx: _Context, method: str, run_dir: Path, reporter: Reporter):
    import keras

    from core.compression import tfmot_bridge as bridge
    from core.compression.ptq import convert_keras2
    from core.compression.report import weight_stats
    from core.export.convert import to_tflite

    rebuilt = bridge.rebuild_tf_keras(ctx.network)
    sample = ctx.features("test")[:16]
    diff = float(
        np.max(np.abs(rebuilt.predict(sample, verbose=0) - ctx.network.predict(sample, verbose=0)))
    )
    if diff > 1e-4:
        raise BadInput(
            f"the tf_keras rebuild of the network differs from it (max |diff| {diff:.2g})"
        )

    def on_epoch(epoch, logs):
        reporter.metrics(epoch + 1, {f"{method}_{k}": float(v) for k, v in (logs or {}).items()})
        raise_if_canceled(reporter)

    data = ctx.fine_tune()
    spec = ctx.spec
    name = method.replace("+", "_")
    out = run_dir / f"model_{name}.tflite"
    network_note = (
        "it takes the preprocessed features, so run the preprocessing first "
        "(preprocessing.keras, or preprocessing.tflite in the export bundle)"
    )
    if method == "qat":
        aware = bridge.qat(rebuilt, data, on_epoch)
        convert_keras2(aware, out, quantize_int8=True)
        return out, {
            "scope": "network",
            "note": f"QAT network converted to int8 alone: {network_note}",
            "epochs": spec.epochs,
        }
    base = "prune" if method in ("prune", "prune+int8", "pqat") else "cluster"
    if base == "prune":
        stripped = bridge.prune(rebuilt, spec.sparsity, data, on_epoch, spec.schedule)
        extra = {"target_sparsity": spec.sparsity, "schedule": spec.schedule}
    else:
        stripped = bridge.cluster(rebuilt, spec.clusters, data, on_epoch, spec.centroids)
        extra = {"clusters": spec.clusters, "centroids": spec.centroids}
    if method in ("pqat", "cqat"):
        aware = bridge.qat(stripped, data, on_epoch, scheme=base)
        convert_keras2(aware, out, quantize_int8=True)
        kept = "zeros" if base == "prune" else "clusters"
        return out, {
            "scope": "network",
            "note": f"{base} then QAT that keeps the {kept}, converted to int8 alone: "
            f"{network_note}",
            "epochs": spec.epochs,
            **extra,
            **weight_stats(bridge.qat_kernels(aware)),
        }
    network = bridge.copy_back(ctx.network, stripped)
    inputs = ctx.preprocess.input
    end_to_end = keras.Model(inputs, network(ctx.preprocess(inputs)), name="end_to_end")
    network.save(run_dir / f"network_{name}.keras")
    end_to_end.save(run_dir / f"model_{name}.keras")
    scope, note = "end-to-end", ""
    if method.endswith("+int8"):
        from core.compression.ptq import quantize, representative

        if ctx.int8_scope == "network":
            rep = representative(ctx.features("train"))
            quantize(network, "int8", out, rep, spec.int8_io)
            scope, note = "network", ctx.int8_note
        else:
            rep = representative(ctx.data.train_x)
            quantize(end_to_end, "int8", out, rep, spec.int8_io)
    else:
        to_tflite(end_to_end, out)
    return out, {
        "scope": scope,
        **({"note": note} if note else {}),
        "keras_path": str(run_dir / f"model_{name}.keras"),
        "network_path": str(run_dir / f"network_{name}.keras"),
        "epochs": spec.epochs,
        **extra,
        **weight_stats(bridge.kernels(stripped)),
    }


def run_compress_job(
    spec: CompressSpec, reporter: Reporter, run_dir: Path, context: JobContext | None = None
) -> dict[str, Any]:
    import core.training.layers  # noqa: F401  (registers custom layers for loading)

    ws = workspace_of(context)
    store = RunStore(ws.db_path)
    methods, pre = check_spec(spec, store, ws)
    source = store.get_run(spec.source_run)
    folder = ws.run_dir(spec.source_run)
    total = len(methods) + 2
    reporter.progress("loading", 0, total, "rebuilding the split and loading the models")
    ctx = _Context(spec, folder, source.spec, source.result or {}, run_dir)
    ctx.int8_scope, ctx.int8_note = pre.methods["int8"].scope, pre.methods["int8"].note
    for note in ctx.data.notes:
        reporter.event(note, "warning")

    try:
        return _compress(spec, reporter, run_dir, ctx, methods, pre, total)
    finally:
        shutil.rmtree(ctx.work, ignore_errors=True)


def _compress(spec, reporter, run_dir, ctx: _Context, methods, pre, total) -> dict[str, Any]:
    """The baseline once, then every variant beside it (their report rows share its numbers)."""
    from core.compression.report import keras_latency, measure, weight_stats
    from core.export.convert import savedmodel_to_tflite
    from core.runs.worker import describe_failure

    folder = ctx.folder
    reporter.progress("baseline", 1, total, "measuring the float TFLite baseline")
    baseline_path = run_dir / "model_float.tflite"
    if (folder / "model.tflite").is_file():  # the training run converted it already
        shutil.copy2(folder / "model.tflite", baseline_path)
    else:
        savedmodel_to_tflite(ctx.saved_model("model"), baseline_path)
    baseline, base_pred = measure(
        baseline_path, "float", ctx.task, ctx.data.test_x, ctx.data.test_y
    )
    ctx.made["baseline_evaluations"] += 1
    baseline["scope"] = "end-to-end"
    baseline.update(keras_latency(ctx.model, ctx.data.test_x))
    from core.compression.tfmot_bridge import kernels

    baseline.update(weight_stats(kernels(ctx.network)))
    reporter.artifact("model_float.tflite", baseline_path)

    variants = []
    for i, method in enumerate(methods):
        raise_if_canceled(reporter)
        reporter.progress("compressing", i + 2, total, f"{method}")
        try:
            if method in PTQ_METHODS:
                path, extra = _ptq(ctx, method, run_dir)
            else:
                path, extra = _bridge(ctx, method, run_dir, reporter)
            test_x = ctx.data.test_x if extra["scope"] == "end-to-end" else ctx.features("test")
            row, _ = measure(path, method, ctx.task, test_x, ctx.data.test_y, base_pred)
            row.update(extra)
            row["size_ratio"] = row["size_bytes"] / baseline["size_bytes"]
            row["gzip_ratio"] = row["gzip_bytes"] / baseline["gzip_bytes"]
            reporter.artifact(path.name, path)
            for key in ("keras_path", "network_path"):
                if extra.get(key):
                    reporter.artifact(Path(extra[key]).name, extra[key])
            reporter.event(
                f"{method}: {row['size_bytes']:,} bytes ({row['gzip_bytes']:,} gzipped), "
                f"{row['metric_name']} {row['metric']:.4g}, {row['latency_ms']:.3g} ms"
            )
        except JobCanceled:
            raise
        except BadInput as exc:
            row = {"method": method, "error": str(exc)}
        except Exception as exc:
            traceback.print_exc()
            row = {"method": method, "error": describe_failure(exc)}
        if "error" in row:
            reporter.event(f"{method} failed: {row['error']}", "warning")
        variants.append(row)
    if all("error" in v for v in variants):
        raise BadInput("; ".join(f"{v['method']}: {v['error']}" for v in variants))

    report = {
        "source_run": spec.source_run,
        "task": ctx.task,
        "methods": methods,
        "test_rows": int(len(ctx.data.test_y)),
        "evaluated_on": "the run's held-out test split, rebuilt from its spec, with the "
        "TFLite/LiteRT interpreter",
        "notes": ctx.data.notes,
        "preflight": pre.to_dict(),
        "baseline": baseline,
        "variants": variants,
        "shared": ctx.made,
    }
    (run_dir / REPORT_NAME).write_text(json.dumps(report, indent=2))
    reporter.artifact(REPORT_NAME, run_dir / REPORT_NAME)
    reporter.progress("done", total, total, f"{len(variants)} variant(s) measured")
    return report

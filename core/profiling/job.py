"""The profile job: capture a TensorFlow Profiler trace of a run's model, then convert it.

`run_profile_job(spec, reporter, run_dir)` loads a copy of a finished training run's network
(the run's own files are only read), rebuilds its input pipeline with the spec's what-ifs, and
then, in train mode, continues `fit` from the run's weights: a warm-up pass (it also fills the
cache), a pass over steps 1..B timed without the profiler, and the same steps again with the
profiler on around steps A..B (each step marked, so XProf sees step boundaries). Inference mode
does the same with batches of predictions. The `.xplane.pb` lands under `run_dir/profile/`;
XProf's converters turn it into `profile_summary.json` here, in the job, with recommendations.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.profiling.convert import summarize
from core.profiling.options import check_spec, resolve_steps
from core.profiling.recommend import recommend
from core.profiling.source import check_source
from core.runs.context import JobContext, workspace_of
from core.runs.reporter import Reporter, raise_if_canceled
from core.specs import ProfileSpec

log = logging.getLogger(__name__)

SUMMARY_NAME = "profile_summary.json"
LOG_DIR = "profile"  # <run>/profile/plugins/profile/<timestamp>/<host>.xplane.pb
WARMUP_STEPS = 3


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class _Recorder:
    """Wall time of each step; the profiler on around steps a..b of the profiled pass."""

    def __init__(self, logdir: Path, a: int, b: int, label: str) -> None:
        self.logdir, self.a, self.b, self.label = logdir, a, b, label
        self.profiling = False
        self.times: dict[int, float] = {}
        self.memory: list[dict[str, float]] = []
        self._trace: Any = None  # tf.profiler.experimental.Trace (TensorFlow ships no types)
        self._t0 = 0.0
        self._started = 0.0

    def start_pass(self) -> None:
        if self.profiling and self.a == 1:
            self._start()

    def _start(self) -> None:
        """Start the profiler between steps (before step A), so its own start-up is not
        charged to the first profiled step."""
        import tensorflow as tf

        options = tf.profiler.experimental.ProfilerOptions(
            host_tracer_level=2, python_tracer_level=0, device_tracer_level=1
        )
        tf.profiler.experimental.start(str(self.logdir), options=options)
        self._started = time.perf_counter()

    def prime(self, scratch: Path, run_steps) -> None:
        """One throwaway capture around a few warm-up steps: the first profiler session of a
        process sets up its tracers, which would otherwise slow the first profiled steps."""
        import shutil

        import tensorflow as tf

        options = tf.profiler.experimental.ProfilerOptions(
            host_tracer_level=2, python_tracer_level=0, device_tracer_level=1
        )
        tf.profiler.experimental.start(str(scratch), options=options)
        try:
            run_steps()
        finally:
            tf.profiler.experimental.stop()
            shutil.rmtree(scratch, ignore_errors=True)

    def begin(self, step: int) -> None:  # step is 1-based
        import tensorflow as tf

        # The timer starts before the trace annotation is entered and stops after it exits
        # (see end()), so the profiler's own per-step cost is charged to the profiled step.
        self._t0 = time.perf_counter()
        if self.profiling and self.a <= step <= self.b:
            self._trace = tf.profiler.experimental.Trace(self.label, step_num=step, _r=1)
            self._trace.__enter__()

    def end(self, step: int) -> None:
        import tensorflow as tf

        traced = self._trace is not None
        if traced:
            self._trace.__exit__(None, None, None)
            self._trace = None
        self.times[step] = (time.perf_counter() - self._t0) * 1000
        if traced:
            self.memory.append(
                {"t_ms": round((time.perf_counter() - self._started) * 1000, 3), "mb": _rss_mb()}
            )
        if self.profiling and step == self.a - 1:
            self._start()
        if self.profiling and step == self.b:
            tf.profiler.experimental.stop()
            self.profiling = False


def _keras_callback(recorder: _Recorder):
    import keras

    class Steps(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            recorder.start_pass()

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            recorder.begin(batch + 1)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            recorder.end(batch + 1)

    return Steps()


def _compile(network, pipeline, run_spec: dict[str, Any]) -> None:
    import keras

    if getattr(network, "optimizer", None) is not None and getattr(network, "compiled", False):
        return
    loss = "sparse_categorical_crossentropy" if pipeline.is_classification else "mse"
    rate = float(run_spec.get("learning_rate") or 0.001)
    network.compile(keras.optimizers.Adam(rate), loss=loss)


def _train(network, pipeline, a: int, b: int, recorder: _Recorder, reporter, spec) -> None:
    """Warm-up, then steps 1..B without the profiler, with it, and without it again: the
    unprofiled reference is the mean of the passes either side, so a machine that speeds up
    or slows down during the profile does not pass for profiler overhead."""
    callback = _keras_callback(recorder)
    spe = pipeline.steps_per_epoch
    warm = min(spe, max(b, WARMUP_STEPS))
    reporter.progress("warming up", 0, 5, f"{warm} step(s) without the profiler")
    if spec.cache:
        for _ in pipeline.dataset:  # one whole pass: tf.data keeps a cache only once complete
            pass
    network.fit(pipeline.dataset, epochs=1, steps_per_epoch=warm, verbose=0)
    recorder.prime(
        recorder.logdir.parent / "priming",
        lambda: network.fit(
            pipeline.dataset, epochs=1, steps_per_epoch=min(b, WARMUP_STEPS), verbose=0
        ),
    )
    passes = []
    for i, profiled in enumerate((False, True, False)):
        raise_if_canceled(reporter)
        what = f"steps {a}-{b} with the profiler on" if profiled else f"steps 1-{b} unprofiled"
        reporter.progress("profiling" if profiled else "timing", i + 1, 5, what)
        recorder.times = {}
        recorder.profiling = profiled
        network.fit(pipeline.dataset, epochs=1, steps_per_epoch=b, verbose=0, callbacks=[callback])
        passes.append(recorder.times)
    recorder.times = passes[1]
    recorder.reference = _mean_passes(passes[0], passes[2])  # type: ignore[attr-defined]
    recorder.passes = passes  # type: ignore[attr-defined]


def _mean_passes(first: dict[int, float], second: dict[int, float]) -> dict[int, float]:
    return {s: (first[s] + second[s]) / 2 for s in first if s in second}


def _inference(network, pipeline, n: int, recorder: _Recorder, reporter) -> None:
    import tensorflow as tf

    @tf.function
    def predict(x):
        return network(x, training=False)

    def run(count: int) -> None:
        batches = iter(pipeline.dataset.repeat())
        recorder.start_pass()
        for i in range(1, count + 1):
            recorder.begin(i)
            x, _ = next(batches)
            out = predict(x)
            _ = tf.nest.map_structure(lambda t: t.numpy(), out)  # wait for the result
            recorder.end(i)

    reporter.progress("warming up", 0, 5, f"{max(n, WARMUP_STEPS)} batch(es) unprofiled")
    run(max(n, WARMUP_STEPS))
    recorder.prime(recorder.logdir.parent / "priming", lambda: run(WARMUP_STEPS))
    passes = []
    for i, profiled in enumerate((False, True, False)):
        raise_if_canceled(reporter)
        reporter.progress(
            "profiling" if profiled else "timing",
            i + 1,
            5,
            f"{n} batch(es) {'with the profiler on' if profiled else 'unprofiled'}",
        )
        recorder.times = {}
        recorder.profiling = profiled
        run(n)
        passes.append(recorder.times)
    recorder.times = passes[1]
    recorder.reference = _mean_passes(passes[0], passes[2])  # type: ignore[attr-defined]
    recorder.passes = passes  # type: ignore[attr-defined]


def _timing(recorder: _Recorder, a: int, b: int) -> dict[str, Any]:
    """Profiled steps against the same steps of the unprofiled pass (step 1 of a pass also
    pays for its iterator, so it is left out when other steps remain)."""
    reference = getattr(recorder, "reference", {})
    chosen = [s for s in range(a, b + 1) if s in recorder.times and s in reference]
    if len(chosen) > 1 and chosen[0] == 1:
        chosen = chosen[1:]
    profiled = [recorder.times[s] for s in chosen]
    unprofiled = [reference[s] for s in chosen]
    ratio = None
    if profiled and unprofiled and statistics.median(unprofiled) > 0:
        ratio = round(statistics.median(profiled) / statistics.median(unprofiled), 3)
    passes = getattr(recorder, "passes", [{}, {}, {}])
    return {
        "steps": chosen,
        "profiled_ms": [round(t, 4) for t in profiled],
        "unprofiled_ms": [round(t, 4) for t in unprofiled],
        "unprofiled_before_ms": [round(passes[0].get(s, 0.0), 4) for s in chosen],
        "unprofiled_after_ms": [round(passes[2].get(s, 0.0), 4) for s in chosen],
        "overhead_ratio": ratio,
    }


def run_profile_job(
    spec: ProfileSpec, reporter: Reporter, run_dir: Path, context: JobContext | None = None
) -> dict[str, Any]:
    from core.models.io import load_run_model
    from core.profiling import pipeline as pipelines
    from core.runs.store import RunStore

    spec = check_spec(spec)
    ws = workspace_of(context)
    folder, source = check_source(spec, RunStore(ws.db_path), ws)  # before TensorFlow loads
    run_dir.mkdir(parents=True, exist_ok=True)
    reporter.progress("preparing", 0, 5, "loading the run's network and rebuilding its data")
    contract = json.loads((folder / "features.json").read_text())
    network = load_run_model(folder, "network.keras")  # a copy in memory: the run stays as is
    if contract.get("input_kind", "table") == "table":
        preprocess = load_run_model(folder, "preprocessing.keras")
        pipeline = pipelines.table_pipeline(spec, source, folder, preprocess)
    else:
        pipeline = pipelines.family_pipeline(spec, source, run_dir / "scratch", reporter)
    for note in pipeline.notes:
        reporter.event(note)
    if pipeline.rows < 1:
        raise BadInput(f"run {spec.source_run} has no training rows to profile")
    if spec.mode == "train":
        a, b = resolve_steps(
            spec.steps, pipeline.steps_per_epoch, pipeline.rows, pipeline.batch_size
        )
    else:
        a, b = 1, spec.batches
    label = "train" if spec.mode == "train" else "inference"
    logdir = run_dir / LOG_DIR
    recorder = _Recorder(logdir, a, b, label)
    reporter.event(
        f"{spec.mode}: {'steps' if spec.mode == 'train' else 'batches'} {a}-{b} at batch size "
        f"{pipeline.batch_size} ({pipeline.rows} rows, {pipeline.steps_per_epoch} step(s) per "
        f"epoch); prefetch {spec.prefetch}, cache {'on' if spec.cache else 'off'}"
        + (f", parallel map calls {spec.parallel_calls}" if pipeline.has_map else "")
    )
    try:
        if spec.mode == "train":
            _compile(network, pipeline, source.spec)
            _train(network, pipeline, a, b, recorder, reporter, spec)
        else:
            _inference(network, pipeline, b, recorder, reporter)
    finally:
        if recorder.profiling:  # a failure or cancel mid-profile leaves no profiler running
            import tensorflow as tf

            try:
                tf.profiler.experimental.stop()
            except Exception as exc:  # noqa: BLE001  (already stopped: the error says why)
                log.debug("profiler stop after a failure: %s", exc)
    reporter.progress("converting", 4, 5, "turning the trace into the views (XProf converters)")
    summary = summarize(logdir)
    trace_path = Path(summary["traces"][-1])
    summary.update(
        {
            "source_run": spec.source_run,
            "mode": spec.mode,
            "range": [a, b],
            "profiled_steps": b - a + 1,
            "steps_per_epoch": pipeline.steps_per_epoch,
            "knobs": {
                "batch_size": pipeline.batch_size,
                "prefetch": spec.prefetch,
                "cache": spec.cache,
                **({"parallel_calls": spec.parallel_calls} if pipeline.has_map else {}),
                "train_rows": pipeline.rows,
            },
            "timing": _timing(recorder, a, b),
            "trace_path": str(trace_path),
            "trace_relpath": str(trace_path.relative_to(run_dir)),
            "logdir": str(logdir),
            "gpu": _gpus(),
            "notes": pipeline.notes,
        }
    )
    summary["memory"]["process"] = {
        "source": "this worker's resident memory (RSS), sampled at the end of each profiled step",
        "points": recorder.memory,
    }
    summary["recommendations"] = recommend(summary)
    (run_dir / SUMMARY_NAME).write_text(json.dumps(summary))
    reporter.artifact(SUMMARY_NAME, run_dir / SUMMARY_NAME)
    reporter.artifact("trace.xplane.pb", trace_path)
    ratio = summary["timing"]["overhead_ratio"]
    reporter.event(
        f"step time {summary['step_time_ms']:.3g} ms, input {summary['input_percent']:.3g}% of "
        f"each step; converted in {summary['conversion_s']:.2f} s"
        + (f"; profiled steps ran at {ratio:.2f}x the unprofiled ones" if ratio else "")
    )
    reporter.progress("done", 5, 5, "finished")
    return {
        "source_run": spec.source_run,
        "mode": spec.mode,
        "range": [a, b],
        "step_time_ms": summary["step_time_ms"],
        "input_percent": summary["input_percent"],
        "breakdown_ms": summary["breakdown_ms"],
        "top_ops": [
            {k: o[k] for k in ("name", "type", "self_time_us", "percent")}
            for o in summary["top_ops"][:10]
        ],
        "recommendations": summary["recommendations"],
        "trace": str(trace_path),
        "overhead_ratio": ratio,
        "conversion_s": summary["conversion_s"],
        "knobs": summary["knobs"],
    }


def _gpus() -> list[str]:
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]

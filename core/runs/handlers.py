"""Which function runs each job kind, as import strings so the caller never imports TensorFlow.

A handler is `handler(spec, reporter, run_dir) -> result dict`. Extra kinds (tests, plug-ins)
come from `TFSTUDIO_HANDLERS="kind=module:function,..."`, which workers inherit.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

BUILTIN: dict[str, str] = {
    "train": "core.training.job:run_train_job",
    "export": "core.export.job:run_export_job",
    "predict": "core.predict.job:run_predict_job",
    "batch_predict": "core.predict.batch:run_batch_predict_job",
    "inspect": "core.models.inspect:run_inspect_job",
    "compress": "core.compression.job:run_compress_job",
    "pipeline": "core.pipelines.job:run_pipeline_job",
    "profile": "core.profiling.job:run_profile_job",
    "tune": "core.tuning.job:run_tune_job",
    "automl": "core.tuning.automl:run_automl_job",
}

# Kinds whose jobs import TensorFlow: their worker imports it first under its own phase
# ("starting TensorFlow"), and a warm worker (core.runs.warm), which has it imported, serves them.
# A pipeline only orchestrates other runs, so it takes a plain cold worker.
USES_TENSORFLOW: frozenset[str] = frozenset(BUILTIN) - {"pipeline"}


def uses_tensorflow(kind: str) -> bool:
    """Whether this kind's job imports TensorFlow: a built-in TF kind whose handler has not been
    replaced through TFSTUDIO_HANDLERS (a test's or plug-in's handler may never touch TF)."""
    return kind in USES_TENSORFLOW and handler_table().get(kind) == BUILTIN.get(kind)


def warm_kinds() -> frozenset[str]:
    """Kinds a warm worker takes; extra ones (tests) from `TFSTUDIO_WARM_KINDS="kind,kind"`."""
    extra = {k.strip() for k in os.environ.get("TFSTUDIO_WARM_KINDS", "").split(",") if k.strip()}
    return USES_TENSORFLOW | extra


# Kinds whose jobs keep their own progress in the run folder and continue from it when a lost,
# failed or canceled run is resumed (`launcher.resume`); other kinds start over as new runs.
# Extra kinds (tests, plug-ins) come from `TFSTUDIO_RESUMABLE="kind,kind"`.
RESUMABLE: frozenset[str] = frozenset({"pipeline", "tune", "automl"})


def resumable_kinds() -> frozenset[str]:
    extra = {k.strip() for k in os.environ.get("TFSTUDIO_RESUMABLE", "").split(",") if k.strip()}
    return RESUMABLE | extra


Handler = Callable[..., dict[str, Any]]


def handler_table() -> dict[str, str]:
    table = dict(BUILTIN)
    for item in filter(None, os.environ.get("TFSTUDIO_HANDLERS", "").split(",")):
        kind, _, target = item.partition("=")
        table[kind.strip()] = target.strip()
    return table


def resolve_handler(kind: str) -> Handler:
    try:
        target = handler_table()[kind]
    except KeyError:
        raise KeyError(f"no handler for run kind {kind!r}") from None
    module_name, _, func_name = target.partition(":")
    return getattr(importlib.import_module(module_name), func_name)

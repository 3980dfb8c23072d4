"""The batch prediction job: a whole file through a finished model, in bounded memory.

`prepare_batch` (pure Python) resolves the model (a run id or a registered `name@vN`), opens the
input and checks it against the model's contract, so the CLI and the page refuse a wrong file
before any worker starts. The job then reads, predicts and writes one chunk at a time with its
progress on the run; rows that cannot be read are listed by row, line or file name and either
refuse the whole file (nothing is written) or are skipped, as the spec says: never dropped
without a word.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import BadInput, NotFound
from core.predict.batch_inputs import BadRow, Chunk, Source, chunks, last_window, open_source
from core.predict.inputs import load_contract, source_run_dir
from core.predict.outputs import PredictionWriter, check_out
from core.runs.context import JobContext, workspace_of
from core.runs.reporter import Reporter
from core.runs.store import RunStore
from core.specs import BAD_ROWS, PREDICTION_FORMATS, BatchPredictSpec
from core.training.families.common import CLASSIFICATION_TASKS
from core.training.features import ModelContract
from core.workspace import Workspace

LISTED_BAD_ROWS = 20  # bad rows named in the result and the message; all are counted
PREVIEW_ROWS = 10
OUT_STEM = "predictions"


@dataclass
class Prepared:
    run_id: str  # the training run whose model predicts
    model_ref: str  # what the user named: the run id or name@vN
    run_dir: Path
    contract: ModelContract
    source: Source
    out: Path


def resolve_model(ref: str, ws: Workspace) -> tuple[str, str]:
    """(training run id, how to name it) for a run id or a registered model (name@vN, name)."""
    ref = (ref or "").strip()
    if not ref:
        raise BadInput("choose the model: a training run's id or a registered model (name@vN)")
    store = RunStore(ws.db_path)
    try:
        store.get_run(ref)
        return ref, ref
    except (NotFound, KeyError):
        pass
    from core.registry.store import Registry

    try:
        version = Registry(ws).get(ref)
    except NotFound as exc:
        raise BadInput(f"{ref!r} is neither a run id nor a registered model: {exc}") from None
    return version.run_id, version.id


def prepare_batch(spec: BatchPredictSpec, ws: Workspace, run_dir: Path | None = None) -> Prepared:
    """Everything checked before TensorFlow: the model, the input's columns, the output path."""
    if spec.bad_rows not in BAD_ROWS:
        raise BadInput(f"bad rows are {' or '.join(BAD_ROWS)}d, not {spec.bad_rows!r}")
    if spec.chunk_rows < 1:
        raise BadInput("chunk_rows must be at least 1")
    run_id, ref = resolve_model(spec.source, ws)
    folder = source_run_dir(RunStore(ws.db_path), ws, run_id)
    contract = load_contract(folder)
    source = open_source(spec.data, contract, ws)
    if spec.out:
        out = check_out(spec.out)
    elif spec.out_format not in PREDICTION_FORMATS:
        raise BadInput(f"predictions are written as {', '.join(PREDICTION_FORMATS)}")
    else:
        out = (run_dir or folder) / f"{OUT_STEM}{spec.out_format}"
    return Prepared(run_id, ref, folder, contract, source, out)


# -- the model's side (TensorFlow) ---------------------------------------------------------


def _tensors(chunk: Chunk, contract: ModelContract, model):
    import tensorflow as tf

    from core.training.features import to_inputs

    kind = contract.input_kind
    if kind == "table":
        return to_inputs(chunk.frame, contract.features)
    if kind == "text":
        texts = tf.constant(chunk.frame["text"].tolist())
        return texts if len(model.inputs[0].shape) == 1 else texts[:, None]
    size = int(contract.details.get("image_size", 64))
    images = []
    for raw in chunk.images:
        try:
            image = tf.io.decode_image(raw, channels=3, expand_animations=False)
        except tf.errors.InvalidArgumentError:  # BMP/GIF/WebP: Pillow re-encodes as PNG
            image = tf.io.decode_png(_as_png(raw), channels=3)
        images.append(tf.image.resize(image, (size, size)))  # as training decoded them
    return tf.stack(images)


def _as_png(raw: bytes) -> bytes:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(raw)) as image:
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="PNG")
        return buf.getvalue()


def probabilities(output: np.ndarray) -> np.ndarray:
    """Rows of class probabilities; logits (anything not summing to 1) pass through softmax."""
    p = np.asarray(output, dtype="float64").reshape(len(output), -1)
    if p.size and (p.min() < 0 or np.abs(p.sum(axis=1) - 1.0).max() > 1e-3):
        e = np.exp(p - p.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
    return p


def output_frame(ids: list, id_column: str, output: np.ndarray, contract: ModelContract):
    """The predictions of one chunk as output columns."""
    frame = pd.DataFrame({id_column: ids})
    if contract.task in CLASSIFICATION_TASKS and contract.classes:
        p = probabilities(output)
        best = p.argmax(axis=1)
        classes = np.asarray([str(c) for c in contract.classes], dtype=object)
        frame["predicted"] = classes[best]
        frame["confidence"] = p[np.arange(len(p)), best]
        for j, c in enumerate(classes):
            frame[f"p_{c}"] = p[:, j]
        return frame
    flat = np.asarray(output, dtype="float64").reshape(len(ids), -1)
    names = contract.target.split(",") if contract.target else ["value"]
    if flat.shape[1] == len(names):
        for j, name in enumerate(names):
            frame[f"predicted_{name}"] = flat[:, j]
    else:
        for j in range(flat.shape[1]):
            frame[f"predicted_{j}"] = flat[:, j]
    return frame


def _forecast(prepared: Prepared, model, writer: PredictionWriter) -> int:
    window, last = last_window(prepared.source, prepared.contract)
    output = np.asarray(model.predict(window, verbose=0))[0]  # (horizon, targets)
    output = output.reshape(output.shape[0], -1) if output.ndim > 1 else output[:, None]
    targets = prepared.contract.target.split(",")
    frame = pd.DataFrame({"step": np.arange(1, len(output) + 1)})
    if last:
        frame["after"] = last
    for j, name in enumerate(targets[: output.shape[1]]):
        frame[name] = output[:, j].astype("float64")
    writer.write(frame)
    return len(frame)


def _refusal(bad: list[BadRow], count: int, name: str) -> BadInput:
    listed = "; ".join(f"{b.where}: {b.reason}" for b in bad[:5])
    more = f" (and {count - 5} more)" if count > 5 else ""
    return BadInput(
        f"{count} row{'s' if count > 1 else ''} of {name} cannot be read, so nothing was "
        f"written: {listed}{more}. Fix them, or choose to skip rows that cannot be read."
    )


def run_batch_predict_job(
    spec: BatchPredictSpec, reporter: Reporter, run_dir: Path, context: JobContext | None = None
) -> dict[str, Any]:
    started = time.perf_counter()
    ws = workspace_of(context)
    prepared = prepare_batch(spec, ws, Path(run_dir))
    source, contract = prepared.source, prepared.contract
    reporter.progress("loading", 0, 1, "loading the model")
    from core.models.io import load_run_model

    model = load_run_model(prepared.run_dir)
    writer = PredictionWriter(prepared.out)
    bad: list[BadRow] = []
    bad_count = 0
    read = 0
    try:
        if contract.input_kind == "sequence":
            rows = _forecast(prepared, model, writer)
        else:
            rows = 0
            for chunk in chunks(source, contract, spec.chunk_rows):
                bad_count += len(chunk.bad)
                bad.extend(chunk.bad[: max(0, LISTED_BAD_ROWS - len(bad))])
                read += len(chunk.ids) + len(chunk.bad)
                if reporter.should_stop():
                    raise BadInput("canceled: no predictions were written")
                refusing = spec.bad_rows == "refuse" and bad_count
                if chunk.ids and not refusing:  # refusing: only read on, to count them all
                    output = np.asarray(
                        model.predict(_tensors(chunk, contract, model), batch_size=4096, verbose=0)
                    )
                    writer.write(output_frame(chunk.ids, source.id_column, output, contract))
                    rows += len(chunk.ids)
                reporter.progress(
                    "predicting",
                    chunk.done,
                    source.total,
                    f"{rows:,} predicted" + (f", {bad_count:,} unreadable" if bad_count else ""),
                )
            if spec.bad_rows == "refuse" and bad_count:
                raise _refusal(bad, bad_count, source.path.name)
            if rows == 0:
                raise BadInput(f"{source.path.name} has no rows the model could read")
        writer.close()
    except BaseException:
        writer.abort()
        raise
    seconds = time.perf_counter() - started
    if bad_count:
        reporter.event(f"skipped {bad_count:,} unreadable row(s); the first: {bad[0].where}: "
                       f"{bad[0].reason}", "warning")  # fmt: skip
    reporter.artifact("predictions", prepared.out)
    preview = _preview(prepared.out)
    result: dict[str, Any] = {
        "source_run": prepared.run_id,
        "model": prepared.model_ref,
        "task": contract.task,
        "input_kind": contract.input_kind,
        "classes": list(contract.classes),
        "data": str(source.path),
        "format": source.fmt,
        "out": str(prepared.out),
        "rows_read": read,
        "rows_predicted": rows,
        "bad_rows": bad_count,
        "bad_examples": [b.to_dict() for b in bad],
        "ignored_columns": source.ignored_columns,
        "columns": list(preview.columns),
        "preview": preview.astype(object).where(preview.notna(), None).to_dict(orient="records"),
        "seconds": seconds,
        "rows_per_s": rows / seconds if seconds > 0 else 0.0,
    }
    reporter.progress("done", 1, 1, f"{rows:,} predictions in {seconds:.1f} s")
    return result


def _preview(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        return pd.DataFrame()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        f = pq.ParquetFile(path)
        return next(f.iter_batches(batch_size=PREVIEW_ROWS)).to_pandas()
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True, nrows=PREVIEW_ROWS)
    return pd.read_csv(path, nrows=PREVIEW_ROWS)

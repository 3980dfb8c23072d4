"""Tables: one named input per column, preprocessing layers per column type."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.data.resolve import LoadedData
from core.data.tabular import TableInfo, class_labels, prepare_table
from core.errors import BadInput
from core.specs import TrainSpec
from core.training.baselines import BaselineData
from core.training.families.common import Prepared
from core.training.features import (
    FeatureSpec,
    ModelContract,
    raw_arrays,
    safe_input_names,
    to_inputs,
)
from core.training.preprocessing import build_preprocessing_model, log_scaled
from core.training.split import table_split

if TYPE_CHECKING:
    from core.data.streamed import StreamedTable


def contract_for(info: TableInfo | StreamedTable, bucketize: tuple[str, ...] = ()) -> ModelContract:
    names = safe_input_names(info.features)
    feats = [FeatureSpec(c, names[c], "float32") for c in info.numeric]
    feats += [FeatureSpec(c, names[c], "string") for c in info.categorical]
    feats += [FeatureSpec(c, names[c], "string_hashed") for c in info.hashed]
    feats += [FeatureSpec(c, names[c], "int64") for c in info.integer_categories]
    binned = set(bucketize)
    unknown = binned - set(info.numeric)
    if unknown:
        raise BadInput(f"only numeric columns can be bucketized, not {', '.join(sorted(unknown))}")
    feats = [
        FeatureSpec(f.column, f.input, "float32_binned") if f.column in binned else f for f in feats
    ]
    return ModelContract(info.task, info.target, feats, info.classes, "table")


def targets(frame: pd.DataFrame, contract: ModelContract) -> np.ndarray:
    y = frame[contract.target]
    if contract.task == "classification":
        index = {c: i for i, c in enumerate(contract.classes)}
        return class_labels(y).map(index).to_numpy("int32")
    return y.to_numpy("float32")


def prepare(spec: TrainSpec, loaded: LoadedData, run_dir, reporter) -> Prepared:
    if loaded.stream is not None:  # a large table: streamed from its Parquet file
        return _prepare_streamed(spec, loaded, run_dir, reporter)
    from core.data.pipelines import array_dataset

    task = spec.task if spec.task in ("classification", "regression") else "auto"
    info = prepare_table(
        loaded.frame, spec.target, task, spec.coerce_numeric, types=_schema_types(loaded)
    )
    contract = contract_for(info, spec.bucketize)
    labels = class_labels(info.frame[info.target]) if info.task == "classification" else None
    parts = table_split(info.frame, spec, labels, loaded.schema)
    reporter.progress("preprocessing", 0, 1, "adapting preprocessing layers on the training split")
    preprocess = build_preprocessing_model(parts["train"], contract.features)
    logged = log_scaled(preprocess, contract.features)
    if logged:
        reporter.event(f"log-scaled before normalising (a long right tail): {', '.join(logged)}")

    def encode(part):
        return preprocess.predict(to_inputs(part, contract.features), verbose=0)

    x_train, x_val = encode(parts["train"]), encode(parts["validation"])
    y_train, y_val = targets(parts["train"], contract), targets(parts["validation"], contract)
    parts["test"].head(64).to_csv(run_dir / "test_sample.csv", index=False)
    reporter.artifact("test_sample.csv", run_dir / "test_sample.csv")
    scale = None
    if info.task == "regression":
        scale = (float(y_train.mean()), float(y_train.std() or 1.0))
    return Prepared(
        baseline_data=baseline_rows(info, parts, contract),
        task=info.task,
        input_kind="table",
        contract=contract,
        preprocess=preprocess,
        train=array_dataset(x_train, y_train, spec.batch_size, shuffle=True, seed=spec.seed),
        train_labels=y_train if info.task == "classification" else None,
        validation=array_dataset(x_val, y_val, 256),
        test_inputs=raw_arrays(parts["test"], contract.features),
        test_y=targets(parts["test"], contract),
        outputs=len(info.classes) if info.task == "classification" else 1,
        network_input_shape=(x_train.shape[1],),
        rows={k: len(v) for k, v in parts.items()},
        target_scale=scale,
        warnings=info.warnings,
    )


def baseline_rows(info: TableInfo, parts: dict[str, pd.DataFrame], contract) -> BaselineData:
    """The raw columns of the training + validation rows and of the test rows, for the
    baselines: numbers as floats (missing as NaN), everything else as text categories."""
    numeric = [c for c in info.numeric]
    categorical = info.categorical + info.hashed + info.integer_categories

    def columns(frame: pd.DataFrame) -> pd.DataFrame:
        out = {c: pd.to_numeric(frame[c], errors="coerce").astype("float64") for c in numeric}
        for c in categorical:
            values = frame[c]
            out[c] = values.where(values.isna(), values.astype(str)).astype(object)
        return pd.DataFrame(out, index=frame.index)

    seen = pd.concat([parts["train"], parts["validation"]])
    return BaselineData(
        kind="table",
        x_train=columns(seen),
        y_train=targets(seen, contract),
        x_test=columns(parts["test"]),
        numeric=numeric,
        categorical=categorical,
    )


def _schema_types(loaded: LoadedData) -> dict[str, str] | None:
    if not loaded.schema:
        return None
    return {c["name"]: c["type"] for c in loaded.schema.get("columns", [])}


def _prepare_streamed(spec: TrainSpec, loaded: LoadedData, run_dir, reporter) -> Prepared:
    """A table too large to hold: the same model, fed by streaming the stored Parquet file
    (core/data/stream.py) instead of arrays in memory."""
    from core.data import stream, streamed

    source = loaded.stream
    assert source is not None  # prepare() streams only a version with a stored table
    task = spec.task if spec.task in ("classification", "regression") else "auto"
    info = streamed.plan_table(source.stats, loaded.schema, spec.target, task)
    contract = contract_for(info, spec.bucketize)
    target_stats = source.stats["columns"][info.target]
    reporter.progress("preprocessing", 0, 2, "splitting the rows (target column only)")
    parts, class_ids = streamed.split_parts(
        source.parquet, spec, info.target, info.task, target_stats, loaded.schema
    )
    rows = {name: int((parts == code).sum()) for code, name in enumerate(streamed.PARTS)}
    reporter.progress(
        "preprocessing", 1, 2, "gathering the training split's statistics in one streaming pass"
    )
    stats, test = streamed.train_statistics(source.parquet, parts, contract.features, info.target)
    preprocess = build_preprocessing_model(None, contract.features, stats)
    binned = [f.column for f in contract.features if f.dtype == "float32_binned"]
    reporter.event(
        f"streaming {source.rows:,} rows from {source.parquet.name} "
        f"({source.size / 2**20:.0f} MB, {streamed.num_row_groups(source.parquet)} row groups); "
        f"preprocessing adapted from the statistics of the {rows['train']:,} training rows, "
        "gathered in one streaming pass"
        + (
            f" (quantile bins of {', '.join(binned)} from a sample of at most "
            f"{streamed.SAMPLE_ROWS:,} training rows)"
            if binned
            else ""
        )
    )
    is_class = info.task == "classification"
    y_of = stream.Targets(info.target, target_stats, info.classes if is_class else None)
    scale = None
    if is_class:  # one int32 per row, not a class name per row
        y_train, y_test = class_ids[parts == 0], class_ids[parts == 2]
    else:
        import pyarrow.parquet as pq

        y = pq.read_table(source.parquet, columns=[info.target]).column(0)
        y = y.to_numpy().astype("float32")
        y_train, y_test = y[parts == 0], y[parts == 2]
        del y
        scale = (float(y_train.mean()), float(y_train.std() or 1.0))
    test.head(64).to_csv(run_dir / "test_sample.csv", index=False)
    reporter.artifact("test_sample.csv", run_dir / "test_sample.csv")

    def dataset(part: str, batch_size: int, shuffle: bool):
        return stream.table_dataset(
            source.parquet,
            parts,
            part,
            contract.features,
            y_of,
            preprocess,
            batch_size,
            shuffle=shuffle,
            seed=spec.seed,
        )

    return Prepared(
        task=info.task,
        input_kind="table",
        contract=contract,
        preprocess=preprocess,
        train=dataset("train", spec.batch_size, True),
        train_labels=y_train if is_class else None,
        validation=dataset("validation", 256, False),
        test_inputs=raw_arrays(test, contract.features),  # the first rows the stream serves
        test_y=y_test,
        test_stream=stream.inputs_dataset(source.parquet, parts, "test", contract.features),
        outputs=len(info.classes) if is_class else 1,
        network_input_shape=(int(preprocess.output.shape[-1]),),
        rows=rows,
        target_scale=scale,
        warnings=info.warnings,
        hp={},
    )

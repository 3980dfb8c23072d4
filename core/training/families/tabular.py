"""Tables: one named input per column, preprocessing layers per column type."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.resolve import LoadedData
from core.data.tabular import TableInfo, class_labels, prepare_table
from core.errors import BadInput
from core.specs import TrainSpec
from core.training.families.common import Prepared
from core.training.features import (
    FeatureSpec,
    ModelContract,
    raw_arrays,
    safe_input_names,
    to_inputs,
)
from core.training.preprocessing import build_preprocessing_model
from core.training.split import table_split


def contract_for(info: TableInfo, bucketize: tuple[str, ...] = ()) -> ModelContract:
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


def _schema_types(loaded: LoadedData) -> dict[str, str] | None:
    if not loaded.schema:
        return None
    return {c["name"]: c["type"] for c in loaded.schema.get("columns", [])}

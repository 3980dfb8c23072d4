"""The training and test rows of a finished run, rebuilt from its spec.

Training saves only 64 unlabeled test rows, so the split is recomputed the way the run's family
made it (same data, same seed, same split function) and checked against the saved rows. Tables
keep their raw training rows; images, text and series come back through the family's own
`prepare`, whose training pipeline yields the network's inputs (the preprocessed features).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import BadInput
from core.specs import TrainSpec
from core.training.families.common import load_test_inputs
from core.training.features import ModelContract, raw_arrays


@dataclass
class SplitData:
    train_x: dict[str, np.ndarray]  # raw inputs by input name (tables; empty otherwise)
    train_y: np.ndarray
    test_x: dict[str, np.ndarray] | np.ndarray  # raw inputs by name, or the one raw input
    test_y: np.ndarray
    notes: list[str] = field(default_factory=list)
    # images, text, series: the training rows as the network takes them (preprocessed)
    train_features: np.ndarray | None = None


def rebuild(run_spec: dict, run_result: dict, folder: Path) -> SplitData:
    """The split of any run: tables by rows, other kinds through their family."""
    contract = ModelContract.load(folder / "features.json")
    if contract.input_kind == "table":
        return rebuild_split(run_spec, run_result, folder)
    return rebuild_prepared(run_spec, run_result, folder, contract)


class _Quiet:
    """A reporter that drops the family's progress messages."""

    def progress(self, *args, **kwargs):
        pass

    def event(self, *args, **kwargs):
        pass


def _reload(spec: TrainSpec, run_result: dict):
    """The run's data as it is today, and the notes for the report (the loader's own, and
    whether the data changed since training)."""
    from core.data.resolve import load_data

    loaded = load_data(spec.data, bounded=True)
    notes = list(loaded.notes)
    trained_sha = (run_result.get("data") or {}).get("sha256")
    if trained_sha and loaded.lineage.get("sha256") != trained_sha:
        notes.append(
            "the data changed since training (sha256 differs): the metric is on today's split"
        )
    return loaded, notes


def rebuild_prepared(
    run_spec: dict, run_result: dict, folder: Path, contract: ModelContract
) -> SplitData:
    import importlib
    import tempfile

    import keras

    from core.training.build import FAMILY

    spec = TrainSpec.from_dict(run_spec)
    if spec.task != contract.task:
        from core.training.build import with_task

        spec = with_task(spec, contract.task)
    loaded, notes = _reload(spec, run_result)
    family = importlib.import_module(f"core.training.families.{FAMILY[contract.input_kind]}")
    keras.utils.set_random_seed(spec.seed)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = family.prepare(spec, loaded, Path(tmp), _Quiet())
    xs, ys = [], []
    for x, y in prepared.train:  # one pass: every training example once
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    if not xs:
        raise BadInput("the training split is empty: nothing to calibrate or fine-tune on")
    test_x = np.asarray(prepared.test_inputs)
    data = SplitData(
        {},
        np.concatenate(ys),
        test_x,
        np.asarray(prepared.test_y),
        notes,
        np.concatenate(xs),
    )
    saved = folder / "test_inputs.npz"
    if saved.is_file() and not _same_rows(load_test_inputs(saved), {"input": test_x}):
        data.notes.append(
            "the rebuilt test split differs from the inputs saved at training time: the metric "
            "may not be on the exact held-out examples"
        )
    return data


def rebuild_split(run_spec: dict, run_result: dict, folder: Path) -> SplitData:
    from core.data.tabular import class_labels, prepare_table
    from core.training.families.tabular import targets
    from core.training.split import table_split

    spec = TrainSpec.from_dict(run_spec)
    contract = ModelContract.load(folder / "features.json")
    loaded, notes = _reload(spec, run_result)
    types = (
        {c["name"]: c["type"] for c in loaded.schema.get("columns", [])} if loaded.schema else None
    )
    info = prepare_table(loaded.frame, spec.target, contract.task, spec.coerce_numeric, types=types)
    labels = class_labels(info.frame[info.target]) if info.task == "classification" else None
    parts = table_split(info.frame, spec, labels, loaded.schema)
    test_x = raw_arrays(parts["test"], contract.features)
    data = SplitData(
        raw_arrays(parts["train"], contract.features),
        targets(parts["train"], contract),
        test_x,
        targets(parts["test"], contract),
        notes,
    )
    saved = folder / "test_inputs.npz"
    if saved.is_file() and not _same_rows(load_test_inputs(saved), test_x):
        data.notes.append(
            "the rebuilt test split differs from the rows saved at training time: the metric "
            "may not be on the exact held-out rows"
        )
    return data


def _same_rows(saved: dict[str, np.ndarray], rebuilt: dict[str, np.ndarray]) -> bool:
    for name, values in saved.items():
        if name not in rebuilt:
            return False
        mine = rebuilt[name][: len(values)]
        if mine.shape != values.shape:
            return False
        if values.dtype.kind in "fc":
            if not np.allclose(mine.astype("float64"), values, equal_nan=True):
                return False
        elif not (mine.astype(str) == values.astype(str)).all():
            return False
    return True

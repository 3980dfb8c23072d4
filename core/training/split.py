"""Train / validation / test splits: random, stratified (classes keep their shares in every part)
or time-ordered (the newest rows are held out, as they will be in production)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.errors import BadInput

SPLITS = ("auto", "random", "stratified", "time")


def split_rows(
    frame: pd.DataFrame,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: pd.Series | None = None,
    order_by: pd.Series | None = None,
) -> dict[str, pd.DataFrame]:
    """Split rows; `order_by` (times) makes it time-ordered, else `stratify` (labels) if every
    class has enough rows to appear in each part, else random."""
    check_fractions(validation_fraction, test_fraction)
    if order_by is not None:
        ordered = frame.loc[order_by.sort_values(kind="stable").index]
        cuts = time_cuts(len(ordered), validation_fraction, test_fraction)
        parts = {name: ordered.iloc[cut] for name, cut in cuts.items()}
    else:
        labels = None if stratify is None else np.asarray(stratify)
        train, val, test = shuffled_positions(
            len(frame), validation_fraction, test_fraction, seed, labels
        )
        parts = {
            "train": frame.iloc[train],
            "validation": frame.iloc[val],
            "test": frame.iloc[test],
        }
    check_not_empty(parts)
    return {k: v.reset_index(drop=True) for k, v in parts.items()}


def time_cuts(n: int, validation_fraction: float, test_fraction: float) -> dict[str, slice]:
    """Where a time-ordered split cuts n rows in time order: the newest rows are held out."""
    train_end = int(n * (1 - validation_fraction - test_fraction))
    val_end = int(n * (1 - test_fraction))
    return {"train": slice(0, train_end), "validation": slice(train_end, val_end),
            "test": slice(val_end, n)}  # fmt: skip


def check_not_empty(parts: dict) -> None:
    """BadInput naming the first empty part (frames or position arrays)."""
    for name, part in parts.items():
        if len(part) == 0:
            raise BadInput(f"the {name} split is empty: the table needs more rows")


def check_fractions(validation_fraction: float, test_fraction: float) -> None:
    for name, frac in (("validation", validation_fraction), ("test", test_fraction)):
        if not 0 < frac <= 0.5:
            raise BadInput(f"the {name} fraction must be in (0, 0.5], got {frac}")
    if validation_fraction + test_fraction >= 1:
        raise BadInput("the validation and test fractions take every row: leave some for training")


def stratifies(spec) -> bool:
    """Whether a table spec's split keeps each class's share in every part (when it can);
    BadInput for an unknown split."""
    if spec.split not in SPLITS:
        raise BadInput(f"unknown split {spec.split!r}; choose one of {', '.join(SPLITS)}")
    return spec.split in ("auto", "stratified")


def table_split(frame: pd.DataFrame, spec, labels: pd.Series | None, schema: dict | None):
    """The split a table spec asks for: `time` orders by the schema's time column (or row order),
    `auto`/`stratified` stratify class labels, `random` does neither."""
    stratify = labels if stratifies(spec) else None
    order_by = None
    if spec.split == "time":
        column = spec.time_column or (schema or {}).get("time_column")
        if column and column in frame.columns:
            order_by = pd.to_datetime(
                frame[column].astype("string"), errors="coerce", format="mixed"
            )
        else:
            order_by = pd.Series(range(len(frame)), index=frame.index)  # the file's row order
    return split_rows(
        frame, spec.validation_fraction, spec.test_fraction, spec.seed, stratify, order_by
    )


def shuffled_positions(
    n: int, validation_fraction: float, test_fraction: float, seed: int, labels=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) positions in 0..n-1 of a random split, stratified on `labels`
    (one per row) when every class has at least 3 rows. The positions, in their order, are
    scikit-learn's `train_test_split` (test first, then validation from the rest, same seed)."""
    check_fractions(validation_fraction, test_fraction)
    if labels is not None and _classes(labels)[2].min() < 3:
        labels = None
    rest, test = _shuffle_split(n, test_fraction, seed, labels)
    try:
        train, val = _shuffle_split(
            len(rest),
            validation_fraction / (1 - test_fraction),
            seed,
            None if labels is None else labels[rest],
        )
    except ValueError:  # as scikit-learn says: "the resulting train set will be empty"
        raise BadInput("the train split is empty: the table needs more rows") from None
    check_not_empty({"train": train, "validation": val, "test": test})
    return rest[train], rest[val], test


def _classes(labels: np.ndarray):
    """np.unique(labels, return_inverse=True, return_counts=True); integer labels (a large
    table's class ids) by counting, in 4 bytes a row instead of a sort's 20."""
    if labels.dtype.kind not in "iu" or len(labels) == 0:
        return np.unique(labels, return_inverse=True, return_counts=True)
    low = int(labels.min())
    counts = np.bincount(labels - low if low else labels)
    present = np.flatnonzero(counts)
    lookup = np.zeros(len(counts), np.int32)
    lookup[present] = np.arange(len(present), dtype=np.int32)
    inverse = lookup[labels - low] if low else lookup[labels]
    return present + low, inverse, counts[present]


def _shuffle_split(n: int, test_size: float, seed: int, labels):
    """scikit-learn's ShuffleSplit / StratifiedShuffleSplit (as `train_test_split` calls them):
    the same (train, test) positions, drawn with the same RandomState calls, but held as
    arrays. Its stratified split collects positions in Python lists (~40 bytes a row: 1 GB for
    10M rows, the largest peak of a streaming worker). Held equal by tests/test_split.py."""
    from sklearn.utils import check_random_state
    from sklearn.utils.extmath import _approximate_mode

    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_train == 0:
        raise ValueError("the resulting train set will be empty")
    rng = check_random_state(seed)
    if labels is None:
        order = rng.permutation(n)
        return order[n_test : n_test + n_train], order[:n_test]
    classes, inverse, counts = _classes(labels)
    if counts.min() < 2 or n_train < len(classes) or n_test < len(classes):
        raise ValueError("too few rows of a class to stratify")
    by_class = np.argsort(inverse, kind="stable")
    del inverse
    bounds = np.concatenate([[0], np.cumsum(counts)])
    n_i = _approximate_mode(counts, n_train, rng)
    t_i = _approximate_mode(counts - n_i, n_test, rng)
    train, test = np.empty(n_train, np.intp), np.empty(n_test, np.intp)
    at_train = at_test = 0
    for i in range(len(classes)):
        mine = by_class[bounds[i] : bounds[i + 1]].take(rng.permutation(counts[i]), mode="clip")
        train[at_train : at_train + n_i[i]] = mine[: n_i[i]]
        test[at_test : at_test + t_i[i]] = mine[n_i[i] : n_i[i] + t_i[i]]
        at_train += n_i[i]
        at_test += t_i[i]
    del by_class
    rng.shuffle(train)  # rng.permutation(list) draws the same: a copy, then this shuffle
    rng.shuffle(test)
    return train, test

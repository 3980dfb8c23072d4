"""Train / validation / test splits: random, stratified (classes keep their shares in every part)
or time-ordered (the newest rows are held out, as they will be in production)."""

from __future__ import annotations

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
        n = len(ordered)
        train_end = int(n * (1 - validation_fraction - test_fraction))
        val_end = int(n * (1 - test_fraction))
        parts = {
            "train": ordered.iloc[:train_end],
            "validation": ordered.iloc[train_end:val_end],
            "test": ordered.iloc[val_end:],
        }
    else:
        # Imported here: scikit-learn takes seconds to import, and the pages that import this
        # module (Train, Tune) should draw before it is needed.
        from sklearn.model_selection import train_test_split

        if stratify is not None and stratify.value_counts().min() < 3:
            stratify = None
        rest, test = train_test_split(
            frame, test_size=test_fraction, random_state=seed, stratify=stratify
        )
        rest_strat = stratify.loc[rest.index] if stratify is not None else None
        try:
            train, val = train_test_split(
                rest,
                test_size=validation_fraction / (1 - test_fraction),
                random_state=seed,
                stratify=rest_strat,
            )
        except ValueError:  # scikit-learn: "the resulting train set will be empty"
            raise BadInput("the train split is empty: the table needs more rows") from None
        parts = {"train": train, "validation": val, "test": test}
    for name, part in parts.items():
        if len(part) == 0:
            raise BadInput(f"the {name} split is empty: the table needs more rows")
    return {k: v.reset_index(drop=True) for k, v in parts.items()}


def check_fractions(validation_fraction: float, test_fraction: float) -> None:
    for name, frac in (("validation", validation_fraction), ("test", test_fraction)):
        if not 0 < frac <= 0.5:
            raise BadInput(f"the {name} fraction must be in (0, 0.5], got {frac}")
    if validation_fraction + test_fraction >= 1:
        raise BadInput("the validation and test fractions take every row: leave some for training")


def table_split(frame: pd.DataFrame, spec, labels: pd.Series | None, schema: dict | None):
    """The split a table spec asks for: `time` orders by the schema's time column (or row order),
    `auto`/`stratified` stratify class labels, `random` does neither."""
    if spec.split not in SPLITS:
        raise BadInput(f"unknown split {spec.split!r}; choose one of {', '.join(SPLITS)}")
    order_by = None
    if spec.split == "time":
        column = spec.time_column or (schema or {}).get("time_column")
        if column and column in frame.columns:
            order_by = pd.to_datetime(
                frame[column].astype("string"), errors="coerce", format="mixed"
            )
        else:
            order_by = pd.Series(range(len(frame)), index=frame.index)  # the file's row order
    stratify = labels if spec.split in ("auto", "stratified") else None
    return split_rows(
        frame, spec.validation_fraction, spec.test_fraction, spec.seed, stratify, order_by
    )

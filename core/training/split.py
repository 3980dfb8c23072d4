"""Train / validation / test splits (stratified for classification when every class allows it)."""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import train_test_split

from core.errors import BadInput


def split_rows(
    frame: pd.DataFrame,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: pd.Series | None = None,
) -> dict[str, pd.DataFrame]:
    for name, frac in (("validation", validation_fraction), ("test", test_fraction)):
        if not 0 < frac <= 0.5:
            raise BadInput(f"the {name} fraction must be in (0, 0.5], got {frac}")
    # Stratify only when each class has enough rows to appear in every part.
    if stratify is not None and stratify.value_counts().min() < 3:
        stratify = None
    rest, test = train_test_split(
        frame,
        test_size=test_fraction,
        random_state=seed,
        stratify=stratify if stratify is not None else None,
    )
    rest_strat = stratify.loc[rest.index] if stratify is not None else None
    train, val = train_test_split(
        rest,
        test_size=validation_fraction / (1 - test_fraction),
        random_state=seed,
        stratify=rest_strat,
    )
    parts = {"train": train, "validation": val, "test": test}
    for name, part in parts.items():
        if len(part) == 0:
            raise BadInput(f"the {name} split is empty: the table needs more rows")
    return {k: v.reset_index(drop=True) for k, v in parts.items()}

"""Time series: sorted by time, split in time order, windowed in the tf.data pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.resolve import LoadedData
from core.data.table_import import check_time_column
from core.data.windows import WindowSpec, make_windows, window_starts
from core.errors import BadInput
from core.specs import TrainSpec
from core.training.baselines import BaselineData
from core.training.families.common import Prepared
from core.training.features import FeatureSpec, ModelContract
from core.training.series_baselines import mase_scale, series_baselines


def find_time_column(spec: TrainSpec, loaded: LoadedData) -> str | None:
    """The time column: the spec's, the schema's, the one date column or a numeric index named
    like one (year, t, step); None means the rows' own order (said in the run's warnings)."""
    if spec.time_column:
        return spec.time_column
    if loaded.schema and loaded.schema.get("time_column"):
        return loaded.schema["time_column"]
    from core.data.profile import infer_type
    from core.data.timeindex import guess_numeric_time_column

    stamped = [c for c in loaded.frame.columns if infer_type(loaded.frame[c])[0] == "timestamp"]
    if len(stamped) > 1:
        raise BadInput(
            f"choose the time column: {', '.join(map(str, stamped))} all hold dates/times"
        )
    return stamped[0] if stamped else guess_numeric_time_column(loaded.frame)


def series_frame(spec: TrainSpec, loaded: LoadedData) -> tuple[pd.DataFrame, WindowSpec, list[str]]:
    """The series sorted by time with gaps in its values filled; BadInput if unusable."""
    from core.data.timeindex import ROW_ORDER, time_values

    time_col = find_time_column(spec, loaded)
    warnings = []
    if time_col is None:
        time_col = ROW_ORDER
        loaded = LoadedData(
            loaded.frame.assign(**{ROW_ORDER: range(len(loaded.frame))}), loaded.label
        )
        warnings.append("no time column: the rows' order is taken as the time order")
    time_kind = check_time_column(loaded.frame, time_col)
    targets = tuple(t.strip() for t in spec.target.split(",") if t.strip())
    window = WindowSpec(spec.window, spec.horizon, spec.stride, targets, tuple(spec.features))
    missing = [c for c in window.input_columns if c not in loaded.frame.columns]
    if not targets or missing:
        raise BadInput(
            f"no column(s) {', '.join(missing) or 'to forecast'}; columns are: "
            f"{', '.join(map(str, loaded.frame.columns))}"
        )
    frame = (
        loaded.frame.assign(**{time_col: time_values(loaded.frame[time_col], time_kind)})
        .sort_values(time_col, kind="stable")
        .reset_index(drop=True)
    )
    for col in window.input_columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().all():
            raise BadInput(f"column {col!r} has no numbers to forecast with")
        gaps = int(values.isna().sum())
        if gaps:
            warnings.append(f"{gaps} missing value(s) in {col!r} filled by interpolation")
        frame[col] = values.interpolate(limit_direction="both")
    window = fitted_window(len(frame), window, spec, warnings)
    return frame[[time_col, *window.input_columns]], window, warnings


def fitted_window(n: int, window: WindowSpec, spec: TrainSpec, warnings: list[str]) -> WindowSpec:
    """The window, shortened (said in `warnings`) when the training part could not hold two
    of them; a series too short for even a one-step window keeps it, and is refused later."""
    import dataclasses

    train = segments(n, spec)["train"][1]
    if window.input_width + window.horizon < train:
        return window
    width = (train - window.horizon) // 2
    if width < 1:
        return window
    warnings.append(
        f"the window was shortened from {window.input_width} to {width} steps: the training "
        f"part of the {n}-step series ({train} steps) must hold several windows of "
        f"{window.input_width} + {window.horizon} steps"
    )
    return dataclasses.replace(window, input_width=width)


def segments(n: int, spec: TrainSpec) -> dict[str, tuple[int, int]]:
    """Row ranges of the time-ordered parts: oldest for training, newest for testing."""
    train_end = int(n * (1 - spec.validation_fraction - spec.test_fraction))
    val_end = int(n * (1 - spec.test_fraction))
    return {"train": (0, train_end), "validation": (train_end, val_end), "test": (val_end, n)}


def segment_starts(n: int, window: WindowSpec, spec: TrainSpec) -> dict[str, np.ndarray]:
    """Window starts of each part: every window whose forecast steps all lie inside the part.
    Its input steps may reach back into the earlier parts (they were observed before the
    forecast is made), so the newest part is judged on every one of its steps."""
    starts = {}
    for name, (lo, hi) in segments(n, spec).items():
        first = max(0, lo - window.input_width)
        try:
            starts[name] = first + window_starts(hi - first, window)
        except BadInput:
            raise BadInput(
                f"the {name} part of the series ({hi - lo} steps) is too short for windows of "
                f"{window.input_width} + {window.horizon} steps: use a shorter window or more "
                "data"
            ) from None
    return starts


def window_counts(n: int, window: WindowSpec, spec: TrainSpec) -> dict[str, int]:
    return {k: len(v) for k, v in segment_starts(n, window, spec).items()}


def build_series_preprocessing(train_values: np.ndarray, window: WindowSpec):
    import keras

    norm = keras.layers.Normalization(axis=-1, name="normalize")
    norm.adapt(train_values)
    inputs = keras.Input(shape=(window.input_width, len(window.input_columns)), name="window")
    return keras.Model(inputs, norm(inputs), name="preprocessing")


def prepare(spec: TrainSpec, loaded: LoadedData, run_dir, reporter) -> Prepared:
    from core.data.pipelines import AUTOTUNE, window_dataset

    frame, window, warnings = series_frame(spec, loaded)
    time_col = frame.columns[0]
    values = frame[list(window.input_columns)].to_numpy("float32")
    target_idx = [window.input_columns.index(t) for t in window.targets]
    targets = values[:, target_idx]
    starts = segment_starts(len(frame), window, spec)
    train_end = segments(len(frame), spec)["train"][1]
    preprocess = build_series_preprocessing(values[:train_end], window)

    def pipeline(name, shuffle):
        ds = window_dataset(
            values, targets, starts[name], window, spec.batch_size, shuffle, spec.seed
        )
        return ds.map(lambda x, y: (preprocess(x), y), num_parallel_calls=AUTOTUNE)

    test_x, test_y = make_windows(values, targets, starts["test"], window)
    last = test_x[:, -1, target_idx]  # naive forecast: the last value seen, for every step ahead
    baseline = np.repeat(last[:, None, :], window.horizon, axis=1)
    # the baselines see what the refit network sees: every step before the test part
    fit_end = segments(len(frame), spec)["validation"][1]
    others, seasons = series_baselines(
        values, target_idx, starts["test"], window.input_width, window.horizon, fit_end
    )
    season = max(seasons.values(), default=0)
    if season:
        warnings.append(
            f"the series repeats every {season} steps (its autocorrelation says so): the "
            "seasonal naive forecast (the value one season ago) is among the baselines"
        )
    mase = [mase_scale(values[:train_end, j], seasons[str(j)]) for j in target_idx]
    label_times = frame[time_col].to_numpy()[starts["test"] + window.input_width]
    contract = ModelContract(
        "forecasting",
        ",".join(window.targets),
        [FeatureSpec(c, "window", "float32") for c in window.input_columns],
        [],
        "sequence",
        {
            "window": window.to_dict(),
            "time_column": str(time_col),
            "test_label_times": [str(t) for t in label_times],
            "season": int(season),
            "mase_scale": [float(v) for v in mase],
        },
    )
    # The network predicts the change from the last value (see LastValue), scaled like the
    # targets' step-to-step changes.
    skip = season if 1 < season <= window.input_width else 0
    deltas = (
        targets[skip:train_end] - targets[: train_end - skip]
        if skip
        else np.diff(targets[:train_end], axis=0)
    )
    norm = preprocess.get_layer("normalize")
    in_mean = np.asarray(norm.mean).reshape(-1)[target_idx]
    in_std = np.sqrt(np.asarray(norm.variance).reshape(-1))[target_idx]
    return Prepared(
        task="forecasting",
        input_kind="sequence",
        contract=contract,
        preprocess=preprocess,
        train=pipeline("train", True),
        validation=pipeline("validation", False),
        test_inputs=test_x.astype("float32"),
        test_y=test_y.astype("float32"),
        outputs=(window.horizon, len(window.targets)),
        network_input_shape=(window.input_width, len(window.input_columns)),
        rows={k: int(len(v)) for k, v in starts.items()},
        target_scale=(
            np.zeros(len(target_idx), "float32"),
            np.maximum(deltas.std(axis=0), 1e-6).astype("float32"),
        ),
        residual={
            "indices": target_idx,
            "mean": in_mean.tolist(),
            "std": np.where(in_std > 0, in_std, 1.0).tolist(),
            "horizon": window.horizon,
            # from the seasonal naive forecast when the window holds a whole season
            "season": skip,
        },
        baseline=baseline.astype("float32"),
        warnings=warnings,
        baseline_data=BaselineData(
            "series",
            None,
            np.zeros(0),
            None,
            fixed={"last value": baseline.astype("float64"), **others},
        ),
    )

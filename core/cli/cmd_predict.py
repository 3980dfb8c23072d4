"""`tfstudio predict`: a whole file through a finished model.

    tfstudio predict RUN_ID|NAME@vN --data FILE|ZIP|FOLDER|DATASET --out predictions.csv
        [--bad-rows refuse|skip] [--chunk-rows N] [--json]

Tables (CSV, TSV, Parquet, JSON lines) give one row of predictions per input row (`row`, or
`line` for JSON lines: the input's own numbering), with the class, its probability and every
class's probability, or the predicted value; an image zip or folder gives one row per image
(`file`); a text model also takes a .txt of one text per line; a forecaster gives the horizon
after the file's last window (`step`). The file is checked against the model before a worker
starts: missing columns or an empty file exit 2 at once.
"""

from __future__ import annotations

from pathlib import Path

from core.cli.common import EXIT_FAILED, EXIT_OK, emit, launch, open_workspace, watch_result
from core.cli.flags import Flags, add_command, add_spec_flags, spec_values
from core.specs import BAD_ROWS, PREDICTION_FORMATS, BatchPredictSpec

FLAGS: Flags = {
    "data": {
        "required": True,
        "help": "a table file, a .txt of texts, an image zip or folder, or a dataset id (name@vN)",
    },  # fmt: skip
    "out": {
        "help": f"the predictions file ({', '.join(PREDICTION_FORMATS)}); "
        "default: predictions.csv in the run's folder"
    },  # fmt: skip
    "bad_rows": {
        "choices": list(BAD_ROWS),
        "help": "rows that cannot be read: refuse the file (nothing written) or skip them (listed)",
    },  # fmt: skip
    "chunk_rows": {"help": "rows read and predicted at a time"},
}


def _text(payload: dict) -> str:
    lines = [
        f"{payload['rows_predicted']:,} predictions -> {payload['out']} "
        f"({payload['rows_per_s']:,.0f} rows/s)"
    ]
    if payload.get("ignored_columns"):
        lines.append(f"ignored columns: {', '.join(payload['ignored_columns'])}")
    if payload.get("bad_rows"):
        lines.append(f"skipped {payload['bad_rows']:,} unreadable row(s):")
        lines += [f"  {b['where']}: {b['reason']}" for b in payload["bad_examples"]]
    return "\n".join(lines)


def cmd_predict(args) -> int:
    from core.predict.batch import prepare_batch

    ws, store = open_workspace(args)
    values = spec_values(args, FLAGS)
    for name in ("data", "out"):  # the worker may start elsewhere: paths as absolute ones
        raw = values[name]
        if raw and (name == "out" or Path(raw).expanduser().exists()):  # not a dataset id
            values[name] = str(Path(raw).expanduser().resolve())
    spec = BatchPredictSpec(source=args.model, **values)
    prepared = prepare_batch(spec, ws)  # a wrong model, file or output path exits 2 here
    run = launch(args, ws, store, spec, f"predict {prepared.source.path.name} with {args.model}")
    if run is None:
        return EXIT_OK
    payload = watch_result(args, store, run, error_line=True)
    if payload is None:
        return EXIT_FAILED
    emit(args, payload, f"{run.id}\n" + _text(payload))
    return EXIT_OK


def register(sub, common) -> None:
    p = add_command(
        sub,
        common,
        "predict",
        cmd_predict,
        "predict a whole file (table, texts, images, series) with a run's or registered model",
    )
    p.add_argument("model", help="a finished training run's id, or a registered NAME@vN")
    add_spec_flags(p, BatchPredictSpec, FLAGS)
    p.add_argument("--detach", action="store_true", help="start the job and return at once")

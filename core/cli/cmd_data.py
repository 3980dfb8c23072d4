"""`tfstudio data import|list|profile|validate`: dataset versions, profiles, drift checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.common import EXIT_OK, CliParser, emit
from core.errors import BadInput
from core.workspace import Workspace

# core.data.datasets.KINDS plus "auto"; spelled here so that building the parser does not
# import pandas (tests/test_cli_seams.py checks that the two agree).
IMPORT_KINDS = ("auto", "table", "timeseries", "text", "images")


def _read_options(args):
    from core.data.sources import ReadOptions

    missing = None
    if args.missing is not None:  # "" = nothing but empty fields is missing
        missing = ("", *(m.strip() for m in args.missing.split(",") if m.strip()))
    return ReadOptions(
        delimiter=args.delimiter,
        encoding=args.encoding,
        decimal=args.decimal,
        skip_bad_rows=args.skip_bad_rows,
        thousands={"none": ""}.get(args.thousands, args.thousands),
        missing=missing,
    )


def cmd_import(args) -> int:
    from core.data.datasets import DatasetStore

    ws = Workspace.resolve(args.home)
    path = Path(args.file).expanduser()
    source: bytes | Path
    if path.is_dir():  # a folder of class folders: zipped in memory, imported as images
        from core.data.resolve import folder_zip

        source, filename = folder_zip(path), f"{path.name}.zip"
    elif path.is_file():
        source, filename = path, path.name
    else:
        raise BadInput(f"no such file or folder: {args.file}")
    if args.dry_run:
        from core.data.preview import preview_import

        preview = preview_import(
            source,
            filename,
            kind=args.kind,
            target=args.target,
            time_column=args.time_column,
            options=_read_options(args),
        )
        emit(args, {"dry_run": True, **preview.to_dict()}, "\n".join(preview.lines()))
        return EXIT_OK
    store = DatasetStore(ws)
    version = store.import_file(
        source,
        filename,
        name=args.name,
        kind=args.kind,
        target=args.target,
        time_column=args.time_column,
        options=_read_options(args),
    )
    schema = store.schema(version)
    payload = {**version.to_dict(), "dataset_id": version.id, "schema": schema}
    emit(
        args,
        payload,
        f"{version.id} ({version.kind}, {version.rows:,} rows, {len(version.columns)} columns)",
    )
    return EXIT_OK


def cmd_list(args) -> int:
    from core.data.datasets import DatasetStore

    versions = DatasetStore(Workspace.resolve(args.home)).list_versions()
    emit(
        args,
        {"datasets": [v.to_dict() for v in versions]},
        "\n".join(f"{v.id:<24} {v.kind:<10} {v.rows:>9,} rows  {v.source}" for v in versions)
        or "no datasets yet",
    )
    return EXIT_OK


def cmd_profile(args) -> int:
    from core.data.datasets import DatasetStore
    from core.data.profile import profile_table
    from core.data.resolve import load_data

    ws = Workspace.resolve(args.home)
    loaded = load_data(args.source, ws)
    if loaded.dataset is not None and args.target is None:
        prof = DatasetStore(ws).profile(loaded.dataset)
    else:
        if args.target is not None and args.target not in loaded.frame.columns:
            raise BadInput(
                f"there is no column {args.target!r}; columns are: "
                f"{', '.join(map(str, loaded.frame.columns))}"
            )
        types = {c["name"]: c["type"] for c in loaded.schema["columns"]} if loaded.schema else None
        read = loaded.dataset.read if loaded.dataset else None
        prof = profile_table(loaded.frame, target=args.target, types=types, read=read)
    payload = {
        "source": loaded.label,
        "lineage": loaded.lineage,
        "schema": prof.schema,
        **prof.to_dict(),
    }
    from core.data.profile_report import describe_range, describe_time

    text = "\n".join(
        [f"{loaded.label}: {prof.rows:,} rows"]
        + [
            f"  {c.name:<28} {c.type:<12} missing {c.missing:>7,}  distinct {c.distinct:>7,}"
            f"{'  ' + describe_range(c) if describe_range(c) else ''}"
            for c in prof.columns
        ]
        + ([describe_time(prof)] if prof.time_column else [])
        + [f"issue: {i}" for i in prof.issues]
    )
    emit(args, payload, text)
    return EXIT_OK


def cmd_schema(args) -> int:
    from core.data.datasets import DatasetStore

    store = DatasetStore(Workspace.resolve(args.home))
    version = store.get(args.dataset)
    if args.undo:
        if args.type or args.target or args.time_column:
            raise BadInput("--undo goes back one schema version: give it alone")
        prof = store.undo_schema(version)
    else:
        types = {}
        for item in args.type:
            column, sep, kind = item.partition("=")
            if not sep or not column.strip() or not kind.strip():
                raise BadInput(f"--type takes COLUMN=TYPE, not {item!r}")
            types[column.strip()] = kind.strip()
        if not (types or args.target or args.time_column):
            raise BadInput("give --type COLUMN=TYPE, --target, --time-column or --undo")
        prof = store.update_schema(
            version, types=types, target=args.target, time_column=args.time_column
        )
    schema = store.schema(version)
    lines = [f"{version.id} schema v{schema.get('schema_version', 1)}"]
    for c in prof.columns:
        notes = f"  ({'; '.join(c.notes)})" if c.notes else ""
        lines.append(f"  {c.name:<28} {c.type:<12} missing {c.missing:>7,}{notes}")
    emit(args, {"dataset": version.id, "schema": schema, **prof.to_dict()}, "\n".join(lines))
    return EXIT_OK


def cmd_validate(args) -> int:
    from core.data.datasets import DatasetStore
    from core.data.sources import read_table
    from core.data.validation import validate_frame

    ws = Workspace.resolve(args.home)
    store = DatasetStore(ws)
    reference = store.get(args.against)
    new = read_table(Path(args.file).expanduser(), options=_read_options(args)).frame
    report = validate_frame(new, store.read_frame(reference), store.schema(reference))
    payload = {"against": reference.id, "file": str(args.file), **report.to_dict()}
    text = "\n".join(
        [f"{len(report.anomalies)} anomalies against {reference.id}"]
        + [
            f"  [{a.severity}] {a.column or '(table)'} {a.kind}: {a.detail}"
            for a in report.anomalies
        ]
    )
    emit(args, payload, text)
    return EXIT_OK


def register(sub, common) -> None:
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("--delimiter", help="field separator (default: detected)")
    reading.add_argument(
        "--encoding", choices=["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]
    )
    reading.add_argument("--decimal", choices=[".", ","], help="decimal mark (default: detected)")
    reading.add_argument(
        "--thousands",
        choices=[",", ".", " ", "'", "none"],
        help="thousands separator (default: detected)",
    )
    reading.add_argument(
        "--missing",
        help="comma-separated values that mean missing (default: '', ?, NA, N/A, -, null, "
        "None, NaN, ...); empty fields are always missing",
    )
    reading.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="skip rows with the wrong number of fields (counted)",
    )

    data = sub.add_parser("data", help="import, profile and validate datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=CliParser)
    p = data_sub.add_parser(
        "import",
        parents=[common, reading],
        help="import a table file, an image zip or a folder of class folders as a dataset version",
    )
    p.add_argument("file")
    p.add_argument("--name")
    p.add_argument("--kind", default="auto", choices=list(IMPORT_KINDS))
    p.add_argument("--target")
    p.add_argument("--time-column")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show how the file will be read (options, first rows, column types); write nothing",
    )
    p.set_defaults(func=cmd_import)
    p = data_sub.add_parser(
        "schema",
        parents=[common],
        help="correct column types, target or time column (a new schema version), or undo",
    )
    p.add_argument("dataset", help="dataset id (name@vN)")
    p.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="COLUMN=TYPE",
        help="e.g. --type price=numeric (repeatable); text is re-parsed with the file's options",
    )
    p.add_argument("--target")
    p.add_argument("--time-column")
    p.add_argument("--undo", action="store_true", help="go back to the schema before the last")
    p.set_defaults(func=cmd_schema)
    p = data_sub.add_parser("list", parents=[common], help="list dataset versions")
    p.set_defaults(func=cmd_list)
    p = data_sub.add_parser(
        "profile", parents=[common], help="schema and statistics of a file, sample or dataset"
    )
    p.add_argument("source", help="a file, sample:NAME or a dataset id (name@vN)")
    p.add_argument("--target")
    p.set_defaults(func=cmd_profile)
    p = data_sub.add_parser(
        "validate",
        parents=[common, reading],
        help="check new data against a dataset's schema and statistics",
    )
    p.add_argument("file")
    p.add_argument("--against", required=True, help="dataset id (name@vN)")
    p.set_defaults(func=cmd_validate)

"""`tfstudio`: the command line.

Conventions for every command: `--json` prints one JSON object on stdout at the end (progress goes
to stderr); exit 0 on success, 1 when the job failed, 2 on bad input with one `error: ...` line on
stderr; `--home DIR` or TFSTUDIO_HOME selects the workspace.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

from core.cli.common import EXIT_BAD_INPUT, CliParser
from core.errors import BadInput, NotFound, storage_fault
from core.logs import setup_logging
from core.runs.dbfile import sqlite_fault


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", help="workspace folder (default: $TFSTUDIO_HOME or ~/.tfstudio)")
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    parser = CliParser(prog="tfstudio", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CliParser)
    for module in _command_modules():
        module.register(sub, common)
    return parser


def _command_modules():
    """Command families in `core/cli/cmd_*.py`, each with `register(subparsers, common)`."""
    import importlib
    import pkgutil

    import core.cli

    names = sorted(
        m.name for m in pkgutil.iter_modules(core.cli.__path__) if m.name.startswith("cmd_")
    )
    return [importlib.import_module(f"core.cli.{name}") for name in names]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    try:
        return args.func(args)
    except (BadInput, NotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, sqlite3.DatabaseError) as exc:  # a read-only or full disk: one line
        fault = storage_fault(exc) if isinstance(exc, OSError) else sqlite_fault(exc)
        if fault is None:
            raise
        print(f"error: {fault}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())

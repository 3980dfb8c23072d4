"""Command-line flags read from spec fields: a command lists the fields it offers, with help or
choices, and each flag's name, type and default come from the field, so a command cannot drift
from the spec it fills (`add_spec_flags`), and the spec is built from the same list
(`spec_values`)."""

from __future__ import annotations

import argparse
from typing import Any

from core.spec_base import Spec, field_default

# field name -> extra argparse options: help, choices, metavar, required, type, `flag` (another
# name than --field-name) or `default` (where a command starts elsewhere than the spec).
Flags = dict[str, dict[str, Any]]


def csv(text: str) -> tuple[str, ...]:
    """A comma-separated flag as the tuple a spec field holds (empty items dropped)."""
    return tuple(item for item in text.split(",") if item)


def add_spec_flags(p: argparse.ArgumentParser, spec_type: type[Spec], flags: Flags) -> None:
    """One flag a field, in the order given. A bool field is a switch; a number is parsed as
    its default's type; a tuple is comma-separated."""
    for name, extra in flags.items():
        options = dict(extra)
        flag = options.pop("flag", "--" + name.replace("_", "-"))
        default = options.setdefault("default", field_default(spec_type, name))
        if isinstance(default, bool):
            options.setdefault("action", "store_true")
        elif isinstance(default, (int, float)):
            options.setdefault("type", type(default))
        elif isinstance(default, tuple):
            options.setdefault("type", csv)
        p.add_argument(flag, dest=name, **options)


def spec_values(args: argparse.Namespace, *flags: Flags) -> dict[str, Any]:
    """The parsed values of the fields `flags` name, as keyword arguments for their spec."""
    return {name: getattr(args, name) for table in flags for name in table}


def add_command(sub, common, name: str, func, help: str) -> argparse.ArgumentParser:
    """A subcommand with the shared flags (--home, --json) that runs `func(args)`."""
    p = sub.add_parser(name, parents=[common], help=help)
    p.set_defaults(func=func)
    return p

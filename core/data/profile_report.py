"""What a table's profile tells a person: its columns' ranges, its time step, its issues."""

from __future__ import annotations

import pandas as pd

from core.data.profile_types import ColumnProfile, TableProfile


def describe_range(c: ColumnProfile) -> str:
    """A column's range as a person reads it: dates as dates, durations as durations."""
    if not c.stats or "min" not in c.stats:
        return ""
    if c.type == "timestamp":
        return f"{c.stats.get('first', '')[:19]} .. {c.stats.get('last', '')[:19]}"
    if c.stats.get("unit") == "seconds":  # a duration column, stored as seconds
        return f"{_human_seconds(c.stats['min'])} .. {_human_seconds(c.stats['max'])}"
    return f"{c.stats['min']:g} .. {c.stats['max']:g}"


def _human_seconds(seconds: float) -> str:
    return str(pd.Timedelta(seconds=seconds)).replace("0 days ", "")


def describe_time(prof: TableProfile) -> str:
    """'time column YEAR (years): step 1 year, 0 gaps, 0% irregular'."""
    t = prof.time or {}
    index = t.get("index")
    kind = f" ({index.replace('-', ' ')})" if index else ""
    if not t.get("step"):
        return f"time column {prof.time_column}{kind}: no regular step"
    return (
        f"time column {prof.time_column}{kind}: step {t['step']}, {t.get('gap_count', 0)} "
        f"gap(s), {t.get('irregular_fraction', 0):.0%} irregular steps"
    )


def find_issues(prof: TableProfile) -> list[str]:
    """Problems a person should know about before training."""
    issues = []
    for c in prof.columns:
        if c.count == 0:
            issues.append(f"column {c.name!r} is entirely missing")
            continue
        if c.distinct == 1:
            issues.append(f"column {c.name!r} is constant: it carries no information")
        if c.missing_fraction > 0.5:
            issues.append(f"column {c.name!r} is {c.missing_fraction:.0%} missing")
        if c.type == "categorical" and c.distinct > 0.9 * c.count and c.count > 50:
            issues.append(f"column {c.name!r} looks like an identifier ({c.distinct} distinct)")
        issues.extend(
            f"column {c.name!r}: {n}"
            for n in c.notes
            if n.startswith(("mixed", "looks numeric")) or "could not be read as" in n
        )
    if prof.class_balance:
        total = sum(prof.class_balance.values())
        if len(prof.class_balance) < 2:
            issues.append(f"the target {prof.target!r} has a single class")
        for label, n in prof.class_balance.items():
            if n < 5 or n / total < 0.01:
                issues.append(f"class {label!r} of {prof.target!r} is rare ({n} rows)")
    if prof.target and prof.target in [c.name for c in prof.columns]:
        if prof.column(prof.target).count == 0:
            issues.append(f"the target {prof.target!r} has no values")
    if prof.time:
        if prof.time.get("gap_count"):
            issues.append(
                f"the time column {prof.time_column!r} has {prof.time['gap_count']} "
                f"gap(s) (step {prof.time['step']})"
            )
        if prof.time.get("irregular_fraction", 0) > 0.05:
            issues.append(
                f"time steps in {prof.time_column!r} are irregular "
                f"({prof.time['irregular_fraction']:.0%} differ from the usual step)"
            )
        if prof.time.get("duplicates"):
            issues.append(
                f"{prof.time['duplicates']} duplicate time stamp(s) in {prof.time_column!r}"
            )
    return issues

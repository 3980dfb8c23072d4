"""The statistics stage: the new rows' profile (types, missing values, issues)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.pipelines.job import Runner


def run(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.data.profile import find_issues, profile_table

    new = r.new_rows()
    prof = profile_table(new, target=r.ctx.get("target") or None)
    (out / "statistics.json").write_text(json.dumps(prof.to_dict()))
    issues = find_issues(prof)
    return {
        "rows": int(len(new)),
        "columns": {
            c.name: {"type": c.type, "missing": round(c.missing_fraction, 4)} for c in prof.columns
        },
        "issues": issues,
    }

"""The evaluate stage: challenger against production on the new test rows, by the stage's
metric, direction and margin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import BadInput
from core.pipelines.checks import default_metric, direction_for

if TYPE_CHECKING:
    from core.pipelines.job import Runner


def run(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.pipelines.compare import compare_on_test_split

    learner = r.outputs("train") or r.outputs("tune")
    metric = str(stage.params.get("metric") or default_metric(r.ctx.get("task", "")))
    direction = direction_for(metric, stage.params.get("direction"))
    margin = float(stage.params.get("margin", 0.0))
    scores = compare_on_test_split(r.ws, learner["run_id"], r.ctx.get("production_run"))
    challenger = scores["challenger"]["metrics"].get(metric)
    if challenger is None:
        raise BadInput(
            f"stage {stage.name}: the challenger does not log {metric!r}; it logs "
            f"{', '.join(scores['challenger']['metrics'])}"
        )
    production = scores.get("production", {}).get("metrics", {}).get(metric)
    if production is None:
        improvement = None
        better = True
        reason = (
            "no production model yet: the challenger becomes the first"
            if not r.ctx.get("production_run")
            else f"the production model cannot score the new test rows "
            f"({scores['production'].get('error')}): the challenger wins"
        )
    else:
        improvement = challenger - production if direction == "max" else production - challenger
        better = improvement > margin
        reason = (
            f"{metric} {challenger:.4g} vs production {production:.4g} "
            f"({'+' if improvement >= 0 else ''}{improvement:.4g}, "
            f"{'better' if better else 'not better'} than the margin {margin:g})"
        )
    data = {
        **scores,
        "metric": metric,
        "direction": direction,
        "margin": margin,
        "challenger_value": challenger,
        "production_value": production,
        "improvement": improvement,
        "better": better,
        "reason": reason,
    }
    (out / "evaluation.json").write_text(json.dumps(data, indent=2))
    r.reporter.event(f"evaluate: {reason}")
    return {
        "metric": metric,
        "direction": direction,
        "margin": margin,
        "challenger": challenger,
        "production": production,
        "improvement": improvement,
        "better": better,
        "reason": reason,
        "rows": scores["rows"],
    }

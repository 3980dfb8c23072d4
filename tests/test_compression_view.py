"""The compression trade-off chart: axes a reader can read."""

from dashboard.compression_view import pareto_figure


def _result(metrics: list[float]) -> dict:
    rows = [
        {"method": m, "metric_name": "accuracy", "metric": v, "size_bytes": s}
        for m, v, s in zip(
            ["float", "int8", "prune"], metrics, [300_000, 90_000, 80_000], strict=True
        )
    ]
    return {"baseline": rows[0], "variants": rows[1:]}


def test_equal_accuracies_get_a_tight_axis_not_zero_to_one_and_a_half():
    fig = pareto_figure(_result([0.9667, 0.9667, 0.9667]), "size_bytes", "size")
    lo, hi = fig.layout.yaxis.range
    assert 0.9 < lo < 0.9667 < hi < 1.0


def test_spread_accuracies_keep_every_point_inside_the_axis():
    fig = pareto_figure(_result([0.98, 0.95, 0.90]), "size_bytes", "size")
    lo, hi = fig.layout.yaxis.range
    assert lo < 0.90 and hi > 0.98 and hi - lo < 0.2

"""Small inline SVG charts for the run report: no JavaScript, no network, print-friendly.

Each function takes plain numbers and returns one `<svg>` element as a string.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape

PALETTE = ("#1967D2", "#E8710A", "#188038", "#A142F4", "#D93025", "#12B5CB")
W, H = 460, 250
FONT = "Helvetica, Arial, sans-serif"
PAD_L, PAD_R, PAD_T, PAD_B = 56, 16, 28, 40


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000 or abs(v) < 0.01:
        return f"{v:.2g}"
    return f"{v:.3g}"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def _frame(title: str, x_label: str, y_label: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}" font-family="{FONT}" role="img" '
        f'aria-label="{escape(title)}" class="chart">'
        f'<text x="{W / 2}" y="16" text-anchor="middle" font-size="13" '
        f'font-weight="600">{escape(title)}</text>'
        + "".join(body)
        + f'<text x="{(PAD_L + W - PAD_R) / 2}" y="{H - 6}" text-anchor="middle" '
        f'font-size="11">{escape(x_label)}</text>'
        f'<text x="12" y="{(PAD_T + H - PAD_B) / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 12 {(PAD_T + H - PAD_B) / 2})">{escape(y_label)}</text></svg>'
    )


def _axes(
    x0: float, x1: float, y0: float, y1: float, integer_x: bool = False
) -> tuple[list[str], Callable[[float], float], Callable[[float], float]]:
    """Grid, tick labels and the data-to-pixel mappings for a plot area."""
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x1 + 0.5

    def sx(x: float) -> float:
        return PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R)

    def sy(y: float) -> float:
        return H - PAD_B - (y - y0) / (y1 - y0) * (H - PAD_T - PAD_B)

    body = []
    for t in _ticks(y0, y1):
        y = sy(t)
        body.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#E0E0E0"/>'
            f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">'
            f"{_fmt(t)}</text>"
        )
    for t in _ticks(x0, x1, 6):
        if integer_x and t != int(t):
            continue  # epochs and trials are whole numbers
        x = sx(t)
        body.append(
            f'<text x="{x:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" font-size="10">'
            f"{_fmt(t)}</text>"
        )
    body.append(
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{W - PAD_L - PAD_R}" '
        f'height="{H - PAD_T - PAD_B}" fill="none" stroke="#9AA0A6"/>'
    )
    return body, sx, sy


def line_chart(
    title: str,
    series: Mapping[str, Sequence[float | None]],
    x_label: str = "epoch",
    y_label: str = "",
    marker_x: float | None = None,
    marker_label: str = "",
) -> str:
    """Lines over x = 1..n (epochs); None values leave gaps. `marker_x` draws a dashed rule."""
    values = [v for ys in series.values() for v in ys if v is not None and math.isfinite(v)]
    n = max((len(ys) for ys in series.values()), default=0)
    if not values or n == 0:
        return ""
    lo, hi = min(values), max(values)
    margin = (hi - lo) * 0.05 or abs(hi) * 0.05 or 0.5
    body, sx, sy = _axes(1, max(n, 2), lo - margin, hi + margin, integer_x=True)
    for i, (name, ys) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        points = [
            f"{sx(j + 1):.1f},{sy(v):.1f}"
            for j, v in enumerate(ys)
            if v is not None and math.isfinite(v)
        ]
        dash = ' stroke-dasharray="5 3"' if name.startswith("val") else ""
        body.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" '
            f'stroke-width="2"{dash}/>'
        )
        body.append(
            f'<text x="{W - PAD_R - 4}" y="{PAD_T + 14 + 14 * i}" text-anchor="end" '
            f'font-size="11" fill="{color}">{escape(name)}</text>'
        )
    if marker_x is not None:
        x = sx(marker_x)
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{H - PAD_B}" stroke="#D93025" '
            f'stroke-dasharray="3 3"/><text x="{x - 4:.1f}" y="{H - PAD_B - 6}" '
            f'text-anchor="end" font-size="10" fill="#D93025">{escape(marker_label)}</text>'
        )
    return _frame(title, x_label, y_label, body)


def scatter_chart(
    title: str, xs: list[float], ys: list[float], x_label: str, y_label: str, diagonal: bool
) -> str:
    """Points; `diagonal` draws y = x (predicted vs actual)."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=False) if math.isfinite(x) and math.isfinite(y)]
    if not pairs:
        return ""
    allv = [p[0] for p in pairs] + ([p[1] for p in pairs] if diagonal else [])
    x0, x1 = min(allv), max(allv)
    yv = [p[1] for p in pairs] + ([p[0] for p in pairs] if diagonal else [])
    y0, y1 = min(yv), max(yv)
    body, sx, sy = _axes(x0, x1, y0, y1)
    if diagonal:
        lo, hi = max(x0, y0), min(x1, y1)
        body.append(
            f'<line x1="{sx(lo):.1f}" y1="{sy(lo):.1f}" x2="{sx(hi):.1f}" y2="{sy(hi):.1f}" '
            f'stroke="#9AA0A6" stroke-dasharray="4 3"/>'
        )
    for x, y in pairs[:2000]:
        body.append(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{PALETTE[0]}" '
            f'fill-opacity="0.6"/>'
        )
    return _frame(title, x_label, y_label, body)


def bar_chart(title: str, labels: list[str], values: list[float], y_label: str = "") -> str:
    """Vertical bars, one per label (e.g. file size per variant)."""
    if not values:
        return ""
    hi = max(max(values), 0) or 1.0
    body, _, sy = _axes(0, 1, 0, hi * 1.1)
    body = [b for b in body if 'y="' + str(H - PAD_B + 14) not in b]  # no numeric x ticks
    width = (W - PAD_L - PAD_R) / len(values)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = PAD_L + i * width + width * 0.15
        top = sy(v)
        body.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{width * 0.7:.1f}" '
            f'height="{H - PAD_B - top:.1f}" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + width * 0.35:.1f}" y="{top - 3:.1f}" text-anchor="middle" '
            f'font-size="10">{_fmt(v)}</text>'
            f'<text x="{x + width * 0.35:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>'
        )
    return _frame(title, "", y_label, body)


def heatmap(title: str, matrix: list[list[int]], labels: list[str]) -> str:
    """A confusion matrix: rows are the true class, columns the predicted one, counts inside."""
    k = len(matrix)
    if k == 0:
        return ""
    size = min(36, 300 // k)
    left, top = 110, 40
    total_w = max(left + size * k + 20, 7 * len(title) + 20)
    total_h = top + size * k + 60
    peak = max((v for row in matrix for v in row), default=1) or 1
    body = []
    x: float  # whole pixels for the cells, half ones for the column labels
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            shade = v / peak
            fill = f"rgba(25,103,210,{0.08 + 0.92 * shade:.2f})"
            color = "#fff" if shade > 0.55 else "#202124"
            x, y = left + j * size, top + i * size
            body.append(
                f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{fill}" '
                f'stroke="#fff"/><text x="{x + size / 2}" y="{y + size / 2 + 4}" '
                f'text-anchor="middle" font-size="11" fill="{color}">{v}</text>'
            )
        body.append(
            f'<text x="{left - 6}" y="{top + i * size + size / 2 + 4}" text-anchor="end" '
            f'font-size="10">{escape(str(labels[i])[:16])}</text>'
        )
    for j in range(k):
        x = left + j * size + size / 2
        y = top + k * size + 12
        body.append(
            f'<text x="{x}" y="{y}" text-anchor="end" font-size="10" '
            f'transform="rotate(-40 {x} {y})">{escape(str(labels[j])[:16])}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total_w} {total_h}" '
        f'width="{total_w}" height="{total_h}" font-family="{FONT}" role="img" '
        f'aria-label="{escape(title)}" '
        f'class="chart"><text x="{total_w / 2}" y="16" text-anchor="middle" font-size="13" '
        f'font-weight="600">{escape(title)}</text>'
        f'<text x="{left + size * k / 2}" y="32" text-anchor="middle" font-size="10">'
        f"predicted →</text>" + "".join(body) + "</svg>"
    )

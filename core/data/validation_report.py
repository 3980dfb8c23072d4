"""A validation's findings: `Anomaly` (column, kind, severity, detail) and the
`ValidationReport` that ranks them; the checks that make them are core.data.validation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SEVERITIES = ("low", "medium", "high")
RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

# Every anomaly kind and its default severity; the module docstring says when a kind escalates.
KINDS: dict[str, str] = {
    "empty": "high",
    "missing_column": "high",
    "new_column": "low",
    "type_change": "high",
    "unseen_categories": "low",
    "out_of_range": "low",
    "missing_rate_jump": "medium",
    "drift": "medium",
}


def _check_severity(severity: str) -> None:
    if severity not in RANK:
        raise ValueError(f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}")


@dataclass(frozen=True)
class Anomaly:
    """One finding: which column, what kind, how serious, and the numbers behind it."""

    column: str  # column name, or "" for table-level anomalies
    kind: str  # a key of KINDS
    severity: str  # low | medium | high
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown anomaly kind {self.kind!r}")
        _check_severity(self.severity)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ValidationReport:
    """All anomalies found, most severe first, and the row counts they were computed on."""

    anomalies: list[Anomaly] = field(default_factory=list)
    rows_new: int = 0
    rows_reference: int = 0

    def count(self, severity: str | None = None) -> int:
        if severity is None:
            return len(self.anomalies)
        _check_severity(severity)
        return sum(a.severity == severity for a in self.anomalies)

    def worst(self) -> str | None:
        """The highest severity present, or None when the data passed."""
        if not self.anomalies:
            return None
        return max((a.severity for a in self.anomalies), key=RANK.__getitem__)

    def blocks(self, threshold: str = "high") -> bool:
        """Whether any anomaly is at or above `threshold`, i.e. retraining should wait."""
        _check_severity(threshold)
        return any(RANK[a.severity] >= RANK[threshold] for a in self.anomalies)

    def to_dict(self) -> dict:
        return {
            "anomalies": [a.to_dict() for a in self.anomalies],
            "rows_new": int(self.rows_new),
            "rows_reference": int(self.rows_reference),
            "counts": {s: self.count(s) for s in reversed(SEVERITIES)},
        }

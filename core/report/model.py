"""The report's records: plain data that the HTML writer and the Runs page both draw."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class Section:
    """One part of a report. `notes` are the generated explanations; `charts` inline SVG."""

    title: str
    intro: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    primary: bool = True  # False for sections about a parent run (the source model)


@dataclass
class Report:
    run_id: str
    kind: str
    title: str
    subtitle: str
    sections: list[Section] = field(default_factory=list)

    @property
    def headline(self) -> list[str]:
        """The report's summary: the run's own explanations first, then its parent's."""
        ordered = [s for s in self.sections if s.primary] + [
            s for s in self.sections if not s.primary
        ]
        return [n for s in ordered for n in s.notes]


def relative(path: str | Path | None, root: Path) -> str:
    """A path as the workspace sees it (`runs/ID/model.tflite`), or as given when outside it."""
    if not path:
        return ""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(root.resolve()))
    except (ValueError, OSError):
        return str(p)


def relative_paths(value: Any, root: Path) -> Any:
    """A copy of a JSON value with every absolute path inside the workspace made relative."""
    prefix = str(root.resolve()).rstrip("/") + "/"
    if isinstance(value, str):
        return value.replace(prefix, "") if prefix in value else value
    if isinstance(value, dict):
        return {k: relative_paths(v, root) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [relative_paths(v, root) for v in value]
    return value


def fmt_bytes(n: int | float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v) or "—"
    if v is None or v == "":
        return "—"
    return str(v)

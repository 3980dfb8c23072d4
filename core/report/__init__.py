"""Run reports: one self-contained HTML file (and a PDF of it) per finished run.

`build_report` (collect.py) reads a run; `render_html` (html.py) writes the page;
`html_to_pdf` (pdf.py) prints it; `explain.py` turns the run's numbers into sentences.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import BadInput
from core.runs.store import RunStore
from core.workspace import Workspace


def write_report(ws: Workspace, store: RunStore, run_id: str, out: str | Path) -> Path:
    """Write the run's report to `out`: `.html` or `.pdf`, chosen by the suffix."""
    from core.report.collect import build_report
    from core.report.html import render_html

    out = Path(out).expanduser()
    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise BadInput(f"--out must end in .html or .pdf, not {out.name!r}")
    if not out.parent.is_dir():
        raise BadInput(f"folder {str(out.parent)!r} does not exist")
    html = render_html(build_report(ws, store, run_id))
    if suffix == ".pdf":
        from core.report.pdf import html_to_pdf

        return html_to_pdf(html, out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out

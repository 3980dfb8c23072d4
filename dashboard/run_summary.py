"""A finished run as a page: its report's explanations, facts, tables and charts, a one-click
HTML report (and a PDF), and the raw result JSON behind an expander with workspace paths."""

from __future__ import annotations

import streamlit as st

from core.errors import BadInput
from core.report.collect import build_report
from core.report.html import render_html
from core.report.model import Report, Section, relative_paths
from core.runs.store import Run
from dashboard.services import store, workspace

# Sections the Runs page already draws with interactive charts for a training run.
INTERACTIVE = ("Training curves", "Test results")


def _sentence(note: str) -> str:
    return note[:1].upper() + note[1:]


def _render_section(section: Section, visuals: bool) -> None:
    st.markdown(f"##### {section.title.split(' · ')[-1]}")
    if section.intro and visuals:  # intros describe the report's own charts and tables
        st.caption(section.intro)
    for note in section.notes:
        st.markdown(f"- {_sentence(note)}")
    if section.facts:
        cols = st.columns(3)
        per = -(-len(section.facts) // 3)
        for i, col in enumerate(cols):
            chunk = section.facts[i * per : (i + 1) * per]
            if chunk:
                col.markdown("  \n".join(f"**{k}**: {v}" for k, v in chunk))
    if not visuals:
        return
    for table in section.tables:
        if table.rows:
            st.dataframe(
                {c: [str(r[i]) for r in table.rows] for i, c in enumerate(table.columns)},
                hide_index=True,
            )
            if table.caption:
                st.caption(table.caption)
    if section.charts:
        cols = st.columns(2)
        for i, chart in enumerate(section.charts):
            cols[i % 2].image(chart, width="stretch")


def render_report_sections(report: Report, skip_visuals: tuple[str, ...] = ()) -> None:
    """The run's own sections, then its source model's behind an expander. Sections named in
    `skip_visuals` show only their words (the page draws them interactively elsewhere)."""
    own = [s for s in report.sections if s.primary]
    parents = [s for s in report.sections if not s.primary]
    for section in own:
        _render_section(section, not any(section.title.endswith(k) for k in skip_visuals))
    if parents:
        with st.expander(f"{parents[0].title.split(' · ')[0]}: data, settings, curves, test"):
            for section in parents:
                _render_section(section, True)


def render_report_buttons(
    run: Run, key: str, report: Report | None = None, heading: str = "", explain: bool = False
) -> Report | None:
    """The one-click report of a finished run: "Download report (HTML)" (one self-contained
    file) and "Make a PDF" (then its download). The Runs page and each page that starts a run
    (Train, Tune, Compress, Pipelines) show the same widget; returns the report, or None when
    the run has none yet (still running: nothing is drawn). `explain`: first the report's own
    sentences about this run ("In short"), for pages that do not say them already."""
    if not run.status.is_finalized:
        return None
    if report is None:
        try:
            report = build_report(workspace(), store(), run.id)
        except BadInput as exc:
            st.info(str(exc))
            return None
    if heading:
        st.subheader(heading)
    if explain:
        notes = [n for sec in report.sections if sec.primary for n in sec.notes]
        if notes:
            st.markdown("**In short**\n\n" + "\n".join(f"- {_sentence(n)}" for n in notes))
    html = render_html(report)
    left, right = st.columns(2)
    left.download_button(
        "Download report (HTML)",
        html,
        file_name=f"report-{run.id}.html",
        mime="text/html",
        icon=":material/description:",
        key=f"{key}-report-html-{run.id}",
        help="One self-contained file for a stakeholder: data, model, curves, test results and "
        "plain-language explanations; opens offline in any browser, charts included.",
    )
    pdf_key = f"{key}-report-pdf-{run.id}"
    if right.button(
        "Make a PDF",
        key=f"{pdf_key}-make",
        icon=":material/picture_as_pdf:",
        help="Prints the same report with headless Chromium (a few seconds), then offers it.",
    ):
        from core.report.pdf import html_to_pdf

        out = workspace().run_dir(run.id) / "report.pdf"
        try:
            with st.spinner("printing with headless Chromium"):
                html_to_pdf(html, out)
            st.session_state[pdf_key] = str(out)
        except BadInput as exc:
            right.warning(str(exc))
    if st.session_state.get(pdf_key):
        with open(st.session_state[pdf_key], "rb") as f:
            right.download_button(
                "Download report (PDF)",
                f.read(),
                file_name=f"report-{run.id}.pdf",
                mime="application/pdf",
                key=f"{pdf_key}-get",
            )
    return report


def render_run_summary(run: Run, key: str) -> None:
    """The run's summary and report downloads (finished runs only)."""
    if not run.status.is_finalized:
        return
    try:
        report = build_report(workspace(), store(), run.id)
    except BadInput as exc:
        st.info(str(exc))
        return
    st.subheader("Summary")
    render_report_buttons(run, key, report)
    render_report_sections(report, skip_visuals=INTERACTIVE if run.kind == "train" else ())


def render_raw_result(run: Run) -> None:
    if run.result:
        with st.expander("Raw result (JSON)"):
            st.json(relative_paths(run.result, workspace().root), expanded=False)

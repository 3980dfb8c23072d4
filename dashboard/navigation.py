"""The app's pages in one place: the entry point registers them, pages link to them by name."""

from __future__ import annotations

from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

# name -> (title, Material icon); order is the order of the flow.
PAGES: dict[str, tuple[str, str]] = {
    "home": ("Home", ":material/home:"),
    "data": ("Data", ":material/table_chart:"),
    "models": ("Models", ":material/schema:"),
    "train": ("Train", ":material/model_training:"),
    "tune": ("Tune", ":material/tune:"),
    "profile": ("Profile", ":material/speed:"),
    "compress": ("Compress", ":material/compress:"),
    "export": ("Export", ":material/deployed_code:"),
    "registry": ("Registry", ":material/inventory_2:"),
    "pipelines": ("Pipelines", ":material/account_tree:"),
    "runs": ("Runs", ":material/list_alt:"),
}


def page_path(name: str) -> Path:
    """Absolute path of a page script, as `st.page_link` and `st.Page` accept it."""
    if name not in PAGES:
        raise KeyError(f"no page {name!r}")
    return PAGES_DIR / f"{name}.py"


def page_icon(name: str) -> str:
    return PAGES[name][1]

"""The corpus of real messy files (tests/corpus/, sources in its README) reads to the schema
written down for each file in expected.json, through the code the app and the CLI use: the
import preview, the import itself, and `tfstudio data import --dry-run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.data.datasets import DatasetStore
from core.data.preview import preview_import
from core.errors import BadInput
from tests.conftest import tfstudio

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
FILES = sorted(EXPECTED)


def as_expected(preview) -> dict:
    """A preview in the manifest's shape."""
    entry = {"kind": preview.kind, "rows": preview.rows}
    if preview.classes:
        entry["classes"] = preview.classes
        return entry
    o = preview.options
    entry.update({k: o.get(k) for k in ("delimiter", "encoding", "decimal", "thousands")})
    entry["time_column"] = preview.time_column
    entry["columns"] = {c["name"]: [c["type"], c["missing"]] for c in preview.columns}
    return entry


def test_the_corpus_has_at_least_30_real_files_each_with_a_source():
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert len(FILES) >= 30
    assert sorted(p.name for p in CORPUS.iterdir() if p.name in EXPECTED) == FILES
    missing = [name for name in FILES if f"`{name}`" not in readme]
    assert missing == [], f"files without a source in README.md: {missing}"


@pytest.mark.parametrize("name", FILES)
def test_each_file_reads_to_its_expected_schema(name):
    expected = EXPECTED[name]
    if "error" in expected:
        with pytest.raises(BadInput) as exc:
            preview_import(CORPUS / name, name)
        assert str(exc.value) == expected["error"]
        return
    assert as_expected(preview_import(CORPUS / name, name)) == expected


def test_importing_the_corpus_stores_what_the_preview_showed(ws):
    store = DatasetStore(ws)
    for name in FILES:
        expected = EXPECTED[name]
        if "error" in expected:
            with pytest.raises(BadInput):
                store.import_file(CORPUS / name, name)
            continue
        version = store.import_file(CORPUS / name, name)
        assert (version.kind, version.rows) == (expected["kind"], expected["rows"]), name
        if "columns" in expected:
            prof = store.profile(version)
            got = {c.name: [c.type, c.missing] for c in prof.columns}
            assert got == expected["columns"], name
            assert store.schema(version)["time_column"] == expected["time_column"], name
    assert not [p for p in (ws.root / "datasets").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name", ["eu_penguins_latin1.csv", "mt_utf-16le_encoded.csv"])
def test_the_cli_dry_run_reads_the_same(ws, name):
    out = tfstudio("data", "import", str(CORPUS / name), "--dry-run", "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    expected = EXPECTED[name]
    assert (got["kind"], got["rows"], got["time_column"]) == (
        expected["kind"],
        expected["rows"],
        expected["time_column"],
    )
    assert {c["name"]: [c["type"], c["missing"]] for c in got["columns"]} == expected["columns"]

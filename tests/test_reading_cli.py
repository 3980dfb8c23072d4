"""Issue 13 through the CLI: the import preview, schema corrections with undo, and bad input
(one `error:` line, exit 2, nothing written to the workspace)."""

from __future__ import annotations

import json
import os
import re
import zipfile

import pytest

from core.data.datasets import DatasetStore
from core.data.resolve import load_data
from core.data.sources import read_table
from core.errors import BadInput
from tests.conftest import tfstudio
from tests.test_data_cli import one_error_line
from tests.test_reading import PENGUINS


def workspace_datasets(ws) -> list[str]:
    root = ws.root / "datasets"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_dry_run_previews_the_reading_and_writes_nothing(ws, tmp_path):
    path = tmp_path / "penguins.csv"
    path.write_bytes(PENGUINS)
    out = tfstudio("data", "import", str(path), "--dry-run", "--json")
    assert out.returncode == 0, out.stderr
    preview = json.loads(out.stdout)
    assert preview["dry_run"] is True and preview["rows"] == 12
    assert {k: preview["options"][k] for k in ("delimiter", "encoding", "decimal")} == {
        "delimiter": ";",
        "encoding": "latin-1",
        "decimal": ",",
    }
    assert preview["options"]["markers_found"] == {"?": 4}
    types = {c["name"]: (c["type"], c["missing"]) for c in preview["columns"]}
    assert types["bill_length_mm"] == ("numeric", 1) and types["sex"] == ("categorical", 1)
    assert preview["head"][0]["bill_length_mm"] == 39.1 and preview["head"][2]["sex"] is None
    assert workspace_datasets(ws) == []
    text = tfstudio("data", "import", str(path), "--dry-run")
    assert "decimal ','" in text.stdout and "'?' x4" in text.stdout


def test_schema_correction_and_undo_from_the_cli(ws, tmp_path):
    path = tmp_path / "words.csv"
    values = [str(i) for i in range(40)] + ["three"] * 5
    path.write_text("n,label\n" + "\n".join(f"{v},{i % 2}" for i, v in enumerate(values)) + "\n")
    assert tfstudio("data", "import", str(path)).returncode == 0
    out = tfstudio("data", "schema", "words@v1", "--type", "n=numeric", "--json")
    assert out.returncode == 0, out.stderr
    n = next(c for c in json.loads(out.stdout)["columns"] if c["name"] == "n")
    assert (n["type"], n["count"], n["missing"]) == ("numeric", 40, 5)
    assert "5 values could not be read as numbers, e.g. 'three'" in n["notes"]
    out = tfstudio("data", "schema", "words@v1", "--undo")
    assert out.returncode == 0 and "schema v1" in out.stdout
    line = one_error_line(tfstudio("data", "schema", "words@v1", "--undo"))
    assert "has no earlier schema" in line


def test_a_2gb_file_is_refused_before_reading(ws, tmp_path, monkeypatch):
    """A file that must be read whole (here JSON Lines) is refused by its size; a CSV that size
    is imported a block at a time instead (tests/test_import_stream.py), so this sparse one is
    refused for what its first megabyte shows, before it is hashed or read."""
    monkeypatch.setenv("TFSTUDIO_MAX_TABLE_MB", "1024")
    for name, first in (("huge.jsonl", b'{"a": 1}\n'), ("huge.csv", b"a,b\n1,2\n")):
        path = tmp_path / name
        with open(path, "wb") as f:  # sparse: 2 GB on paper, a few bytes on disk
            f.write(first)
            f.truncate(2 << 30)
        with pytest.raises(BadInput, match="more than this machine can read"):
            read_table(path)
    line = one_error_line(tfstudio("data", "import", str(tmp_path / "huge.jsonl")))
    assert "huge.jsonl is 2.0 GB, more than this machine can read into memory now" in line
    line = one_error_line(tfstudio("data", "import", str(tmp_path / "huge.csv")))
    assert "huge.csv is not a text file (it contains binary data)" in line
    assert workspace_datasets(ws) == []


BAD_TABLES = {
    "empty.csv": (b"", "is empty"),
    "header.csv": (b"a,b,c\n", "has a header row but no data rows"),
    "binary.csv": (bytes(range(256)) * 40, "not a text file"),
    "ragged.csv": (b"a,b\n1,2\n3,4,5\n", "has a row with 3 fields where the header has 2"),
    "dupes.csv": (b"a,a,b\n1,2,3\n", "duplicate column names (a)"),
}


@pytest.mark.parametrize("name", sorted(BAD_TABLES))
def test_bad_tables_are_refused_as_data_arguments_and_leave_nothing(ws, tmp_path, name):
    raw, message = BAD_TABLES[name]
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(BadInput, match=re.escape(message)):
        load_data(str(path), ws)
    assert [p for p in (ws.root / "datasets").iterdir()] == []


def test_train_refusals_through_the_data_argument(ws, store, tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("a\n" + "\n".join(str(i) for i in range(20)) + "\n")
    line = one_error_line(tfstudio("train", "--data", str(one), "--target", "a"))
    assert "single column" in line
    single = tmp_path / "single.csv"
    single.write_text("x,y\n" + "\n".join(f"{i},same" for i in range(20)) + "\n")
    line = one_error_line(tfstudio("train", "--data", str(single), "--target", "y"))
    assert "single class" in line
    empty_target = tmp_path / "nolabel.csv"
    empty_target.write_text("x,y\n" + "\n".join(f"{i},?" for i in range(20)) + "\n")
    line = one_error_line(tfstudio("train", "--data", str(empty_target), "--target", "y"))
    assert "has no values" in line
    assert store.list_runs() == []


def test_zip_slip_and_bomb_as_data_arguments_leave_nothing(ws, tmp_path):
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../evil/a.png", b"x")
        zf.writestr("cats/b.png", b"x")
    with pytest.raises(BadInput):
        load_data(str(slip), ws)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cats/a.png", b"\0" * (300 << 20))
        zf.writestr("dogs/b.png", b"\0" * 10)
    with pytest.raises(BadInput, match="zip bomb|compress|ratio|large"):
        load_data(str(bomb), ws)
    leftovers = [p for p in (ws.root / "datasets").rglob("*") if p.is_file()]
    assert leftovers == [] and not os.path.exists(tmp_path / "evil")
    assert DatasetStore(ws).list_versions() == []


def test_a_folder_of_class_folders_imports_from_the_cli(ws, tmp_path):
    from tests.test_reading import _png

    for label, red in (("cats", 0), ("dogs", 200)):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for i in range(2):
            (tmp_path / "pets" / label / f"{i}.png").write_bytes(_png((red, 40 * i, 0)))
    out = tfstudio("data", "import", str(tmp_path / "pets"), "--json")
    assert out.returncode == 0, out.stderr
    version = json.loads(out.stdout)
    assert (version["dataset_id"], version["kind"], version["rows"]) == ("pets@v1", "images", 4)

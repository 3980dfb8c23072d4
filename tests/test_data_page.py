"""The Data page follows the user: a preview before import, the new dataset shown with a
confirmation after it, corrections with their failures named and an undo (AppTest, no TF)."""

from __future__ import annotations

from core.data.datasets import DatasetStore
from tests.test_pages import open_page
from tests.test_reading import PENGUINS


def import_path(at, path):
    at.radio(key="data-how").set_value("Path on disk").run()
    at.text_input(key="data-path").set_value(str(path)).run()
    return at


def test_preview_then_import_then_a_second_import_is_shown_with_a_confirmation(ws, tmp_path):
    first = tmp_path / "penguins.csv"
    first.write_bytes(PENGUINS)
    second = tmp_path / "sunspots.csv"
    second.write_text("YEAR,SUNACTIVITY\n" + "\n".join(f"{1700 + i}.0,{i % 11}" for i in range(40)))
    at = import_path(open_page("data"), first)
    assert not at.exception, at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "decimal ','" in captions and "'?' ×4" in captions
    assert DatasetStore(ws).list_versions() == []  # a preview writes nothing
    at.button(key="data-import-path").click().run()
    assert at.selectbox(key="data-pick").value == "penguins@v1"
    assert any("Imported **penguins.csv** as **penguins@v1**" in s.value for s in at.success)
    at = import_path(at, second)
    at.button(key="data-import-path").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="data-pick").value == "sunspots@v1"
    assert any("as **sunspots@v1** (timeseries" in s.value for s in at.success)
    assert at.metric[0].value == "timeseries"


def test_a_numeric_looking_text_column_is_an_issue_not_no_problems(ws, tmp_path):
    path = tmp_path / "words.csv"
    values = [str(i) for i in range(100)] + ["three"] * 20
    path.write_text("n,label\n" + "\n".join(f"{v},{i % 2}" for i, v in enumerate(values)) + "\n")
    version = DatasetStore(ws).import_file(path, path.name)
    at = open_page("data", {"dataset": version.id})
    assert not at.exception, at.exception
    assert not any("No problems found" in s.value for s in at.success)
    text = " ".join(m.value for m in at.markdown)
    assert "looks numeric but 20 values could not be read as numbers, e.g. 'three'" in text


def test_train_defaults_to_a_dataset_and_task_it_can_train(ws, tmp_path):
    store = DatasetStore(ws)
    sun = tmp_path / "sunspots.csv"
    sun.write_text(
        "YEAR,SUNACTIVITY\n" + "\n".join(f"{1700 + i}.0,{(i * 7) % 11}" for i in range(120)) + "\n"
    )
    store.import_file(sun, sun.name)
    lonely = tmp_path / "lonely.csv"
    lonely.write_text("only\n" + "\n".join(str(i) for i in range(30)) + "\n")
    store.import_file(lonely, lonely.name)  # newest, but nothing to predict from
    at = open_page("train")
    assert not at.exception, at.exception
    assert at.selectbox(key="train-dataset").value == "sunspots@v1"
    assert at.selectbox(key="train-target").value == "SUNACTIVITY"
    assert "**forecasting**" in " ".join(m.value for m in at.markdown)
    assert not any("Cannot train" in w.value for w in at.warning)
    assert not at.button(key="train-start").disabled


def test_a_yearly_series_goes_from_data_to_a_forecaster_on_the_train_page(ws, store, monkeypatch):
    """The classic sunspots file (YEAR = 1700.0, 1701.0, ...): imported on the Data page, the
    Train page defaults to it, resolves forecasting, and submits a sequence model's run."""
    from tests.conftest import REPO

    monkeypatch.setenv("TFSTUDIO_HANDLERS", "train=tests.fake_jobs:succeed")
    at = import_path(open_page("data"), REPO / "tests" / "corpus" / "sm_sunspots.csv")
    at.button(key="data-import-path").click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="data-pick").value == "sm_sunspots@v1"
    at.switch_page("../pages/train.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="train-dataset").value == "sm_sunspots@v1"
    assert at.selectbox(key="train-target").value == "SUNACTIVITY"
    assert any("**forecasting**" in m.value for m in at.markdown)
    at.selectbox(key="train-model-forecasting").set_value("lstm").run()
    at.number_input(key="train-window").set_value(8).run()
    assert not at.button(key="train-start").disabled
    at.button(key="train-start").click().run()
    assert not at.exception, at.exception
    (run,) = store.list_runs(kind="train")
    assert run.spec["data"] == "sm_sunspots@v1" and run.spec["target"] == "SUNACTIVITY"
    assert run.spec["model"] == "lstm" and run.spec["window"] == 8

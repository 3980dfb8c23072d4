"""No dead ends in the browser: what a page asks for can be done on the page (AppTest)."""

from __future__ import annotations

from core.data.datasets import DatasetStore
from tests.report_fixtures import make_train_run
from tests.test_pages import open_page


def _all_text(at) -> str:
    parts = (
        [m.value for m in at.markdown] + [e.value for e in at.error] + [i.value for i in at.info]
    )
    return "\n".join(parts) + "\n".join(c.value for c in at.caption)


def test_pipelines_first_visit_offers_the_example_data_as_a_button(ws):
    at = open_page("pipelines")
    assert not at.exception, at.exception
    assert "tfstudio data import" not in _all_text(at)
    run = next(b for b in at.button if b.label == "Run pipeline")
    assert run.disabled  # nothing to retrain yet
    add = next(
        b for b in at.button if b.label == "Add the example's data (initial.csv as iris-demo)"
    )
    add.click().run()
    assert not at.exception, at.exception
    versions = DatasetStore(ws).list_versions("iris-demo")
    assert [v.id for v in versions] == ["iris-demo@v1"]
    assert not next(b for b in at.button if b.label == "Run pipeline").disabled


def test_register_with_an_empty_name_says_to_give_one(ws, store):
    make_train_run(store, ws)
    at = open_page("registry")
    assert not at.exception, at.exception
    name = next(t for t in at.text_input if t.label == "Model name")
    name.set_value("")
    next(b for b in at.button if b.label == "Register").click().run()
    assert any("Give the model a name" in e.value for e in at.error)

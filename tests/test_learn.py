"""Learn mode: on for a new workspace, saved in the workspace, steps checked off from its
datasets and runs, one-click defaults that submit real specs (AppTest; fake handlers)."""

from __future__ import annotations

from core import learn
from core.runs import launcher
from core.spec_base import field_default
from core.specs import TrainSpec
from tests.report_fixtures import instant_submit, make_compress_run, make_train_run
from tests.test_pages import open_page


def test_on_for_a_new_workspace_off_for_one_with_runs(ws, store):
    assert learn.is_enabled(ws, store)
    make_train_run(store, ws)
    assert not learn.is_enabled(ws, store)  # an existing workspace is not new
    learn.set_enabled(ws, True, store)
    assert learn.is_enabled(ws, store) and (ws.root / "learn.json").is_file()


def test_progress_comes_from_the_workspace(ws, store):
    assert not any(learn.progress(ws, store).values())
    learn.add_sample(ws)
    assert learn.progress(ws, store)["data"]
    train = make_train_run(store, ws)
    make_compress_run(store, ws, train)
    done = learn.progress(ws, store)
    assert [k for k, v in done.items() if v] == ["data", "train", "compress"]
    assert learn.next_step(done).key == "tune"
    (ws.root / "serving.json").write_text("{}")  # a server was started
    assert learn.progress(ws, store)["serve"]
    (ws.root / "serving.json").unlink()  # and stopped: the step stays done
    assert learn.progress(ws, store)["serve"]


def test_defaults_work_on_the_sample_and_the_latest_model(ws, store):
    assert learn.default_spec("profile", ws, store) is None  # nothing trained yet
    ref = learn.add_sample(ws)
    spec = learn.default_spec("train", ws, store)
    assert (spec.data, spec.target) == (ref, "species")
    assert spec == TrainSpec(data=ref, target="species")  # the defaults the step text quotes
    train = make_train_run(store, ws)
    assert learn.default_spec("compress", ws, store).source_run == train.id
    assert learn.default_spec("tune", ws, store).tuner == "hyperband"


def test_toggle_in_the_sidebar_is_saved_in_the_workspace(ws, store):
    at = open_page("home")
    assert not at.exception, at.exception
    assert at.sidebar.toggle[0].label == "Learn mode" and at.sidebar.toggle[0].value
    assert any("Next: step 1 of 8 · Data" in m.value for m in at.markdown)
    at.sidebar.toggle[0].set_value(False).run()
    assert not learn.is_enabled(ws, store)
    fresh = open_page("home")  # another tab, or after a restart
    assert not fresh.sidebar.toggle[0].value
    assert not any("Next: step" in m.value for m in fresh.markdown)


def test_walk_data_then_train_on_the_pages(ws, store, monkeypatch):
    # The page's submission is recorded and finished in-process (no worker, no TensorFlow);
    # tests/test_learn_browser.py walks the same steps with a real training run.
    monkeypatch.setattr(launcher, "submit", instant_submit(store))
    at = open_page("data")
    assert any("Learn · step 1 of 8: Data" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Add the iris sample").click().run()
    assert learn.progress(ws, store)["data"]
    at = open_page("train")
    assert any("Learn · step 2 of 8: Train" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Run it with the default").click().run()
    run = store.list_runs(kind="train")[0]
    assert run.spec["data"] == "iris@v1"
    assert run.spec["early_stopping"] == field_default(TrainSpec, "early_stopping")
    assert run.name == "learn · train · iris"
    at = open_page("train")
    assert any("Learn · step 2 of 8: Train" in m.value and "done" in m.value for m in at.markdown)
    assert any(link.label == "Next: Tune →" for link in at.get("page_link"))

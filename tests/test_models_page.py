"""The Models page's pretrained catalog and `tfstudio models --source`: browsable offline,
searchable, filtered by task, saying what is cached and how big each download is."""

from __future__ import annotations

import json

from core.models.browse import browse
from core.models.pretrained import keras_app_weights
from tests.conftest import tfstudio
from tests.test_pages import open_page


def test_kerashub_registry_is_browsable_offline_with_params_task_and_licence():
    rows = {r.model: r for r in browse("kerashub")}
    assert len(rows) > 300  # KerasHub's own registry, read from the installed package
    bert = rows["kerashub:bert_tiny_en_uncased"]
    assert (bert.task, bert.params, bert.licence) == ("text-classification", 4385920, "Apache 2.0")
    assert bert.download == "≈ 18.5 MB" and not bert.cached and bert.trainable == ""
    mobile = rows["kerashub:mobilenet_v3_small_050_imagenet"]
    assert mobile.task == "image-classification"
    assert "listed only" in rows["kerashub:gemma_2b_en"].trainable


def test_search_and_task_filter(tmp_path, monkeypatch):
    found = browse("kerashub", "tiny uncased", "text-classification")
    assert {r.model for r in found} >= {"kerashub:bert_tiny_en_uncased"}
    assert all(r.task == "text-classification" for r in found)
    hub_text = browse("hub", task="text-classification")
    assert hub_text and all(r.task == "text-classification" for r in hub_text)


def test_a_cached_keras_application_is_marked_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    path = keras_app_weights("ResNet50", 224).cache_path
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    rows = {r.model: r for r in browse("keras-app")}
    assert rows["keras-app:ResNet50"].download == "cached"
    assert rows["keras-app:MobileNetV2"].download == "≈ 9.2 MB"


def test_cli_models_source_lists_json(tmp_path):
    out = tfstudio(
        "models", "--source", "kerashub", "--search", "bert_tiny", "--json", "--home", str(tmp_path)
    )
    assert out.returncode == 0, out.stderr
    names = [m["model"] for m in json.loads(out.stdout)["models"]]
    assert "kerashub:bert_tiny_en_uncased" in names
    out = tfstudio("models", "--source", "nope", "--home", str(tmp_path))
    assert out.returncode == 2


def test_models_page_browses_presets_without_tensorflow(ws):
    at = open_page("models")
    assert not at.exception
    at.text_input(key="models-search").input("bert tiny").run()
    frame = at.dataframe[0].value
    assert "kerashub:bert_tiny_en_uncased" in set(frame["model"])
    assert set(frame.columns) >= {"download", "cached here", "licence", "parameters"}

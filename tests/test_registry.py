"""The model registry: versions, lineage, stages, promotion, concurrency and the CLI."""

from __future__ import annotations

import json
import threading

import pytest

from core.data.datasets import DatasetStore
from core.errors import BadInput, NotFound
from core.registry.store import Registry
from tests.conftest import REPO, tfstudio
from tests.test_pipeline_fakes import finished_train_run

INITIAL = REPO / "examples" / "iris-retrain" / "initial.csv"


@pytest.fixture
def dataset(ws):
    return DatasetStore(ws).import_file(INITIAL, "initial.csv", name="iris-demo", target="species")


def test_register_records_lineage(ws, store, dataset):
    run = finished_train_run(ws, store, dataset.id, accuracy=0.8)
    v = Registry(ws).register(run.id, "iris", description="first")
    assert (v.name, v.version, v.stage) == ("iris", 1, "candidate")
    assert v.dataset == {"dataset": "iris-demo@v1", "sha256": dataset.sha256}
    assert v.spec["data"] == "iris-demo@v1" and v.spec["target"] == "species"
    assert v.parents == [{"run_id": run.id, "kind": "train", "role": "trained by"}]
    assert v.metrics == {"accuracy": 0.8, "macro_f1": pytest.approx(0.75)}
    assert v.artifacts["model.keras"].endswith("model.keras")


def test_promote_archives_previous_production(ws, store, dataset):
    reg = Registry(ws)
    a = reg.register(finished_train_run(ws, store, dataset.id).id, "iris", "production")
    b = reg.register(finished_train_run(ws, store, dataset.id).id, "iris")
    assert reg.production("iris").id == a.id
    reg.promote(b.id, "production")
    stages = {v.id: v.stage for v in reg.list("iris")}
    assert stages == {"iris@v1": "archived", "iris@v2": "production"}
    assert reg.get("iris").id == "iris@v2"  # a bare name is the production version
    history = [(h["version"], h["stage"]) for h in reg.history("iris")]
    assert history[-2:] == [(1, "archived"), (2, "production")]
    # rolling back archives v2 again
    reg.promote("iris@v1", "production")
    assert {v.version: v.stage for v in reg.list("iris")} == {1: "production", 2: "archived"}


def test_concurrent_registration_gets_distinct_versions(ws, store, dataset):
    runs = [finished_train_run(ws, store, dataset.id).id for _ in range(6)]
    errors = []

    def register(run_id):
        try:
            Registry(ws).register(run_id, "iris", "production")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(r,)) for r in runs]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    versions = Registry(ws).list("iris")
    assert sorted(v.version for v in versions) == [1, 2, 3, 4, 5, 6]
    assert sum(v.stage == "production" for v in versions) == 1


def test_refusals(ws, store, dataset):
    reg = Registry(ws)
    failed = store.create_run("train", {"data": dataset.id})
    store.fail_run(failed.id, "boom")
    with pytest.raises(BadInput, match="FAILED"):
        reg.register(failed.id, "iris")
    with pytest.raises(BadInput, match="no run"):
        reg.register("nope", "iris")
    run = finished_train_run(ws, store, dataset.id)
    with pytest.raises(BadInput, match="model name"):
        reg.register(run.id, "bad name!")
    with pytest.raises(BadInput, match="unknown stage"):
        reg.register(run.id, "iris", "staging")
    with pytest.raises(NotFound, match="no registered model"):
        reg.get("iris")
    reg.register(run.id, "iris")
    with pytest.raises(NotFound, match="versions: iris@v1"):
        reg.get("iris@v7")


def test_cli_register_list_show_promote(ws, store, dataset):
    a = finished_train_run(ws, store, dataset.id, accuracy=0.7)
    b = finished_train_run(ws, store, dataset.id, accuracy=0.9)
    home = str(ws.root)
    out = tfstudio("registry", "register", a.id, "--name", "iris", "--stage", "production",
                   "--home", home, "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["id"] == "iris@v1"
    assert tfstudio("registry", "register", b.id, "--name", "iris", "--home", home).returncode == 0
    out = tfstudio("registry", "promote", "iris@v2", "--home", home, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["stage"] == "production"
    listed = json.loads(tfstudio("registry", "list", "--home", home, "--json").stdout)["models"]
    assert [(m["id"], m["stage"]) for m in listed] == [
        ("iris@v1", "archived"),
        ("iris@v2", "production"),
    ]
    shown = json.loads(tfstudio("registry", "show", "iris", "--home", home, "--json").stdout)
    assert shown["id"] == "iris@v2" and shown["metrics"]["accuracy"] == 0.9
    assert shown["dataset"]["sha256"] == dataset.sha256
    bad = tfstudio("registry", "show", "iris@v9", "--home", home)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and bad.stderr.startswith("error: no version")


def test_promote_publishes_to_the_serving_folder_and_rolls_back(ws, store, dataset, tmp_path):
    from core.registry.store import serving_base
    from core.serving.versions import chosen_version

    reg = Registry(ws)
    for accuracy in (0.8, 0.9):
        run = finished_train_run(ws, store, dataset.id, accuracy=accuracy)
        saved = tmp_path / run.id / "savedmodel"
        (saved / "variables").mkdir(parents=True)
        (saved / "saved_model.pb").write_bytes(str(accuracy).encode())
        v = reg.register(run.id, "iris")
        reg.add_bundles(v.id, [{"format": "savedmodel", "path": str(saved), "export_run": "x"}])
    no_bundle = reg.register(finished_train_run(ws, store, dataset.id).id, "iris")
    home = str(ws.root)
    base = serving_base(ws, "iris")
    out = tfstudio("registry", "promote", "iris@v2", "--home", home, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["served"] == str(base / "2")
    assert chosen_version(base) == 2 and (base / "2" / "saved_model.pb").read_bytes() == b"0.9"
    out = tfstudio("registry", "promote", "iris@v1", "--home", home)  # roll back
    assert out.returncode == 0 and chosen_version(base) == 1
    assert "serving/iris/1 is the served version" in out.stdout
    out = tfstudio("registry", "promote", no_bundle.id, "--home", home)
    assert "no SavedModel bundle" in out.stdout and chosen_version(base) == 1
    assert reg.production("iris").id == no_bundle.id
    assert not list(base.glob(".*partial"))

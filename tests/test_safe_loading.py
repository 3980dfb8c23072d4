"""Safe loading: trust in a model's code is the user's choice recorded in a run's spec, never a
flag in a file of the run folder."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from core.errors import BadInput
from core.models.io import load_run_model, run_trusts_code
from core.runs import doctor


def _model_run(store, ws, spec):
    run = store.create_run("train", spec)
    folder = ws.run_dir(run.id)
    # the flag that used to lift safe mode, written by whoever wrote the folder
    (folder / "features.json").write_text(json.dumps({"details": {"hub_savedmodel": True}}))
    return run.id, folder


def test_trust_comes_from_the_spec_not_from_the_folder(ws, store):
    _, untrusted = _model_run(store, ws, {})
    record = json.loads((untrusted / "run.json").read_text())
    record["spec"]["trust_savedmodel"] = True  # a folder claiming trust for itself
    (untrusted / "run.json").write_text(json.dumps(record))
    assert not run_trusts_code(untrusted)
    trusted_id, trusted = _model_run(store, ws, {"trust_savedmodel": True})
    assert run_trusts_code(trusted)
    export = store.create_run("export", {"source_run": trusted_id})
    assert run_trusts_code(ws.run_dir(export.id)), "an export inherits its source's choice"
    other = store.create_run("export", {"source_run": untrusted.name})
    assert not run_trusts_code(ws.run_dir(other.id))


def test_a_rebuilt_store_does_not_restore_trust(ws, store):
    run_id, folder = _model_run(store, ws, {"trust_savedmodel": True})
    ws.db_path.write_bytes(os.urandom(4096))
    for suffix in ("-wal", "-shm"):
        ws.db_path.with_name(ws.db_path.name + suffix).unlink(missing_ok=True)
    doctor.repair(ws)
    assert not run_trusts_code(folder)
    events = [e.message for e in doctor.RunStore(ws.db_path).get_events(run_id)]
    assert any("cannot grant trust" in m for m in events)


@pytest.mark.slow
def test_a_lambda_model_is_refused_unless_its_run_was_trusted(ws, store):
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    _, untrusted = _model_run(store, ws, {})
    model.save(untrusted / "model.keras")
    with pytest.raises(BadInput, match="safe mode"):
        load_run_model(untrusted)
    _, trusted = _model_run(store, ws, {"trust_savedmodel": True})
    model.save(trusted / "model.keras")
    loaded = load_run_model(trusted)
    x = np.array([[1.0, 2.0, 3.0]], dtype="float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), 2 * x)

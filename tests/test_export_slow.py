"""Export bundles from a real iris run: contents, the C array, and TF.js parity in Chromium."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import iris_run_fixture
from tests.conftest import tfstudio

pytestmark = pytest.mark.slow


iris_run = iris_run_fixture("iris-export-home")


@pytest.fixture(scope="module")
def exported(iris_run, tmp_path_factory):
    """Every format in one export job (`--format all`), copied to a folder by the CLI."""
    home, payload = iris_run
    folder = tmp_path_factory.mktemp("bundles")
    out = tfstudio(
        "export", payload["run_id"], "--format", "all", "--out", str(folder), "--json",
        "--home", str(home),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return folder, json.loads(out.stdout)


def names(zip_path: str | Path) -> set[str]:
    with zipfile.ZipFile(zip_path) as z:
        return set(z.namelist())


def read(zip_path: str | Path, member: str) -> bytes:
    with zipfile.ZipFile(zip_path) as z:
        return z.read(member)


def test_every_format_exports_and_passes_its_parity_check(exported):
    folder, result = exported
    assert result["formats"] == ["keras", "savedmodel", "tflite", "tfjs", "micro"]
    for fmt, bundle in result["bundles"].items():
        assert bundle["ok"], (fmt, bundle)
        if fmt == "micro":  # int8 in TFLite Micro against the float Keras model
            assert bundle["parity"]["agreement"] >= 0.9 and bundle["parity"]["max_abs_diff"] < 0.1
            continue
        assert bundle["parity"]["agreement"] == 1.0, fmt
        assert bundle["parity"]["max_abs_diff"] < 1e-4, fmt
        assert Path(bundle["bundle"]).parent == folder and Path(bundle["bundle"]).exists()
        assert bundle["size_bytes"] == Path(bundle["bundle"]).stat().st_size
        assert "README.md" in names(bundle["bundle"]), fmt


def test_formats_share_one_savedmodel_one_tflite_and_one_browser(exported):
    """Export-all does each expensive step once: one SavedModel (SavedModel, TF.js), the
    training run's own .tflite reused (no second conversion), one Chromium for the TF.js page."""
    _, result = exported
    assert result["shared"]["savedmodel_exports"] == 1
    assert result["shared"]["tflite_conversions"] == 0
    assert result["bundles"]["tflite"]["tflite_source"].startswith("the training run's")
    assert result["shared"]["browser_launches"] == 1
    assert result["shared"]["browser_checks"] == 1


def test_keras_bundle_has_the_models_and_the_contract(exported):
    _, result = exported
    zipped = result["bundles"]["keras"]["bundle"]
    assert {"model.keras", "preprocessing.keras", "features.json"} <= names(zipped)
    contract = json.loads(read(zipped, "features.json"))
    assert contract["classes"] == ["setosa", "versicolor", "virginica"]


def test_keras_bundle_loads_with_its_readme_snippet_where_the_project_cannot_be_imported(
    exported, tmp_path
):
    """#34: the README's snippet, run as written in the unzipped bundle by a Python that
    cannot import TF Studio, loads the model and predicts like the training run."""
    import re
    import subprocess
    import sys

    _, result = exported
    with zipfile.ZipFile(result["bundles"]["keras"]["bundle"]) as z:
        z.extractall(tmp_path)
    readme = (tmp_path / "README.md").read_text()
    snippet = re.search(r"## Load.*?```python\n(.*?)```", readme, re.S).group(1)
    script = (
        "import sys\n"
        "sys.modules['core'] = None  # TF Studio is not there\n"
        + snippet
        + "import numpy as np, tensorflow as tf\n"
        "x = {k: tf.constant([[v]], 'float32') for k, v in "
        "dict(sepal_length_cm=5.1, sepal_width_cm=3.5, petal_length_cm=1.4, "
        "petal_width_cm=0.2).items()}\n"
        "print(int(np.argmax(model.predict(x, verbose=0))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "0"  # setosa


def test_savedmodel_bundle_uses_tf_serving_layout(exported, tmp_path):
    _, result = exported
    zipped = result["bundles"]["savedmodel"]["bundle"]
    name = result["serving_name"]
    assert name == "species"
    assert f"{name}/1/saved_model.pb" in names(zipped)
    readme = read(zipped, "README.md").decode()
    assert (
        f'docker run --rm -p 8501:8501 -v "$PWD/{name}:/models/{name}" '
        f"-e MODEL_NAME={name} tensorflow/serving" in readme
    )
    # the signature takes the raw features by name
    import tensorflow as tf

    with zipfile.ZipFile(zipped) as z:
        z.extractall(tmp_path)
    fn = tf.saved_model.load(str(tmp_path / name / "1")).signatures["serving_default"]
    assert set(fn.structured_input_signature[1]) == {
        "sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm",
    }  # fmt: skip


def test_tflite_bundle_has_labels_and_metadata(exported):
    _, result = exported
    zipped = result["bundles"]["tflite"]["bundle"]
    assert {"model.tflite", "labels.txt", "metadata.json"} <= names(zipped)
    assert read(zipped, "labels.txt").decode().split() == ["setosa", "versicolor", "virginica"]
    meta = json.loads(read(zipped, "metadata.json"))
    assert set(meta["inputs"]) == {f["input"] for f in meta["features"]}
    assert meta["inputs"]["petal_width_cm"] == {"dtype": "float32", "shape": [-1, 1]}
    assert list(meta["outputs"].values())[0]["shape"] == [-1, 3]
    assert "FULLY_CONNECTED" in meta["ops"] and "DELEGATE" not in meta["ops"]


def test_micro_c_array_holds_the_tflite_bytes(exported):
    from core.export.micro import parse_c_array

    folder, result = exported
    zipped = result["bundles"]["micro"]["bundle"]
    assert {"model_data.cc", "model_data.h", "OPS.md", "model.tflite"} <= names(zipped)
    source = read(zipped, "model_data.cc").decode()
    tflite = read(zipped, "model.tflite")
    assert "alignas(16) const unsigned char g_model[] = {" in source
    assert f"const unsigned int g_model_len = {len(tflite)};" in source
    assert parse_c_array(source) == tflite
    # the micro bundle holds the int8 network, not the end-to-end .tflite TFLM refuses
    assert tflite != (folder / "model.tflite").read_bytes()
    assert result["bundles"]["micro"]["c_array_len"] == len(tflite)
    ops = read(zipped, "OPS.md").decode()
    assert "resolver.AddFullyConnected();" in ops and "resolver.AddSoftmax();" in ops


def test_tfjs_bundle_is_self_contained(exported):
    _, result = exported
    bundle = result["bundles"]["tfjs"]
    assert {"index.html", "tf.min.js", "model.json", "model.js", "examples.js"} <= names(
        bundle["bundle"]
    )
    html = read(bundle["bundle"], "index.html").decode()
    assert "http://" not in html.replace("http://127", "") and "https://" not in html
    assert bundle["parity"]["tfjs_version"].startswith("4.")


@pytest.mark.browser
def test_tfjs_index_html_predicts_from_a_local_folder(exported, tmp_path):
    """Opened as file:// (no server, no network), the page predicts what Keras predicts."""
    from core.export.tfjs_check import CHROMIUM_ARGS, chromium_path

    _, result = exported
    with zipfile.ZipFile(result["bundles"]["tfjs"]["bundle"]) as z:
        z.extractall(tmp_path)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.route("http*://**", lambda route: route.abort())  # prove it needs no network
        page.goto((tmp_path / "index.html").as_uri())
        page.wait_for_function("() => window.TFSTUDIO_RESULT !== undefined", timeout=60_000)
        got = page.evaluate("() => window.TFSTUDIO_RESULT")
        table = page.inner_text("#out")
        browser.close()
    assert "error" not in got, got
    predictions = np.asarray(got["predictions"])
    examples = json.loads((tmp_path / "examples.js").read_text().split("=", 1)[1].rstrip(";\n"))
    assert predictions.shape == (examples["rows"], 3)
    assert np.allclose(predictions.sum(1), 1.0, atol=1e-4)
    assert any(c in table for c in ("setosa", "versicolor", "virginica"))


@pytest.mark.browser
def test_tfjs_uint8_quantized_bundle_keeps_the_classes(iris_run, tmp_path):
    home, payload = iris_run
    out = tfstudio(
        "export", payload["run_id"], "--format", "tfjs", "--quantize", "uint8",
        "--out", str(tmp_path), "--json", "--home", str(home),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    bundle = result["bundles"]["tfjs"]
    assert bundle["ok"] and bundle["quantize"] == "uint8"
    assert bundle["parity"]["agreement"] == 1.0
    assert bundle["parity"]["max_abs_diff"] < 0.05
    assert "weights quantized to uint8" in read(bundle["bundle"], "README.md").decode()

"""Transfer learning from local copies: Keras Applications, a TF Hub SavedModel folder and a
KerasHub preset folder, all made by the test (no network)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import tfstudio
from tests.test_families_slow import colour_zip, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def image_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("transfer")
    (home / "colours.zip").write_bytes(colour_zip(24))
    out = tfstudio("data", "import", str(home / "colours.zip"), "--json", "--home", str(home))
    assert out.returncode == 0, out.stderr
    return home, json.loads(out.stdout)["id"]


def test_keras_application_with_weights_random_says_random_initialisation(
    image_home, monkeypatch, tmp_path
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    home, dataset = image_home
    payload = train(
        home, "--data", dataset, "--model", "keras-app:MobileNetV2", "--weights", "random",
        "--epochs", "2", "--image-size", "32",
    )  # fmt: skip
    result = payload["result"]
    assert result["model"] == "keras-app:MobileNetV2"
    assert result["backbone_weights"] == "random initialisation (asked for)"
    assert result["tflite_parity"]["max_abs_diff"] < 1e-4


def test_keras_application_uses_a_local_weights_file(image_home, tmp_path):
    import keras

    weights = tmp_path / "mobilenet_v2_notop.weights.h5"
    keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg"
    ).save_weights(weights)
    home, dataset = image_home
    payload = train(
        home, "--data", dataset, "--model", "keras-app:MobileNetV2", "--weights", str(weights),
        "--epochs", "1", "--image-size", "32",
    )  # fmt: skip
    assert payload["result"]["backbone_weights"] == f"file {weights.name}"


def test_hub_savedmodel_folder_is_a_frozen_backbone(image_home, tmp_path):
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    feature_extractor = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    feature_extractor.export(str(tmp_path / "hub_model"), verbose=False)
    home, dataset = image_home
    payload = train(
        home,
        "--data",
        dataset,
        "--model",
        f"hub:{tmp_path / 'hub_model'}",
        "--trust-savedmodel",  # the user's explicit choice, recorded with the run
        "--epochs",
        "3",
        "--image-size",
        "32",
    )
    assert payload["result"]["backbone_weights"] == "SavedModel hub_model"
    # an untrained extractor gives near-ties, so compare probabilities, not argmax
    assert payload["result"]["tflite_parity"]["max_abs_diff"] < 1e-4


def test_kerashub_preset_folder_trains_and_fine_tunes(image_home, tmp_path):
    import keras_hub

    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64],
        stackwise_num_blocks=[1],
        stackwise_num_strides=[1],
        block_type="basic_block",
        use_pre_activation=False,
        image_shape=(None, None, 3),
    )
    backbone.save_to_preset(str(tmp_path / "preset"))
    home, dataset = image_home
    payload = train(
        home, "--data", dataset, "--model", f"kerashub:{tmp_path / 'preset'}", "--epochs", "2",
        "--fine-tune-layers", "3", "--fine-tune-epochs", "1", "--image-size", "32",
    )  # fmt: skip
    history = json.loads(open(payload["artifacts"]["history.json"]).read())
    assert len(history["loss"]) == 3  # two epochs on the head, one fine-tuning
    shown = json.loads(
        tfstudio("runs", "show", payload["run_id"], "--json", "--home", str(home)).stdout
    )
    assert any("fine-tuning the top 3 backbone layers" in e for e in shown["events"])


def test_offline_runs_needing_a_download_are_refused_at_once_with_how_to_bring_the_files(
    image_home, monkeypatch, tmp_path
):
    for var in ("KERAS_HOME", "TFHUB_CACHE_DIR", "KAGGLEHUB_CACHE"):
        monkeypatch.setenv(var, str(tmp_path / var))
    home, dataset = image_home
    for model in (
        "keras-app:MobileNetV2",
        "kerashub:resnet_18_imagenet",
        "hub:https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5",
    ):
        out = tfstudio(
            "train", "--data", dataset, "--model", model, "--offline", "--trust-savedmodel",
            "--home", str(home),
        )  # fmt: skip
        assert out.returncode == 2, (model, out.stderr)
        assert "downloads are off" in out.stderr and "KAGGLEHUB_CACHE" in out.stderr
    out = tfstudio(
        "train", "--data", dataset, "--model", "kerashub:resnet_18_imagnet", "--home", str(home)
    )
    assert out.returncode == 2 and "close matches: resnet_18_imagenet" in out.stderr

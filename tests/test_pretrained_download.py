"""Downloads of pretrained files against a local HTTP mirror on 127.0.0.1 (no TensorFlow):
success with progress, a broken download resumed or cleaned up, a wrong hash, no network,
the offline setting, a disk too small, and the TF Hub / KerasHub cache layouts."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time

import pytest

from core.errors import BadInput
from core.models import download as dl
from core.models import pretrained as pt
from core.models.backbones import describe
from tests.http_mirror import Mirror, closed_port_url

V2 = "/tensorflow/keras-applications/mobilenet_v2/"
V2_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
V3_PATH = "/tensorflow/keras-applications/mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"  # noqa: E501
PAYLOAD = bytes(range(256)) * 1200  # 300 KB


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.progress_calls: list[tuple] = []

    def event(self, message: str, level: str = "info") -> None:
        self.events.append(message)

    def progress(self, phase, done, total, message="") -> None:
        self.progress_calls.append((phase, done, total, message))


@pytest.fixture
def caches(tmp_path, monkeypatch):
    for var, sub in (
        ("KERAS_HOME", "keras"),
        ("TFHUB_CACHE_DIR", "hub"),
        ("KAGGLEHUB_CACHE", "kh"),
    ):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv(dl.OFFLINE_ENV, raising=False)
    return tmp_path


@pytest.fixture
def mirror(caches, monkeypatch):
    with Mirror() as m:
        monkeypatch.setenv(pt.KERAS_APPS_MIRROR_ENV, m.url)
        monkeypatch.setenv(pt.HUB_MIRROR_ENV, m.url)
        monkeypatch.setenv(pt.KERASHUB_MIRROR_ENV, m.url + "/presets")
        yield m


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_keras_app_weights_download_into_the_keras_cache_with_size_and_progress(caches, mirror):
    mirror.files[V2 + V2_FILE] = PAYLOAD
    assert describe("keras-app:MobileNetV2", image_size=64).weights.startswith(
        "ImageNet (downloaded, about 9.2 MB"
    )
    rec = Recorder()
    path = pt.ensure_keras_app("MobileNetV2", 64, rec)
    assert path == caches / "keras" / "models" / V2_FILE
    assert path.read_bytes() == PAYLOAD
    assert leftovers(path.parent) == [V2_FILE]  # no .part beside it
    assert rec.events == [
        f"downloading ImageNet weights of MobileNetV2 ({V2_FILE}): 307.2 KB from "
        f"{mirror.url}{V2}{V2_FILE}"
    ]
    assert rec.progress_calls[-1][1:3] == (len(PAYLOAD), len(PAYLOAD))
    # the second time the cache answers: no request at all
    before = len(mirror.requests)
    assert pt.ensure_keras_app("MobileNetV2", 64, rec) == path
    assert len(mirror.requests) == before
    assert describe("keras-app:MobileNetV2", image_size=64).weights == "ImageNet (Keras cache)"


def test_a_download_dropped_mid_file_resumes_with_a_range_request(caches, mirror):
    mirror.files[V2 + V2_FILE] = PAYLOAD
    mirror.drop[V2 + V2_FILE] = 1
    path = pt.ensure_keras_app("MobileNetV2", 224)
    assert path.read_bytes() == PAYLOAD
    ranges = mirror.gets(V2 + V2_FILE)
    assert ranges[0] == "" and ranges[1] == f"bytes={len(PAYLOAD) // 2}-"


def test_a_download_that_keeps_breaking_leaves_nothing_in_the_cache(caches, mirror):
    mirror.files[V2 + V2_FILE] = PAYLOAD
    mirror.drop[V2 + V2_FILE] = 99
    with pytest.raises(dl.DownloadFailed, match="broke off .* after 3 attempts; nothing was kept"):
        pt.ensure_keras_app("MobileNetV2", 224)
    assert leftovers(caches / "keras") == []
    assert len(mirror.gets(V2 + V2_FILE)) == 3


def test_a_file_that_does_not_match_the_hash_keras_publishes_is_deleted(caches, mirror):
    weights = pt.keras_app_weights("MobileNetV3Small", 224)
    assert weights.file_hash == "d3e8ec802a04aa4fc771ee12a9a9b836"  # from keras' own source
    mirror.files[V3_PATH] = PAYLOAD
    with pytest.raises(dl.DownloadFailed, match="does not match its published md5"):
        pt.ensure_keras_app("MobileNetV3Small", 224)
    assert leftovers(caches / "keras") == []


def test_the_right_hash_is_accepted(caches, mirror, tmp_path):
    target = tmp_path / "x.bin"
    mirror.files["/x.bin"] = PAYLOAD
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    assert dl.fetch_file(mirror.url + "/x.bin", target, expected_hash=sha).read_bytes() == PAYLOAD


def test_no_network_fails_at_once_and_says_how_to_bring_the_files(caches, monkeypatch):
    monkeypatch.setenv(pt.KERAS_APPS_MIRROR_ENV, closed_port_url())
    start = time.monotonic()
    with pytest.raises(dl.DownloadFailed) as err:
        pt.ensure_keras_app("ResNet50", 224)
    assert time.monotonic() - start < 5
    message = str(err.value)
    assert "Connection refused" in message
    for how in ("--weights FILE", "KERAS_HOME", "TFHUB_CACHE_DIR", "KAGGLEHUB_CACHE"):
        assert how in message
    assert leftovers(caches / "keras") == []


def test_the_offline_setting_refuses_before_any_connection(caches, mirror, monkeypatch):
    mirror.files[V2 + V2_FILE] = PAYLOAD
    with pytest.raises(BadInput, match="downloads are off"):
        describe("keras-app:MobileNetV2", offline=True)
    monkeypatch.setenv(dl.OFFLINE_ENV, "1")
    with pytest.raises(dl.DownloadFailed, match="downloads are off .*KERAS_HOME"):
        pt.ensure_keras_app("MobileNetV2", 224)
    with pytest.raises(BadInput, match="downloads are off"):
        describe("kerashub:bert_tiny_en_uncased", task="text-classification")
    assert mirror.requests == []


def test_a_download_bigger_than_the_free_disk_is_refused_with_its_size(caches, mirror, monkeypatch):
    mirror.files[V2 + V2_FILE] = PAYLOAD

    class Usage:
        free = 1_000_000

    monkeypatch.setattr(dl.shutil, "disk_usage", lambda _p: Usage)
    with pytest.raises(dl.DownloadFailed, match=r"is 307.2 KB but only 1.0 MB is free"):
        pt.ensure_keras_app("MobileNetV2", 224)
    assert mirror.gets(V2 + V2_FILE) == []  # refused before the body was asked for


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


HUB = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5"
HUB_PATH = "/google/imagenet/mobilenet_v2_100_224/feature_vector/5?tf-hub-format=compressed"


def test_a_tf_hub_handle_is_unpacked_into_the_folder_tensorflow_hub_uses(caches, mirror):
    mirror.files[HUB_PATH] = _tarball({"saved_model.pb": b"pb", "variables/variables.index": b"i"})
    assert describe(f"hub:{HUB}").weights == f"TF Hub {HUB} (downloaded)"
    folder = pt.ensure_hub(HUB)
    assert folder.parent == caches / "hub"
    assert folder.name == hashlib.sha1(HUB.encode()).hexdigest()  # tensorflow_hub's own key
    assert (folder / "variables" / "variables.index").read_bytes() == b"i"
    assert describe(f"hub:{HUB}").weights == f"TF Hub {HUB} (cache)"
    assert sorted(p.name for p in (caches / "hub").iterdir()) == [
        folder.name,
        folder.name + ".descriptor.txt",
    ]


def test_a_tf_hub_download_without_a_savedmodel_is_refused_and_not_kept(caches, mirror):
    mirror.files[HUB_PATH] = _tarball({"README": b"not a model"})
    with pytest.raises(dl.DownloadFailed, match="holds no saved_model.pb"):
        pt.ensure_hub(HUB)
    assert list((caches / "hub").iterdir()) == []


def test_a_text_encoder_is_refused_for_images_before_any_download(caches, mirror):
    with pytest.raises(
        BadInput, match="is a text encoder, so it does not fit image-classification"
    ):
        describe("hub:https://tfhub.dev/google/nnlm-en-dim50/2", task="image-classification")
    with pytest.raises(BadInput, match="bert model for text-classification, so it does not fit"):
        describe("kerashub:bert_tiny_en_uncased", task="image-classification")
    assert mirror.requests == []


def test_unknown_names_list_close_matches():
    with pytest.raises(BadInput, match="close matches: bert_tiny_en_uncased"):
        describe("kerashub:bert_tiny_en", task="text-classification")
    with pytest.raises(BadInput, match="close matches: MobileNetV2"):
        describe("keras-app:MobilenetV2")


def _preset_folder(tmp_path):
    folder = tmp_path / "made" / "bert_tiny_en_uncased"
    (folder / "assets" / "tokenizer").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"module": "keras_hub.src.models.bert"}))
    (folder / "model.weights.h5").write_bytes(PAYLOAD)
    (folder / "assets" / "tokenizer" / "vocabulary.txt").write_text("[PAD]\n[UNK]\nhello\n")
    pt.write_manifest(folder)
    return folder


def _serve_folder(mirror, folder, prefix):
    for p in folder.rglob("*"):
        if p.is_file():
            mirror.files[f"{prefix}/{p.relative_to(folder)}"] = p.read_bytes()


def test_a_kerashub_preset_by_name_lands_in_the_kagglehub_cache(caches, mirror, tmp_path):
    _serve_folder(mirror, _preset_folder(tmp_path), "/presets/bert_tiny_en_uncased")
    rec = Recorder()
    folder = pt.ensure_kerashub("bert_tiny_en_uncased", rec)
    assert folder == caches / "kh" / "models/keras/bert/keras/bert_tiny_en_uncased/3"
    assert (folder / "assets/tokenizer/vocabulary.txt").read_text() == "[PAD]\n[UNK]\nhello\n"
    assert (folder.parent / "3.complete").exists()  # kagglehub's marker: it reuses the folder
    assert rec.events[0].startswith("downloading KerasHub preset bert_tiny_en_uncased: 307.")
    assert describe("kerashub:bert_tiny_en_uncased", task="text-classification").weights == (
        "KerasHub bert_tiny_en_uncased (cache)"
    )


def test_a_kerashub_preset_with_a_bad_file_leaves_no_folder(caches, mirror, tmp_path):
    _serve_folder(mirror, _preset_folder(tmp_path), "/presets/bert_tiny_en_uncased")
    mirror.files["/presets/bert_tiny_en_uncased/model.weights.h5"] = b"tampered"
    with pytest.raises(dl.DownloadFailed, match="does not match its published sha256"):
        pt.ensure_kerashub("bert_tiny_en_uncased")
    assert leftovers(caches / "kh") == []


def test_tf_hub_text_encoders_are_trainable_with_their_preprocessing_model():
    from core.models.catalog import check_fits
    from core.models.hub_handles import BY_HANDLE

    bert = "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4"
    entry = check_fits(f"hub:{bert}", "text-classification", "text")
    assert entry.builder == "core.models.builders:build_hub_text_transfer"
    assert BY_HANDLE[bert].preprocess.endswith("/bert_en_uncased_preprocess/3")
    assert BY_HANDLE["https://tfhub.dev/google/nnlm-en-dim50/2"].preprocess == ""  # raw strings
    assert all(not h.trainable_here for h in BY_HANDLE.values())  # none listed is refused
    with pytest.raises(BadInput, match="takes text input for text-classification"):
        check_fits(f"hub:{bert}", "image-classification", "image")
    entry = check_fits("kerashub:bert_tiny_en_uncased", "text-classification", "text")
    assert entry.builder == "core.models.builders:build_text_transfer"


def test_an_unknown_tf_hub_handle_lists_the_close_listed_handles(caches, mirror):
    typo = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_244/feature_vector/5"
    with pytest.raises(dl.DownloadFailed, match=r"HTTP 404.*close matches: " + HUB):
        pt.ensure_hub(typo)
    assert list((caches / "hub").iterdir()) == []


def test_an_image_model_is_refused_for_text_before_any_download(caches, mirror):
    with pytest.raises(BadInput, match="is an image model, so it does not fit text-classification"):
        describe(f"hub:{HUB}", task="text-classification")
    with pytest.raises(BadInput, match="resnet model for image-classification, so it does not"):
        describe("kerashub:resnet_18_imagenet", task="text-classification")
    assert mirror.requests == []


class _SmallDisk:
    free = 1_000_000


def test_a_tf_hub_download_bigger_than_the_free_disk_is_refused_with_its_size(
    caches, mirror, monkeypatch
):
    mirror.files[HUB_PATH] = PAYLOAD  # 307 KB announced; tarball + unpacked copy need 3x
    monkeypatch.setattr(dl.shutil, "disk_usage", lambda _p: _SmallDisk)
    with pytest.raises(dl.DownloadFailed, match=r"is 921.6 KB but only 1.0 MB is free"):
        pt.ensure_hub(HUB)
    assert mirror.gets(HUB_PATH) == []  # refused before the body was asked for


def test_a_kerashub_preset_bigger_than_the_free_disk_is_refused_with_its_size(
    caches, mirror, monkeypatch, tmp_path
):
    _serve_folder(mirror, _preset_folder(tmp_path), "/presets/bert_tiny_en_uncased")
    monkeypatch.setattr(dl.shutil, "disk_usage", lambda _p: _SmallDisk)
    with pytest.raises(
        dl.DownloadFailed, match=r"KerasHub preset bert_tiny_en_uncased is 307.\d KB but only"
    ):
        pt.ensure_kerashub("bert_tiny_en_uncased")
    assert mirror.gets("/presets/bert_tiny_en_uncased/model.weights.h5") == []
    assert leftovers(caches / "kh") == []

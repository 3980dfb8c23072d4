"""A TF Hub text encoder trained as a frozen encoder + head: a BERT-style encoder handle and
its preprocessing handle, both tiny SavedModels the test builds (TF Hub's TF2 form: a
`__call__` function, no Keras), served as TF Hub tarballs from a mirror on 127.0.0.1."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest

from tests.conftest import tfstudio
from tests.http_mirror import Mirror
from tests.test_families_slow import train
from tests.test_text_transfer_slow import BAD, FILLER, GOOD, reviews

pytestmark = pytest.mark.slow

ENCODER = "https://tfhub.dev/tensorflow/small_bert/bert_en_uncased_L-4_H-512_A-8/2"
PREPROCESS = "https://tfhub.dev/tensorflow/bert_en_uncased_preprocess/3"
LENGTH = 8
KEYS = ("input_word_ids", "input_mask", "input_type_ids")  # TF Hub BERT's encoder inputs


def make_hub_bert(folder):
    """A preprocessing model (strings -> input_word_ids/input_mask/input_type_ids) and an
    encoder (-> pooled_output, sequence_output) whose embeddings were "pretrained" by hand:
    the first dimension says whether a word is positive, so its features carry the signal."""
    import tensorflow as tf

    vocab = ["[PAD]", "[UNK]", *GOOD, *BAD, *FILLER]

    class Preprocess(tf.Module):
        def __init__(self):
            init = tf.lookup.KeyValueTensorInitializer(vocab, tf.range(len(vocab), dtype=tf.int64))
            self.table = tf.lookup.StaticHashTable(init, 1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, text):
            words = tf.strings.split(tf.strings.lower(text))
            ids = tf.cast(self.table.lookup(words), tf.int32).to_tensor(0, shape=[None, LENGTH])
            mask = tf.cast(ids > 0, tf.int32)
            return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": mask * 0}

    rng = np.random.default_rng(0)
    table = rng.normal(0, 0.3, (len(vocab), 6)).astype("float32")
    table[[vocab.index(w) for w in GOOD], 0] += 1.0
    table[[vocab.index(w) for w in BAD], 0] -= 1.0
    spec = tf.TensorSpec([None, LENGTH], tf.int32)

    class Encoder(tf.Module):
        def __init__(self):
            self.embeddings = tf.Variable(table, name="embeddings")

        @tf.function(input_signature=[{k: spec for k in KEYS}])
        def __call__(self, inputs):
            x = tf.gather(self.embeddings, inputs["input_word_ids"])
            m = tf.cast(inputs["input_mask"], tf.float32)[..., None]
            pooled = tf.reduce_sum(x * m, 1) / tf.maximum(tf.reduce_sum(m, 1), 1.0)
            return {"pooled_output": tf.tanh(pooled), "sequence_output": x}

    tf.saved_model.save(Preprocess(), str(folder / "preprocess"))
    tf.saved_model.save(Encoder(), str(folder / "encoder"))
    return folder / "encoder", folder / "preprocess"


def tarball(folder) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(str(folder), arcname=".")
    return buf.getvalue()


def test_tf_hub_bert_encoder_with_its_preprocessing_model_trains_frozen(tmp_path, monkeypatch):
    from core.models.pretrained import HUB_MIRROR_ENV

    encoder, preprocess = make_hub_bert(tmp_path)
    (tmp_path / "reviews.csv").write_text(reviews())
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "hub-cache"))
    args = ["--data", str(tmp_path / "reviews.csv"), "--target", "label", "--epochs", "15"]
    args += ["--model", f"hub:{ENCODER}", "--learning-rate", "0.05"]
    with Mirror() as mirror:
        for handle, folder in ((ENCODER, encoder), (PREPROCESS, preprocess)):
            path = handle.removeprefix("https://tfhub.dev") + "?tf-hub-format=compressed"
            mirror.files[path] = tarball(folder)
        monkeypatch.setenv(HUB_MIRROR_ENV, mirror.url)
        out = tfstudio("train", *args, "--home", str(tmp_path))  # no trust given: refused
        assert out.returncode == 2 and "--trust-savedmodel" in out.stderr, out.stderr
        assert mirror.requests == []  # before any download
        payload = train(tmp_path, *args, "--trust-savedmodel")
    result = payload["result"]
    assert result["model"] == f"hub:{ENCODER}"
    assert payload["test_metrics"]["accuracy"] >= 0.8
    shown = json.loads(
        tfstudio("runs", "show", payload["run_id"], "--json", "--home", str(tmp_path)).stdout
    )
    events = " | ".join(shown["events"])
    assert f"downloading TF Hub model {ENCODER}" in events
    assert f"downloading TF Hub model {PREPROCESS}" in events

    # model.keras reloads (the run's trust is read from the store) and predicts raw strings
    from core.models.io import load_run_model

    model = load_run_model(tmp_path / "runs" / payload["run_id"])
    import tensorflow as tf

    texts = tf.constant(["great superb", "awful dull"])
    probabilities = np.asarray(model.predict(texts, verbose=0))
    assert [result["classes"][i] for i in probabilities.argmax(1)] == ["pos", "neg"]

    # its SavedModel (what export and serving write) gives the same probabilities
    from core.export.convert import savedmodel_predict, to_savedmodel

    saved = to_savedmodel(model, tmp_path / "savedmodel")
    assert np.abs(savedmodel_predict(saved, texts) - probabilities).max() < 1e-5
    print("tflite at training:", result.get("tflite_parity"))

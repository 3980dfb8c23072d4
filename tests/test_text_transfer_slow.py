"""Text transfer learning on a BERT-family KerasHub preset the test makes (tiny dims, a tiny
vocabulary), served by name from a local mirror on 127.0.0.1: downloaded once into the
kagglehub cache, frozen encoder + new head, one fine-tuning epoch, TFLite refused with the
reason, then exported to SavedModel by the export job and served by `tfstudio serve` on raw
strings (`{"instances": ["some text"]}`), with the Keras model's probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import tfstudio
from tests.http_mirror import Mirror
from tests.test_families_slow import train

pytestmark = pytest.mark.slow

GOOD = ["good", "great", "fine", "lovely", "superb"]
BAD = ["bad", "awful", "poor", "dull", "terrible"]
FILLER = ["the", "movie", "film", "was", "really"]


def make_tiny_bert_preset(folder):
    import keras_hub

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *GOOD, *BAD, *FILLER]
    tokenizer = keras_hub.tokenizers.BertTokenizer(vocabulary=vocab, lowercase=True)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab),
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=64,
    )
    # Pretraining, in miniature: a few epochs on other reviews, so the frozen encoder's
    # features carry the signal a real pretrained encoder's would (a random BERT's [CLS]
    # output barely depends on the input).
    import keras

    classifier = keras_hub.models.BertTextClassifier(
        backbone,
        num_classes=2,
        preprocessor=keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16),
    )
    classifier.compile(optimizer=keras.optimizers.Adam(0.01))
    lines = reviews(64, seed=1).splitlines()[1:]
    texts = [line.rsplit(",", 1)[0] for line in lines]
    labels = np.array([line.endswith(",pos") for line in lines], "int32")
    classifier.fit(texts, labels, batch_size=16, epochs=8, verbose=0)
    backbone.save_to_preset(str(folder))
    tokenizer.save_to_preset(str(folder))


def reviews(n=80, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = list(rng.choice(FILLER, 3)) + list(rng.choice(GOOD if i % 2 else BAD, 2))
        rng.shuffle(words)
        rows.append(f"{' '.join(words)},{label}")
    return "review,label\n" + "\n".join(rows) + "\n"


def test_bert_preset_by_name_downloads_trains_fine_tunes_and_exports_savedmodel(
    tmp_path, monkeypatch
):
    from core.models.pretrained import KERASHUB_MIRROR_ENV, write_manifest

    preset = tmp_path / "made" / "bert_tiny_en_uncased"
    make_tiny_bert_preset(preset)
    write_manifest(preset)
    (tmp_path / "reviews.csv").write_text(reviews())
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    with Mirror() as mirror:
        for p in preset.rglob("*"):
            if p.is_file():
                mirror.files[f"/bert_tiny_en_uncased/{p.relative_to(preset)}"] = p.read_bytes()
        monkeypatch.setenv(KERASHUB_MIRROR_ENV, mirror.url)
        payload = train(
            tmp_path, "--data", str(tmp_path / "reviews.csv"), "--task", "text-classification",
            "--target", "label", "--model", "kerashub:bert_tiny_en_uncased", "--epochs", "15",
            "--learning-rate", "0.01", "--fine-tune-layers", "2", "--fine-tune-epochs", "1",
        )  # fmt: skip
    result = payload["result"]
    assert result["model"] == "kerashub:bert_tiny_en_uncased"
    assert payload["test_metrics"]["accuracy"] >= 0.8
    assert "LiteRT" in result["tflite_parity"]["refused"]
    assert "TF Text tokenizer ops" in result["tflite_parity"]["refused"]
    cached = tmp_path / "kagglehub/models/keras/bert/keras/bert_tiny_en_uncased/3"
    assert (cached / "model.weights.h5").is_file()
    history = json.loads(open(payload["artifacts"]["history.json"]).read())
    assert len(history["loss"]) == 16  # fifteen epochs on the head, one fine-tuning
    shown = json.loads(
        tfstudio("runs", "show", payload["run_id"], "--json", "--home", str(tmp_path)).stdout
    )
    events = " | ".join(shown["events"])
    assert "downloading KerasHub preset bert_tiny_en_uncased" in events
    assert "fine-tuning the top 2 backbone layers" in events

    for fmt in ("tflite", "tfjs"):  # refused before any export run, with the reason
        out = tfstudio(
            "export", payload["run_id"], "--format", fmt, "--out", str(tmp_path / "x"), "--home",
            str(tmp_path),
        )  # fmt: skip
        assert out.returncode == 2 and "TF Text" in out.stderr, out.stderr

    # The normal export job writes the SavedModel; `tfstudio serve` (a fresh process, which
    # must load TF Text's ops itself) answers TF Serving row requests with raw strings.
    exported = tfstudio(
        "export", payload["run_id"], "--format", "savedmodel", "--out", str(tmp_path / "sm"),
        "--json", "--home", str(tmp_path),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-3000:]
    export = json.loads(exported.stdout)
    assert export["parity"]["agreement"] == 1.0 and export["parity"]["max_abs_diff"] < 1e-5
    import zipfile

    with zipfile.ZipFile(tmp_path / "sm" / "savedmodel.zip") as bundle:
        readme = bundle.read(next(n for n in bundle.namelist() if n.endswith("README.md")))
    readme = readme.decode()
    assert '"instances": ["' in readme  # the README's curl example sends one string per row
    from core.serving.custom_ops import custom_ops  # what a TF Hub text run's refusal reads

    assert custom_ops(tmp_path / "sm" / "savedmodel") == [
        "CaseFoldUTF8", "FastWordpieceTokenizeWithOffsets", "RegexSplitWithOffsets",
        "TFText>RoundRobinTrim",
    ]  # fmt: skip

    from core.models.io import load_run_model

    texts = ["great superb movie", "awful dull film", "the film was really lovely"]
    model = load_run_model(tmp_path / "runs" / payload["run_id"])
    probabilities = np.asarray(model.predict(np.array(texts, object), verbose=0))
    classes = result["classes"]
    assert [classes[i] for i in probabilities.argmax(1)] == ["pos", "neg", "pos"]
    from core.predict.job import run_predict_job  # the playground's one text
    from core.runs.reporter import NullReporter
    from core.specs import PredictSpec

    monkeypatch.setenv("TFSTUDIO_HOME", str(tmp_path))
    one = PredictSpec(source_run=payload["run_id"], inputs_json=json.dumps({"text": texts[1]}))
    got = run_predict_job(one, NullReporter(), tmp_path)
    assert got["predicted_class"] == "neg"
    assert np.abs(np.asarray(got["probabilities"]) - probabilities[1]).max() < 1e-5
    url, stop = serve(tmp_path, export["run_id"])
    try:
        status, meta = call(f"{url}/metadata")
        inputs = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
        assert inputs["text"]["dtype"] == "DT_STRING"
        assert [d["size"] for d in inputs["text"]["tensor_shape"]["dim"]] == ["-1"]
        status, answer = call(f"{url}:predict", {"instances": texts})
        assert status == 200, answer
        assert np.abs(np.asarray(answer["predictions"]) - probabilities).max() < 1e-5
        status, answer = call(f"{url}:predict", {"instances": [["great movie"]]})
        assert status == 400 and "takes [-1]" in answer["error"]  # one string per row, no list
    finally:
        stop()


def serve(home, run_id):
    """`tfstudio serve RUN_ID` on a free loopback port; returns its model URL and a stopper."""
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO
    from tests.test_browser import free_port

    port = free_port()
    log = open(home / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli.main", "serve", run_id, "--port", str(port),
         "--home", str(home)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True,
    )  # fmt: skip
    line = proc.stdout.readline()  # the "listening" line, once the model is loaded
    assert line, (home / "serve.log").read_text()[-3000:]
    name = json.loads(line)["name"]

    def stop():
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()

    return f"http://127.0.0.1:{port}/v1/models/{name}", stop


def call(url, body=None):
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())

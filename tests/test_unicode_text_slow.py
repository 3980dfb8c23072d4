"""Any Unicode text trains end to end (#30): curly quotes, dashes, accents, emoji, CJK and
right-to-left scripts in the worker, its log, the vocabulary, the TFLite parity check, the
exports and the REST server (a curly apostrophe used to fail every text run at the TFLite check)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import numpy as np
import pandas as pd
import pytest

from tests.cli_helpers import cli_json
from tests.conftest import REPO, tfstudio
from tests.test_browser import free_port

pytestmark = pytest.mark.slow

POSITIVE = ["great", "très-bien", "素晴らしい", "ممتاز", "😀", "“superb”"]
NEGATIVE = ["awful", "naïve-mess", "最悪", "סבל", "😡", "don’t—watch"]
FILLERS = ["it’s", "—", "café", "東京", "שלום", "…", "Ångström", "the", "film", "‘quoted’"]


def unicode_reviews(path, n: int = 300) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        words = list(rng.choice(FILLERS, 6)) + list(rng.choice(POSITIVE if i % 2 else NEGATIVE, 3))
        rng.shuffle(words)
        rows.append({"review": " ".join(words), "sentiment": "positive" if i % 2 else "negative"})
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")


def test_unicode_text_trains_exports_and_serves(tmp_path):
    unicode_reviews(tmp_path / "reviews.csv")
    imported = cli_json(
        tmp_path, "data", "import", str(tmp_path / "reviews.csv"), "--target", "sentiment"
    )
    assert imported["kind"] == "text"
    payload = cli_json(
        tmp_path, "train", "--data", imported["id"], "--target", "sentiment", "--epochs", "10",
        "--learning-rate", "0.01",
    )  # fmt: skip
    assert payload["status"] == "SUCCEEDED", payload
    assert payload["test_metrics"]["accuracy"] >= 0.9
    parity = payload["result"]["tflite_parity"]
    assert parity["agreement"] == 1.0

    # the run's log and `runs show` carry the text without mangling or crashing
    shown = cli_json(tmp_path, "runs", "show", payload["run_id"])
    assert shown["status"] == "SUCCEEDED"

    out = tmp_path / "bundles"
    for fmt in ("savedmodel", "tflite"):
        exported = cli_json(
            tmp_path, "export", payload["run_id"], "--format", fmt, "--out", str(out / fmt)
        )
        assert exported["parity"]["agreement"] == 1.0, (fmt, exported["parity"])

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli.main", "serve", payload["run_id"], "--port", str(port),
         "--home", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line, "the server did not start"
        name = json.loads(line)["name"]
        texts = ["it’s 素晴らしい 😀 “superb” café", "don’t—watch 最悪 סבל — naïve-mess"]
        # the model takes (batch, 1) strings: one list of one text per instance
        body = json.dumps({"instances": [[t] for t in texts]}, ensure_ascii=False).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/models/{name}:predict",
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        with urllib.request.urlopen(request, timeout=60) as r:
            predictions = np.asarray(json.loads(r.read())["predictions"])
        classes = payload["result"]["classes"]
        assert [classes[i] for i in predictions.argmax(1)] == ["positive", "negative"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_emoji_only_and_single_word_texts_train_or_say_why(tmp_path):
    rows = [{"t": "😀" if i % 2 else "😡", "y": "pos" if i % 2 else "neg"} for i in range(60)]
    pd.DataFrame(rows).to_csv(tmp_path / "emoji.csv", index=False)
    imported = cli_json(tmp_path, "data", "import", str(tmp_path / "emoji.csv"), "--target", "y")
    out = tfstudio(
        "train", "--data", imported["id"], "--target", "y", "--epochs", "5", "--json",
        "--home", str(tmp_path),
    )  # fmt: skip
    assert "Traceback" not in out.stderr
    if out.returncode == 0:
        payload = json.loads(out.stdout)
        assert payload["result"]["tflite_parity"]["agreement"] == 1.0
    else:
        assert out.stderr.strip(), "a refusal must say why"

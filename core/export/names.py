"""The export's names: files, bundles, titles and runtimes per format (no TensorFlow, so pages
and the CLI read them without starting one)."""

from __future__ import annotations

import re

from core.training.features import ModelContract

# The file (or folder) each format produces, as named in the export run's artifacts.
OUTPUT_NAME = {
    "keras": "model.keras",
    "savedmodel": "savedmodel",
    "tflite": "model.tflite",
    "tfjs": "tfjs",
    "micro": "model_data.cc",
}
# The zip each format is offered as (savedmodel.zip keeps its old artifact name).
BUNDLE_NAME = {
    "keras": "keras-bundle.zip",
    "savedmodel": "savedmodel.zip",
    "tflite": "tflite-bundle.zip",
    "tfjs": "tfjs-bundle.zip",
    "micro": "micro-bundle.zip",
}
FORMAT_TITLE = {
    "keras": "Keras",
    "savedmodel": "SavedModel (TF Serving)",
    "tflite": "TFLite",
    "tfjs": "TF.js",
    "micro": "TFLite Micro (C++)",
}
RUNTIME = {
    "keras": "keras.models.load_model",
    "savedmodel": "tf.saved_model.load",
    "tflite": "LiteRT interpreter",
    "tfjs": "@tensorflow/tfjs in headless Chromium",
    "micro": "TFLite Micro interpreter (tflite-micro), after the C++ preprocessing",
}
TFJS_EXAMPLE_ROWS = {"table": 64, "sequence": 32, "image": 8, "text": 32}


def serving_name(contract: ModelContract, requested: str = "") -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", requested or contract.target or "model").strip("_")
    return name.lower() or "model"

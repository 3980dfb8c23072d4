"""int8 TFLite against float TFLite, like for like: the same network, the same interpreter, the
same rows, at batch 1 and batch 32, with 1 and 2 interpreter threads.

Goal (issue 20): int8 compared with the float TFLite model, never with eager Keras; say honestly
when int8 is not faster. Trains a small CNN on scikit-learn's digits images (8x8, 10 classes),
converts it to float TFLite and to full-int8 TFLite (representative data from the training
split; int8 inputs and outputs, `--float-io` for float I/O), then alternates the two models
(float, int8, float, ... at least 5 pairs, each sample the median of many calls) per setting.
Reports the median per-pair ratio int8/float with its range, CPU time beside wall. Exits 0.

    .venv/bin/python benchmarks/int8_latency.py [--pairs 5] [--filters 32] [--float-io]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CALLS = {1: 300, 32: 60}


def build(filters: int):
    import keras

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(2 * filters, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def convert(model, x_train, int8: bool, float_io: bool) -> bytes:
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([x_train[i : i + 1]] for i in range(200))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not float_io:
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
    return conv.convert()


def runner(content: bytes, threads: int, batch: int, x):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=content, num_threads=threads)
    detail = interp.get_input_details()[0]
    interp.resize_tensor_input(detail["index"], [batch, 8, 8, 1])
    interp.allocate_tensors()
    data = x[:batch]
    if detail["dtype"] == "int8" or str(detail["dtype"]).endswith("int8'>"):
        scale, zero = detail["quantization"]
        data = (data / scale + zero).round().clip(-128, 127).astype("int8")
    interp.set_tensor(detail["index"], data)

    def call() -> None:
        interp.invoke()

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--float-io", action="store_true")
    args = parser.parse_args()

    import keras
    from sklearn.datasets import load_digits

    from benchmarks.abab import alternate, timed

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target
    keras.utils.set_random_seed(0)
    model = build(args.filters)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1400], y[:1400], epochs=args.epochs, batch_size=64, verbose=0)
    float_tfl = convert(model, x[:1400], int8=False, float_io=True)
    int8_tfl = convert(model, x[:1400], int8=True, float_io=args.float_io)
    if True:
        print(
            f"digits CNN ({model.count_params():,} parameters): float TFLite "
            f"{len(float_tfl) / 1024:.0f} KiB, int8 TFLite {len(int8_tfl) / 1024:.0f} KiB "
            f"({'float' if args.float_io else 'int8'} inputs/outputs)"
        )
        test = x[1400:]
        print("each sample: the median of many invoke() calls; ratio = int8 / float")
        for threads in (1, 2):
            for batch in (1, 32):
                f = timed(runner(float_tfl, threads, batch, test), CALLS[batch])
                q = timed(runner(int8_tfl, threads, batch, test), CALLS[batch])
                cmp = alternate("float", f, "int8", q, pairs=args.pairs, log=None)
                w, c = cmp.summary("wall"), cmp.summary("cpu")
                verdict = "faster" if w["median"] < 1 else "NOT faster"
                print(
                    f"threads {threads} batch {batch:>2}: float {w['a_median'] * 1e3:.4f} ms, "
                    f"int8 {w['b_median'] * 1e3:.4f} ms -> ratio median {w['median']:.3f} "
                    f"(range {w['min']:.3f}-{w['max']:.3f}, {w['pairs']} pairs; CPU ratio "
                    f"{c['median']:.3f}): int8 {verdict}"
                )


if __name__ == "__main__":
    main()

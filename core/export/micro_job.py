"""The microcontroller bundle: an int8 network TFLM runs, C++ glue, arena, resolver, main.cc.

The end-to-end .tflite cannot run on TFLM (hash-table lookups; FillMissing's FILL with a shape
computed at run time), so the bundle holds the network alone, converted with a static batch of 1
and full int8 quantization (calibrated on the training rows), and the preprocessing as C++
(`micro_glue`). Before anything is offered, the real TFLM interpreter runs it on the held-out
rows (raw rows -> glue -> int8 -> TFLM -> float) and the result is compared with the Keras model;
a model TFLM cannot run raises MicroRefused with the op or shape at fault.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.export import micro, micro_glue
from core.export.context import format_result
from core.export.micro import MicroRefused
from core.export.micro_host import build_host_script
from core.models.io import load_run_model

CALIBRATION_ROWS = 200
GLUE_TOLERANCE = 1e-5  # the C/numpy glue against preprocessing.keras (float32 arithmetic)


def network_int8(network, calibration: np.ndarray, out: Path) -> bytes:
    """The Keras network as a full-int8 .tflite (int8 in and out) with a static batch of 1."""
    import tensorflow as tf

    shape = [1, *[int(d) for d in network.input_shape[1:]]]
    with tempfile.TemporaryDirectory() as tmp:
        network.export(
            str(Path(tmp) / "saved"),
            format="tf_saved_model",
            input_signature=[tf.TensorSpec(shape, tf.float32, name="features")],
            verbose=False,
        )
        converter = tf.lite.TFLiteConverter.from_saved_model(str(Path(tmp) / "saved"))
        converter.optimizations = [tf.lite.Optimize.DEFAULT]

        def rep():
            for row in calibration:
                yield [row[None, ...].astype("float32")]

        converter.representative_dataset = rep
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        data = converter.convert()
    out.write_bytes(data)
    return data


def _calibration(ctx, glue: dict[str, Any]) -> tuple[np.ndarray, str]:
    """Training rows through the glue; the held-out rows if the training data is gone (said)."""
    from core.compression.data import rebuild_split
    from core.runs.store import RunStore
    from core.workspace import Workspace

    try:
        ws = Workspace.resolve()
        run = RunStore(ws.db_path).get_run(ctx.src.train_run)
        split = rebuild_split(run.spec, run.result or {}, ctx.source)
        n = len(split.train_y)
        order = np.random.default_rng(0).permutation(n)[:CALIBRATION_ROWS]
        rows = {k: v[order] for k, v in split.train_x.items()}
        return micro_glue.apply(glue, rows), f"{len(order)} training rows"
    except Exception as exc:  # noqa: BLE001  (calibration still works, and the report says so)
        note = f"the held-out rows (the training data could not be rebuilt: {exc})"
        return micro_glue.apply(glue, ctx.raw), note[:300]


def _micro_model(ctx, glue: dict[str, Any]) -> tuple[bytes, str]:
    """The .tflite for TFLM and where it came from."""
    v = ctx.src.variant
    out = ctx.work / "micro.tflite"
    if v and v.get("scope") == "network" and not v.get("network_path"):
        return ctx.src.tflite_path.read_bytes(), f"the {v['method']} variant's network .tflite"
    if v and not v.get("network_path"):
        raise MicroRefused(
            f"the {v['method']} variant is an end-to-end .tflite with the preprocessing inside "
            f"(ops TFLM lacks or cannot size: {_blocking(ctx.src.tflite_path.read_bytes())}); "
            "export the training run, or an int8/QAT variant of the network, for a microcontroller"
        )
    folder, name = ctx.source, "network.keras"
    if v:
        folder, name = Path(v["network_path"]).parent, Path(v["network_path"]).name
    if not (folder / name).is_file():
        raise MicroRefused(f"no {name} in {folder}: the micro export converts the network alone")
    network = load_run_model(folder, name)
    calibration, where = _calibration(ctx, glue)
    data = network_int8(network, calibration, out)
    return data, f"{name}, full int8 (calibrated on {where}), batch 1"


def _blocking(data: bytes) -> str:
    blockers = micro.tflm_blockers(micro.tflm_ops(data))
    if blockers:
        return ", ".join(blockers)
    try:
        micro.tflm_interpreter(data, micro.ARENA_MAX)
    except MicroRefused as exc:
        return str(exc)
    return "none found"


def check_glue(glue: dict[str, Any], io: dict[str, dict], raw, workdir: Path) -> dict[str, Any]:
    """Compile the C++ glue with a harness and compare its int8 features with numpy's."""
    gxx = shutil.which("g++")
    if gxx is None:
        return {"checked": False, "reason": "no C++ compiler (g++) on this machine"}
    n = len(next(iter(raw.values())))
    rows = ",\n".join("  " + micro_glue.row_initializer(glue, raw, i) for i in range(n))
    harness = (
        '#include <cmath>\n#include <cstdio>\n#include "tfstudio_features.h"\n'
        f"static const tfstudio::RawRow kRows[] = {{\n{rows}\n}};\n"
        "int main() {\n  float f[tfstudio::kFeatureCount];\n  int8_t q[tfstudio::kFeatureCount];\n"
        f"  for (int r = 0; r < {n}; ++r) {{\n    tfstudio::Preprocess(kRows[r], f);\n"
        "    tfstudio::QuantizeInput(f, q);\n"
        '    for (int i = 0; i < tfstudio::kFeatureCount; ++i) printf("%.9g %d ", f[i], q[i]);\n'
        '    printf("\\n");\n  }\n}\n'
    )
    (workdir / "harness.cc").write_text(harness)
    exe = workdir / "harness"
    cmd = [gxx, "-std=c++17", "-O1", "-Wall", "-Werror", "-o", str(exe)]
    cmd += [str(workdir / "harness.cc"), str(workdir / "tfstudio_features.cc"), "-I", str(workdir)]
    built = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if built.returncode != 0:
        raise RuntimeError(f"the generated C++ glue does not compile: {built.stderr[-800:]}")
    ran = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    values = np.array([line.split() for line in ran.stdout.splitlines()], "float64")
    features, q = values[:, 0::2], values[:, 1::2]
    expected = micro_glue.apply(glue, raw)
    report = {
        "checked": True,
        "compiler": "g++ -std=c++17 -Wall -Werror",
        "rows": n,
        "max_abs_diff": float(np.max(np.abs(features - expected))),
    }
    if io["input"]["dtype"] == "int8":
        mine = micro_glue.quantize(expected, io["input"]["scale"], io["input"]["zero_point"])
        report["int8_mismatches"] = int(np.sum(q != mine))
    return report


def main_cc(glue, io, ops, arena: dict[str, int], raw, expected: np.ndarray, classes) -> str:
    """A small TFLM program: preprocess the first held-out row, invoke, print the outputs."""
    int8_in, int8_out = io["input"]["dtype"] == "int8", io["output"]["dtype"] == "int8"
    fill = (
        "  tfstudio::QuantizeInput(features, input->data.int8);"
        if int8_in
        else "  for (int i = 0; i < tfstudio::kFeatureCount; ++i) input->data.f[i] = features[i];"
    )
    read = (
        "  tfstudio::DequantizeOutput(output->data.int8, scores);"
        if int8_out
        else "  for (int i = 0; i < tfstudio::kOutputCount; ++i) scores[i] = output->data.f[i];"
    )
    label = "tfstudio::kClassNames[i]" if classes else '"output"'
    want = ", ".join(f"{x:.4f}" for x in np.asarray(expected).reshape(-1))
    return "\n".join(
        [
            "// Generated by TF Studio: run the model with TensorFlow Lite for Microcontrollers.",
            "// Build it inside a TFLM tree (github.com/tensorflow/tflite-micro), with",
            "// model_data.cc and tfstudio_features.cc, like its examples/hello_world.",
            "#include <cmath>",
            "#include <cstdint>",
            "#include <cstdio>",
            "",
            '#include "model_data.h"',
            '#include "tfstudio_features.h"',
            '#include "tensorflow/lite/micro/micro_interpreter.h"',
            '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"',
            '#include "tensorflow/lite/schema/schema_generated.h"',
            "",
            "namespace {",
            f"// TFLM's Python interpreter allocated and ran this model in {arena['min_bytes']} "
            "bytes;",
            "// the arena below adds 25% headroom (kernels differ a little between builds).",
            f"constexpr size_t kTensorArenaSize = {arena['arena_bytes']};",
            "alignas(16) uint8_t tensor_arena[kTensorArenaSize];",
            "}  // namespace",
            "",
            "int main() {",
            "  const tflite::Model* model = tflite::GetModel(g_model);",
            "  if (model->version() != TFLITE_SCHEMA_VERSION) {",
            '    printf("model schema %d, TFLM expects %d\\n", static_cast<int>(model->version()),',
            "           TFLITE_SCHEMA_VERSION);",
            "    return 1;",
            "  }",
            micro.resolver_code(ops),
            "  tflite::MicroInterpreter interpreter(model, resolver, tensor_arena,",
            "                                       kTensorArenaSize);",
            "  if (interpreter.AllocateTensors() != kTfLiteOk) {",
            '    printf("AllocateTensors failed: enlarge kTensorArenaSize\\n");',
            "    return 1;",
            "  }",
            "",
            "  // The first held-out row of the test split.",
            f"  const tfstudio::RawRow row = {micro_glue.row_initializer(glue, raw, 0)};",
            "  float features[tfstudio::kFeatureCount];",
            "  tfstudio::Preprocess(row, features);",
            "  TfLiteTensor* input = interpreter.input(0);",
            fill,
            "  if (interpreter.Invoke() != kTfLiteOk) {",
            '    printf("Invoke failed\\n");',
            "    return 1;",
            "  }",
            "  TfLiteTensor* output = interpreter.output(0);",
            "  float scores[tfstudio::kOutputCount];",
            read,
            "  for (int i = 0; i < tfstudio::kOutputCount; ++i) {",
            f'    printf("%s %.4f\\n", {label}, scores[i]);',
            "  }",
            f"  // The Keras model gives: {want}",
            "  return 0;",
            "}",
            "",
        ]
    )


def tflm_version() -> str:
    try:
        from tflite_micro.python.tflite_micro import _version

        return _version.__version__
    except ImportError:  # older wheels
        return "unknown"


def export_micro(ctx) -> dict[str, Any]:
    """Write and check the micro bundle for an export job (core.export.context.ExportContext)."""
    contract = ctx.contract
    why = micro_glue.refusal(contract, [])
    if why:
        raise MicroRefused(why)
    pre = ctx.preprocessing()
    glue = micro_glue.plan(pre, contract)
    keras_features = np.asarray(pre.predict(ctx.tensors, verbose=0), "float32")
    mirror = micro_glue.apply(glue, ctx.raw)
    glue_diff = float(np.max(np.abs(mirror - keras_features.reshape(mirror.shape))))
    if glue_diff > GLUE_TOLERANCE:
        raise MicroRefused(
            f"the C glue's preprocessing differs from preprocessing.keras by {glue_diff:.3g}"
        )

    data, origin = _micro_model(ctx, glue)
    ops = micro.tflm_ops(data)
    blockers = micro.tflm_blockers(ops)
    if blockers:
        raise MicroRefused(f"TFLite Micro has no kernel for {', '.join(blockers)}")
    io = micro.io_details(data, micro.ARENA_MAX)
    shape = io["input"]["shape"]
    if shape[0] != 1 or int(np.prod(shape)) != glue["width"]:
        raise MicroRefused(
            f"the micro model takes shape {shape}, the glue gives (1, {glue['width']})"
        )
    feed = mirror
    if io["input"]["dtype"] == "int8":
        feed = micro_glue.quantize(mirror, io["input"]["scale"], io["input"]["zero_point"])
    arena = micro.arena_bytes(data, feed[:1].reshape(shape))
    got = micro.tflm_run(data, feed.reshape(-1, *shape[1:]), arena["arena_bytes"])
    if io["output"]["dtype"] == "int8":
        got = micro_glue.dequantize(got, io["output"]["scale"], io["output"]["zero_point"])
    check, ok = ctx.parity(got, lossy=True)
    check["runtime"] = f"tflite-micro {tflm_version()} (TFLM's Python interpreter)"
    check["glue_vs_keras_preprocessing"] = glue_diff

    source, header = micro.c_array(data)
    if micro.parse_c_array(source) != data:
        raise RuntimeError("the C array does not hold the .tflite bytes")
    bundle = ctx.bundle_dir("micro")
    files = {
        "model_data.cc": source,
        "model_data.h": header,
        "tfstudio_features.h": micro_glue.header(glue, io, contract.classes),
        "tfstudio_features.cc": micro_glue.source(glue, contract.classes),
        "main.cc": main_cc(glue, io, ops, arena, ctx.raw, ctx.expected[0], contract.classes),
        "OPS.md": micro.ops_note(ops),
        "build_host.sh": build_host_script(ops),
    }
    for name, text in files.items():
        (bundle / name).write_text(text)
    (bundle / "model.tflite").write_bytes(data)
    check["c_glue"] = check_glue(glue, io, ctx.raw, bundle)
    for leftover in ("harness.cc", "harness"):
        (bundle / leftover).unlink(missing_ok=True)
    if check["c_glue"].get("checked") and check["c_glue"]["max_abs_diff"] > GLUE_TOLERANCE:
        raise RuntimeError(f"the compiled C glue differs from numpy: {check['c_glue']}")
    report = {
        "model": origin,
        "ops": ops,
        "resolver": micro.resolver_code(ops, indent=""),
        "arena": arena,
        "io": io,
        "preprocessing": glue,
        "parity": check,
    }
    (bundle / "micro.json").write_text(json.dumps(report, indent=2))
    out = ctx.run_dir / "model_data.cc"
    out.write_text(source)
    (bundle / "README.md").write_text(ctx.readme("TFLite Micro model (C++)", _readme(report, data)))
    return format_result(
        out,
        bundle,
        check,
        ok,
        ops=ops,
        arena_bytes=arena["arena_bytes"],
        c_array_len=len(data),
        tflite_bytes=len(data),
    )


def _readme(report: dict[str, Any], data: bytes) -> str:
    check, arena, io = report["parity"], report["arena"], report["io"]
    agree = f", same class on {check['agreement']:.0%}" if "agreement" in check else ""
    glue = check["c_glue"]
    glue_line = (
        f"compiled with {glue['compiler']} and run on the same rows: its features differ from "
        f"numpy's by at most {glue['max_abs_diff']:.2g}"
        if glue.get("checked")
        else f"not compiled here ({glue.get('reason')})"
    )
    return (
        "## Files\n\n"
        f"- `model_data.cc` / `.h`: `alignas(16) const unsigned char g_model[]` ({len(data):,} "
        f"bytes): {report['model']}. Input {io['input']['dtype']} {io['input']['shape']}, "
        f"output {io['output']['dtype']} {io['output']['shape']}.\n"
        "- `tfstudio_features.h` / `.cc`: the preprocessing in C++ (`tfstudio::Preprocess`: "
        "missing values, normalisation, vocabulary one-hots, with the constants as C arrays) and "
        "`QuantizeInput` / `DequantizeOutput` with the tensors' scales.\n"
        "- `main.cc`: a TFLM program that runs the first held-out row; `build_host.sh` builds "
        "and runs it on a PC from a tflite-micro checkout (and flatbuffers, gemmlowp, ruy).\n"
        "- `OPS.md`: the ops and the `MicroMutableOpResolver` calls (also in `main.cc`).\n"
        "- `micro.json`: all of this as data; `model.tflite`: the same flatbuffer.\n\n"
        f"## Tensor arena\n\n{arena['arena_bytes']:,} bytes (`kTensorArenaSize`): TFLM's "
        f"interpreter allocated and invoked the model in {arena['min_bytes']:,} bytes; 25% "
        "headroom added.\n\n"
        f"## Checked\n\nRun in {check['runtime']} on {check['rows']} held-out rows (raw rows -> "
        f"the glue -> int8 -> TFLM) and compared with the Keras model: max |difference| "
        f"{check['max_abs_diff']:.3g}{agree}. The glue's arithmetic matches the run's "
        f"preprocessing.keras to {check['glue_vs_keras_preprocessing']:.2g}; the C++ glue was "
        f"{glue_line}. `main.cc` itself needs the TFLM sources to build and was not compiled "
        "here.\n\n" + micro.ops_note(report["ops"])
    )

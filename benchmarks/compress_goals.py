"""The Compression issue's goals on a bundled dataset (a benchmark, not a test).

Trains a table MLP on the digits sample (64 pixel columns as a table, `--task classification`,
hidden layers 256 and 128) through the job system, then runs the real CLI:

    tfstudio compress RUN --method int8,prune --sparsity 0.8 --epochs E --json

and checks, against the float TFLite baseline of the same run, measured in the same job:
  - int8 TFLite size <= 0.27x the float TFLite size, accuracy lost <= 1 point;
  - 80% pruning: gzipped size <= 1/3 of the dense model's gzipped size, accuracy lost <= 2 points;
  - int8 interpreter latency <= 0.5x the float TFLite model's, like for like (issue 20): the same
    network in float and in int8, the same LiteRT interpreter (`--threads`), the same test rows,
    `invoke()` alone timed, at batch 1 and batch 32; the two models alternate (float, int8, ...
    at least 5 pairs, benchmarks/abab.py), each sample the median of many calls, and the verdict
    is the median per-pair ratio int8/float, printed with its spread and the CPU-time ratio.
Sizes and accuracies are deterministic for a given training run (one job); only latency is
alternated. When int8 quantizes the network alone (images; tables with lookups), the float side
is that same network converted to float TFLite here, fed the same preprocessed rows.
Prints the figures and PASS/MISS per goal; always exits 0.

`--model cnn` runs the same goals on a model whose network dominates its file: the digits as
8x8 images (a zip of PNGs imported as an image dataset), a small CNN (filters 32, 3 blocks) at
image_size 16. Its int8 variant quantizes the network alone (the Resizing/Rescaling
preprocessing stays float, a few hundred bytes), so the size ratio is the network's.

    .venv/bin/python benchmarks/compress_goals.py [--model mlp|cnn] [--epochs 30] [--finetune 5]
        [--blocks 3] [--pairs 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# invoke() calls per sample: enough for a stable median, short enough for 5+ pairs.
CALLS = {1: 300, 32: 60}


def digits_images(home: Path) -> str:
    """The 1,797 scikit-learn digits as PNGs in class folders, imported as an image dataset."""
    import io
    import zipfile

    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = home / "digits-images.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i, (pixels, label) in enumerate(zip(digits.images, digits.target, strict=True)):
            out = io.BytesIO()
            Image.fromarray((pixels * 255 / 16).astype(np.uint8)).convert("RGB").save(out, "PNG")
            z.writestr(f"digits/{label}/{i}.png", out.getvalue())
    command = [sys.executable, "-m", "core.cli.main", "data", "import", str(path), "--json",
               "--home", str(home)]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout)["id"]


def invoker(path: Path, inputs, batch: int, threads: int):
    """`invoke` of an interpreter of `path` with `batch` rows of `inputs` set once, so that a
    timing covers the runtime's own work, not Python's copying of tensors per call."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    from core.compression.report import TFLiteModel

    interp = Interpreter(model_path=str(path), num_threads=threads)
    details = interp.get_signature_runner().get_input_details()
    if isinstance(inputs, dict):
        rows = {k: np.asarray(v[:batch]) for k, v in inputs.items()}
    else:
        rows = np.asarray(inputs[:batch])
    feed = TFLiteModel(path).feed(rows)  # the report's own dtype and int8 quantization rules
    for name, detail in details.items():
        interp.resize_tensor_input(detail["index"], feed[name].shape)
    interp.allocate_tensors()
    for name, detail in details.items():
        interp.set_tensor(detail["index"], feed[name])
    return interp.invoke


def like_for_like(folder: Path, base: dict, int8: dict, work: Path):
    """The float and int8 TFLite files of the same network and the rows both take.

    End-to-end int8: the job's float baseline and the saved raw test rows. Network-only int8:
    the run's float network.keras converted here, and those rows through preprocessing.keras.
    """
    import numpy as np

    from core.training.families.common import load_test_inputs

    raw = load_test_inputs(folder / "test_inputs.npz")
    if int8.get("scope") != "network":
        return Path(base["path"]), Path(int8["path"]), raw, "end-to-end model"
    from core.export.convert import to_tflite
    from core.models.io import load_run_model
    from core.training.build import to_tensors

    float_net = work / "network_float.tflite"
    to_tflite(load_run_model(folder, "network.keras"), float_net)
    pre = load_run_model(folder, "preprocessing.keras")
    x = raw["input"] if list(raw) == ["input"] else raw
    out = np.asarray(pre.predict(to_tensors(x), verbose=0))
    features = out if out.dtype.kind in "iu" else out.astype("float32")
    return float_net, Path(int8["path"]), features, "network alone (preprocessing excluded)"


def latency(folder: Path, base: dict, int8: dict, work: Path, pairs: int, threads: int):
    """Per batch size: the float/int8 comparison (A = float, B = int8)."""
    from benchmarks.abab import alternate, timed

    float_path, int8_path, inputs, what = like_for_like(folder, base, int8, work)
    n = len(next(iter(inputs.values())) if isinstance(inputs, dict) else inputs)
    out = {}
    for batch in (1, 32):
        rows = min(batch, n)
        f = timed(invoker(float_path, inputs, rows, threads), CALLS[batch])
        q = timed(invoker(int8_path, inputs, rows, threads), CALLS[batch])
        out[rows] = alternate("float", f, "int8", q, pairs=pairs, log=None)
    return out, what, float_path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--finetune", type=int, default=5)
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--filters", type=int, default=32, help="cnn: filters of block 1")
    parser.add_argument("--blocks", type=int, default=3, help="cnn: convolution blocks")
    parser.add_argument("--pairs", type=int, default=5, help="latency: float/int8 pairs (>= 5)")
    parser.add_argument("--threads", type=int, default=1, help="latency: interpreter threads")
    args = parser.parse_args()

    from core.runs import launcher
    from core.runs.store import RunStore
    from core.specs import TrainSpec
    from core.workspace import Workspace

    with tempfile.TemporaryDirectory() as home:
        ws = Workspace.resolve(home)
        store = RunStore(ws.db_path)
        if args.model == "cnn":
            spec = TrainSpec(
                data=digits_images(Path(home)),
                model="cnn",
                epochs=args.epochs,
                image_size=16,
                hyperparameters={"filters": args.filters, "blocks": args.blocks},
                learning_rate=0.001,
            )
        else:
            spec = TrainSpec(
                data="sample:digits",
                target="digit",
                task="classification",
                epochs=args.epochs,
                hidden_units=(256, 128),
                learning_rate=0.001,
            )
        name = f"digits {args.model}"
        run = launcher.wait(store, launcher.submit(ws, store, spec, name=name).id)
        if run.status.value != "SUCCEEDED":
            print(f"training failed: {run.error}")
            return 0
        command = [
            sys.executable, "-m", "core.cli.main", "compress", run.id, "--method", "int8,prune",
            "--sparsity", "0.8", "--epochs", str(args.finetune), "--json", "--home", home,
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            return 0
        report = json.loads(out.stdout)
        base = report["baseline"]
        v = {x["method"]: x for x in report["variants"]}
        int8, prune = v["int8"], v["prune"]
        if "error" in int8:
            print(f"int8 failed: {int8['error']}")
            return 0
        speed, what, float_path = latency(
            ws.run_dir(run.id), base, int8, Path(home), args.pairs, args.threads
        )
        float_net_bytes = float_path.stat().st_size
    print(f"train: {spec}")
    print("compress: tfstudio " + " ".join(command[3:-2]))
    print(f"int8 scope: {int8.get('scope')}")
    print(f"{'':8} {'bytes':>9} {'gzip':>9} {'accuracy':>9}")
    for row in (base, int8, prune):
        line = f"{row['method']:8} {row['size_bytes']:>9,} {row['gzip_bytes']:>9,} "
        print(line + f"{row['metric']:>9.4f}")
    print(f"prune sparsity {prune.get('sparsity', 0):.3f}; test rows {report['test_rows']}")
    print(
        f"latency, like for like: the {what}, float TFLite ({float_net_bytes:,} B) vs int8, "
        f"LiteRT interpreter, {args.threads} thread(s), invoke() alone; each sample the median "
        f"of {CALLS[1]} (batch 1) / {CALLS[32]} (batch 32) calls; ratio = int8 / float"
    )
    for rows, cmp in speed.items():
        w, c = cmp.summary("wall"), cmp.summary("cpu")
        print(
            f"  batch {rows:>2}: float {w['a_median'] * 1e3:.4f} ms, int8 "
            f"{w['b_median'] * 1e3:.4f} ms -> ratio median {w['median']:.3f} (IQR "
            f"{w['q1']:.3f}-{w['q3']:.3f}, range {w['min']:.3f}-{w['max']:.3f}, {w['pairs']} "
            f"pairs); CPU ratio median {c['median']:.3f}"
        )
    goals = [
        ("int8 size <= 0.27x float", int8["size_bytes"] / base["size_bytes"], 0.27),
        ("int8 accuracy lost <= 1 point", (base["metric"] - int8["metric"]) * 100, 1.0),
        ("pruned gzip <= 1/3 dense gzip", prune["gzip_bytes"] / base["gzip_bytes"], 1 / 3),
        ("pruned accuracy lost <= 2 points", (base["metric"] - prune["metric"]) * 100, 2.0),
    ]
    for rows, cmp in speed.items():
        goal = f"int8 latency <= 0.5x float TFLite, batch {rows} (median ratio)"
        goals.append((goal, cmp.summary("wall")["median"], 0.5))
    for name, value, limit in goals:
        print(f"{'PASS' if value <= limit else 'MISS'}  {name}: {value:.3f}")
    print(json.dumps({f"batch_{rows}": cmp.to_dict() for rows, cmp in speed.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

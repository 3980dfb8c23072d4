"""The Compression issue's performance goals on a bundled dataset (a benchmark, not a test).

Trains a table MLP on the digits sample (64 pixel columns as a table, `--task classification`,
hidden layers 256 and 128) through the job system, then runs the real CLI:

    tfstudio compress RUN --method int8,prune --sparsity 0.8 --epochs E --json

and checks, against the float TFLite baseline of the same run, measured in the same job:
  - int8 TFLite size <= 0.27x the float TFLite size, accuracy lost <= 1 point;
  - 80% pruning: gzipped size <= 1/3 of the dense model's gzipped size, accuracy lost <= 2 points;
  - int8 single-row interpreter latency <= 0.5x the float Keras model's `model(x)` latency.
Prints the figures and PASS/MISS per goal; always exits 0.

`--model cnn` runs the same goals on a model whose network dominates its file: the digits as
8x8 images (a zip of PNGs imported as an image dataset), a small CNN (filters 32, 3 blocks) at
image_size 16. Its int8 variant quantizes the network alone (the Resizing/Rescaling
preprocessing stays float, a few hundred bytes), so the size ratio is the network's.

    .venv/bin/python benchmarks/compress_goals.py [--model mlp|cnn] [--epochs 30] [--finetune 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--finetune", type=int, default=5)
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--filters", type=int, default=32, help="cnn: filters of block 1")
    parser.add_argument("--blocks", type=int, default=3, help="cnn: convolution blocks")
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
    print(f"train: {spec}")
    print("compress: tfstudio " + " ".join(command[3:-2]))
    print(f"int8 scope: {int8.get('scope')}")
    print(f"{'':8} {'bytes':>9} {'gzip':>9} {'accuracy':>9} {'1 row ms':>9}")
    for row in (base, int8, prune):
        print(
            f"{row['method']:8} {row['size_bytes']:>9,} {row['gzip_bytes']:>9,} "
            f"{row['metric']:>9.4f} {row['latency_ms']:>9.4f}"
        )
    print(f"keras model(x), 1 row: {base['keras_latency_ms']:.3f} ms; prune sparsity "
          f"{prune.get('sparsity', 0):.3f}; test rows {report['test_rows']}")  # fmt: skip
    goals = [
        ("int8 size <= 0.27x float", int8["size_bytes"] / base["size_bytes"], 0.27),
        ("int8 accuracy lost <= 1 point", (base["metric"] - int8["metric"]) * 100, 1.0),
        ("pruned gzip <= 1/3 dense gzip", prune["gzip_bytes"] / base["gzip_bytes"], 1 / 3),
        ("pruned accuracy lost <= 2 points", (base["metric"] - prune["metric"]) * 100, 2.0),
        (
            "int8 latency <= 0.5x keras model(x)",
            int8["latency_ms"] / base["keras_latency_ms"],
            0.5,
        ),
    ]
    for name, value, limit in goals:
        print(f"{'PASS' if value <= limit else 'MISS'}  {name}: {value:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""README pieces every export bundle shares: inputs, outputs, the parity check it passed."""

from __future__ import annotations

from typing import Any

from core.export.names import RUNTIME
from core.training.features import ModelContract


def inputs_table(contract: ModelContract) -> str:
    if contract.input_kind != "table":
        shape = {
            "image": "float32 (batch, height, width, 3), pixel values 0-255",
            # Pretrained text encoders take a flat (batch,) string (their tokenizer's input).
            "text": "string (batch,): one text per example"
            if contract.details.get("text_encoder")
            else "string (batch, 1): one text per example",
            "sequence": "float32 (batch, steps, features): a window of the series",
        }.get(contract.input_kind, contract.input_kind)
        return f"One input: {shape}.\n"
    rows = ["| input | column | dtype |", "|---|---|---|"]
    for f in contract.features:
        dtype = "string" if f.dtype.startswith("string") else f.dtype.replace("_binned", "")
        rows.append(f"| `{f.input}` | {f.column} | {dtype} (batch, 1) |")
    return "\n".join(rows) + "\n"


def outputs_text(contract: ModelContract) -> str:
    if contract.classes:
        return (
            f"One output: probabilities over {len(contract.classes)} classes, in this order: "
            + ", ".join(f"`{c}`" for c in contract.classes)
            + ".\n"
        )
    return f"One output: the predicted `{contract.target}` ({contract.task}).\n"


def parity_text(fmt: str, check: dict[str, Any] | None) -> str:
    if not check:
        return ""
    agree = f", same class on {check['agreement']:.0%} of them" if "agreement" in check else ""
    return (
        f"\n## Checked\n\nLoaded with {RUNTIME[fmt]} and compared with the Keras model on "
        f"{check['rows']} held-out rows: max |difference| {check['max_abs_diff']:.3g}{agree}.\n"
    )


def chain_text() -> str:
    """README lines for a network-only .tflite and the preprocessing.tflite that feeds it."""
    return (
        "\n## Two models: preprocessing, then the network\n\n"
        "`model.tflite` is the network alone (quantized to int8): it takes the preprocessed "
        "features, not raw inputs. `preprocessing.tflite` is the float preprocessing "
        "(it takes the raw inputs above); chain them:\n\n"
        "```python\nfrom ai_edge_litert.interpreter import Interpreter\n"
        'pre = Interpreter(model_path="preprocessing.tflite").get_signature_runner()\n'
        'net = Interpreter(model_path="model.tflite").get_signature_runner()\n'
        "features = next(iter(pre(**inputs).values()))  # raw inputs -> features\n"
        "name = next(iter(net.get_input_details()))\n"
        "print(net(**{name: features}))  # int8 inputs: quantize with the input's scale and "
        "zero point, see metadata.json\n```\n"
    )

"""TFLite Micro: a .tflite as a C array, its ops and resolver calls, and the real TFLM interpreter.

`tflm_ops`, `tflm_blockers` and `resolver_code` read the flatbuffer with TFLM's own schema
module (no TensorFlow); `tflm_run` runs it in TFLM's Python interpreter (`tflite-micro` package),
which refuses what desktop LiteRT accepts (hash tables, shapes computed at run time), so a check
here is evidence that the model runs on a microcontroller.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from core.export.tflm_ops import RESOLVER_METHOD, TFLM_COMMIT

# Arena sizes are searched in steps of this many bytes (TFLM aligns buffers to 16).
ARENA_STEP = 256
ARENA_MAX = 64 * 1024 * 1024
# Headroom added to the smallest arena that worked: TFLM's own allocations can differ a little
# between the Python build and a device build (pointer sizes, kernel scratch buffers).
ARENA_MARGIN = 1.25


class MicroRefused(RuntimeError):
    """TFLite Micro cannot run this model; the message names the op or shape that blocks it."""


def tflite_ops(path_or_bytes: str | Path | bytes) -> list[str]:
    """The op names in a .tflite flatbuffer, read by the interpreter without delegates."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    source = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    try:
        interpreter = Interpreter(
            model_content=source,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    except (RuntimeError, ValueError):  # Select TF ops: read the names off the flatbuffer
        return sorted(op.removeprefix("CUSTOM:") for op in tflm_ops(source))
    return sorted({op["op_name"] for op in interpreter._get_ops_details()} - {"DELEGATE"})


def tflm_ops(data: bytes) -> list[str]:
    """Builtin op names used by a flatbuffer's main graph and subgraphs (custom: `CUSTOM:name`)."""
    from tflite_micro.python.tflite_micro import runtime
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = runtime.convert_bytearray_to_object(bytearray(data))
    ops = set()
    for code in model.operatorCodes or []:
        name = names.get(runtime.get_builtin_code_from_operator_code(code), "UNKNOWN")
        if name == "CUSTOM":
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else ""
            name = f"CUSTOM:{custom}"
        ops.add(name)
    return sorted(ops)


def tflm_blockers(ops: list[str]) -> list[str]:
    """The ops that TFLite Micro has no builtin kernel for."""
    return [op for op in ops if op not in RESOLVER_METHOD]


def resolver_code(ops: list[str], indent: str = "  ") -> str:
    """C++ that registers exactly these ops with a `MicroMutableOpResolver<N>`."""
    lines = [f"static tflite::MicroMutableOpResolver<{len(ops)}> resolver;"]
    lines += [f"resolver.{RESOLVER_METHOD[op]}();  // {op}" for op in ops]
    return "\n".join(indent + line for line in lines)


class _Stderr:
    """Capture what C++ writes to fd 2 (TFLM's MicroPrintf), to quote its reason."""

    def __enter__(self):
        self.file = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.file.seek(0)
        self.text = self.file.read().decode(errors="replace").strip()
        self.file.close()


def tflm_interpreter(data: bytes, arena_size: int):
    """A TFLM interpreter with this arena (tensors allocated); MicroRefused with TFLM's reason."""
    from tflite_micro.python.tflite_micro import runtime

    with _Stderr() as err:
        try:
            return runtime.Interpreter.from_bytes(bytes(data), arena_size=int(arena_size))
        except RuntimeError as exc:
            failure = exc
    reason = " ".join(line.strip() for line in err.text.splitlines() if line.strip())
    raise MicroRefused(f"{failure}: {reason[:600] or 'no reason printed'}")


_PROBE = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], "rb").read()
interpreter = runtime.Interpreter.from_bytes(data, arena_size=int(sys.argv[2]))
interpreter.set_input(np.load(sys.argv[3]), 0)
interpreter.invoke()
print("ok")
"""


def _fits(data: bytes, arena: int, sample: np.ndarray) -> bool:
    """Allocate and invoke in a child process: TFLM can crash (not fail) on a too-small arena."""
    with tempfile.TemporaryDirectory() as tmp:
        model, feed = Path(tmp) / "m.tflite", Path(tmp) / "x.npy"
        model.write_bytes(data)
        np.save(feed, sample)
        cmd = [sys.executable, "-c", _PROBE, str(model), str(arena), str(feed)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return proc.returncode == 0 and proc.stdout.strip() == "ok"


def arena_bytes(data: bytes, sample: np.ndarray) -> dict[str, int]:
    """The tensor arena TFLM needs for this model (measured), and the size to ship.

    TFLM's RecordingMicroAllocator reports what one allocation and invoke used; that size is
    then tried in a fresh process. A model TFLM refuses raises MicroRefused with its reason.
    """
    interpreter = tflm_interpreter(data, ARENA_MAX)
    interpreter.set_input(sample, 0)
    with _Stderr() as err:
        interpreter.invoke()
        interpreter.print_allocations()
    found = re.search(r"Arena allocation total (\d+) bytes", err.text)
    if not found:
        raise RuntimeError(f"TFLM did not report its arena use: {err.text[:300]}")
    used = int(found.group(1))
    need = used
    while not _fits(data, need, sample):  # the recording is a lower bound: grow until it runs
        need = int(need * 1.25) + ARENA_STEP
        if need > ARENA_MAX:
            raise MicroRefused(f"TFLM could not run the model in {ARENA_MAX:,} bytes of arena")
    ship = int(np.ceil(need * ARENA_MARGIN / 1024) * 1024)
    return {"recorded_bytes": used, "min_bytes": int(need), "arena_bytes": ship}


def tflm_run(data: bytes, rows: np.ndarray, arena_size: int) -> np.ndarray:
    """Invoke TFLM once per row (batch 1, as on the device); returns the stacked outputs."""
    interpreter = tflm_interpreter(data, arena_size)
    outputs: list[np.ndarray] = []
    failure: RuntimeError | None
    for row in rows:
        interpreter.set_input(np.ascontiguousarray(row[None, ...]), 0)
        with _Stderr() as err:
            try:
                interpreter.invoke()
            except RuntimeError as exc:
                failure = exc
            else:
                failure = None
        if failure is not None:
            raise MicroRefused(f"TFLM failed to invoke the model: {failure} {err.text[:400]}")
        outputs.append(np.array(interpreter.get_output(0)))
    return np.concatenate(outputs, axis=0)


def io_details(data: bytes, arena_size: int) -> dict[str, dict]:
    """Input 0 and output 0 as TFLM sees them: shape, dtype, scale and zero point."""
    interpreter = tflm_interpreter(data, arena_size)

    def one(d: dict) -> dict:
        q = d.get("quantization_parameters") or {}
        scales, zeros = list(q.get("scales", [])), list(q.get("zero_points", []))
        return {
            "shape": [int(s) for s in d["shape"]],
            "dtype": np.dtype(d["dtype"]).name,
            "scale": float(scales[0]) if scales else 0.0,
            "zero_point": int(zeros[0]) if zeros else 0,
        }

    return {
        "input": one(interpreter.get_input_details(0)),
        "output": one(interpreter.get_output_details(0)),
    }


def c_array(data: bytes, name: str = "g_model", per_line: int = 12) -> tuple[str, str]:
    """(model_data.cc, model_data.h) in TFLite Micro's style: aligned bytes and their length."""
    lines = []
    for i in range(0, len(data), per_line):
        lines.append("  " + ", ".join(f"0x{b:02x}" for b in data[i : i + per_line]) + ",")
    body = "\n".join(lines)
    source = (
        "// Generated by TF Studio: the .tflite flatbuffer as a C array for TFLite Micro.\n"
        '#include "model_data.h"\n\n'
        f"alignas(16) const unsigned char {name}[] = {{\n{body}\n}};\n"
        f"const unsigned int {name}_len = {len(data)};\n"
    )
    header = (
        "#pragma once\n\n"
        f"extern const unsigned char {name}[];\n"
        f"extern const unsigned int {name}_len;\n"
    )
    return source, header


def parse_c_array(source: str) -> bytes:
    """The bytes a generated `model_data.cc` holds (to check it against the .tflite file)."""
    body = source[source.index("{") + 1 : source.index("};")]
    values = [int(v, 16) for v in re.findall(r"0x([0-9a-fA-F]{2})", body)]
    length = re.search(r"_len = (\d+);", source)
    if length is None:
        raise ValueError("C array declares no _len")
    declared = int(length.group(1))
    data = np.array(values, dtype=np.uint8).tobytes()
    if len(data) != declared:
        raise ValueError(f"C array holds {len(data)} bytes but declares {declared}")
    return data


def ops_note(ops: list[str]) -> str:
    """OPS.md: the ops the model needs and the resolver calls that register them."""
    return "\n".join(
        [
            "## Ops this model needs",
            "",
            "Read from the flatbuffer with TFLite Micro's schema; each is a TFLM builtin kernel.",
            "Register exactly these (method names from tflite-micro's",
            f"`tensorflow/lite/micro/micro_mutable_op_resolver.h` at commit {TFLM_COMMIT[:12]}):",
            "",
            "```cpp",
            resolver_code(ops, indent=""),
            "```",
            "",
        ]
    )

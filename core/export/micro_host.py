"""`build_host.sh` for the micro bundle: build main.cc on a PC against TFLite Micro's sources.

A way to see the bundle run in TFLM's C++ before flashing anything: it compiles TFLM's
interpreter, allocator and kernels straight from a tflite-micro checkout (no Makefile, no
downloads; only the kernels of the model's ops) with the flags of TFLM's own
Makefile, links the bundle's main.cc, model_data.cc and tfstudio_features.cc, and runs it.
"""

from __future__ import annotations

from core.export.tflm_ops import TFLM_COMMIT

BUILD_HOST = """#!/bin/sh
# Build and run main.cc on this machine with TensorFlow Lite for Microcontrollers' C++ sources.
#   TFLM=path/to/tflite-micro (commit @COMMIT@ or later)
#   FLATBUFFERS=path/to/flatbuffers  GEMMLOWP=path/to/gemmlowp  RUY=path/to/ruy  sh build_host.sh
# (the third-party sources TFLM's Makefile would download: flatbuffers v25.9.23, gemmlowp, ruy)
set -e
: "${TFLM:?set TFLM to a tflite-micro checkout}"
: "${FLATBUFFERS:?set FLATBUFFERS}" "${GEMMLOWP:?set GEMMLOWP}" "${RUY:?set RUY}"
HERE=$(cd "$(dirname "$0")" && pwd)
OBJ=${OBJ:-$HERE/build}
CXX=${CXX:-g++}
FLAGS="-std=c++17 -O2 -fno-exceptions -fno-rtti -fno-threadsafe-statics \\
  -DTF_LITE_STATIC_MEMORY -DTF_LITE_DISABLE_X86_NEON -DTF_LITE_USE_CTIME \\
  -I$TFLM -I$FLATBUFFERS/include -I$GEMMLOWP -I$RUY -I$HERE"
mkdir -p "$OBJ"
cd "$TFLM"
# The kernels of this model's ops (the file defining Register_OP(), and its _common.cc).
KERNELS=""
for op in @OPS@; do
  for k in $(grep -l "^TFLMRegistration Register_$op()" tensorflow/lite/micro/kernels/*.cc); do
    KERNELS="$KERNELS $k"
    [ -f "${k%.cc}_common.cc" ] && KERNELS="$KERNELS ${k%.cc}_common.cc"
  done
done
for f in $(ls tensorflow/lite/micro/*.cc tensorflow/lite/micro/arena_allocator/*.cc \
    tensorflow/lite/micro/memory_planner/*.cc tensorflow/lite/micro/tflite_bridge/*.cc \
    tensorflow/lite/kernels/internal/*.cc | grep -v -e _test -e test_helper \
    -e mock_micro_graph -e fake_micro_context) $KERNELS \
    tensorflow/lite/micro/kernels/kernel_util.cc \
    tensorflow/lite/kernels/internal/reference/portable_tensor_utils.cc \
    tensorflow/lite/kernels/kernel_util.cc tensorflow/lite/core/c/common.cc \
    $(ls tensorflow/lite/core/api/*.cc | grep -v _test) \
    tensorflow/compiler/mlir/lite/core/api/error_reporter.cc \
    tensorflow/compiler/mlir/lite/schema/schema_utils.cc; do
  o="$OBJ/$(echo "$f" | tr / _).o"
  [ -f "$o" ] || $CXX $FLAGS -c "$f" -o "$o"
done
cd "$HERE"
$CXX $FLAGS main.cc model_data.cc tfstudio_features.cc "$OBJ"/*.o -o main_host
./main_host
"""


def build_host_script(ops: list[str]) -> str:
    return BUILD_HOST.replace("@COMMIT@", TFLM_COMMIT[:12]).replace("@OPS@", " ".join(ops))

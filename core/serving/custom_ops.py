"""Op libraries a SavedModel needs before TensorFlow can load it.

A SavedModel whose graph holds a KerasHub tokenizer uses TF Text's ops (RegexSplitWithOffsets,
FastWordpieceTokenizeWithOffsets, ...). TensorFlow registers them only once `tensorflow_text`
is imported; without that, `tf.saved_model.load` fails with "Op type not registered". The
ops are read from `saved_model.pb` and the library is imported only when some op is missing.
"""

from __future__ import annotations

from pathlib import Path

# (module to import, what it is, in words): imported in this order until every op is known.
OP_LIBRARIES = (("tensorflow_text", "TF Text (pip install tensorflow-text)"),)


def graph_ops(path: str | Path) -> set[str]:
    """Every op type in the `serve` meta graph of `path/saved_model.pb`, functions included."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(path) / "saved_model.pb").read_bytes())
    ops: set[str] = set()
    for graph in proto.meta_graphs:
        if "serve" not in graph.meta_info_def.tags:
            continue
        ops.update(node.op for node in graph.graph_def.node)
        for fn in graph.graph_def.library.function:
            ops.update(node.op for node in fn.node_def)
    return ops


def unregistered(ops) -> list[str]:
    from tensorflow.python.framework import op_def_registry

    return sorted(op for op in ops if op_def_registry.get(op) is None)


def load_op_libraries(path: str | Path) -> list[str]:
    """Import the op libraries the SavedModel at `path` needs; returns the modules imported.

    Raises ValueError naming the ops when no known library provides them."""
    import importlib

    missing = unregistered(graph_ops(path))
    imported: list[str] = []
    for module, what in OP_LIBRARIES:
        if not missing:
            break
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ValueError(
                f"{path} uses ops {', '.join(missing[:6])} that need {what}: {exc}"
            ) from None
        imported.append(module)
        missing = unregistered(missing)
    if missing:
        raise ValueError(f"{path} uses ops this TensorFlow does not have: {', '.join(missing[:6])}")
    return imported


def custom_ops(path: str | Path) -> list[str]:
    """The ops of the SavedModel at `path` that core TensorFlow lacks (not in `tf.raw_ops`):
    an op library's, such as TF Text's tokenizer ops. Calls of the graph's own functions,
    which appear as ops named after them, are not counted."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(path) / "saved_model.pb").read_bytes())
    functions = {
        fn.signature.name for graph in proto.meta_graphs for fn in graph.graph_def.library.function
    }
    return sorted(op for op in graph_ops(path) - functions if not hasattr(tf.raw_ops, op))

"""The one door to AutoKeras: import it with the fix it needs on this stack, or fail loudly.

AutoKeras 3.0.0 (the newest release) stores data shapes in its graph as numpy integers, taken from
the arrays it analysed; Keras 3.13 and later reject numpy integers in `Dense(units=...)`
("Received an invalid value for units ... units=1"). `Graph.set_io_shapes` is the one place where
data shapes enter AutoKeras' graph, so the fix turns them into plain `int`s there. The fix is
checked for 3.0.0 only: any other version is refused with what to do, never patched blindly.
"""

from __future__ import annotations

from typing import Any

FIXED_VERSION = "3.0.0"


class AutoKerasVersionError(RuntimeError):
    """AutoKeras is a version the shape fix was not checked on."""


def _plain_shape(shape: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in shape)


def import_autokeras():
    """`autokeras`, with `Graph.set_io_shapes` storing plain ints (idempotent)."""
    import autokeras
    from autokeras import graph

    if autokeras.__version__ != FIXED_VERSION:
        raise AutoKerasVersionError(
            f"TF Studio runs AutoKeras {FIXED_VERSION} with a fix for Keras >= 3.13 "
            f"(core/tuning/autokeras_compat.py); found AutoKeras {autokeras.__version__}. "
            f"Install autokeras=={FIXED_VERSION} (`make setup` does), or check the fix on the "
            "new version and update FIXED_VERSION."
        )
    if not getattr(graph.Graph.set_io_shapes, "_tfstudio_fix", False):
        import tree  # dm-tree's replacement that AutoKeras itself uses (`tree.flatten`)

        def set_io_shapes(self, shapes):
            for node, shape in zip(self.inputs, tree.flatten(shapes[0]), strict=False):
                node.shape = _plain_shape(shape[1:])
            for node, shape in zip(self.outputs, tree.flatten(shapes[1]), strict=False):
                node.in_blocks[0].shape = _plain_shape(shape[1:])

        set_io_shapes._tfstudio_fix = True  # type: ignore[attr-defined]
        graph.Graph.set_io_shapes = set_io_shapes
    return autokeras

"""The Prepared of a one-input classifier (images, text): contract, splits through the
family's pipeline, class ids as labels; split out so the families share it, not copy it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.training.families.common import Prepared
from core.training.features import FeatureSpec, ModelContract


def classifier_prepared(
    kind: str,
    target: str,
    feature: FeatureSpec,
    classes: list[str],
    details: dict[str, Any],
    preprocess: Any,
    pipeline: Callable[[Any, bool], Any],
    parts: dict[str, Any],
    label: str,
    test_inputs: Any,
    input_shape: tuple,
    hp: dict[str, Any] | None = None,
) -> Prepared:
    """`kind` (image, text) names the task and the input; `pipeline(part, shuffle)` builds a
    split's dataset; `parts[...][label]` holds the class ids."""
    task = f"{kind}-classification"
    return Prepared(
        task=task,
        input_kind=kind,
        contract=ModelContract(task, target, [feature], classes, kind, details),
        preprocess=preprocess,
        train=pipeline(parts["train"], True),
        train_labels=parts["train"][label].to_numpy("int32"),
        validation=pipeline(parts["validation"], False),
        test_inputs=test_inputs,
        test_y=parts["test"][label].to_numpy("int32"),
        outputs=len(classes),
        network_input_shape=input_shape,
        rows={k: len(v) for k, v in parts.items()},
        hp={} if hp is None else hp,
    )

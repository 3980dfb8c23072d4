"""Checking a ProfileSpec before anything runs (plain Python: the page and the CLI call it too)."""

from __future__ import annotations

import math
import re

from core.errors import BadInput
from core.specs import PROFILE_MODES, ProfileSpec

DEFAULT_STEPS = 10
MAX_STEPS = 500
MAX_BATCHES = 1000
STEPS_PATTERN = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_steps(text: str) -> tuple[int, int] | None:
    """`A-B` or `A` -> (A, B), 1-based and inclusive; empty -> None (the default range)."""
    if not text or not text.strip():
        return None
    m = STEPS_PATTERN.match(text)
    if not m:
        raise BadInput(
            f"steps {text!r} is not a range: write A-B (e.g. 3-12) with 1-based step numbers"
        )
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) else a
    if a < 1:
        raise BadInput("steps are numbered from 1: the first step of an epoch is step 1")
    if a > b:
        raise BadInput(
            f"steps {a}-{b} run backwards: the first step must not come after the last "
            f"(did you mean {b}-{a}?)"
        )
    if b - a + 1 > MAX_STEPS:
        raise BadInput(f"profile at most {MAX_STEPS} steps at a time (a trace grows with each)")
    return a, b


def resolve_steps(text: str, steps_per_epoch: int, rows: int, batch_size: int) -> tuple[int, int]:
    """The step range within one epoch of `steps_per_epoch` steps (BadInput outside it)."""
    chosen = parse_steps(text)
    if chosen is None:
        return 1, min(DEFAULT_STEPS, steps_per_epoch)
    a, b = chosen
    if b > steps_per_epoch:
        raise BadInput(
            f"steps {a}-{b} are outside the run: its training split has {rows} rows, so an "
            f"epoch at batch size {batch_size} has {steps_per_epoch} step(s) and there is no "
            f"step {b} to profile; choose steps within 1-{steps_per_epoch}, or a smaller batch "
            "size for more steps per epoch"
        )
    return a, b


def parse_prefetch(value: str) -> str:
    v = str(value).strip().lower()
    if v in ("auto", "off"):
        return v
    if v.isdigit() and int(v) >= 1:
        return str(int(v))
    raise BadInput(f"prefetch {value!r}: choose auto, off or a number of batches (1 or more)")


def parse_parallel(value: str) -> str:
    v = str(value).strip().lower()
    if v == "auto":
        return v
    if v.isdigit() and int(v) >= 1:
        return str(int(v))
    raise BadInput(f"parallel map calls {value!r}: choose auto or a number (1 or more)")


def check_spec(spec: ProfileSpec) -> ProfileSpec:
    """The spec with its what-ifs normalised; BadInput says what is wrong with it."""
    import dataclasses

    if not spec.source_run:
        raise BadInput("choose the training run to profile")
    if spec.mode not in PROFILE_MODES:
        raise BadInput(f"mode {spec.mode!r}: choose {' or '.join(PROFILE_MODES)}")
    if spec.mode == "train":
        parse_steps(spec.steps)
    if not 1 <= spec.batches <= MAX_BATCHES:
        raise BadInput(f"profile between 1 and {MAX_BATCHES} inference batches")
    if spec.batch_size < 0 or spec.batch_size > 65536:
        raise BadInput("batch size: 0 (the run's) or a positive number of rows per step")
    return dataclasses.replace(
        spec,
        prefetch=parse_prefetch(spec.prefetch),
        parallel_calls=parse_parallel(spec.parallel_calls),
    )


def precheck(spec: ProfileSpec, run_spec: dict, run_result: dict) -> tuple[int, int] | None:
    """The step range checked against what the run recorded (rows of its training split and
    batch size), before a worker starts; None when the run did not record its rows."""
    spec = check_spec(spec)
    rows = int(((run_result or {}).get("rows") or {}).get("train") or 0)
    if spec.mode != "train" or rows < 1:
        return None
    batch = spec.batch_size or int(run_spec.get("batch_size") or 32)
    return resolve_steps(spec.steps, math.ceil(rows / batch), rows, batch)

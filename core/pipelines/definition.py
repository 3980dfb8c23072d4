"""A pipeline file: a small YAML document, read into a checked `Pipeline`.

```yaml
name: iris-retrain           # the pipeline (and, by default, the registered model's name)
dataset: iris                # a dataset in the workspace (tfstudio data import ...)
target: species              # optional: the dataset schema's target otherwise
model: iris                  # optional: the registry name (default: the pipeline's name)
stages:
  - stage: ingest            # a `file`, or a watched `folder`; `mode`: append | replace
    file: new_data.csv
  - stage: statistics
  - stage: validate          # stop when an anomaly is at or above `severity`
    severity: high
  - stage: train             # TrainSpec fields (epochs, model, ...); warm_start: true
    epochs: 3
  - stage: evaluate          # challenger vs production on the challenger's test split
    metric: accuracy
    direction: max
    margin: 0.0              # push when better by more than this (< 0: a tolerance)
  - stage: push              # register, export bundles, switch the server
    formats: [savedmodel, tflite]
```

Each stage runs after the one above it unless it names others with `after: [name, ...]`; a stage
may also take a `name:` (default: its type). Everything that is wrong is refused before any run
starts, with one line: `FILE:LINE: what is wrong` (or the stage's name). This module checks the
file's shape; `core.pipelines.checks` checks it against a workspace (dataset, files, metrics).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import BadInput

STAGE_TYPES = ("ingest", "statistics", "validate", "train", "tune", "evaluate", "push")
SEVERITIES = ("low", "medium", "high")
INGEST_MODES = ("append", "replace")

# Parameters each stage type takes (train takes TrainSpec's fields too; tune TuneSpec's).
STAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "ingest": ("file", "folder", "mode", "pattern"),
    "statistics": (),
    "validate": ("severity", "psi_threshold", "linf_threshold"),
    "train": ("warm_start",),
    "tune": ("warm_start",),
    "evaluate": ("metric", "direction", "margin"),
    "push": ("formats", "serve_port", "stage"),
}
COMMON_KEYS = ("stage", "name", "after")
TOP_KEYS = ("name", "dataset", "target", "model", "stages", "description", "image")


@dataclass
class Stage:
    name: str
    type: str
    after: list[str]
    params: dict[str, Any]
    line: int = 0
    keys: dict[str, int] = field(default_factory=dict)  # parameter -> line

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Pipeline:
    name: str
    dataset: str
    stages: list[Stage]
    target: str = ""
    model: str = ""
    description: str = ""
    image: str = "tfstudio:latest"
    source: str = ""  # the file it was read from
    text: str = ""  # the YAML as read (a run keeps it, so a resume runs the same pipeline)
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def model_name(self) -> str:
        return self.model or self.name

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def by_type(self, kind: str) -> Stage | None:
        return next((s for s in self.stages if s.type == kind), None)

    def order(self) -> list[Stage]:
        """The stages in an order that respects `after` (file order among equals)."""
        return topological(self.stages, self.source)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataset": self.dataset,
            "target": self.target,
            "model": self.model_name,
            "description": self.description,
            "image": self.image,
            "source": self.source,
            "stages": [s.to_dict() for s in self.order()],
        }


class _LineLoader(yaml.SafeLoader):
    """Keeps each mapping's line number under the key `__line__`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    key_lines = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            key_lines[key_node.value] = key_node.start_mark.line + 1
    mapping["__keys__"] = key_lines
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ("__line__", "__keys__")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def parse_text(text: str, source: str = "pipeline.yaml") -> Pipeline:
    """The pipeline in `text`, checked for shape (not yet against the workspace)."""
    where = source

    def fail(line: int, message: str) -> BadInput:
        return BadInput(f"{where}:{line}: {message}")

    try:
        doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506  (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise fail(line, f"not valid YAML: {problem}") from None
    if not isinstance(doc, dict):
        raise fail(1, "a pipeline file is a YAML mapping with name, dataset and stages")
    keys = doc.get("__keys__", {})
    unknown = [k for k in doc if k not in (*TOP_KEYS, "__line__", "__keys__")]
    if unknown:
        raise fail(
            keys.get(unknown[0], 1),
            f"unknown key {unknown[0]!r}; a pipeline has {', '.join(TOP_KEYS)}",
        )
    for required in ("name", "dataset", "stages"):
        if not doc.get(required):
            raise fail(keys.get(required, 1), f"missing {required!r}")
    name, dataset = str(doc["name"]).strip(), str(doc["dataset"]).strip()
    from core.registry.store import check_name

    try:
        check_name(str(doc.get("model") or name))
    except BadInput as exc:
        raise fail(keys.get("model", keys.get("name", 1)), str(exc)) from None
    raw_stages = doc["stages"]
    if not isinstance(raw_stages, list) or not raw_stages:
        raise fail(keys.get("stages", 1), "stages must be a list of mappings, one per stage")
    stages: list[Stage] = []
    previous: str | None = None
    for item in raw_stages:
        if not isinstance(item, dict):
            raise fail(
                keys.get("stages", 1), f"each stage is a mapping with `stage: TYPE`, not {item!r}"
            )
        line = item["__line__"]
        item_keys = item.get("__keys__", {})
        kind = item.get("stage")
        if kind is None:
            raise fail(line, "a stage needs `stage: TYPE` (" + ", ".join(STAGE_TYPES) + ")")
        if kind not in STAGE_TYPES:
            raise fail(
                item_keys.get("stage", line),
                f"unknown stage {kind!r}; stages are: {', '.join(STAGE_TYPES)}",
            )
        stage_name = str(item.get("name") or kind)
        if any(s.name == stage_name for s in stages):
            raise fail(line, f"two stages are named {stage_name!r}: give one a `name:`")
        after = item.get("after", [previous] if previous else [])
        if isinstance(after, str):
            after = [after]
        if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
            raise fail(item_keys.get("after", line), "`after` is a stage name or a list of them")
        params = {k: _strip(v) for k, v in item.items() if k not in (*COMMON_KEYS, "__line__")}
        params.pop("__keys__", None)
        _check_params(kind, stage_name, params, item_keys, line, fail)
        stages.append(Stage(stage_name, kind, list(after), params, line, dict(item_keys)))
        previous = stage_name
    names = {s.name for s in stages}
    for s in stages:
        for a in s.after:
            if a not in names:
                raise fail(s.line, f"stage {s.name!r} runs after {a!r}, which is not a stage")
    pipeline = Pipeline(
        name=name,
        dataset=dataset,
        stages=stages,
        target=str(doc.get("target") or ""),
        model=str(doc.get("model") or ""),
        description=str(doc.get("description") or ""),
        image=str(doc.get("image") or "tfstudio:latest"),
        source=source,
        text=text,
        lines={k: v for k, v in keys.items()},
    )
    pipeline.order()  # a cycle is refused here
    _check_structure(pipeline, fail)
    return pipeline


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _check_params(kind, stage_name, params, item_keys, line, fail) -> None:
    from core.specs import TrainSpec, TuneSpec

    allowed = set(STAGE_PARAMS[kind])
    if kind == "train":
        allowed |= {f.name for f in dataclasses.fields(TrainSpec)} - {"data", "warm_start"}
    if kind == "tune":
        allowed |= {f.name for f in dataclasses.fields(TuneSpec)} | {"epochs", "train"}
        allowed -= {"base"}
    for key in params:
        if key not in allowed:
            raise fail(
                item_keys.get(key, line),
                f"stage {stage_name!r} ({kind}) has no parameter {key!r}; it takes "
                f"{', '.join(sorted(allowed)) or 'none'}",
            )

    def at(key: str) -> int:
        return item_keys.get(key, line)

    if kind == "ingest":
        if ("file" in params) == ("folder" in params):
            raise fail(line, f"stage {stage_name!r} (ingest) takes exactly one of file or folder")
        if params.get("mode", "append") not in INGEST_MODES:
            raise fail(at("mode"), f"ingest mode must be {' or '.join(INGEST_MODES)}")
    if kind == "validate" and params.get("severity", "high") not in SEVERITIES:
        raise fail(
            at("severity"),
            f"stage {stage_name!r}: severity {params['severity']!r} is not one of "
            f"{', '.join(SEVERITIES)}",
        )
    for key in ("margin", "psi_threshold", "linf_threshold"):
        if key in params and _number(params[key]) is None:
            raise fail(at(key), f"stage {stage_name!r}: {key} {params[key]!r} is not a number")
    if kind == "evaluate":
        if params.get("direction", "max") not in ("max", "min"):
            raise fail(at("direction"), f"stage {stage_name!r}: direction is max or min")
    if kind == "push":
        formats = params.get("formats", ["savedmodel"])
        from core.specs import EXPORT_FORMATS

        if isinstance(formats, str):
            formats = [formats]
        bad = [f for f in formats if f not in (*EXPORT_FORMATS, "all")]
        if bad:
            raise fail(
                at("formats"),
                f"stage {stage_name!r}: unknown format {bad[0]!r}; formats are "
                f"{', '.join(EXPORT_FORMATS)} or all",
            )
        if "serve_port" in params and not isinstance(params["serve_port"], int):
            raise fail(at("serve_port"), f"stage {stage_name!r}: serve_port is a port number")


def _check_structure(p: Pipeline, fail) -> None:
    learners = [s for s in p.stages if s.type in ("train", "tune")]
    if len(learners) > 1:
        raise fail(learners[1].line, "one train or tune stage per pipeline")
    for s in p.stages:
        if s.type in ("ingest", "statistics", "validate", "evaluate", "push"):
            same = [o for o in p.stages if o.type == s.type]
            if len(same) > 1:
                raise fail(same[1].line, f"one {s.type} stage per pipeline")
    needs = {"evaluate": ("train", "tune"), "push": ("evaluate",), "statistics": ("ingest",)}
    needs_validate = {"validate": ("ingest",)}
    for s in p.stages:
        wanted = needs.get(s.type) or needs_validate.get(s.type)
        if wanted and not any(p.by_type(w) for w in wanted):
            raise fail(s.line, f"stage {s.name!r} ({s.type}) needs a {' or '.join(wanted)} stage")
        if wanted and not any(_upstream(p, s, w) for w in wanted):
            raise fail(s.line, f"stage {s.name!r} must run after the {' or '.join(wanted)} stage")
    for s in learners:
        if p.by_type("validate") and not _upstream(p, s, "validate"):
            raise fail(s.line, f"stage {s.name!r} must run after validation")


def _upstream(p: Pipeline, stage: Stage, kind: str) -> bool:
    seen, todo = set(), list(stage.after)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        other = p.stage(name)
        if other.type == kind:
            return True
        todo += other.after
    return False


def topological(stages: list[Stage], source: str = "") -> list[Stage]:
    by_name = {s.name: s for s in stages}
    state: dict[str, int] = {}  # 1 visiting, 2 done
    out: list[Stage] = []

    def visit(s: Stage, path: list[str]) -> None:
        if state.get(s.name) == 2:
            return
        if state.get(s.name) == 1:
            cycle = path[path.index(s.name) :] + [s.name]
            raise BadInput(
                f"{source}:{s.line}: the stages form a cycle (each runs after the next): "
                f"{' -> '.join(cycle)}; check their `after:` lists"
            )
        state[s.name] = 1
        for a in s.after:
            visit(by_name[a], [*path, s.name])
        state[s.name] = 2
        out.append(s)

    for s in stages:
        visit(s, [])
    return out


def load_pipeline(path: str | Path) -> Pipeline:
    path = Path(path).expanduser()
    if not path.is_file():
        raise BadInput(f"no pipeline file {path}")
    return parse_text(path.read_text(), str(path))

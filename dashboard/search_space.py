"""The search-space editor of the Tune page, built from a catalog model's declared hyperparameters.

Each hyperparameter is searched (a range for numbers, a set of choices) or fixed to one value,
and may be conditional: only active when another choice takes given values. The editor returns
the space as TuneSpec.space expects it (a list of dicts) and the problems that forbid a launch.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.models.catalog import CatalogEntry, HyperParam

SEARCH, FIX = "Search", "Fix"


def encode(value: Any) -> Any:
    """A value as a search space holds it: tuples such as hidden_units (32, 16) become "32-16"."""
    if isinstance(value, list | tuple):
        return "-".join(map(str, value))
    return value


def default_space(entry: CatalogEntry) -> list[dict[str, Any]]:
    """The model's declared hyperparameters, each searched over its whole declared range (the
    engine's defaults, e.g. a step that keeps a grid small, where it has them)."""
    try:
        from core.tuning.space import default_space as engine_default

        engine = {item["name"]: item for item in engine_default(entry.name)}
    except (ImportError, KeyError, ValueError):
        engine = {}
    return [engine.get(hp.name) or _searched(hp) for hp in entry.hyperparameters]


def _searched(hp: HyperParam) -> dict[str, Any]:
    item: dict[str, Any] = {"name": hp.name, "kind": hp.kind, "default": encode(hp.default)}
    if hp.kind in ("int", "float"):
        item.update(low=hp.low, high=hp.high, log=hp.log, step=1 if hp.kind == "int" else None)
    elif hp.kind == "choice":
        item["choices"] = [encode(c) for c in hp.choices]
    return item


def space_problems(space: list[dict[str, Any]]) -> list[str]:
    """What makes a space unusable, in words a person can act on; empty when it is fine."""
    problems: list[str] = []
    searched = {s["name"]: s for s in space if s.get("kind") != "fixed"}
    if not searched:
        problems.append(
            "The search space is empty: set at least one hyperparameter to **Search** "
            "(everything is fixed, so every trial would train the same model)."
        )
    for item in space:
        name, kind = item["name"], item.get("kind")
        if kind in ("int", "float"):
            low, high, step = item.get("low"), item.get("high"), item.get("step")
            if low is None or high is None:
                problems.append(f"**{name}**: give both a minimum and a maximum.")
                continue
            if low > high:
                problems.append(
                    f"**{name}**: the minimum ({low:g}) is greater than the maximum ({high:g})."
                )
            if item.get("log") and low <= 0:
                problems.append(f"**{name}**: log sampling needs a minimum above 0 (got {low:g}).")
            if step is not None and step < 0:
                problems.append(f"**{name}**: the step must be positive.")
            if kind == "int" and step is not None and step < 1:
                problems.append(f"**{name}**: an integer range needs a step of at least 1.")
        elif kind == "choice" and not item.get("choices"):
            problems.append(f"**{name}**: no choices selected: pick at least one, or fix it.")
        parent = item.get("parent")
        if parent:
            other = searched.get(parent.get("name"))
            if other is None or other.get("kind") not in ("choice", "bool"):
                problems.append(
                    f"**{name}**: its condition names **{parent.get('name')}**, which is not a "
                    "searched choice."
                )
            elif not parent.get("values"):
                problems.append(
                    f"**{name}**: pick the values of **{parent['name']}** that activate it."
                )
            elif kind == "fixed":
                problems.append(f"**{name}**: a fixed hyperparameter cannot be conditional.")
    return problems


def _fmt(kind: str) -> str:
    return "%d" if kind == "int" else "%g"


def _number(kind: str, value: Any) -> int | float:
    return int(value) if kind == "int" else float(value)


def render_search_space_editor(entry: CatalogEntry, key: str) -> list[dict[str, Any]]:
    """Draw the editor for `entry`'s hyperparameters; return the space the user set."""
    hps = entry.hyperparameters
    if not hps:
        st.info(f"**{entry.name}** declares no hyperparameters to search.")
        return []
    prefix = f"{key}-{entry.name}"
    defaults = {item["name"]: item for item in default_space(entry)}
    choosers = [hp for hp in hps if hp.kind in ("choice", "bool")]
    space: list[dict[str, Any]] = []
    for hp in hps:
        k = f"{prefix}-{hp.name}"
        with st.container(border=True):
            head, mode_col = st.columns([3, 2], vertical_alignment="center")
            kind_label = {"int": "integer", "float": "number", "choice": "choice", "bool": "on/off"}
            head.markdown(
                f"**{hp.name}** · {kind_label.get(hp.kind, hp.kind)}"
                + (f"  \n:gray[{hp.help}]" if hp.help else "")
            )
            mode = mode_col.radio(
                f"{hp.name}: search or fix",
                (SEARCH, FIX),
                horizontal=True,
                key=f"{k}-mode",
                label_visibility="collapsed",
            )
            if mode == FIX:
                space.append(_render_fixed(hp, k))
                continue
            item = _render_searched(hp, k, defaults.get(hp.name) or _searched(hp))
            parents = [p for p in choosers if p.name != hp.name]
            if parents:
                item["parent"] = _render_condition(parents, k)
                if item["parent"] is None:
                    del item["parent"]
            space.append(item)
    return space


def _render_fixed(hp: HyperParam, k: str) -> dict[str, Any]:
    if hp.kind in ("int", "float"):
        value = st.number_input(
            "Value",
            value=_number(hp.kind, hp.default),
            step=1 if hp.kind == "int" else None,
            format=_fmt(hp.kind),
            key=f"{k}-value",
        )
        value = _number(hp.kind, value)
    elif hp.kind == "choice":
        options = [encode(c) for c in hp.choices]
        default = encode(hp.default)
        value = st.selectbox(
            "Value",
            options,
            index=options.index(default) if default in options else 0,
            key=f"{k}-value",
        )
    else:
        value = st.checkbox("On", value=bool(hp.default), key=f"{k}-value")
    return {"name": hp.name, "kind": "fixed", "value": value, "default": value}


def _render_searched(hp: HyperParam, k: str, start: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"name": hp.name, "kind": hp.kind}
    if hp.kind in ("int", "float"):
        a, b, c, d = st.columns([2, 2, 2, 1.3], vertical_alignment="bottom")
        low = a.number_input(
            "Min", value=_number(hp.kind, start["low"]), format=_fmt(hp.kind), key=f"{k}-low"
        )
        high = b.number_input(
            "Max", value=_number(hp.kind, start["high"]), format=_fmt(hp.kind), key=f"{k}-high"
        )
        if hp.kind == "int":
            step = int(
                c.number_input("Step", value=int(start.get("step") or 1), step=1, key=f"{k}-step")
            )
        else:
            step = c.number_input(
                "Step (0 = continuous)",
                value=float(start.get("step") or 0.0),
                min_value=0.0,
                format="%g",
                key=f"{k}-step",
                help="With log sampling the step multiplies (e.g. 10 gives 1e-4, 1e-3, ...). "
                "The grid tuner samples a continuous range at a default granularity.",
            )
            step = float(step) or None
        log = d.checkbox(
            "Log", value=bool(start.get("log")), key=f"{k}-log", help="Sample on a log scale"
        )
        low, high = _number(hp.kind, low), _number(hp.kind, high)
        item.update(low=low, high=high, step=step, log=bool(log))
        default = _number(hp.kind, hp.default)
        item["default"] = default if low <= default <= high else None
    elif hp.kind == "choice":
        options = [encode(c) for c in hp.choices]
        chosen = st.multiselect("Choices", options, default=options, key=f"{k}-choices")
        item["choices"] = chosen
        default = encode(hp.default)
        item["default"] = default if default in chosen else (chosen[0] if chosen else None)
    else:
        st.caption("Tries both on and off.")
        item["default"] = bool(hp.default)
    return item


def _render_condition(parents: list[HyperParam], k: str) -> dict[str, Any] | None:
    if not st.checkbox(
        "Only when another hyperparameter takes given values",
        key=f"{k}-cond",
        help="A conditional hyperparameter: KerasTuner activates it only in trials where the "
        "other choice takes one of these values.",
    ):
        return None
    a, b = st.columns(2)
    by_name = {p.name: p for p in parents}
    parent = a.selectbox("When", list(by_name), key=f"{k}-cond-parent")
    hp = by_name[parent]
    options = [encode(c) for c in hp.choices] if hp.kind == "choice" else [True, False]
    values = b.multiselect("takes one of", options, key=f"{k}-cond-values-{parent}")
    return {"name": parent, "values": list(values)}

"""The Profile page (AppTest) against fake runs whose summary JSON the tests write: no
TensorFlow. `fake_profile` stands in for the profile job in a worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import BadInput
from core.profiling.recommend import recommend
from core.runs import launcher
from core.runs.status import RunStatus
from dashboard.profile_figures import memory_figure, overview_figure, top_ops_frame, trace_figure
from dashboard.profile_view import comparison_frame
from tests.conftest import FAKE_HANDLERS
from tests.test_compare_pages import finished_train_run
from tests.test_pages import assert_loads_nothing, open_page


def fake_summary(step_ms: float = 4.0, input_ms: float = 1.6, prefetch: str = "off") -> dict:
    """A summary shaped as the profile job writes it (numbers chosen by the test)."""
    steps = [
        {
            "step": f"train {i}",
            "step_time_ms": step_ms,
            "input_ms": input_ms,
            "compute_ms": step_ms - input_ms - 0.2,
            "host_device_ms": 0.0,
            "other_ms": 0.2,
            "input_percent": round(100 * input_ms / step_ms, 2),
        }
        for i in range(2, 6)
    ]
    events = [
        {"name": "multi_step_on_iterator", "thread": "python", "start_us": 5.0, "dur_us": 3500.0},
        {"name": "IteratorGetNext", "thread": "tf_Compute", "start_us": 20.0, "dur_us": 1500.0},
        {"name": "MatMul", "thread": "tf_Compute", "start_us": 1600.0, "dur_us": 900.0},
    ]
    summary = {
        "version": 1,
        "device": "CPU_ONLY",
        "mode": "train",
        "range": [2, 5],
        "profiled_steps": 4,
        "steps_per_epoch": 12,
        "steps": steps,
        "step_time_ms": step_ms,
        "step_time_stats_ms": {"min": step_ms, "max": step_ms, "std": 0.0},
        "breakdown_ms": {
            "input": input_ms,
            "compute": step_ms - input_ms - 0.2,
            "host_device": 0.0,
            "other": 0.2,
        },
        "input_percent": round(100 * input_ms / step_ms, 2),
        "top_ops": [
            {
                "name": "Iterator::Root::Map",
                "type": "Dataset",
                "self_time_us": 6400.0,
                "percent": 55.0,
                "occurrences": 4,
                "where": "Host",
            },
            {
                "name": "mlp/dense_0/MatMul",
                "type": "_MklNativeFusedMatMul",
                "self_time_us": 3600.0,
                "percent": 31.0,
                "occurrences": 4,
                "where": "Host",
            },
        ],
        "op_types": [
            {"type": "Dataset", "self_time_us": 6400.0, "percent": 55.0, "ops": 1},
            {"type": "_MklNativeFusedMatMul", "self_time_us": 3600.0, "percent": 31.0, "ops": 1},
        ],
        "self_time_total_us": 11600.0,
        "host_device_copy_percent": 0.0,
        "input_pipeline": {
            "ops": [
                {
                    "name": "Iterator::Root::Map",
                    "count": 4,
                    "time_ms": 6.4,
                    "self_time_ms": 6.4,
                    "percent": 90.0,
                    "category": "Preprocessing",
                }
            ],
            "conclusion": "Your program is HIGHLY input-bound",
        },
        "trace": [{"step": "train 2", "dur_us": 3600.0, "events": events, "events_total": 40}],
        "events_total": 160,
        "memory": {
            "allocators": {},
            "process": {
                "source": "RSS",
                "points": [{"t_ms": 1.0, "mb": 800.0}, {"t_ms": 5.0, "mb": 801.5}],
            },
        },
        "knobs": {
            "batch_size": 8,
            "prefetch": prefetch,
            "cache": False,
            "parallel_calls": "auto",
            "train_rows": 90,
        },
        "timing": {"overhead_ratio": 1.12},
        "conversion_s": 0.21,
    }
    summary["recommendations"] = recommend(summary)
    return summary


def fake_profile(spec, reporter, run_dir: Path) -> dict:
    """The profile job's stand-in: writes a summary whose input share follows `prefetch`."""
    if spec.steps == "99":
        raise BadInput("steps 99-99 are outside the run: choose steps within 1-12")
    fast = spec.prefetch != "off"
    summary = fake_summary(2.5 if fast else 4.0, 0.1 if fast else 1.6, spec.prefetch)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "profile_summary.json").write_text(json.dumps(summary))
    reporter.artifact("profile_summary.json", run_dir / "profile_summary.json")
    return {"step_time_ms": summary["step_time_ms"], "input_percent": summary["input_percent"]}


@pytest.fixture
def iris(ws, store, monkeypatch):
    monkeypatch.setenv(
        "TFSTUDIO_HANDLERS", f"{FAKE_HANDLERS},profile=tests.test_profile_page:fake_profile"
    )
    run = finished_train_run(
        store,
        "iris mlp",
        {"data": "sample:iris", "target": "species", "batch_size": 8},
        [],
        {},
        {},
        {"task": "classification", "rows": {"train": 90, "validation": 30, "test": 30}},
    )
    folder = ws.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("network.keras", "preprocessing.keras", "features.json", "model.keras"):
        (folder / name).write_bytes(b"x")
    return run


def profile_run(ws, store, source, prefetch: str):
    run = store.create_run(
        "profile", {"source_run": source, "mode": "train", "prefetch": prefetch}, name="p"
    )
    store.set_status(run.id, RunStatus.RUNNING)
    summary = fake_summary(2.5 if prefetch != "off" else 4.0, 0.1 if prefetch != "off" else 1.6)
    folder = ws.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profile_summary.json").write_text(json.dumps(summary))
    return store.finish_run(run.id, {"step_time_ms": summary["step_time_ms"]})


def test_page_without_training_runs_says_what_to_do(ws):
    at = open_page("profile")
    assert not at.exception, at.exception
    assert any("train a model first" in i.value for i in at.info)


def test_page_refuses_a_run_without_a_model(ws, store, iris):
    empty = finished_train_run(store, "no model", {"batch_size": 32}, [], {}, {})
    at = open_page("profile")
    at.selectbox(key="profile-source").set_value(empty.id).run()
    at.button(key="profile-start").click().run()
    assert not at.exception, at.exception
    assert any("has no network.keras; train the model again" in e.value for e in at.error)
    assert store.list_runs(kind="profile") == []


def test_page_refuses_a_step_range_outside_the_run(ws, store, iris):
    at = open_page("profile")
    assert any("12 step(s) per epoch" in c.value for c in at.caption)
    at.text_input(key="profile-steps").input("10-14").run()
    at.button(key="profile-start").click().run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert "no step 14 to profile" in error.value and "within 1-12" in error.value
    at.text_input(key="profile-steps").input("7-3").run()
    at.button(key="profile-start").click().run()
    assert any("run backwards" in e.value for e in at.error)
    assert store.list_runs(kind="profile") == []


def test_page_profiles_shows_the_views_and_applies_a_recommendation(ws, store, iris):
    at = open_page("profile")
    at.text_input(key="profile-steps").input("2-5").run()
    at.selectbox(key="profile-prefetch").set_value("off").run()
    at.button(key="profile-start").click().run()
    assert not at.exception, at.exception
    (run,) = store.list_runs(kind="profile")
    assert run.spec["source_run"] == iris.id and run.spec["prefetch"] == "off"
    assert run.spec["steps"] == "2-5"
    launcher.wait(store, run.id, timeout_s=60)
    assert store.get_run(run.id).status is RunStatus.SUCCEEDED

    at = open_page("profile", {"profile": run.id})
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Step time"] == "4 ms" and metrics["Waiting for input"] == "40%"
    assert metrics["Profiler overhead"] == "1.12×"
    assert [t.label for t in at.tabs] == [
        "Overview",
        "Top operations",
        "Input pipeline",
        "Trace",
        "Memory",
    ]
    # overview, top ops, op types, input, trace, memory
    assert len(at.get("plotly_chart")) == 6
    recs = [e.value for e in at.error]  # high severity: 40% of each step waits for data
    assert any("40% of each step waits for data" in r and "prefetch" in r for r in recs)
    ops = next(df.value for df in at.dataframe if "self time (µs)" in df.value.columns)
    assert list(ops["name"]) == ["Iterator::Root::Map", "mlp/dense_0/MatMul"]

    apply = next(b for b in at.button if b.label.startswith("Apply: Prefetch → auto"))
    apply.click().run()
    assert not at.exception, at.exception
    assert at.selectbox(key="profile-prefetch").value == "auto"
    assert at.text_input(key="profile-steps").value == "2-5"
    at.button(key="profile-start").click().run()
    again = next(r for r in store.list_runs(kind="profile") if r.id != run.id)
    assert again.spec["prefetch"] == "auto" and again.spec["steps"] == "2-5"
    launcher.wait(store, again.id, timeout_s=60)

    at = open_page("profile", {"profile": again.id})
    assert not at.exception, at.exception
    at.selectbox(key="profile-cmp-a").set_value(run.id).run()
    at.selectbox(key="profile-cmp-b").set_value(again.id).run()
    assert any("1.60× faster" in m.value for m in at.markdown)
    table = next(df.value for df in at.dataframe if "verdict" in df.value.columns)
    step = table[table["metric"] == "step time (ms)"].iloc[0]
    assert (step["A"], step["B"], step["verdict"]) == (4.0, 2.5, "better")
    assert any("overview**: improved" in m.value for m in at.markdown)


def test_a_failed_profile_says_why_there_is_no_data(ws, store, iris):
    at = open_page("profile")
    at.text_input(key="profile-steps").input("2-5").run()
    at.button(key="profile-start").click().run()
    (run,) = store.list_runs(kind="profile")
    launcher.wait(store, run.id, timeout_s=60)
    # the same page shows a profile whose job refused its input:
    bad = launcher.submit(
        ws, store, {"source_run": iris.id, "steps": "99"}, kind="profile", name="bad"
    )
    launcher.wait(store, bad.id, timeout_s=60)
    at = open_page("profile", {"profile": bad.id})
    assert not at.exception, at.exception
    assert any("outside the run" in e.value for e in at.error)
    assert any("This profile has no data" in i.value for i in at.info)

    (ws.run_dir(run.id) / "profile_summary.json").unlink()
    at = open_page("profile", {"profile": run.id})
    assert not at.exception, at.exception
    assert any("has no profile_summary.json" in e.value for e in at.error)


def test_views_build_from_the_summary():
    s = fake_summary()
    fig = overview_figure(s)
    assert [t.name for t in fig.data][0].startswith("input") and len(fig.data) == 4
    assert list(fig.data[0].y) == [1.6] * 4
    assert list(top_ops_frame(s)["% of op time"]) == [55.0, 31.0]
    trace = trace_figure(s, 0)
    assert sorted(t.name for t in trace.data) == ["python", "tf_Compute"]
    assert trace_figure(s, 3) is None
    fig, source = memory_figure(s)
    assert source == "process" and list(fig.data[0].y) == [800.0, 801.5]
    frame, result = comparison_frame(s, fake_summary(2.0, 0.1))
    assert result["views"]["overview"] == "improved"
    assert result["views"]["input pipeline"] == "improved"
    assert len(frame) >= 6


def test_the_page_with_a_profile_never_imports_tensorflow_or_xprof(ws, store, iris):
    run = profile_run(ws, store, iris.id, "off")
    code = (
        "import sys; from tests.test_pages import open_page\n"
        f"at = open_page('profile', {{'profile': '{run.id}'}})\n"
        "assert not at.exception, at.exception\n"
        "assert len(at.get('plotly_chart')) == 6\n"
        "print(','.join(m for m in ('tensorflow', 'keras', 'xprof') if m in sys.modules))"
    )
    assert_loads_nothing(code)

"""The profiler's plain-Python parts: trace checks, recommendations, comparison, step ranges,
and the CLI's bad inputs (no TensorFlow: the traces here are hand-made XSpace bytes)."""

from __future__ import annotations

import pytest

from core.errors import BadInput
from core.profiling.compare import compare
from core.profiling.convert import summarize
from core.profiling.options import check_spec, parse_steps, precheck, resolve_steps
from core.profiling.recommend import recommend
from core.profiling.xspace import is_xspace
from core.specs import ProfileSpec
from tests.conftest import tfstudio
from tests.test_compare_pages import finished_train_run


def xspace(*planes: bytes) -> bytes:
    """An XSpace protocol buffer holding these XPlane messages (field 1, length-delimited)."""
    out = b""
    for plane in planes:
        assert len(plane) < 128
        out += b"\x0a" + bytes([len(plane)]) + plane
    return out


EMPTY_PLANE = b"\x12\x09/host:CPU"  # XPlane{name: "/host:CPU"}, no lines, no events


def summary(**over):
    base = {
        "step_time_ms": 10.0,
        "input_percent": 2.0,
        "breakdown_ms": {"input": 0.2, "compute": 9.0, "host_device": 0.3, "other": 0.5},
        "op_types": [
            {"type": "_MklNativeFusedMatMul", "self_time_us": 300.0, "percent": 30.0},
            {"type": "Dataset", "self_time_us": 200.0, "percent": 20.0},
        ],
        "host_device_copy_percent": 0.0,
        "knobs": {
            "batch_size": 64,
            "prefetch": "auto",
            "cache": False,
            "parallel_calls": "auto",
            "train_rows": 1000,
        },
    }
    for k, v in over.items():
        base[k] = {**base[k], **v} if isinstance(v, dict) and k in base else v
    return base


# -- the file checks ----------------------------------------------------------------------


def test_xspace_wire_check_accepts_planes_and_refuses_other_bytes():
    assert is_xspace(xspace(EMPTY_PLANE))
    assert not is_xspace(b"")
    assert not is_xspace(b"\x08\x01")  # a varint field 1: not a plane
    assert not is_xspace(b"\x0a\x05abc")  # a length past the end
    assert not is_xspace(b"PK\x03\x04" + b"\x00" * 40)


def test_a_corrupt_trace_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "vm.xplane.pb"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(BadInput, match="corrupt, truncated or another kind of file") as err:
        summarize(path)
    assert "not a TensorFlow Profiler trace" in str(err.value)
    assert "capture a new profile" in str(err.value)


def test_a_foreign_file_is_named_for_what_it_is(tmp_path):
    keras = tmp_path / "model.xplane.pb"
    keras.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(BadInput, match="zip archive"):
        summarize(keras)
    text = tmp_path / "notes.xplane.pb"
    text.write_text("step,time\n1,2\n")
    with pytest.raises(BadInput, match="a text file"):
        summarize(text)


def test_an_empty_or_missing_trace_says_there_is_no_profile_data(tmp_path):
    empty = tmp_path / "vm.xplane.pb"
    empty.write_bytes(b"")
    with pytest.raises(BadInput, match="is empty: the profiler wrote no data"):
        summarize(empty)
    with pytest.raises(BadInput, match="there is no trace file"):
        summarize(tmp_path / "missing.xplane.pb")
    folder = tmp_path / "nothing"
    folder.mkdir()
    with pytest.raises(BadInput, match="holds no .xplane.pb file"):
        summarize(folder)


def test_a_trace_with_no_events_is_refused(tmp_path):
    path = tmp_path / "vm.xplane.pb"
    path.write_bytes(xspace(EMPTY_PLANE))
    with pytest.raises(BadInput, match="the trace holds no events"):
        summarize(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vm.xplane.pb"]  # nothing written


# -- step ranges ---------------------------------------------------------------------------


def test_step_ranges_parse_and_out_of_range_ones_say_why():
    assert parse_steps("") is None
    assert parse_steps("3-12") == (3, 12)
    assert parse_steps(" 4 ") == (4, 4)
    with pytest.raises(BadInput, match="run backwards"):
        parse_steps("9-2")
    with pytest.raises(BadInput, match="numbered from 1"):
        parse_steps("0-3")
    with pytest.raises(BadInput, match="not a range"):
        parse_steps("first ten")
    assert resolve_steps("", 3, 90, 32) == (1, 3)
    assert resolve_steps("", 40, 1280, 32) == (1, 10)
    with pytest.raises(BadInput) as err:
        resolve_steps("2-9", 3, 90, 32)
    message = str(err.value)
    assert "90 rows" in message and "3 step(s)" in message and "no step 9" in message
    assert "within 1-3" in message and "smaller batch size" in message


def test_precheck_uses_the_rows_the_run_recorded():
    run_spec, result = {"batch_size": 32}, {"rows": {"train": 90}}
    assert precheck(ProfileSpec(source_run="r", steps="1-3"), run_spec, result) == (1, 3)
    assert precheck(ProfileSpec(source_run="r", steps="5-11", batch_size=8), run_spec, result)
    with pytest.raises(BadInput, match="outside the run"):
        precheck(ProfileSpec(source_run="r", steps="5-11"), run_spec, result)
    assert precheck(ProfileSpec(source_run="r", mode="inference"), run_spec, result) is None


def test_spec_knobs_are_normalised_or_refused():
    spec = check_spec(ProfileSpec(source_run="r", prefetch=" AUTO ", parallel_calls="04"))
    assert (spec.prefetch, spec.parallel_calls) == ("auto", "4")
    for bad in ({"prefetch": "lots"}, {"parallel_calls": "0"}, {"mode": "serve"}, {"batches": 0}):
        with pytest.raises(BadInput):
            check_spec(ProfileSpec(source_run="r", **bad))
    with pytest.raises(BadInput, match="choose the training run"):
        check_spec(ProfileSpec())


# -- recommendations -----------------------------------------------------------------------


def ids(recs):
    return [r["id"] for r in recs]


def test_an_input_bound_profile_gets_prefetch_parallel_map_and_cache_with_their_knobs():
    recs = recommend(
        summary(
            input_percent=35.0, knobs={"prefetch": "off", "parallel_calls": "1", "cache": False}
        )
    )
    assert ids(recs)[:3] == ["prefetch", "parallel_map", "cache"]
    assert recs[0]["knob"] == {"name": "prefetch", "value": "auto"}
    assert recs[1]["knob"] == {"name": "parallel_calls", "value": "auto"}
    assert recs[2]["knob"] == {"name": "cache", "value": True}
    assert all(r["severity"] == "high" for r in recs[:3])
    assert "35% of each step waits for data" in recs[0]["text"]


def test_only_the_knobs_not_yet_applied_are_recommended():
    recs = recommend(
        summary(input_percent=12.0, knobs={"prefetch": "auto", "parallel_calls": "auto"})
    )
    assert ids(recs) == ["cache"] and recs[0]["severity"] == "medium"
    recs = recommend(summary(input_percent=25.0, knobs={"cache": True}))
    assert ids(recs) == ["input_offline"]
    assert recs[0]["knob"] == {"name": "batch_size", "value": 128}
    assert ids(recommend(summary(input_percent=9.9))) == ["balanced"]


def test_a_tiny_batch_is_recommended_a_bigger_one_within_the_data():
    recs = recommend(summary(knobs={"batch_size": 8, "train_rows": 90}))
    assert ids(recs) == ["batch_size"]
    assert recs[0]["knob"] == {"name": "batch_size", "value": 32}
    short = summary(
        step_time_ms=1.0,
        breakdown_ms={"input": 0.0, "compute": 0.7, "host_device": 0.0, "other": 0.3},
        knobs={"batch_size": 32, "train_rows": 50},
    )
    (rec,) = recommend(short)
    assert rec["knob"]["value"] == 50  # no more than the training split holds
    assert "30% of it fixed per-step overhead" in rec["text"]


def test_host_device_copies_and_a_dominant_op_type_are_named():
    recs = recommend(summary(host_device_copy_percent=22.0))
    assert ids(recs) == ["host_device"] and "22%" in recs[0]["text"]
    recs = recommend(summary(op_types=[{"type": "Conv2D", "self_time_us": 900.0, "percent": 81.0}]))
    assert ids(recs) == ["dominant_op"]
    assert "Conv2D takes 81%" in recs[0]["text"] and "convolutions" in recs[0]["text"]
    assert recs[0]["knob"] is None


# -- comparison ----------------------------------------------------------------------------


def test_comparison_says_which_view_improved():
    a = summary(step_time_ms=10.0, input_percent=30.0, self_time_total_us=8000.0)
    b = summary(
        step_time_ms=6.0,
        input_percent=31.0,
        self_time_total_us=12000.0,
        breakdown_ms={"input": 0.1},
    )
    a["steps"] = b["steps"] = [{}] * 4
    result = compare(a, b)
    assert result["speedup"] == pytest.approx(10 / 6, rel=1e-3)
    assert result["views"] == {"overview": "improved", "input pipeline": "same", "top ops": "worse"}
    row = next(r for r in result["rows"] if r["metric"] == "input (ms/step)")
    assert (row["a"], row["b"], row["delta"], row["verdict"]) == (0.2, 0.1, -0.1, "better")
    types = {t["type"]: t for t in result["op_types"]}
    assert types["Dataset"]["a_us"] == 50.0  # 200 µs over 4 steps


# -- the CLI's bad inputs ------------------------------------------------------------------


def test_cli_refuses_a_corrupt_trace_with_one_line(tmp_path):
    path = tmp_path / "vm.xplane.pb"
    path.write_bytes(b"\x00\xff" * 500)
    out = tfstudio("profile", "--trace", str(path), "--json", timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    (line,) = [x for x in out.stderr.splitlines() if x.startswith("error:")]
    assert "not a TensorFlow Profiler trace" in line


def test_cli_refuses_a_run_without_a_model_and_a_range_outside_it(ws, store, tmp_path):
    no_model = finished_train_run(
        store, "no model", {"batch_size": 32}, [], {}, {}, {"rows": {"train": 90}}
    )
    out = tfstudio("profile", no_model.id, "--json", timeout=120)
    assert out.returncode == 2
    assert "has no network.keras; train the model again" in out.stderr
    folder = ws.run_dir(no_model.id)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("network.keras", "preprocessing.keras", "features.json"):
        (folder / name).write_bytes(b"x")
    out = tfstudio("profile", no_model.id, "--steps", "3-7", timeout=120)
    assert out.returncode == 2
    assert "epoch at batch size 32 has 3 step(s)" in out.stderr
    out = tfstudio("profile", no_model.id, "--steps", "3-1", timeout=120)
    assert out.returncode == 2 and "run backwards" in out.stderr
    assert store.list_runs(kind="profile") == []  # nothing started

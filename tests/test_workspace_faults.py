"""A broken workspace: damaged store, rebuilt from the run folders; read-only and full disks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from core.errors import DiskFull, StoreDamaged, WorkspaceReadOnly
from core.runs import doctor, folder
from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.workspace import Workspace
from tests.conftest import tfstudio


def _finished_run(store: RunStore, ws: Workspace, steps: int = 3, name: str = "a") -> str:
    run = store.create_run("succeed", {"steps": steps}, name=name)
    store.set_pid(run.id, os.getpid(), None)
    store.set_status(run.id, RunStatus.RUNNING)
    for step in range(1, steps + 1):
        store.log_metrics(run.id, step, {"loss": 1.0 / step})
    store.add_event(run.id, "hello")
    out = ws.run_dir(run.id) / "result.txt"
    out.write_text("done")
    store.add_artifact(run.id, "result.txt", out)
    store.finish_run(run.id, {"metrics": {"loss": 1.0 / steps}})
    return run.id


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize("damage", ["random", "header_only"])
def test_damaged_store_is_named_in_one_error_line(ws, store, damage):
    _finished_run(store, ws)
    data = ws.db_path.read_bytes()
    ws.db_path.write_bytes(os.urandom(8192) if damage == "random" else data[:100])
    for suffix in ("-wal", "-shm"):
        Path(f"{ws.db_path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(StoreDamaged, match="doctor --repair"):
        RunStore(ws.db_path)
    line = _one_error_line(tfstudio("runs", "list"))
    assert str(ws.db_path) in line and "doctor --repair" in line


def test_doctor_repair_rebuilds_the_store_from_the_run_folders(ws, store):
    done = _finished_run(store, ws, steps=4, name="first")
    failed = store.create_run("fail", {}, name="second")
    store.fail_run(failed.id, "it broke")
    before = {r.id: (r.status, r.name, r.spec, r.result) for r in store.list_runs()}
    ws.db_path.write_bytes(os.urandom(4096))
    for suffix in ("-wal", "-shm"):
        Path(f"{ws.db_path}{suffix}").unlink(missing_ok=True)

    proc = tfstudio("doctor", "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["store"] == "damaged" and set(report["unrecorded_runs"]) == set(before)

    proc = tfstudio("doctor", "--repair", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["healthy"] and report["runs_in_store"] == 2
    assert list(ws.root.glob("runs.sqlite.damaged-*")), "the damaged file is kept aside"

    rebuilt = RunStore(ws.db_path)
    after = {r.id: (r.status, r.name, r.spec, r.result) for r in rebuilt.list_runs()}
    assert after == before
    assert [p.value for p in rebuilt.get_metrics(done).points] == [1.0, 0.5, 1 / 3, 0.25]
    assert [e.message for e in rebuilt.get_events(done)] == ["hello"]
    assert set(rebuilt.get_artifacts(done)) == {"result.txt"}
    assert rebuilt.get_run(failed.id).error == "it broke"
    assert tfstudio("doctor").returncode == 0


def test_an_emptied_store_is_noticed_and_refilled(ws, store):
    run_id = _finished_run(store, ws)
    ws.db_path.write_bytes(b"")  # truncated to nothing: SQLite sees a new, empty database
    assert doctor.quick_check(ws) and "not in the run store" in doctor.quick_check(ws)
    report = doctor.repair(ws)
    assert report.healthy and RunStore(ws.db_path).get_run(run_id).status is RunStatus.SUCCEEDED
    assert doctor.quick_check(ws) is None


def test_a_folder_from_before_run_json_comes_back_lost_with_its_curves(ws, store):
    legacy = ws.root / "runs" / "20250101-120000-abcdef"
    legacy.mkdir(parents=True)
    (legacy / "model.keras").write_bytes(b"x")
    (legacy / "features.json").write_text("{}")
    (legacy / "history.json").write_text(json.dumps({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]}))
    assert doctor.check(ws).unrecorded_runs == [legacy.name]
    doctor.repair(ws)
    run = store.get_run(legacy.name)
    assert run.kind == "train" and run.status is RunStatus.LOST and "spec is unknown" in run.error
    assert sorted((p.name, p.step, p.value) for p in store.get_metrics(run.id).points) == [
        ("loss", 1, 0.9),
        ("loss", 2, 0.5),
        ("val_loss", 1, 1.0),
        ("val_loss", 2, 0.7),
    ]
    assert set(store.get_artifacts(run.id)) == {"model.keras", "features.json", "history.json"}


def test_an_active_run_restored_without_its_worker_is_marked_lost(ws, store):
    run = store.create_run("slow", {})
    store.set_pid(run.id, 999_999, 1.0)
    store.set_status(run.id, RunStatus.RUNNING)
    ws.db_path.write_bytes(os.urandom(2048))
    report = doctor.repair(ws)
    assert any("LOST" in line for line in report.repaired)
    assert RunStore(ws.db_path).get_run(run.id).status is RunStatus.LOST


def test_doctor_flags_broken_dataset_versions_and_stale_half_written_imports(ws):
    root = ws.root / "datasets"
    good = root / "iris" / "v1"
    good.mkdir(parents=True)
    (good / "manifest.json").write_text(json.dumps({"name": "iris", "version": 1}))
    for name in ("schema.json", "profile.json", "data.parquet"):
        (good / name).write_text("{}")
    bad = root / "iris" / "v2"
    bad.mkdir()
    (bad / "manifest.json").write_text("{trunc")
    stale = root / ".tmp-0123"
    stale.mkdir()
    os.utime(stale, (1, 1))
    report = doctor.check(ws)
    assert report.dataset_versions == 1
    assert report.dataset_problems == [
        "iris@v2: unreadable manifest.json (Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1))"
    ]
    assert report.half_written == [str(stale)]
    doctor.repair(ws)
    assert not stale.exists() and bad.exists(), "only the half-written import is removed"


def test_a_run_folder_keeps_a_copy_of_its_run(ws, store):
    run_id = _finished_run(store, ws)
    record = folder.read_folder(ws.run_dir(run_id))
    assert record["status"] == "SUCCEEDED" and record["spec"] == {"steps": 3}
    assert [m["value"] for m in record["metrics"]] == [1.0, 0.5, 1 / 3]
    assert record["artifacts"] == {"result.txt": str(ws.run_dir(run_id) / "result.txt")}


# -- real read-only and full file systems (root only; skipped where mounting is not allowed) --
def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)  # busy: detach lazily


@pytest.fixture
def read_only_copy(ws, store, tmp_path):
    """The workspace, with a finished run, seen through a read-only bind mount."""
    run_id = _finished_run(store, ws)
    target = tmp_path / "ro"
    target.mkdir()
    if not _mount("--bind", str(ws.root), str(target)):
        pytest.skip("mount --bind is not permitted here")
    try:
        if not _mount("-o", "remount,ro,bind", str(target)):
            pytest.skip("a read-only remount is not permitted here")
        yield target, run_id
    finally:
        _umount(target)


def test_a_read_only_workspace_lists_and_shows_and_refuses_writes(read_only_copy, monkeypatch):
    target, run_id = read_only_copy
    monkeypatch.setenv("TFSTUDIO_HOME", str(target))
    store = RunStore(target / "runs.sqlite")
    assert store.read_only and [r.id for r in store.list_runs()] == [run_id]
    with pytest.raises(WorkspaceReadOnly, match="read-only"):
        store.create_run("succeed", {})
    listed = tfstudio("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)["runs"]] == [run_id]
    shown = tfstudio("runs", "show", run_id, "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["status"] == "SUCCEEDED"
    line = _one_error_line(tfstudio("runs", "cancel", run_id))
    assert "already ended" in line  # reads first: the refusal names the real reason
    assert "read-only" in _one_error_line(tfstudio("doctor", "--repair"))
    models = tfstudio("registry", "list", "--json")
    assert models.returncode == 0 and json.loads(models.stdout) == {"models": []}, models.stderr
    datasets = tfstudio("data", "list", "--json")
    assert datasets.returncode == 0, datasets.stderr
    table = target.parent / "t.csv"
    table.write_text("a,b\n1,2\n3,4\n")
    assert "read-only" in _one_error_line(tfstudio("data", "import", str(table)))


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)):
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield mnt
    finally:
        _umount(mnt)


def _fill(mnt: Path) -> None:
    with open(mnt / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_a_full_disk_leaves_no_half_written_run(tiny_disk):
    ws = Workspace.resolve(tiny_disk / "home")
    store = RunStore(ws.db_path)
    kept = store.create_run("succeed", {})
    _fill(tiny_disk)
    with pytest.raises(DiskFull, match="full"):
        for _ in range(200):  # the first may still fit in a free page; the disk really fills
            store.create_run("succeed", {"pad": "x" * 20_000})
    folders = {p.name for p in (ws.root / "runs").iterdir()}
    (tiny_disk / "filler").unlink()  # SQLite needs a little room even to read a WAL store
    assert folders == store.run_ids(), "every run folder has its row, and no row lacks a folder"
    assert kept.id in folders
    assert store.create_run("succeed", {}).id in {p.name for p in (ws.root / "runs").iterdir()}


def test_a_full_disk_import_is_refused_in_one_line_and_leaves_no_version(tiny_disk, tmp_path):
    home = tiny_disk / "home"
    Workspace.resolve(home)
    big = tmp_path / "big.csv"
    rows = "\n".join(f"{i},{i * 0.5},{os.urandom(24).hex()}" for i in range(60_000))
    big.write_text("a,b,c\n" + rows + "\n")
    proc = tfstudio("data", "import", str(big), "--home", str(home))
    line = _one_error_line(proc)
    assert "disk is full" in line
    datasets = home / "datasets"
    assert not list(datasets.glob(".tmp-*")) and not list(datasets.glob("*/v*"))
    shutil.rmtree(datasets, ignore_errors=True)


def test_runs_page_banner_repairs_a_damaged_store(ws, store):
    from tests.test_pages import open_page

    run_id = _finished_run(store, ws, name="kept run")
    ws.db_path.write_bytes(os.urandom(4096))
    for suffix in ("-wal", "-shm"):
        Path(f"{ws.db_path}{suffix}").unlink(missing_ok=True)
    at = open_page("runs")
    assert not at.exception, at.exception
    assert any("damaged" in e.value for e in at.error)
    at.button(key="runs-repair").click().run()
    assert not at.exception, at.exception
    assert not any("damaged" in e.value for e in at.error)
    assert RunStore(ws.db_path).get_run(run_id).name == "kept run"


def test_every_page_names_a_damaged_store_instead_of_a_traceback(ws, store):
    from tests.test_pages import open_page

    _finished_run(store, ws)
    ws.db_path.write_bytes(os.urandom(4096))
    at = open_page("home")
    assert not at.exception, at.exception
    assert any("damaged" in e.value and "Runs page" in e.value for e in at.error)


def test_an_export_copied_out_to_a_full_disk_leaves_no_half_bundle(tiny_disk, tmp_path):
    from core.cli.cmd_export import copy_whole

    big = tmp_path / "model.tflite"
    big.write_bytes(os.urandom(3 << 20))  # larger than the whole 2 MB disk
    folder = tmp_path / "savedmodel"
    (folder / "variables").mkdir(parents=True)
    (folder / "variables" / "data").write_bytes(os.urandom(3 << 20))
    for src in (big, folder):
        with pytest.raises(OSError) as caught:
            copy_whole(src, tiny_disk / src.name)
        assert caught.value.errno == 28 or "No space" in str(caught.value)
    assert list(tiny_disk.iterdir()) == [], "no partial copy and no target left behind"
    small = tmp_path / "small.bin"
    small.write_bytes(b"ok")
    copy_whole(small, tiny_disk / "small.bin")
    assert (tiny_disk / "small.bin").read_bytes() == b"ok"

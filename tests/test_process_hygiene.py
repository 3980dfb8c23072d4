"""Fast refusals, a light CLI, and processes that can be found and stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from core.runs import launcher, supervisor
from core.serving import process as serving
from tests.conftest import FAKE_HANDLERS, REPO, pid_alive, tfstudio, wait_until


def _modules_after(commands: list[list[str]], home: Path) -> tuple[list, list[str]]:
    """Run CLI commands in one fresh process; (exit codes with stderr, heavy modules loaded)."""
    code = (
        "import contextlib, io, json, sys\n"
        "from core.cli.main import main\n"
        "out = []\n"
        f"for argv in {commands!r}:\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            rc = main(argv)\n"
        "        except SystemExit as exc:\n"
        "            rc = exc.code\n"
        "    out.append([rc, err.getvalue()])\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'pandas') if m in sys.modules]\n"
        "print(json.dumps([out, heavy]))\n"
    )
    env = dict(os.environ, TFSTUDIO_HOME=str(home))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_listing_commands_import_neither_pandas_nor_tensorflow(ws, store):
    run = store.create_run("succeed", {})
    results, heavy = _modules_after(
        [["datasets", "--json"], ["runs", "list"], ["runs", "show", run.id], ["registry", "list"]],
        ws.root,
    )
    assert [rc for rc, _ in results] == [0, 0, 0, 0], results
    assert heavy == []


def test_bad_input_is_refused_before_tensorflow_is_imported(ws, tmp_path):
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b,y\n")
    table = tmp_path / "table.csv"
    table.write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    results, heavy = _modules_after(
        [
            ["train", "--data", str(header_only), "--target", "y"],
            ["train", "--data", str(table), "--target", "nope"],
            ["train", "--data", "sample:iris", "--target", "species", "--epochs", "0"],
            ["train", "--data", "sample:iris", "--target", "species", "--model", "no-such"],
            ["train", "--data", str(tmp_path / "missing.csv"), "--target", "y"],
            ["tune", "--data", str(table), "--target", "nope"],
            ["export", "no-such-run", "--format", "tflite", "--out", str(tmp_path / "x")],
        ],
        ws.root,
    )
    for rc, err in results:
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "no data rows" in results[0][1] and "no column 'nope'" in results[1][1]
    assert "tensorflow" not in heavy and "keras" not in heavy


def spawner(spec, reporter, run_dir: Path):
    """A fake search: starts a worker process of its own (new session, like tuner workers)."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    (run_dir / "child.pid").write_text(str(child.pid))
    try:
        while not reporter.should_stop():
            reporter.progress("searching", 0, 1, "trial 1")
            time.sleep(0.1)
    finally:
        child.kill()
        child.wait()
    return {}


def test_runs_show_gives_the_pid_and_host_of_every_live_worker(ws, store, monkeypatch):
    monkeypatch.setenv(
        "TFSTUDIO_HANDLERS", FAKE_HANDLERS + ",spawner=tests.test_process_hygiene:spawner"
    )
    run = launcher.submit(ws, store, {}, kind="spawner")
    child_file = ws.run_dir(run.id) / "child.pid"
    wait_until(child_file.exists, timeout=60)
    child = int(child_file.read_text())
    try:
        shown = tfstudio("runs", "show", run.id, "--json")
        payload = json.loads(shown.stdout)
        worker = store.get_run(run.id).pid
        assert payload["pid"] == worker and payload["host"] == socket.gethostname()
        pids = {w["pid"]: w for w in payload["workers"]}
        assert set(pids) >= {worker, child}
        assert pids[worker]["role"] == "worker" and pids[child]["host"] == socket.gethostname()
    finally:
        store.request_cancel(run.id)
        launcher.wait(store, run.id, timeout_s=60)
    assert json.loads(tfstudio("runs", "show", run.id, "--json").stdout)["workers"] == []


def _group(script: str, tmp_path: Path) -> supervisor.Supervised:
    _, target = supervisor.spawn(["sh", "-c", script], tmp_path / "group.log")
    wait_until(lambda: len(supervisor.group_members(target.pid)) >= 3, timeout=20)
    return target


def test_the_supervisor_stops_the_whole_process_group(tmp_path):
    target = _group("sleep 60 & sleep 60 & wait", tmp_path)
    members = [p.pid for p in supervisor.group_members(target.pid)]
    assert supervisor.stop(target, grace_s=5)
    assert supervisor.group_members(target.pid) == []
    assert not any(pid_alive(p) for p in members)


def test_a_group_that_ignores_sigterm_is_killed_after_the_grace(tmp_path):
    target = _group("trap '' TERM; sleep 60 & sleep 60 & wait", tmp_path)
    started = time.time()
    assert supervisor.stop(target, grace_s=1)
    assert supervisor.group_members(target.pid) == []
    assert time.time() - started < 10


def test_a_reused_pid_is_never_signalled(tmp_path):
    other = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        # the record says the process was created long ago: this pid now belongs to another
        assert not supervisor.stop(supervisor.Supervised(other.pid, 1.0))
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_stopping_a_served_model_ends_its_process_group(ws, tmp_path):
    target = _group("sleep 60 & sleep 60 & wait", tmp_path)
    state = {"pid": target.pid, "started_at": target.started_at, "port": 1, "name": "m"}
    (ws.root / "serving.json").write_text(json.dumps(state))
    assert serving.current(ws) is not None
    assert serving.stop(ws)
    assert supervisor.group_members(target.pid) == [] and serving.current(ws) is None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_tfstudio_app_stops_streamlit(ws, sig):
    port = launcher_free_port()
    app = subprocess.Popen(
        [sys.executable, "-m", "core.cli.main", "app", "--port", str(port), "--home", str(ws.root)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        children = wait_until(lambda: psutil.Process(app.pid).children(recursive=True), 60)
        wait_until(lambda: _answers(port), timeout=120)
        app.send_signal(sig)
        code = app.wait(timeout=30)  # it ends when Streamlit ends, with Streamlit's code
        assert sig == signal.SIGINT or code in (0, 128 + sig)
        for child in children:
            wait_until(lambda c=child: not pid_alive(c.pid), timeout=15)
        assert not _answers(port)
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)


def launcher_free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0

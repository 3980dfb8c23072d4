"""Shared helpers (core/util.py): atomic writes leave no half file, ports are free and distinct."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from core.util import KERASTUNER_ENV, free_port, free_ports, write_json_atomic, write_text_atomic


def test_atomic_json_round_trips_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "deep" / "state.json"
    text = write_json_atomic(path, {"a": 1, "p": tmp_path}, indent=2)
    assert json.loads(path.read_text()) == {"a": 1, "p": str(tmp_path)}
    assert text == path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_file_whole(tmp_path):
    path = tmp_path / "state.json"
    write_json_atomic(path, {"v": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"v": object()}, default=None)
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_concurrent_writers_never_leave_a_torn_file(tmp_path):
    path = tmp_path / "x.txt"
    payloads = [str(i) * 10_000 for i in range(8)]
    threads = [threading.Thread(target=write_text_atomic, args=(path, p)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert path.read_text() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_free_ports_are_distinct_and_bindable():
    ports = free_ports(3)
    assert len(set(ports)) == 3
    for port in [*ports, free_port()]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_kerastuner_keys():
    assert KERASTUNER_ENV == (
        "KERASTUNER_ORACLE_IP",
        "KERASTUNER_ORACLE_PORT",
        "KERASTUNER_TUNER_ID",
    )

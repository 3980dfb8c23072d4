"""The model server's default port is said in one place (#33: the learn step said 8601, the app's
own port in that workshop, and the server then failed with "port 8601 is in use")."""

from __future__ import annotations

import socket

from core.learn import STEPS
from core.serving import process


def test_a_busy_default_port_gives_the_next_free_one():
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", process.SERVE_PORT))
        except OSError:
            pass  # someone else holds it: the assertion below holds all the same
        port = process.free_serve_port()
        assert port != process.SERVE_PORT and process.port_free(port)


def test_the_apps_own_port_is_never_proposed():
    assert process.free_serve_port(taken=process.SERVE_PORT) != process.SERVE_PORT


def test_the_learn_step_quotes_the_default_from_its_one_place():
    serve = next(s for s in STEPS if s.key == "serve")
    assert f"Default: {process.SERVE_PORT}" in serve.decision

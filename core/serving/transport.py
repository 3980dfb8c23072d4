"""The hardened HTTP layer under `tfstudio serve` (stdlib `http.server`, no TensorFlow).

What a hostile or broken client gets, instead of a hung thread, a dropped connection or a
traceback in the log:

- every read has a deadline: the request line and headers `header_timeout_s` (also the idle
  keep-alive wait), the body `body_timeout_s` in total (408), enforced per read by the socket
  timeout and over the whole phase by a reaper thread, so a client trickling bytes is cut too;
- at most `max_connections` connections are served at once; one more gets 503 at once;
- a body is read only by its `Content-Length` (digits only, else 400; several that differ 400;
  none on POST/PUT/PATCH 411) or `Transfer-Encoding: chunked` (other codings 501); a body
  announced over `max_body_bytes` gets 413 before it is read (also as the answer to
  `Expect: 100-continue`), and the connection then drains what the client still sends, so the
  client reads the 413 instead of a broken pipe;
- every error, the stdlib's own (bad request line, too many headers, unknown method) included,
  is JSON `{"error": "..."}`; a client that hangs up is not logged.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HEADER_TIMEOUT_S = 20.0
BODY_TIMEOUT_S = 60.0
MAX_CONNECTIONS = 128
MAX_BODY_BYTES = 10 * 1024 * 1024
_DRAIN_S, _DRAIN_BYTES = 3.0, 256 * 1024 * 1024
_HANGUPS = (ConnectionError, TimeoutError, socket.timeout)


class BodyError(Exception):
    """The body could not be read: status and message (status 0: the client is gone)."""

    def __init__(self, status: int, message: str = "", drain: bool = False):
        super().__init__(message)
        self.status, self.drain = status, drain


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler whose every answer is JSON and whose reads are bounded."""

    protocol_version = "HTTP/1.1"
    server_version = "tfstudio-serving/1"
    disable_nagle_algorithm = True  # else small responses wait ~40 ms on delayed ACKs
    server: BoundedServer

    def setup(self) -> None:
        # per read, applied by StreamRequestHandler (which reads it from the instance; typeshed's
        # socketserver stub declares it a ClassVar, so mypy refuses the assignment)
        self.timeout = self.server.header_timeout_s  # type: ignore[misc]
        super().setup()

    def handle_one_request(self) -> None:
        self.server.watch(self.connection, self.server.header_timeout_s)
        try:
            super().handle_one_request()
        finally:
            self.server.unwatch(self.connection)

    def log_message(self, format, *args):  # noqa: A002  (quiet: no access log, no hang-ups)
        pass

    # -- answers ---------------------------------------------------------------------------------
    def send_json(self, status: int, payload: Any, close: bool = False) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def send_error(self, code, message=None, explain=None) -> None:  # the stdlib's errors
        if getattr(self, "request_version", "") in ("", "HTTP/0.9"):
            self.request_version = "HTTP/1.1"  # a garbled request line still gets a status line
        try:
            text = message or self.responses.get(code, ("error",))[0]
            self.send_json(int(code), {"error": text}, close=True)
        except _HANGUPS:
            self.close_connection = True

    def refuse(self, status: int, message: str, drain: bool = False) -> None:
        """Answer an error and close the connection; with `drain`, first read and drop what
        the client is still sending, so it sees the answer rather than a reset."""
        self.send_json(status, {"error": message}, close=True)
        if drain:
            self._linger()

    def _linger(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.5)
            deadline, seen = time.monotonic() + _DRAIN_S, 0
            while time.monotonic() < deadline and seen < _DRAIN_BYTES:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                seen += len(chunk)
        except OSError:
            pass

    # -- the body --------------------------------------------------------------------------------
    def handle_expect_100(self) -> bool:
        length = self.headers.get("Content-Length", "").strip()
        if length.isdigit() and int(length) > self.server.max_body_bytes:
            self.refuse(413, self._too_big(int(length)))
            return False
        return super().handle_expect_100()

    def _too_big(self, n: int) -> str:
        return (
            f"request body of {n} bytes is over this server's limit of "
            f"{self.server.max_body_bytes} bytes"
        )

    def read_body(self) -> bytes:
        """The request body, by Content-Length or chunked; raises BodyError."""
        late = BodyError(
            408, f"timed out reading the request body ({self.server.body_timeout_s:g} s)"
        )
        deadline = time.monotonic() + self.server.body_timeout_s
        self.server.watch(self.connection, self.server.body_timeout_s)
        try:
            return self._read_body()
        except TimeoutError:
            raise late from None
        except ConnectionError:
            raise BodyError(0) from None
        except BodyError as exc:  # EOF: the client hung up, or the reaper cut a late body
            raise (late if exc.status == 0 and time.monotonic() >= deadline else exc) from None
        finally:
            self.server.unwatch(self.connection)

    def begin(self) -> None:
        """The request line and headers are in: their deadline no longer applies."""
        self.server.unwatch(self.connection)

    def _read_body(self) -> bytes:
        coding = self.headers.get("Transfer-Encoding")
        lengths = self.headers.get_all("Content-Length") or []
        if coding is not None:
            if lengths:
                raise BodyError(400, "both Transfer-Encoding and Content-Length were sent")
            if coding.strip().lower() != "chunked":
                raise BodyError(501, f"Transfer-Encoding {coding!r} is not supported: use chunked")
            return self._read_chunked()
        if not lengths:
            if self.command in ("POST", "PUT", "PATCH"):
                raise BodyError(
                    411, "a request body needs Content-Length or Transfer-Encoding: chunked"
                )
            return b""
        values = {v.strip() for v in lengths}
        if len(values) > 1:
            raise BodyError(400, f"conflicting Content-Length headers: {sorted(values)}")
        value = values.pop()
        if not (value.isascii() and value.isdigit()):
            raise BodyError(400, f"bad Content-Length {value!r}: expected a number of bytes")
        n = int(value)
        if n > self.server.max_body_bytes:
            raise BodyError(413, self._too_big(n), drain=True)
        return self._read_exactly(n)

    def _read_exactly(self, n: int) -> bytes:
        parts, left = [], n
        while left:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                raise BodyError(0)  # the client hung up mid-body
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1026)
            if not line:
                raise BodyError(0)
            size_text = line.split(b";", 1)[0].strip()
            if (
                not line.endswith(b"\n")
                or not size_text
                or any(c not in b"0123456789abcdefABCDEF" for c in size_text)
            ):
                raise BodyError(400, f"malformed chunk size line {line[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(100):  # trailer fields, then the empty line
                    if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                        return b"".join(parts)
                raise BodyError(400, "too many trailer lines after the last chunk")
            total += size
            if total > self.server.max_body_bytes:
                raise BodyError(413, self._too_big(total), drain=True)
            parts.append(self._read_exactly(size))
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BodyError(400, "a chunk is longer than its size line says")


class BoundedServer(ThreadingHTTPServer):
    """A threaded HTTP server with a connection limit, read deadlines and quiet hang-ups."""

    daemon_threads = True
    request_queue_size = 256  # the default 5 resets connections under concurrent clients

    def __init__(
        self,
        address,
        handler,
        max_connections: int = MAX_CONNECTIONS,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        body_timeout_s: float = BODY_TIMEOUT_S,
        max_body_bytes: int = MAX_BODY_BYTES,
    ):
        self.max_connections = max_connections
        self.header_timeout_s, self.body_timeout_s = header_timeout_s, body_timeout_s
        self.max_body_bytes = max_body_bytes
        self._slots = threading.BoundedSemaphore(max_connections)
        self._deadlines: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        super().__init__(address, handler)
        threading.Thread(target=self._reap, daemon=True, name="http-reaper").start()

    # -- deadlines -------------------------------------------------------------------------------
    def watch(self, conn: socket.socket, seconds: float) -> None:
        with self._lock:
            self._deadlines[conn] = time.monotonic() + seconds

    def unwatch(self, conn: socket.socket) -> None:
        with self._lock:
            self._deadlines.pop(conn, None)

    def _reap(self) -> None:
        """Cut connections past their phase's deadline (a client trickling one byte at a time
        never trips the per-read timeout)."""
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            with self._lock:
                late = [c for c, t in self._deadlines.items() if t < now]
                for c in late:
                    self._deadlines.pop(c, None)
            for c in late:
                try:
                    c.shutdown(socket.SHUT_RD)  # reads end; a 408 can still be written
                except OSError:
                    pass

    # -- connections -----------------------------------------------------------------------------
    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            threading.Thread(target=self._refuse, args=(request,), daemon=True).start()
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.unwatch(request)
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        body = json.dumps(
            {"error": f"too many connections (limit {self.max_connections}); retry shortly"}
        ).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
        try:
            request.settimeout(1.0)
            request.sendall(head.encode() + body)
            request.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 2.0
            while request.recv(65536) and time.monotonic() < deadline:
                pass  # drain, so the client reads the 503, not a reset
        except OSError:
            pass
        finally:
            self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, _HANGUPS) or isinstance(exc, OSError):
            return  # the client hung up or the socket was cut: nothing to report
        print(
            f"serving: internal error on a connection from {client_address[0]}: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
            flush=True,
        )

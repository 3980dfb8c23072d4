"""A tiny HTTP server on 127.0.0.1 for download tests: serves bytes by path, honours Range, and can
drop the connection mid-file (once, or every time) to imitate a broken download."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Mirror:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.drop: dict[str, int] = {}  # path -> how many more GETs to cut off halfway
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Range header)
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet tests
                pass

            def _body(self, head: bool) -> None:
                path = self.path
                mirror.requests.append((self.command, path, self.headers.get("Range", "")))
                data = mirror.files.get(path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and not head:
                    start = int(rng[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if head:
                    return
                body = data[start:]
                if mirror.drop.get(path, 0) > 0:
                    mirror.drop[path] -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                self._body(head=False)

            def do_HEAD(self) -> None:  # noqa: N802
                self._body(head=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Mirror:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def gets(self, path: str) -> list[str]:
        """The Range headers of every GET of `path`."""
        return [r for m, p, r in self.requests if m == "GET" and p == path]


def closed_port_url() -> str:
    """An address where nothing listens (connection refused): no network."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"

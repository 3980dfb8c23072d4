"""`tfstudio serve`: TF Serving's REST API on a threaded stdlib HTTP server.

Routes (NAME is the model name, N its version: 1 for one SavedModel folder; for a model base
path `BASE/N/`, the version served now, switched without dropping requests by serving/versions.py):

- `GET /v1/models/NAME[/versions/N]`: the version status;
- `GET /v1/models/NAME[/versions/N]/metadata`: the `serving_default` signature;
- `POST /v1/models/NAME[/versions/N]:predict`: row (`instances`) or columnar (`inputs`) format.

Errors are `{"error": "..."}` with a 4xx code, and the server keeps serving. Concurrent predict
requests are batched: a batcher thread runs the rows of the requests waiting together in one call.
"""

from __future__ import annotations

import json
import queue
import re
import sys
import threading
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BadInput
from core.serving.model import RequestError, ServedModel, format_outputs
from core.serving.versions import ModelSlot, is_base_path, open_slot

ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<rest>.*)$")


def resolve_model(model: str, ws, store, name: str = "") -> tuple[Path, str]:
    """A SavedModel folder for a run id (training or export run) or a folder; and its name."""
    from core.export.job import serving_name
    from core.training.features import ModelContract

    folder = Path(model).expanduser()
    if folder.is_dir() and ((folder / "saved_model.pb").exists() or is_base_path(folder)):
        return folder, name or serving_name_from_path(folder)
    try:
        run = store.get_run(model)
    except Exception as exc:
        raise BadInput(f"{model!r} is neither a run id nor a SavedModel folder") from exc
    run_dir = ws.run_dir(run.id)
    contract = None
    if (run_dir / "features.json").exists():
        contract = ModelContract.load(run_dir / "features.json")
    if run.kind == "export":
        saved = run_dir / "savedmodel"
        if not (saved / "saved_model.pb").exists():
            raise BadInput(f"export run {run.id} has no SavedModel: export the savedmodel format")
    else:
        from core.export.job import source_model_dir

        source_model_dir(store, ws, run.id)
        saved = run_dir / "serving" / "savedmodel"
        if not (saved / "saved_model.pb").exists():
            print(f"writing a SavedModel for {run.id} to {saved}", file=sys.stderr)
            from core.export.convert import to_savedmodel
            from core.models.io import load_run_model

            to_savedmodel(load_run_model(run_dir), saved)
    default = serving_name(contract, "") if contract else "model"
    return saved, serving_name(contract, name) if (contract and name) else (name or default)


def serving_name_from_path(folder: Path) -> str:
    parent = folder.parent.name if folder.name.isdigit() else folder.name
    return re.sub(r"[^A-Za-z0-9_]+", "_", parent).strip("_").lower() or "model"


class Batcher:
    """Runs predict calls from many threads in shared batches (up to `max_rows` rows)."""

    def __init__(self, model: ServedModel, max_rows: int = 256, wait_s: float = 0.0):
        self.model, self.max_rows, self.wait_s = model, max_rows, wait_s
        self.queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._loop, daemon=True, name="batcher").start()

    def run(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        future: Future = Future()
        self.queue.put((arrays, future))
        return future.result()

    def _loop(self) -> None:
        while True:
            batch = [self.queue.get()]
            rows = len(next(iter(batch[0][0].values())))
            while rows < self.max_rows:
                # what queued while the last batch ran (natural batching), or wait_s more
                try:
                    if self.wait_s:
                        item = self.queue.get(timeout=self.wait_s)
                    else:
                        item = self.queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
                rows += len(next(iter(item[0].values())))
            for group in self._groups(batch):
                self._run_group(group)

    @staticmethod
    def _groups(batch):
        """Requests whose inputs have the same per-example shapes run together."""
        groups: dict[Any, list] = {}
        for arrays, future in batch:
            key = tuple((k, v.shape[1:], v.dtype.kind) for k, v in sorted(arrays.items()))
            groups.setdefault(key, []).append((arrays, future))
        return groups.values()

    def _run_group(self, group) -> None:
        try:
            names = list(group[0][0])
            joined = {k: np.concatenate([a[k] for a, _ in group]) for k in names}
            out = self.model.run(joined)
        except Exception as exc:  # noqa: BLE001  (every waiting request hears of it)
            for _, future in group:
                future.set_exception(exc)
            return
        start = 0
        for arrays, future in group:
            n = len(next(iter(arrays.values())))
            future.set_result({k: v[start : start + n] for k, v in out.items()})
            start += n


def make_server(
    model: ServedModel | ModelSlot,
    host: str = "127.0.0.1",
    port: int = 8501,
    token: str = "",
    max_body_bytes: int = 10 * 1024 * 1024,
    batching: bool = True,
) -> ThreadingHTTPServer:
    # Each request reads the slot's (model, batcher) once: a version switch never changes the
    # model under a request in flight (see core/serving/versions.py).
    slot = model if isinstance(model, ModelSlot) else ModelSlot(model, batching)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "tfstudio-serving/1"
        disable_nagle_algorithm = True  # else small responses wait ~40 ms on delayed ACKs

        def log_message(self, format, *args):  # noqa: A002
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, model: ServedModel) -> tuple[str, str] | None:
            """(version, rest) when the path names this model; else answers 404 itself."""
            if token and self.headers.get("Authorization", "") != f"Bearer {token}":
                self._send(401, {"error": "missing or wrong bearer token"})
                return None
            m = ROUTE.match(self.path.split("?")[0])
            if not m:
                self._send(404, {"error": f"unknown path {self.path}; try /v1/models/{model.name}"})
                return None
            name, version = m["name"], m["version"]
            if name != model.name:
                self._send(404, {"error": f"Servable not found for request: Latest({name})"})
                return None
            if version is not None and version != str(model.version):
                self._send(
                    404,
                    {"error": f"Servable not found for request: Specific({name}, {version})"},
                )
                return None
            return version or str(model.version), m["rest"]

        def do_GET(self) -> None:  # noqa: N802
            model = slot.current[0]
            route = self._route(model)
            if route is None:
                return
            rest = route[1]
            if rest == "":
                self._send(200, model.status())
            elif rest == "/metadata":
                self._send(200, model.metadata())
            else:
                self._send(404, {"error": f"unknown path {self.path}"})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            if length > max_body_bytes:
                self.close_connection = True
                self._send(413, {"error": f"request of {length} bytes is over {max_body_bytes}"})
                return
            body = self.rfile.read(length) if length else b""
            model, batcher = slot.current
            route = self._route(model)
            if route is None:
                return
            if route[1] != ":predict":
                self._send(404, {"error": f"unknown method {route[1] or '(none)'}; use :predict"})
                return
            try:
                try:
                    request = json.loads(body)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise RequestError(f"malformed JSON: {exc}") from None
                arrays, form = model.parse(request)
                outputs = batcher.run(arrays) if batcher else model.run(arrays)
                self._send(200, format_outputs(outputs, form))
            except RequestError as exc:
                self._send(exc.status, {"error": str(exc)})
            except Exception as exc:  # noqa: BLE001  (the model refused the input)
                self._send(400, {"error": f"{type(exc).__name__}: {exc}"[:2000]})

    server = _Server((host, port), Handler)
    return server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 resets connections under concurrent clients


def serve(
    path: Path,
    name: str,
    host: str = "127.0.0.1",
    port: int = 8501,
    token: str = "",
    max_body_bytes: int = 10 * 1024 * 1024,
    batching: bool = True,
) -> int:
    slot, watcher = open_slot(path, name, batching)
    server = make_server(slot, host, port, token, max_body_bytes, batching)
    port = server.server_address[1]
    print(
        f"serving {name} (SavedModel {path}) at http://{host}:{port}/v1/models/{name}",
        file=sys.stderr,
        flush=True,
    )
    print(json.dumps({"event": "listening", "host": host, "port": port, "name": name}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0

"""`tfstudio serve`: TF Serving's REST API (every documented call) on a hardened stdlib server.

Routes, as TF Serving's http_rest_api_handler.cc parses them (case-insensitive literals; N a
number, L a version label from the base path's `serving.json`):

- `GET /v1/models/NAME[/versions/N|/labels/L]`: version status;
- `GET /v1/models/NAME[/versions/N|/labels/L]/metadata`: every SignatureDef, as protobuf JSON;
- `POST /v1/models/NAME[/versions/N|/labels/L]:predict`: row (`instances`) or columnar
  (`inputs`), any signature by `signature_name`;
- `POST ...:classify` and `...:regress`: `{"examples": [...], "context": {...}}` for a signature
  with one `inputs` tensor of serialized tf.Example (TF Serving's error for any other).

Anything else under /v1/ is TF Serving's 400 "Malformed request: METHOD PATH"; outside /v1/ 404.
Errors are `{"error": "..."}`: 4xx for the request, 5xx for the server's own failures. NAME's
version is 1 for one SavedModel folder; for a model base path `BASE/N/`, the version served now,
switched without dropping requests (serving/versions.py). Concurrent predict requests for a
batch-major signature are batched (serving/batcher.py); the HTTP limits are serving/transport.py.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from core.errors import BadInput, NotFound
from core.serving import missing_inputs
from core.serving.batcher import Batcher, batchable
from core.serving.json_examples import examples_from_json
from core.serving.json_tensor import parse_json, signature_name
from core.serving.model import RequestError, ServedModel, format_outputs
from core.serving.transport import (
    BODY_TIMEOUT_S,
    HEADER_TIMEOUT_S,
    MAX_BODY_BYTES,
    MAX_CONNECTIONS,
    BodyError,
    BoundedServer,
    JsonHandler,
)
from core.serving.versions import ModelSlot, is_base_path, open_slot

log = logging.getLogger(__name__)

__all__ = ["Batcher", "make_server", "resolve_model", "serve"]

# kPredictionApiGegex and kModelStatusApiRegex of http_rest_api_util.cc
PREDICT_PATH = re.compile(
    r"/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)",
    re.IGNORECASE,
)
STATUS_PATH = re.compile(
    r"/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?",
    re.IGNORECASE,
)
V1_PATH = re.compile(r"/v1/.*", re.IGNORECASE | re.DOTALL)
INT64_MAX = 2**63 - 1


def resolve_model(model: str, ws, store, name: str = "") -> tuple[Path, str]:
    """A SavedModel folder for a run id (training or export run) or a folder; and its name."""
    from core.export.job import serving_name
    from core.training.features import ModelContract

    folder = Path(model).expanduser()
    if folder.is_dir() and ((folder / "saved_model.pb").exists() or is_base_path(folder)):
        return folder, name or serving_name_from_path(folder)
    try:
        run = store.get_run(model)
    except NotFound as exc:
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
        from core.export.source import source_model_dir

        source_model_dir(store, ws, run.id)
        saved = run_dir / "serving" / "savedmodel"
        if not (saved / "saved_model.pb").exists():
            print(f"writing a SavedModel for {run.id} to {saved}", file=sys.stderr)
            from core.export.convert import to_savedmodel
            from core.models.io import load_run_model

            to_savedmodel(load_run_model(run_dir), saved)
        if contract is not None and not (saved / missing_inputs.FILE).exists():
            missing_inputs.write(saved, contract)
    default = serving_name(contract, "") if contract else "model"
    return saved, serving_name(contract, name) if (contract and name) else (name or default)


def serving_name_from_path(folder: Path) -> str:
    parent = folder.parent.name if folder.name.isdigit() else folder.name
    return re.sub(r"[^A-Za-z0-9_]+", "_", parent).strip("_").lower() or "model"


def parse_path(method: str, path: str) -> tuple[str, int | None, str | None, str, bool]:
    """ParseModelInfo: (name, version, label, method or subresource, matched)."""
    match = PREDICT_PATH.fullmatch(path) if method == "POST" else None
    if method == "GET":
        match = STATUS_PATH.fullmatch(path)
    if not match:
        return "", None, None, "", False
    name, version, label, what = match.groups()
    if version is not None and int(version) > INT64_MAX:
        raise RequestError(f"Failed to convert version: {version} to numeric.")
    return (
        unquote(name or ""),
        None if version is None else int(version),
        None if label is None else unquote(label),
        what or "",
        True,
    )


def make_server(
    model: ServedModel | ModelSlot,
    host: str = "127.0.0.1",
    port: int = 8501,
    token: str = "",
    max_body_bytes: int = MAX_BODY_BYTES,
    batching: bool = True,
    max_connections: int = MAX_CONNECTIONS,
    header_timeout_s: float = HEADER_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> BoundedServer:
    # Each request reads the slot's (model, batcher) once: a version switch never changes the
    # model under a request in flight (see core/serving/versions.py).
    slot = model if isinstance(model, ModelSlot) else ModelSlot(model, batching)

    class Handler(JsonHandler):
        def _handle(self) -> None:
            self.begin()
            if token and self.headers.get("Authorization", "") != f"Bearer {token}":
                announced = "Content-Length" in self.headers or "Transfer-Encoding" in self.headers
                self.refuse(401, "missing or wrong bearer token", drain=announced)
                return
            try:
                body = self.read_body()
            except BodyError as exc:
                if exc.status:
                    self.refuse(exc.status, str(exc), drain=exc.drain)
                else:
                    self.close_connection = True
                return
            try:
                status, payload = self._answer(body)
            except RequestError as exc:
                status, payload = exc.status, {"error": str(exc)}
            except Exception as exc:  # noqa: BLE001  (our failure, not the client's: a 5xx)
                log.error(
                    "serving: %s %s: %s: %s", self.command, self.path, type(exc).__name__, exc
                )
                status, payload = 500, {"error": f"Internal: {type(exc).__name__}: {exc}"[:2000]}
            self.send_json(status, payload, close=self.command == "HEAD")  # HEAD wants no body

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

        def _answer(self, body: bytes) -> tuple[int, Any]:
            """ProcessRequest of http_rest_api_handler.cc (and the dispatcher's OPTIONS)."""
            path = self.path.split("?", 1)[0]
            if not V1_PATH.fullmatch(path):
                return 404, {"error": f"Not found: {path}; the API is under /v1/models/"}
            method = self.command
            if method == "OPTIONS":  # a CORS preflight
                if re.search(r"https?://", self.headers.get("Origin", "")):
                    return 200, {}
                raise RequestError("Origin header is missing in CORS preflight")
            name, version, label, what, matched = parse_path(method, path)
            malformed = RequestError(f"Malformed request: {method} {path}")
            if not matched:
                raise malformed
            if method == "GET":
                if not name:
                    raise RequestError("Missing model name in request.")
                if what == "metadata":
                    model = self._servable(name, version, label)
                    return 200, model.metadata()
                return 200, self._status(name, version, label)
            if what not in ("predict", "classify", "regress"):
                raise malformed  # ":PREDICT" matches the path but is no method
            doc = parse_json(body)
            signature_name(doc)
            if what != "predict":
                examples_from_json(doc)  # the body is checked before the model is looked up
                model = self._servable(name, version, label)
                return 200, getattr(model, what)(doc)
            model, batcher = self._servable(name, version, label, with_batcher=True)
            call = model.parse(doc)
            if (
                batcher is not None
                and getattr(model, "batches", lambda s: True)(call.signature)
                and (batchable(call.arrays))
            ):
                outputs = batcher.run(call.arrays, call.signature)
            else:
                outputs = model.run(call.arrays, call.signature)
            return 200, format_outputs(outputs, call.form)

        def _servable(self, name, version, label, with_batcher=False):
            """GetServableHandle for Latest(name) or Specific(name, version | label)."""
            model, batcher = slot.current
            if label is not None:
                if label not in slot.labels:
                    raise RequestError(f"Unrecognized servable version label: {label}")
                version = slot.labels[label]
            wanted = f"Latest({name})" if version is None else f"Specific({name}, {version})"
            if name != model.name or (version is not None and version != model.version):
                raise RequestError(f"Servable not found for request: {wanted}", status=404)
            return (model, batcher) if with_batcher else model

        def _status(self, name, version, label) -> dict[str, Any]:
            if label is not None:
                if label not in slot.labels:
                    raise RequestError(f"Unrecognized servable version label: {label}")
                version = slot.labels[label]
            model = slot.current[0]
            states = slot.version_status() if name == model.name else []
            if version is None:
                if not states:
                    raise RequestError(f"Could not find any versions of model {name}", 404)
                return {"model_version_status": states}
            found = [s for s in states if s["version"] == str(version)]
            if not found:
                raise RequestError(f"Could not find version {version} of model {name}", 404)
            return {"model_version_status": found}

    return BoundedServer(
        (host, port),
        Handler,
        max_connections=max_connections,
        header_timeout_s=header_timeout_s,
        body_timeout_s=body_timeout_s,
        max_body_bytes=max_body_bytes,
    )


def serve(
    path: Path,
    name: str,
    host: str = "127.0.0.1",
    port: int = 8501,
    token: str = "",
    max_body_bytes: int = MAX_BODY_BYTES,
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

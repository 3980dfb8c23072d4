"""Server-side batching vs unbatched serving, measured side by side in one run.

Trains nothing: give it a SavedModel folder (for example `runs/RUN/serving/savedmodel`, written
by `tfstudio serve RUN`, or `savedmodel/` of an export run) and one request body.

    uv run python benchmarks/serving_batching.py SAVEDMODEL_DIR --body '{"instances": [...]}'
    uv run python benchmarks/serving_batching.py --run RUN_ID [--home DIR]  # body from the run

For 1, 8 and 32 concurrent clients (threads, keep-alive HTTP on loopback) it prints throughput
and p50/p99 latency for both servers, and the batched/unbatched throughput ratio at 32 clients.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import threading
import time
from pathlib import Path


def load(port: int, body: bytes, path: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        while time.perf_counter() < stop:
            t = time.perf_counter()
            conn.request("POST", path, body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            mine.append(time.perf_counter() - t)
            bad += r.status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("savedmodel", nargs="?", default="")
    parser.add_argument("--run", default="", help="a training run id (uses its SavedModel)")
    parser.add_argument("--home", default=None)
    parser.add_argument("--body", default="", help="one :predict request body (JSON)")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    from core.runs.store import RunStore
    from core.serving.model import ServedModel
    from core.serving.process import example_request
    from core.serving.server import make_server, resolve_model
    from core.workspace import Workspace

    if args.run:
        ws = Workspace.resolve(args.home)
        path, name = resolve_model(args.run, ws, RunStore(ws.db_path))
        body = args.body or json.dumps(example_request(ws.run_dir(args.run), rows=1))
    else:
        path, name, body = Path(args.savedmodel), "model", args.body
    model = ServedModel(path, name)
    results = {}
    for batching in (False, True):
        server = make_server(model, port=0, batching=batching)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        url = f"/v1/models/{name}:predict"
        # the load generator runs in its own process, so it does not share the server's GIL
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            pool.apply(load, (port, body.encode(), url, 4, 1.0))  # warm up
            runs = {
                c: pool.apply(load, (port, body.encode(), url, c, args.seconds)) for c in (1, 8, 32)
            }
        for clients, r in runs.items():
            results[(batching, clients)] = r
            print(
                f"{'batched  ' if batching else 'unbatched'} {clients:>2} clients: "
                f"{r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
                f"errors {r['errors']}",
                flush=True,
            )
        server.shutdown()
        server.server_close()
    ratio = results[(True, 32)]["rps"] / results[(False, 32)]["rps"]
    print(f"batched / unbatched throughput at 32 clients: {ratio:.2f}x")


if __name__ == "__main__":
    main()

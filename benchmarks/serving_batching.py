"""Server-side batching vs unbatched serving, alternated so that noise cannot flatter either.

Both servers (the same model, `make_server(batching=False)` and `batching=True`) run in this
process; a load generator in its own process (so it does not share the servers' GIL) drives one
of them at a time: unbatched, batched, unbatched, ... (at least 5 pairs per client count, each a
short run of `--seconds`, benchmarks/abab.py). Reports per client count the median per-pair
ratio batched/unbatched of requests per second (with its IQR and range), p50/p99 latency, and
the server's CPU time beside wall time: this process's user + system seconds during the run
(the servers' threads; the main thread only waits), per request and as cores busy.

With no model given it trains one itself: `tfstudio train` on the bundled iris sample in a
temporary workspace, served like `tfstudio serve RUN` (a SavedModel of the run).

    .venv/bin/python benchmarks/serving_batching.py [--pairs 5] [--seconds 2] [--clients 1,8,32]
    .venv/bin/python benchmarks/serving_batching.py --run RUN_ID [--home DIR]
    .venv/bin/python benchmarks/serving_batching.py SAVEDMODEL_DIR --body '{"instances": [...]}'

Always exits 0.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load(port: int, body: bytes, path: str, clients: int, seconds: float) -> dict:
    """`clients` keep-alive connections posting `body` for `seconds` (in the pool's process)."""
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
        "elapsed_s": elapsed,
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


def train_iris(home: str) -> str:
    """A small iris run in a fresh workspace, through the real CLI; its run id."""
    command = [
        sys.executable, "-m", "core.cli.main", "train", "--data", "sample:iris",
        "--target", "species", "--epochs", "8", "--json", "--home", home,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"training the iris model failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)["run_id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("savedmodel", nargs="?", default="")
    parser.add_argument("--run", default="", help="a training run id (uses its SavedModel)")
    parser.add_argument("--home", default=None)
    parser.add_argument("--body", default="", help="one :predict request body (JSON)")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one sample")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--clients", default="1,8,32")
    args = parser.parse_args()

    from benchmarks.abab import Sample, alternate
    from core.runs.store import RunStore
    from core.serving.model import ServedModel
    from core.serving.process import example_request
    from core.serving.server import make_server, resolve_model
    from core.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        run_id, home = args.run, args.home
        if not args.savedmodel and not run_id:
            home = tmp
            run_id = train_iris(home)
            print(f"model: iris, trained here (tfstudio train, 8 epochs), run {run_id}")
        if run_id:
            ws = Workspace.resolve(home)
            path, name = resolve_model(run_id, ws, RunStore(ws.db_path))
            body = args.body or json.dumps(example_request(ws.run_dir(run_id), rows=1))
        else:
            path, name, body = Path(args.savedmodel), "model", args.body
        model = ServedModel(path, name)
        servers = {b: make_server(model, port=0, batching=b) for b in (False, True)}
        for server in servers.values():
            threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"/v1/models/{name}:predict"
        data = body.encode()
        results = {}
        with multiprocessing.get_context("spawn").Pool(1) as pool:

            def side(batching: bool, clients: int):
                port = servers[batching].server_address[1]

                def run() -> Sample:
                    c0 = time.process_time()
                    r = pool.apply(load, (port, data, url, clients, args.seconds))
                    cpu = time.process_time() - c0
                    extra = {k: r[k] for k in ("rps", "p50_ms", "p99_ms", "requests", "errors")}
                    extra["cpu_ms_per_req"] = 1000 * cpu / max(r["requests"], 1)
                    extra["cores_busy"] = cpu / r["elapsed_s"]
                    return Sample(r["elapsed_s"], cpu, extra)

                return run

            for batching in (False, True):  # warm up both (first calls, connection setup)
                pool.apply(load, (servers[batching].server_address[1], data, url, 4, 1.0))
            for clients in [int(c) for c in args.clients.split(",")]:
                results[clients] = alternate(
                    "unbatched", side(False, clients), "batched", side(True, clients),
                    pairs=args.pairs, log=None,
                )  # fmt: skip
        for server in servers.values():
            server.shutdown()
            server.server_close()

    print(f"body: {body[:120]}")
    print(f"each sample {args.seconds:g} s of load; A = unbatched, B = batched, ratio B/A")
    for clients, cmp in results.items():
        errors = sum(s.extra["errors"] for s in cmp.a + cmp.b)
        print(f"{clients} clients ({errors} errors):")
        print("  " + cmp.line("rps", "req/s"))
        print("  " + cmp.line("p50_ms", "ms"))
        print("  " + cmp.line("p99_ms", "ms"))
        print("  " + cmp.line("cpu_ms_per_req", "ms CPU/req"))
        print("  " + cmp.line("cores_busy", "cores"))
    top = max(results)
    print(results[top].verdict("rps", 1.0, at_least=True).replace("rps", f"{top}-client req/s"))
    print(json.dumps({str(c): cmp.to_dict() for c, cmp in results.items()}))


if __name__ == "__main__":
    main()

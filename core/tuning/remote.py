"""A KerasTuner worker process: `python -m core.tuning.remote --run-dir DIR --chief HOST:PORT
--tuner-id tuner0`.

It prepares the search's data itself and runs the same search against the chief's oracle, which
hands out the trials. The KERASTUNER_* variables are set here, in this process only. A worker
whose chief has gone (its parent died, or the chief stopped answering) exits instead of waiting
on it for KerasTuner's hour-long gRPC timeout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path

from core.logs import setup_logging

log = logging.getLogger(__name__)

CHIEF_GONE_S = float(os.environ.get("TFSTUDIO_TUNE_CHIEF_GONE_S", "60"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed chief stays a zombie until its own parent (the app, a CLI) reaps it: gone too.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def _watchdog(host: str, port: int, parent_pid: int | None) -> None:
    unreachable_since = None
    while True:
        time.sleep(2)
        if parent_pid and not _alive(parent_pid):
            log.warning("the chief process is gone; exiting")
            os._exit(4)
        if _reachable(host, port):
            unreachable_since = None
        elif unreachable_since is None:
            unreachable_since = time.time()
        elif time.time() - unreachable_since > CHIEF_GONE_S:
            log.warning("chief %s:%s unreachable; exiting", host, port)
            os._exit(4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.tuning.remote")
    parser.add_argument("--run-dir", required=True, help="the run folder (trials are written here)")
    parser.add_argument("--chief", required=True, help="HOST:PORT of the chief oracle")
    parser.add_argument("--tuner-id", required=True, help="a unique id such as tuner3")
    parser.add_argument("--spec", help="the TuneSpec JSON (default: RUN_DIR/search/tune_spec.json)")
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--wait-for", type=int, default=0, help="local workers started together")
    args = parser.parse_args(argv)
    setup_logging("INFO")  # its log file says when it joined, finished or gave up
    if "chief" in args.tuner_id:
        print("error: a worker's id must not contain 'chief'", file=sys.stderr)
        return 2
    host, _, port = args.chief.rpartition(":")
    if not host or not port.isdigit():
        print(f"error: --chief must be HOST:PORT, not {args.chief!r}", file=sys.stderr)
        return 2
    run_dir = Path(args.run_dir)
    spec_path = Path(args.spec) if args.spec else run_dir / "search" / "tune_spec.json"
    try:
        spec_dict = json.loads(spec_path.read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the search's spec {spec_path}: {exc}", file=sys.stderr)
        return 2
    os.environ.update(
        KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=port, KERASTUNER_TUNER_ID=args.tuner_id
    )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    threading.Thread(
        target=_watchdog, args=(host, int(port), args.parent_pid or None), daemon=True
    ).start()

    from core.specs import TuneSpec
    from core.tuning.distributed import run_worker

    spec = TuneSpec.from_dict(spec_dict)
    (run_dir / "search").mkdir(parents=True, exist_ok=True)
    log.info("tune worker %s (pid %d) -> chief %s", args.tuner_id, os.getpid(), args.chief)
    code = run_worker(spec, run_dir, args.tuner_id, wait_for=args.wait_for)
    log.info("tune worker %s finished", args.tuner_id)
    return code


if __name__ == "__main__":
    sys.exit(main())

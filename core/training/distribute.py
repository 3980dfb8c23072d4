"""tf.distribute strategies: "only the strategy line changes". What each is for:

- default: one device; the right choice for everything that fits one machine's CPU or GPU.
- mirrored: MirroredStrategy, synchronous data parallelism over the GPUs of one machine (on a
  CPU-only machine the CPU is split into `workers` logical devices, so the same code path runs
  and is tested without a GPU).
- multiworker: MultiWorkerMirroredStrategy, the same synchronous training across `workers`
  machines (processes) described by TF_CONFIG; every worker holds a full copy of the model.
- parameter_server: ParameterServerStrategy, asynchronous training for large clusters: the
  variables live on parameter-server processes (`ps`), many workers compute gradients
  independently, and a coordinator (the chief) hands them steps (ClusterCoordinator); workers can
  come and go, and the model can be bigger than one worker's memory.

For multiworker and parameter_server the run's own process is the chief and starts the other
processes on this machine; the README shows the TF_CONFIG to run them on other machines.
`make_strategy` must run before TensorFlow executes any op (device setup is fixed at first use),
so the training job calls it first.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from core import util
from core.errors import BadInput
from core.specs import STRATEGIES


def free_ports(n: int) -> list[int]:
    return util.free_ports(n)


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps(
        {
            "cluster": {"worker": [f"localhost:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        }
    )


def make_strategy(name: str, workers: int):
    """The strategy for a run (call before any TensorFlow op runs in this process)."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise BadInput(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "default":
        return tf.distribute.get_strategy()
    if workers < 1:
        raise BadInput("a distributed run needs at least one worker")
    if name == "mirrored":
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy()
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(workers)]
        )
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if "TF_CONFIG" not in os.environ:
        raise BadInput(f"a {name} run needs TF_CONFIG (the job sets it for local processes)")
    if name == "parameter_server":
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        return tf.distribute.ParameterServerStrategy(resolver)
    return tf.distribute.MultiWorkerMirroredStrategy()


def task_index() -> int:
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    return int(config.get("task", {}).get("index", 0))


SERVER_START_S = 300


def ps_cluster(ports: list[int], workers: int) -> dict[str, list[str]]:
    """chief (this process), `workers` workers and the parameter servers, all on localhost."""
    hosts = [f"localhost:{p}" for p in ports]
    return {"chief": hosts[:1], "worker": hosts[1 : 1 + workers], "ps": hosts[1 + workers :]}


def ps_tf_config(cluster: dict[str, list[str]], task_type: str, index: int) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def start_ps_cluster(cluster: dict[str, list[str]], run_dir: Path) -> list[subprocess.Popen]:
    """The worker and ps servers of a parameter-server run, as processes on this machine. They
    serve until killed: the chief stops them when the run ends."""
    procs = []
    for task_type in ("ps", "worker"):
        for index in range(len(cluster[task_type])):
            folder = run_dir / f"{task_type}-{index}"
            folder.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "TF_CONFIG": ps_tf_config(cluster, task_type, index)}
            log = open(folder / "server.log", "ab")  # noqa: SIM115 (the child owns it)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "core.training.ps_server"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,
                )
            )
    # The chief connects once, when it creates the strategy: wait until every server listens
    # (each imports TensorFlow first, which takes a while on a busy machine).
    hosts = [h for t in ("ps", "worker") for h in cluster[t]]
    deadline = time.monotonic() + SERVER_START_S
    while hosts:
        if any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            raise RuntimeError(f"a ps/worker server exited at start: see {run_dir}/*/server.log")
        if time.monotonic() > deadline:
            for p in procs:
                p.kill()
            raise RuntimeError(f"ps/worker servers not listening after {SERVER_START_S} s")
        host, port = hosts[0].rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            hosts.pop(0)
        except OSError:
            time.sleep(0.5)
    return procs


def start_local_workers(spec_json: str, run_dir: Path, ports: list[int]) -> list[subprocess.Popen]:
    """Start workers 1..N-1 of a multiworker run as processes on this machine."""
    procs = []
    for index in range(1, len(ports)):
        folder = run_dir / f"worker-{index}"
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TF_CONFIG": tf_config(ports, index)}
        log = open(folder / "worker.log", "ab")  # noqa: SIM115 (the child owns it)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "core.training.multiworker", spec_json, str(folder)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        )
    return procs

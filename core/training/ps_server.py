"""A `ps` or `worker` server of a parameter-server run: `python -m core.training.ps_server`.

TF_CONFIG says which task this is. The server holds variables (ps) or runs the steps the chief's
ClusterCoordinator schedules (worker); it runs no Python training code of its own and serves
until it is killed (the chief stops local servers when the run ends).
"""

from __future__ import annotations

import sys


def main() -> int:
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    server = tf.distribute.Server(
        resolver.cluster_spec(),
        job_name=resolver.task_type,
        task_index=resolver.task_id,
        protocol=resolver.rpc_layer or "grpc",
        start=True,
    )
    server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A non-chief worker of a multiworker run: `python -m core.training.multiworker SPEC_JSON DIR`.

It trains in lockstep with the chief (TF_CONFIG says which it is) and reports nothing: the chief
reports and saves; this process writes only its own log in DIR.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.runs.reporter import NullReporter
from core.specs import TrainSpec
from core.training.job import run_train_job


def main() -> int:
    spec = TrainSpec.from_dict(json.loads(sys.argv[1]))
    run_train_job(spec, NullReporter(), Path(sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

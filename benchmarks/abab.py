"""Side-by-side measurement that noise cannot flatter: the one harness every benchmark uses.

Each comparison runs its two sides alternately (A B A B ..., at least 5 pairs), so both see the
same machine load; it reports the *median* of the per-pair ratios B/A with their spread
(min-max and the interquartile range), and CPU time beside wall time. A goal is judged on the
median ratio only. Timings are never asserted in tests.

    from benchmarks.abab import alternate, run_child, Sample
    cmp = alternate("plain", plain_side, "engine", engine_side, pairs=5)
    print(cmp.table())
    print(cmp.verdict("wall", goal=1.10))
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MIN_PAIRS = 5


@dataclass
class Sample:
    """One run of one side.

    Attributes:
        wall_s: wall-clock seconds of what the side measures.
        cpu_s: CPU seconds (user + system) spent on it, children included where the side says.
        extra: any other figures of the run (peak memory in MiB, points, ...).
    """

    wall_s: float
    cpu_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Comparison:
    """The samples of both sides, in the order they ran."""

    a_name: str
    b_name: str
    a: list[Sample]
    b: list[Sample]

    def ratios(self, what: str = "wall") -> list[float]:
        """Per-pair ratios B/A of `what` ("wall", "cpu" or a key of `extra`)."""
        out = []
        for sa, sb in zip(self.a, self.b, strict=True):
            va, vb = _value(sa, what), _value(sb, what)
            if va and vb is not None:
                out.append(vb / va)
        return out

    def summary(self, what: str = "wall") -> dict[str, float | int | None]:
        """Median ratio with min, max, quartiles and the number of pairs."""
        r = sorted(self.ratios(what))
        if not r:
            return {"pairs": 0, "median": None}
        q = statistics.quantiles(r, n=4) if len(r) >= 2 else [r[0]] * 3
        return {
            "pairs": len(r),
            "median": statistics.median(r),
            "min": r[0],
            "max": r[-1],
            "q1": q[0],
            "q3": q[2],
            "a_median": statistics.median(_value(s, what) for s in self.a),
            "b_median": statistics.median(_value(s, what) for s in self.b),
        }

    def line(self, what: str = "wall", unit: str = "s") -> str:
        s = self.summary(what)
        if not s["pairs"]:
            return f"{what}: no pairs"
        return (
            f"{what:>5}: {self.a_name} {s['a_median']:.4g} {unit} · {self.b_name} "
            f"{s['b_median']:.4g} {unit} · ratio {self.b_name}/{self.a_name} median "
            f"{s['median']:.3f} (IQR {s['q1']:.3f}-{s['q3']:.3f}, range {s['min']:.3f}-"
            f"{s['max']:.3f}, {s['pairs']} pairs)"
        )

    def verdict(self, what: str, goal: float, *, at_least: bool = False) -> str:
        """PASS/MISS on the median ratio against `goal` (<= goal unless `at_least`)."""
        median = self.summary(what)["median"]
        if median is None:
            return f"{what} ratio: no data  MISS"
        ok = median >= goal if at_least else median <= goal
        sign = ">=" if at_least else "<="
        return f"{what} ratio median {median:.3f}  goal {sign} {goal}  {'PASS' if ok else 'MISS'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a_name,
            "b": self.b_name,
            "wall": self.summary("wall"),
            "cpu": self.summary("cpu"),
            "samples": {
                self.a_name: [vars(s) for s in self.a],
                self.b_name: [vars(s) for s in self.b],
            },
        }


def _value(sample: Sample, what: str) -> float | None:
    if what == "wall":
        return sample.wall_s
    if what == "cpu":
        return sample.cpu_s
    v = sample.extra.get(what)
    return None if v is None else float(v)


def alternate(
    a_name: str,
    a: Callable[[], Sample],
    b_name: str,
    b: Callable[[], Sample],
    *,
    pairs: int = MIN_PAIRS,
    warmup: bool = False,
    log: Callable[[str], None] | None = print,
) -> Comparison:
    """Run A, B, A, B, ... `pairs` times each (at least MIN_PAIRS) and collect the samples.

    Args:
        warmup: run each side once first, unrecorded (file caches, compiled kernels).
        log: called with one line per sample; None for silence.
    """
    pairs = max(pairs, MIN_PAIRS)
    if warmup:
        a(), b()
    cmp = Comparison(a_name, b_name, [], [])
    for i in range(pairs):
        for name, side, bucket in ((a_name, a, cmp.a), (b_name, b, cmp.b)):
            sample = side()
            bucket.append(sample)
            if log:
                cpu = "" if sample.cpu_s is None else f" cpu {sample.cpu_s:.3f} s"
                log(f"pair {i + 1}/{pairs} {name}: wall {sample.wall_s:.3f} s{cpu}")
    return cmp


def timed(call: Callable[[], Any], n: int) -> Callable[[], Sample]:
    """A side for `alternate` that times a call in-process: the median wall time of `n` calls
    (after one unrecorded), and the CPU seconds per call."""

    def side() -> Sample:
        call()
        c0 = time.process_time()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        return Sample(statistics.median(times), (time.process_time() - c0) / n)

    return side


def run_child(
    cmd: list[str], *, cwd: str | os.PathLike | None = None, env: dict | None = None,
    timeout: float = 900,
) -> tuple[subprocess.CompletedProcess, Sample]:  # fmt: skip
    """Run a child to completion; measure its wall time, and from the kernel's own accounting
    (wait4, this child alone) its CPU seconds (user + system, with the children it waited for)
    and peak RSS in MiB (`extra["peak_mib"]`)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    sample = Sample(wall, usage.ru_utime + usage.ru_stime, {"peak_mib": usage.ru_maxrss / 1024})
    return done, sample


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) so far of a live process that is not our child (a detached
    worker), from /proc; None when it is gone."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks

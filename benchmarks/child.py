"""One benchmark measurement in a fresh child process, with a time limit; never raises."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
import signal
import time
from collections.abc import Callable
from typing import Any

__all__ = ["run_in_child"]

#: Thread pools a child inherits its cap from (torch, numpy's BLAS, the peers' libraries).
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def run_in_child(
    target: Callable[..., None], args: tuple, timeout: float, threads: int | None = None
) -> dict[str, Any]:
    """Run ``target(*args, queue)`` in a spawned process and return the dict it puts on the
    queue, or a ``"timeout"`` record after ``timeout`` seconds; a process that dies without a
    result is recorded at once as ``"killed"`` (killed by a signal: out of memory, most
    likely) or ``"error"`` (exited with a code), not after the whole limit. ``wall_s`` is
    added. ``threads`` caps the child's thread pools."""
    if threads:
        for var in THREAD_VARS:
            os.environ[var] = str(threads)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_group_leader, args=(target, *args, queue))
    start = time.perf_counter()
    proc.start()
    result = _wait_for_result(queue, proc, start + timeout)
    if result is None:
        code = proc.exitcode
        _kill_group(proc)
        if code is None:
            result = {"status": "timeout", "error": f"no result within {timeout:.0f} s"}
        elif code < 0:
            result = {"status": "killed", "error": f"the process died (signal {-code})"}
        else:
            result = {"status": "error", "error": f"the process exited ({code}) without a result"}
    proc.join(timeout=30)
    if proc.is_alive():
        _kill_group(proc)
    result["wall_s"] = round(time.perf_counter() - start, 1)
    return result


def _group_leader(target: Callable[..., None], *args: Any) -> None:
    """``target(*args)`` in a process group of its own, so that a timeout also ends the
    processes it started (a peer's fit runs in a process of the peer's environment)."""
    os.setsid()
    target(*args)


def _kill_group(proc: Any) -> None:
    """Kill the child and every process of its group (what it started and left running)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _wait_for_result(queue: Any, proc: Any, deadline: float) -> dict[str, Any] | None:
    """The child's result, or ``None`` when it ended without one or the deadline passed."""
    while (remaining := deadline - time.perf_counter()) > 0:
        try:
            return queue.get(timeout=min(remaining, 0.5))
        except queue_mod.Empty:
            if proc.exitcode is not None:
                # Ended: a result it put just before may still be in the pipe.
                try:
                    return queue.get(timeout=1.0)
                except queue_mod.Empty:
                    return None
    return None

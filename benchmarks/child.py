"""One benchmark measurement in a fresh child process, with a time limit; never raises."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
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
    queue, or a ``"timeout"`` (``"killed"`` when the process had died) record after
    ``timeout`` seconds; ``wall_s`` is added. ``threads`` caps the child's thread pools."""
    if threads:
        for var in THREAD_VARS:
            os.environ[var] = str(threads)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    start = time.perf_counter()
    proc.start()
    try:
        result = queue.get(timeout=timeout)
    except queue_mod.Empty:
        # Dead before we stop it: killed from outside (out of memory, most likely).
        died = proc.exitcode is not None and proc.exitcode < 0
        proc.kill()
        result = {
            "status": "killed" if died else "timeout",
            "error": f"no result within {timeout:.0f} s",
        }
    proc.join(timeout=30)
    if proc.is_alive():
        proc.kill()
    result["wall_s"] = round(time.perf_counter() - start, 1)
    return result

"""``python -m benchmarks run --ray``: the benchmark grid as Ray tasks (``synthgen[ray]``).

Every (generator, dataset, seed) pair becomes one Ray task reserving ``--threads`` CPUs (one
by default). The task runs the pair exactly as the sequential runner does: in its own child
process (:func:`benchmarks.child.run_in_child`) with the ``--timeout`` limit, so a pair that
runs too long is killed and recorded as ``"timeout"`` (``"killed"`` when its process died,
out of memory most likely), and its peak memory is its child's. A pair whose Ray worker died
(the node lost, say) is recorded as ``"killed"`` too. The figures depend only on the pair and
its seed, not on where it ran; the results are written in the grid's order, as
:func:`benchmarks.run.main` writes them.

Without ``--ray-address`` a local Ray starts with the machine's CPUs (``ray.init(num_cpus=...)``,
``--ray-cpus`` to choose); with it, the driver joins that cluster, whose nodes must see this
checkout at the same path (its folder is put on the workers' ``PYTHONPATH``) and the data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from synthgen.exceptions import ConfigurationError

__all__ = ["run_grid_on_ray"]

#: The checkout's root, put on the Ray workers' PYTHONPATH so they import this code.
REPO = Path(__file__).resolve().parents[1]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigurationError(
            "--ray needs the optional dependency ray: pip install 'synthgen[ray]'"
        ) from None
    return ray


def _pair_task(kwargs: dict[str, Any]) -> dict[str, Any]:
    """One pair in a Ray worker: the sequential runner's :func:`benchmarks.run.run_pair`."""
    from benchmarks.run import run_pair

    return run_pair(**kwargs)


def start_ray(address: str | None, cpus: int | None, threads: int | None) -> Any:
    """Join the cluster at ``address``, or start a local Ray with ``cpus`` CPUs."""
    ray = _ray()
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env["OMP_NUM_THREADS"] = str(threads or 1)
    options: dict[str, Any] = {
        "runtime_env": {"env_vars": env},
        "include_dashboard": False,
        "log_to_driver": False,
    }
    if address:
        options["address"] = address
    else:
        options["num_cpus"] = cpus or os.cpu_count() or 1
    if not ray.is_initialized():
        ray.init(**options)
    return ray


def run_grid_on_ray(
    pairs: list[dict[str, Any]],
    *,
    threads: int | None = None,
    address: str | None = None,
    cpus: int | None = None,
    report: Any = None,
) -> list[dict[str, Any]]:
    """Run every pair (keyword arguments of :func:`benchmarks.run.run_pair`) as a Ray task;
    the results in the order of ``pairs``. ``report(result)`` is called as each finishes."""
    if threads is not None and threads < 1:
        raise ConfigurationError(f"--threads must be at least 1, got {threads}")
    ray = start_ray(address, cpus, threads)
    # One task per pair, holding the CPUs its child uses: Ray runs as many at once as fit.
    task = ray.remote(num_cpus=threads or 1, max_retries=0)(_pair_task)
    refs = [task.remote(kwargs) for kwargs in pairs]
    index = {ref: i for i, ref in enumerate(refs)}
    results: list[dict[str, Any] | None] = [None] * len(refs)
    waiting = list(refs)
    while waiting:
        done, waiting = ray.wait(waiting, num_returns=1)
        i = index[done[0]]
        try:
            result = ray.get(done[0])
        except Exception as err:  # a lost worker: recorded like a killed child, not fatal
            kwargs = pairs[i]
            result = {
                "status": "killed",
                "error": f"the Ray task died: {type(err).__name__}: {str(err)[:300]}",
                "generator": kwargs["generator"],
                "dataset": Path(kwargs["dataset"]).stem,
                "seed": kwargs["seed"],
            }
        results[i] = result
        if report is not None:
            report(result)
    return [r for r in results if r is not None]

"""How many CPU threads a fit uses: a default that does not depend on the machine's load.

torch's own default is one intra-op thread per physical core. On a busy machine that is the
worst choice: OpenMP workers spin at every barrier while one of them waits to be scheduled,
and tiny networks (tabular generators) gain little from many threads anyway. Measured on a
16-CPU machine, one training step of a 3-layer MLP (width 256, batch 500) and of a small
transformer (3 layers, width 128):

=========================  =====  =====  =====  =====  ======
threads                    1      2      4      8      16
=========================  =====  =====  =====  =====  ======
quiet: MLP                 1.00   0.67   0.56   0.51   0.53
quiet: transformer         1.00   0.73   0.54   0.51   0.58
8 CPUs busy: MLP           1.47   0.98   0.79   0.74   74
8 CPUs busy: transformer   1.30   0.96   0.84   0.71   11.5
16 CPUs busy: MLP          2.47   1.73   3.19   51     74
16 CPUs busy: transformer  1.02   1.39   5.63   10.1   11.8
=========================  =====  =====  =====  =====  ======

(times relative to one thread on the quiet machine, one run each; "busy": that many
processes spinning). Four threads get nearly all of the
quiet machine's speed-up; more only add risk. :func:`default_n_threads` therefore takes half
the CPUs this process may run on, capped at 4: a fixed function of the machine (and the
process' CPU affinity), never of its momentary load. Processes training together on one
machine (``torchrun``) share those CPUs: each takes its part.

Thread count and reproducibility: torch splits large reductions (a sum over more than 32768
values) and some matrix products (long inner dimension) across threads, so their float
rounding depends on the thread count. A fit is bit-identical only at equal ``n_threads``
(on the same kind of CPU); the default keeps that true on one machine however busy it is.
"""

from __future__ import annotations

import contextlib
import numbers
import os
from collections.abc import Iterator
from typing import Any

from synthgen.exceptions import ConfigurationError
from synthgen.training.distributed import local_world_size

__all__ = ["available_cpus", "default_n_threads", "resolve_n_threads", "thread_limit"]

#: More threads than this barely speed up tabular networks (see the table above).
MAX_DEFAULT_THREADS = 4


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS exposes one).

    Examples
    --------
    >>> available_cpus() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def default_n_threads() -> int:
    """The default thread count of a fit: half the available CPUs, between 1 and 4
    (divided among the processes of this machine when several train together).

    Half leaves room for hyper-threading siblings and for the other processes of a shared
    machine; the cap of 4 keeps nearly all of a quiet machine's speed-up (see the module
    notes). It reads no load figure, so the same machine always answers the same.

    Examples
    --------
    >>> 1 <= default_n_threads() <= 4
    True
    """
    share = available_cpus() // (2 * local_world_size())
    return max(1, min(MAX_DEFAULT_THREADS, share))


def resolve_n_threads(n_threads: Any, name: str = "n_threads") -> int:
    """``n_threads`` checked: a positive integer, or ``None`` for :func:`default_n_threads`.

    Examples
    --------
    >>> resolve_n_threads(2)
    2
    >>> resolve_n_threads(None) == default_n_threads()
    True
    """
    if n_threads is None:
        return default_n_threads()
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) or n_threads < 1:
        raise ConfigurationError(f"{name} must be a positive integer or None, got {n_threads!r}")
    return int(n_threads)


@contextlib.contextmanager
def thread_limit(n_threads: int | None) -> Iterator[int]:
    """Run a block with ``n_threads`` intra-op threads in torch and in the BLAS/OpenMP pools.

    torch's thread count is process-wide; the previous value is restored on exit, also on an
    error. numpy's BLAS and scikit-learn's OpenMP pools are limited through ``threadpoolctl``.
    torch's inter-op pool is left alone: it can be sized only once per process, before any
    parallel work, so a scoped change cannot be undone (and tabular networks do not use it).

    Parameters
    ----------
    n_threads : int or None
        Threads to use; ``None`` takes :func:`default_n_threads`.

    Yields
    ------
    int
        The thread count in force inside the block.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with thread_limit(1) as n:
    ...     (n, torch.get_num_threads())
    (1, 1)
    >>> torch.get_num_threads() == before
    True
    """
    import torch
    from threadpoolctl import threadpool_limits

    n = resolve_n_threads(n_threads)
    before = torch.get_num_threads()
    with threadpool_limits(limits=n):
        torch.set_num_threads(n)
        try:
            yield n
        finally:
            torch.set_num_threads(before)

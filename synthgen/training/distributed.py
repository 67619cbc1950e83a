"""Data-parallel training on ``torch.distributed``: N processes train one model.

When a process group is initialised (or the process was started by ``torchrun``, which sets
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR``/``MASTER_PORT``), the
:class:`~synthgen.training.Trainer` splits every batch across the ranks:

- every rank reads the whole table and computes the same encoders (same seed; a fit with
  ``random_state=None`` uses a seed drawn on rank 0 and broadcast), and checks that the
  other ranks encoded the same matrix;
- every epoch's row permutation comes from a stream seeded the same on every rank; global
  batch ``b`` (the ``batch_size`` rows a single process would take) is cut into ``world``
  near-equal contiguous shards and rank ``r`` trains on shard ``r``: the global batch size,
  the number of steps and the learning-rate schedule are those of one process;
- after each backward pass the gradients are summed across ranks, each rank's weighted by its
  share of the batch's rows (an explicit all-reduce, not ``DistributedDataParallel``: a task
  steps its own optimisers, several per batch for a GAN, which DDP's wrapped forward pass
  does not fit), so every rank takes the same step from the same weights;
- the random draws of a step (noise, masks, dropout) use a per-rank stream, so the shards do
  not share noise; the epoch losses, stop decisions (``max_time``) and batch-norm statistics
  are averaged or agreed across ranks; the ranks end with identical weights (checked).

Backend: ``gloo`` on CPU, ``nccl`` on CUDA (each rank on ``cuda:LOCAL_RANK``). DP-SGD is
refused: its privacy accounting assumes one Poisson sample of the whole table per step.

Examples
--------
>>> world_size(), rank(), is_main_process()  # a plain process: a world of one
(1, 0, True)
>>> [shard_bounds(5, r, 2) for r in range(2)]
[(0, 2), (2, 5)]
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, NoReturn

import numpy as np

from synthgen.exceptions import ConfigurationError

__all__ = [
    "backend_for",
    "check_same",
    "check_same_data",
    "collective_device",
    "ensure_process_group",
    "exit_worker",
    "fingerprint",
    "finish",
    "is_distributed",
    "is_initialised",
    "is_main_process",
    "local_device",
    "local_world_size",
    "rank",
    "shard_bounds",
    "shared_seed",
    "started_process_group",
    "torch_dist",
    "world_size",
]

#: Whether this module initialised the process group (then :func:`finish` destroys it).
_OWNED = False
_STARTED = False  # this process started a group (it is a torchrun worker)


def torch_dist() -> Any:
    """``torch.distributed`` (imported on first use)."""
    import torch.distributed as dist

    return dist


def is_initialised() -> bool:
    """Whether a ``torch.distributed`` process group is running in this process."""
    # Not imported here: a process that never imported torch.distributed has no group.
    dist = sys.modules.get("torch.distributed")
    return bool(dist is not None and dist.is_available() and dist.is_initialized())


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name} must be an integer, got {value!r}"
        ) from None


def world_size() -> int:
    """Processes training together: the process group's size, else ``WORLD_SIZE``, else 1."""
    if is_initialised():
        return int(torch_dist().get_world_size())
    return max(1, _env_int("WORLD_SIZE", 1))


def rank() -> int:
    """This process' rank (0 in a plain process)."""
    if is_initialised():
        return int(torch_dist().get_rank())
    return _env_int("RANK", 0)


def local_world_size() -> int:
    """Processes on this machine (``LOCAL_WORLD_SIZE``, set by torchrun; else the world)."""
    return max(1, _env_int("LOCAL_WORLD_SIZE", world_size()))


def is_distributed() -> bool:
    """Whether this process is one of several training together."""
    return world_size() > 1


def is_main_process() -> bool:
    """Rank 0 (or a plain process): the one that writes files and prints."""
    return rank() == 0


def backend_for(device: Any) -> str:
    """``'nccl'`` for a CUDA device, ``'gloo'`` otherwise.

    Examples
    --------
    >>> backend_for("cpu")
    'gloo'
    """
    return "nccl" if str(device).startswith("cuda") else "gloo"


def local_device(device: Any) -> Any:
    """``device`` (a torch.device); a bare ``cuda`` becomes ``cuda:LOCAL_RANK`` when several
    processes train together, so each rank has its own GPU."""
    import torch

    device = torch.device(device)
    if device.type == "cuda" and device.index is None and is_distributed():
        return torch.device("cuda", _env_int("LOCAL_RANK", rank() % local_world_size()))
    return device


def ensure_process_group(device: Any) -> bool:
    """Initialise the process group from torchrun's environment if it is not yet; whether
    several processes train together.

    An existing group is used as it is; ``WORLD_SIZE > 1`` without one starts one (``gloo``,
    or ``nccl`` for a CUDA ``device``) from ``MASTER_ADDR``/``MASTER_PORT``.
    """
    global _OWNED, _STARTED
    if is_initialised() or world_size() == 1:
        return is_distributed()
    dist = torch_dist()
    if not dist.is_available():
        raise ConfigurationError("WORLD_SIZE > 1, but this torch build has no torch.distributed")
    missing = [v for v in ("MASTER_ADDR", "MASTER_PORT", "RANK") if not os.environ.get(v)]
    if missing:
        raise ConfigurationError(
            f"WORLD_SIZE is {world_size()} but {', '.join(missing)} is not set: start the "
            "processes with torchrun, or initialise torch.distributed before fitting"
        )
    device = local_device(device)
    if device.type == "cuda":
        import torch

        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend_for(device))
    _OWNED = _STARTED = True
    return True


def finish() -> None:
    """Wait for every rank, then end the process group if :func:`ensure_process_group`
    started it (a group the caller initialised is left to the caller)."""
    global _OWNED
    if is_initialised():
        torch_dist().barrier()
        if _OWNED:
            torch_dist().destroy_process_group()
            _OWNED = False


def started_process_group() -> bool:
    """Whether :func:`ensure_process_group` started a process group in this process (which
    is then one of torchrun's workers), even if :func:`finish` has ended it since.

    Examples
    --------
    >>> started_process_group()  # a plain process
    False
    """
    return _STARTED


def exit_worker(status: int = 0) -> NoReturn:
    """End a torchrun worker with exit ``status`` once its process group is destroyed,
    without interpreter finalisation: logging is shut down and stdout and stderr flushed,
    then ``os._exit``.

    Under load about one exit in thirty of a gloo worker that finalises normally aborts
    ("terminate called without an active exception": a gloo thread still joinable when C++
    statics are torn down), and torchrun then reports a failed run although the work was
    done. ``atexit`` handlers do not run: remove temporary files first. The ``synthgen``
    command ends its workers this way; call it last in a torchrun script of your own.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _grouped() -> bool:
    return is_initialised() and world_size() > 1


def collective_device() -> Any:
    """Where the tensors of a collective live: the current GPU under nccl, else the CPU."""
    import torch

    if torch_dist().get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def shared_seed() -> int:
    """A fresh seed drawn on rank 0 and broadcast, the same on every rank."""
    import torch

    seed = int(np.random.default_rng().integers(2**62))
    if not _grouped():
        return seed
    buf = torch.tensor([seed], dtype=torch.int64, device=collective_device())
    torch_dist().broadcast(buf, src=0)
    return int(buf.item())


def shard_bounds(n: int, rank: int, world: int) -> tuple[int, int]:
    """Rows ``[lo, hi)`` of an ``n``-row batch that ``rank`` of ``world`` trains on
    (contiguous, sizes differing by at most one; the ranks cover the batch exactly once).

    Examples
    --------
    >>> [shard_bounds(7, r, 3) for r in range(3)]
    [(0, 2), (2, 4), (4, 7)]
    """
    return rank * n // world, (rank + 1) * n // world


def fingerprint(values: Any) -> Any:
    """A few float64 statistics of an array or tensor that differ when the data differs."""
    import torch

    t = torch.as_tensor(values).detach().to("cpu", torch.float64).reshape(-1)
    t = torch.nan_to_num(t, nan=0.5, posinf=1e300, neginf=-1e300)
    ramp = torch.linspace(1.0, 2.0, len(t), dtype=torch.float64) if len(t) else t
    return torch.stack([t.new_tensor(float(len(t))), t.sum(), (t * ramp).sum(), t.abs().sum()])


def check_same(stats: Any, message: str, error: type[Exception]) -> None:
    """Raise ``error(message)`` unless ``stats`` (float64, CPU) are equal on every rank."""
    import torch

    dist = torch_dist()
    dev = collective_device()
    low, high = stats.to(dev), stats.to(dev).clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    if not torch.equal(low, high):
        raise error(message)


def check_same_data(matrix: Any, what: str = "training data") -> None:
    """Refuse to train when the ranks did not encode the same table (different files, a
    different seed): every rank must hold the whole table for its shards to be a partition."""
    if _grouped():
        check_same(
            fingerprint(matrix),
            f"the ranks hold different {what}: every process must read the same table with "
            "the same parameters and random_state",
            ConfigurationError,
        )

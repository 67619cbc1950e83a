"""Sharded input under ``torch.distributed``: each rank trains on its own rows.

Inside :func:`sharded_input`, the ranks' training matrices are different parts of one table
(each rank read its own Parquet row groups, :mod:`synthgen.parquet_parts`) instead of the
same whole table. The trainer then draws each global batch from every rank's rows in
proportion to its share of the table (:meth:`DistributedRun.batches
<synthgen.training.data_parallel.DistributedRun.batches>`), so a global batch still holds
``batch_size`` rows and an epoch still visits every row of the table once.

This module also moves bytes between ranks (:func:`gather_bytes`, :func:`broadcast_bytes`):
rows travel as Parquet and fitted state as JSON, never as pickles.

Examples
--------
>>> input_is_sharded()
False
>>> with sharded_input():
...     input_is_sharded()
True
>>> total_rows(7)  # a plain process: its own rows
7
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from synthgen.training.distributed import collective_device, is_initialised, torch_dist, world_size

__all__ = [
    "broadcast_bytes",
    "gather_bytes",
    "input_is_sharded",
    "sharded_input",
    "sum_over_shards",
    "total_rows",
]

_SHARDED = [False]


@contextlib.contextmanager
def sharded_input() -> Iterator[None]:
    """Mark the fits inside as trained on per-rank shards (restored after)."""
    before = _SHARDED[0]
    _SHARDED[0] = True
    try:
        yield
    finally:
        _SHARDED[0] = before


def input_is_sharded() -> bool:
    """Whether the ranks train on different rows of one table (see :func:`sharded_input`)."""
    return _SHARDED[0]


def _grouped() -> bool:
    return is_initialised() and world_size() > 1


def all_counts(n_local: int) -> list[int]:
    """Every rank's ``n_local``, in rank order (``[n_local]`` in a plain process)."""
    import torch

    if not _grouped():
        return [int(n_local)]
    dist = torch_dist()
    dev = collective_device()
    out = [torch.zeros(1, dtype=torch.int64, device=dev) for _ in range(world_size())]
    dist.all_gather(out, torch.tensor([int(n_local)], dtype=torch.int64, device=dev))
    return [int(t.item()) for t in out]


def total_rows(n_local: int) -> int:
    """The table's rows: the sum over ranks under sharded input, else ``n_local``."""
    if not (input_is_sharded() and _grouped()):
        return int(n_local)
    return sum(all_counts(n_local))


def sum_over_shards(counts: np.ndarray) -> np.ndarray:
    """Integer ``counts`` summed over the ranks under sharded input (each rank counted its
    own rows), else ``counts`` itself.

    Examples
    --------
    >>> sum_over_shards(np.array([2, 3])).tolist()
    [2, 3]
    """
    if not (input_is_sharded() and _grouped()):
        return counts
    import torch

    dist = torch_dist()
    buf = torch.from_numpy(np.ascontiguousarray(counts, dtype=np.int64)).to(collective_device())
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    return buf.cpu().numpy()


def gather_bytes(blob: bytes, dst: int = 0) -> list[bytes] | None:
    """Every rank's ``blob`` on rank ``dst`` (in rank order; None on the other ranks)."""
    import torch

    if not _grouped():
        return [blob]
    dist = torch_dist()
    dev = collective_device()
    sizes = all_counts(len(blob))
    buf = torch.zeros(max(sizes), dtype=torch.uint8, device=dev)
    if blob:
        buf[: len(blob)] = torch.frombuffer(bytearray(blob), dtype=torch.uint8).to(dev)
    if dist.get_rank() == dst:
        out = [torch.zeros_like(buf) for _ in sizes]
        dist.gather(buf, gather_list=out, dst=dst)
        return [bytes(t[:n].cpu().numpy().tobytes()) for t, n in zip(out, sizes, strict=True)]
    dist.gather(buf, dst=dst)
    return None


def broadcast_bytes(blob: bytes | None, src: int = 0) -> bytes:
    """Rank ``src``'s ``blob`` on every rank."""
    import torch

    if not _grouped():
        return blob or b""
    dist = torch_dist()
    dev = collective_device()
    size = torch.tensor([len(blob or b"")], dtype=torch.int64, device=dev)
    dist.broadcast(size, src=src)
    buf = torch.zeros(int(size.item()), dtype=torch.uint8, device=dev)
    if dist.get_rank() == src and blob:
        buf[:] = torch.frombuffer(bytearray(blob), dtype=torch.uint8).to(dev)
    dist.broadcast(buf, src=src)
    return bytes(buf.cpu().numpy().tobytes())

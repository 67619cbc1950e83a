"""The distributed side of one :meth:`Trainer.fit <synthgen.training.Trainer.fit>`: shards
of each batch, gradient and log reductions, agreed stops (see
:mod:`synthgen.training.distributed` for the design)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from synthgen.exceptions import ConfigurationError, SynthgenError
from synthgen.training.distributed import (
    check_same,
    collective_device,
    fingerprint,
    is_initialised,
    shard_bounds,
    torch_dist,
    world_size,
)
from synthgen.training.sharding import all_counts, input_is_sharded
from synthgen.training.strategies import Strategy

__all__ = ["DistributedRun"]

#: Stop reasons in order of precedence when ranks disagree (any rank's request stops all).
_STOP_REASONS = ("", "callback", "early_stopping", "max_time", "privacy_budget")


class DistributedRun:
    """The distributed side of one :meth:`Trainer.fit <synthgen.training.Trainer.fit>`.

    Built by the trainer when several processes train together; it shards batches, reduces
    gradients and logs, and agrees on stops.

    Parameters
    ----------
    device : torch.device
        Where the trainer's data and task live (``nccl`` needs CUDA, ``gloo`` takes either).
    equal_shares : bool
        Weigh every rank's gradient ``1 / world`` whatever its share of the batch's rows: for
        a task whose ``batch`` only paces the epoch (the GAN draws its own rows).
    """

    def __init__(self, device: Any, *, equal_shares: bool = False) -> None:
        import torch

        dist = torch_dist()
        self.rank, self.world = int(dist.get_rank()), int(dist.get_world_size())
        self.backend = str(dist.get_backend())
        if self.backend == "nccl" and torch.device(device).type != "cuda":
            raise ConfigurationError(
                f"the process group uses nccl, which needs CUDA, but training runs on {device}: "
                "use device='cuda' or a gloo process group"
            )
        self.device = torch.device(device)
        self.equal_shares = equal_shares
        #: The weight of this rank's gradient in the current step's sum.
        self.weight = 1.0 / self.world
        #: Whether each rank holds its own rows (sharded input) rather than the whole table.
        self.sharded = input_is_sharded()
        #: Every rank's training rows, under sharded input (set by :meth:`n_rows`).
        self.counts: list[int] | None = None

    @classmethod
    def current(cls, trainer: Any, task: Any = None) -> DistributedRun | None:
        """The run of ``trainer`` in this process, or None when it trains alone."""
        if not (is_initialised() and world_size() > 1):
            return None
        if trainer.sample_rate is not None or type(trainer.strategy_) is not Strategy:
            raise ConfigurationError(
                "DP-SGD (a strategy, Poisson sampling with sample_rate) trains in one process "
                "only: its privacy accounting assumes one sample of the whole table per step"
            )
        return cls(trainer.device_, equal_shares=bool(getattr(task, "equal_shares", False)))

    def split_streams(self, trainer: Any) -> tuple[Any, Any]:
        """A shuffling generator seeded alike on every rank, and ``trainer.generator_``
        reseeded per rank for the steps' own draws (noise, masks: the shards do not share
        noise); returns the shuffler and the generator's shared state, restored after the
        last step so that draws after training are the same on every rank again."""
        import torch

        g = trainer.generator_
        seeds = torch.randint(2**62, (2,), generator=g, device=g.device).tolist()
        shared_state = g.get_state()
        shuffle = torch.Generator(device=self.device)
        if self.sharded:  # each rank shuffles its own rows
            mixed = np.random.SeedSequence([int(seeds[0]), self.rank]).generate_state(2)
            shuffle.manual_seed((int(mixed[0]) << 31) ^ int(mixed[1]))
        else:
            shuffle.manual_seed(int(seeds[0]))
        # One generator object, reseeded in place: holders of it (a GAN critic's dropout) follow.
        own = np.random.SeedSequence([int(seeds[1]), self.rank]).generate_state(2)
        g.manual_seed((int(own[0]) << 31) ^ int(own[1]))
        return shuffle, shared_state

    def _all_reduce(self, tensor: Any, op: str = "SUM") -> Any:
        dist = torch_dist()
        dev = collective_device()
        buf = tensor.to(dev)
        dist.all_reduce(buf, op=getattr(dist.ReduceOp, op))
        return buf.to(tensor.device)

    # -- data ------------------------------------------------------------------------------------
    def n_rows(self, n_local: int) -> int:
        """The rows an epoch visits: the table's (every rank's together) under sharded
        input, else ``n_local`` (every rank holds the whole table)."""
        if not self.sharded:
            return n_local
        self.counts = all_counts(n_local)
        if min(self.counts) == 0:
            raise ConfigurationError(
                f"process {self.counts.index(0)} has no training rows: every process needs "
                "rows of its own under sharded input"
            )
        return sum(self.counts)

    def split_local(self, data: Any, fraction: float, trainer: Any) -> tuple[Any, Any]:
        """Under sharded input, each rank holds out ``fraction`` of its own rows for
        validation, drawn from a per-rank stream (an empty part when it has too few, so that
        every rank takes part in the validation collectives)."""
        import torch

        g = trainer.generator_
        seed = int(torch.randint(2**62, (1,), generator=g, device=g.device).item())
        own = torch.Generator(device=self.device)
        own.manual_seed(int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0]))
        n_val = min(round(len(data) * fraction), len(data) - 1)
        perm = torch.randperm(len(data), generator=own, device=self.device)
        return data[perm[n_val:]], data[perm[:n_val]]

    def batches(self, n_rows: int, batch_size: int, generator: Any) -> Iterator[Any]:
        """This rank's shard of each global batch of a permutation drawn from ``generator``
        (seeded alike on every rank). A rank whose shard would be empty (a last batch with
        fewer rows than ranks) gets the batch's first row with weight 0, so that it still
        takes part in every collective."""
        import torch

        if self.sharded:
            yield from self._own_batches(n_rows, batch_size, generator)
            return
        order = torch.randperm(n_rows, generator=generator, device=self.device)
        for start in range(0, n_rows, batch_size):
            batch = order[start : start + batch_size]
            lo, hi = shard_bounds(len(batch), self.rank, self.world)
            if self.equal_shares:
                self.weight = 1.0 / self.world
            else:
                self.weight = (hi - lo) / len(batch)
            yield batch[lo:hi] if hi > lo else batch[:1]

    def _own_batches(self, n_rows: int, batch_size: int, generator: Any) -> Iterator[Any]:
        """Sharded input: global batch ``s`` takes rows ``s * batch_size ...`` of the table
        shuffled, each rank contributing in proportion to its rows (rank ``r`` the slice
        ``[lo * n_r // N, hi * n_r // N)`` of its own permutation), so an epoch visits every
        row once and a batch holds ``batch_size`` rows as in one process."""
        import torch

        counts = self.counts if self.counts is not None else all_counts(n_rows)
        total = sum(counts)
        order = torch.randperm(n_rows, generator=generator, device=self.device)
        for lo in range(0, total, batch_size):
            hi = min(lo + batch_size, total)
            sizes = [hi * c // total - lo * c // total for c in counts]
            a, b = lo * n_rows // total, hi * n_rows // total
            if self.equal_shares:
                self.weight = 1.0 / self.world
            else:
                self.weight = (b - a) / max(sum(sizes), 1)
            yield order[a:b] if b > a else order[:1]

    # -- updates ---------------------------------------------------------------------------------
    def broadcast_module(self, module: Any) -> None:
        """Rank 0's parameters and buffers on every rank (the same start for all)."""
        import torch

        dist = torch_dist()
        dev = collective_device()
        with torch.no_grad():
            for t in [*module.parameters(), *module.buffers()]:
                buf = t.detach().to(dev).clone()
                dist.broadcast(buf, src=0)
                t.copy_(buf.to(t.device))

    def reduce_gradients(self, optimizer: Any) -> None:
        """Replace each gradient of ``optimizer``'s parameters by the weighted sum across
        ranks (one all-reduce of one flat buffer). A parameter without a gradient on every
        rank keeps none, as in one process (an optimiser skips it)."""
        import torch

        params = [p for group in optimizer.param_groups for p in group["params"]]
        if not params:
            return
        dtype = params[0].dtype
        for p in params[1:]:
            dtype = torch.promote_types(dtype, p.dtype)
        flat = [
            (p.grad.detach().reshape(-1).to(dtype) * self.weight)
            if p.grad is not None
            else torch.zeros(p.numel(), dtype=dtype, device=p.device)
            for p in params
        ]
        present = torch.tensor(
            [float(p.grad is not None) for p in params], dtype=dtype, device=params[0].device
        )
        total = self._all_reduce(torch.cat([*flat, present]))
        flags = total[len(total) - len(params) :].tolist()
        offset = 0
        for p, flag in zip(params, flags, strict=True):
            n = p.numel()
            if flag > 0:
                grad = total[offset : offset + n].view_as(p).to(p.dtype)
                if p.grad is None:
                    p.grad = grad.clone()
                else:
                    p.grad.copy_(grad)
            offset += n

    # -- agreement -------------------------------------------------------------------------------
    def mean_logs(self, sums: dict[str, Any], n_steps: int) -> dict[str, float]:
        """The epoch's losses averaged over steps and ranks (the same on every rank)."""
        import torch

        keys = sorted(sums)
        if not keys:
            return {}
        values = torch.stack([torch.as_tensor(sums[k], dtype=torch.float64).cpu() for k in keys])
        total = self._all_reduce(values) / (max(n_steps, 1) * self.world)
        return {k: float(v) for k, v in zip(keys, total.tolist(), strict=True)}

    def validation_loss(self, task: Any, valid: Any, trainer: Any) -> float:
        """``task.validation_loss`` (a mean over rows) of the held-out rows, each rank scoring
        its share: the same figure on every rank, so early stopping agrees."""
        import torch

        if self.sharded:  # each rank scores its own held-out rows
            lo, hi = 0, len(valid)
        else:
            lo, hi = shard_bounds(len(valid), self.rank, self.world)
        local = float(task.validation_loss(valid[lo:hi], trainer)) * (hi - lo) if hi > lo else 0.0
        sums = self._all_reduce(torch.tensor([local, float(hi - lo)], dtype=torch.float64))
        n = float(sums[1].item()) if self.sharded else len(valid)
        return float(sums[0].item()) / max(n, 1.0)

    def agree_stop(self, reason: str | None) -> str | None:
        """Stop on every rank when any rank asks to (e.g. its clock crossed ``max_time``)."""
        import torch

        code = _STOP_REASONS.index(reason) if reason in _STOP_REASONS else 1
        if reason is None:
            code = 0
        agreed = int(self._all_reduce(torch.tensor([code]), "MAX").item())
        if agreed == 0:
            return None
        return reason if reason is not None else _STOP_REASONS[agreed]

    def average_buffers(self, module: Any) -> None:
        """Average floating buffers (batch-norm statistics, which each rank gathered on its
        own shards) across ranks."""
        import torch

        with torch.no_grad():
            for b in module.buffers():
                if b.is_floating_point():
                    b.copy_(self._all_reduce(b.detach().clone()) / self.world)

    def check_in_step(self, module: Any) -> None:
        """Fail loudly if the ranks' weights differ at the end of training."""
        import torch

        tensors = [t.detach().reshape(-1) for t in [*module.parameters(), *module.buffers()]]
        flat = torch.cat(tensors) if tensors else torch.zeros(0)
        check_same(
            fingerprint(flat),
            "the ranks ended training with different weights (a task that does not take its "
            "steps through Trainer.optimize?)",
            SynthgenError,
        )

"""CPU thread limits for training and sampling (placeholder; see the Trainer docs)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["default_threads", "thread_limit"]


def default_threads() -> int:
    """The CPUs this process may run on, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 4))


@contextlib.contextmanager
def thread_limit(n_threads: int | None) -> Iterator[None]:
    """Run the block with torch limited to ``n_threads`` CPU threads (restored after)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n_threads or default_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)

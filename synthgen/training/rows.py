"""What the Trainer trains on: a tensor on its device, rows on disk, or some rows of either."""

from __future__ import annotations

from typing import Any

import numpy as np

from synthgen.training.disk_rows import DiskRows

__all__ = ["MAX_DISK_VALIDATION_ROWS", "RowSubset", "on_device", "validation_rows"]

#: Most validation rows set aside from rows on disk (held in memory while training).
MAX_DISK_VALIDATION_ROWS = 100_000


def validation_rows(data: Any, fraction: float) -> int:
    """Rows set aside for validation: ``fraction`` of them, at most
    :data:`MAX_DISK_VALIDATION_ROWS` from rows on disk, so memory stays flat however long
    the table (a tenth of ten million rows would be a million)."""
    n_val = round(len(data) * fraction)
    return min(n_val, MAX_DISK_VALIDATION_ROWS) if isinstance(data, DiskRows) else n_val


def on_device(data: Any, device: Any) -> Any:
    """``data`` as a tensor on ``device``; :class:`DiskRows` stay on disk (each batch read
    lands on the device of its index)."""
    if isinstance(data, DiskRows):
        return data
    import torch

    data = torch.as_tensor(np.asarray(data) if not torch.is_tensor(data) else data)
    return data.to(device)


class RowSubset:
    """The rows ``index`` of ``data``, without copying them: ``subset[idx]`` is
    ``data[index[idx]]``. The Trainer's training rows after a validation split are one, so
    a table of ten million rows is not copied whole to set a tenth of it aside.

    Examples
    --------
    >>> import torch
    >>> rows = RowSubset(torch.arange(10) * 10, torch.tensor([7, 2, 5]))
    >>> len(rows), rows[torch.tensor([0, 2])].tolist()
    (3, [70, 50])
    """

    def __init__(self, data: Any, index: Any) -> None:
        self.data, self.index = data, index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, idx: Any) -> Any:
        return self.data[self.index[idx]]

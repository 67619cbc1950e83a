"""A view of some rows of a tensor, gathered one batch at a time."""

from __future__ import annotations

from typing import Any

__all__ = ["RowSubset"]


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

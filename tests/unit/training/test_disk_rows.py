"""Training rows on disk: the same batches as in memory, flat memory, bounded validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthgen.training import Trainer
from synthgen.training.disk_rows import DiskRows
from synthgen.training.rows import MAX_DISK_VALIDATION_ROWS, validation_rows


class _Seen(torch.nn.Module):
    """Records every batch and fits a mean (so the steps depend on the batches)."""

    def __init__(self):
        super().__init__()
        self.mu = torch.nn.Parameter(torch.zeros(3))
        self.opt = torch.optim.SGD([self.mu], lr=0.1)
        self.batches: list[torch.Tensor] = []

    def training_step(self, batch, trainer):
        self.batches.append(batch.clone())
        loss = ((batch - self.mu) ** 2).mean()
        trainer.optimize(loss, self.opt)
        return {"loss": loss}

    def validation_loss(self, data, trainer):
        return float(((data - self.mu) ** 2).mean())


def _rows(tmp_path, data: np.ndarray) -> DiskRows:
    rows = DiskRows.create(tmp_path, data.shape[1], data.dtype)
    for block in np.array_split(data, 4):
        rows.append(block)
    return rows


def test_rows_on_disk_train_exactly_as_rows_in_memory(tmp_path):
    data = np.random.default_rng(0).normal(size=(1000, 3)).astype(np.float32)
    tasks = []
    for source in (torch.from_numpy(data), _rows(tmp_path, data)):
        task = _Seen()
        Trainer(
            max_epochs=2, batch_size=64, device="cpu", random_state=0, validation_fraction=0.1
        ).fit(task, source)
        tasks.append(task)
    memory, disk = tasks
    assert len(memory.batches) == len(disk.batches) == 2 * 15
    for a, b in zip(memory.batches, disk.batches, strict=True):
        assert torch.equal(a, b)
    assert torch.equal(memory.mu, disk.mu)


def test_indexing_follows_the_index_and_refuses_rows_out_of_range(tmp_path):
    data = np.arange(30, dtype=np.int16).reshape(10, 3)
    rows = _rows(tmp_path, data)
    assert rows.shape == (10, 3)
    got = rows[torch.tensor([9, 0, 9])]
    assert got.dtype == torch.int16 and got.tolist() == data[[9, 0, 9]].tolist()
    np.testing.assert_array_equal(rows[np.array([3, 1])], data[[3, 1]])
    np.testing.assert_array_equal(rows[2:7], data[2:7])
    np.testing.assert_array_equal(rows[::4], data[::4])
    np.testing.assert_array_equal(rows.columns(1, 3), data[:, 1:3])
    np.testing.assert_array_equal(np.concatenate(list(rows.chunks(4))), data)
    with pytest.raises(IndexError, match="out of range"):
        rows[np.array([10])]


def test_validation_from_rows_on_disk_is_bounded(tmp_path):
    rows = DiskRows.create(tmp_path, 1, np.float32)
    rows.n_rows = 20 * MAX_DISK_VALIDATION_ROWS  # only the count matters here
    assert validation_rows(rows, 0.1) == MAX_DISK_VALIDATION_ROWS
    assert validation_rows(np.zeros((20 * MAX_DISK_VALIDATION_ROWS, 1)), 0.1) == 200_000

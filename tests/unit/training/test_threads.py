"""Thread limits: scoped, restored, checked; a default that reads only the machine."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_info

from synthgen.exceptions import ConfigurationError
from synthgen.training import threads
from synthgen.training.threads import default_n_threads, resolve_n_threads, thread_limit


def test_thread_limit_sets_and_restores_torch_and_blas():
    before = torch.get_num_threads()
    with thread_limit(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert torch.get_num_threads() == before


def test_thread_limit_restores_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), thread_limit(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(("cpus", "expected"), [(1, 1), (2, 1), (4, 2), (8, 4), (64, 4)])
def test_default_is_half_the_cpus_capped(monkeypatch, cpus, expected):
    monkeypatch.setattr(threads, "available_cpus", lambda: cpus)
    assert default_n_threads() == expected
    assert resolve_n_threads(None) == expected


def test_default_ignores_the_load(monkeypatch):
    # Only the affinity mask counts: a loaded machine must give the same thread count (and
    # with it the same float rounding) as a quiet one.
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (99.0, 99.0, 99.0), raising=False)
    monkeypatch.setattr(threads, "available_cpus", lambda: 8)
    assert default_n_threads() == 4


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_name_the_parameter(bad):
    with pytest.raises(ConfigurationError, match="n_threads"):
        resolve_n_threads(bad)
    with pytest.raises(ConfigurationError, match="n_threads"), thread_limit(bad):
        pass
